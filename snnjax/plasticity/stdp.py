"""Spike-timing-dependent plasticity on a Projection's own synapse list (weights in the network state).

``Projection(..., plasticity=STDP(...))`` makes the projection's weights part of its state
(``state.synapses[name].w``, ``(*batch, K)`` in the connector's order; monitor path ``'<name>.w'``) and
updates them after every step. The semantics are Brian2's canonical STDP synapse (exact exponential traces):

* ``apre`` (one per presynaptic neuron, or per synapse with per-synapse delays) jumps by 1 when a presynaptic
  spike *arrives at the synapse*, i.e. after its delay, at the step it acts on the postsynaptic neuron
  (a spike emitted at step ``s`` arrives at ``s + lag``); it decays with ``tau_plus``;
* ``apost`` (one per postsynaptic neuron) jumps by 1 at each postsynaptic spike, decaying with ``tau_minus``;
* at an arrival: ``w <- clip(w - a_minus apost, w_min, w_max)``; at a postsynaptic spike:
  ``w <- clip(w + a_plus apre, w_min, w_max)``; within a step, arrivals are processed before postsynaptic
  spikes (Brian2's ``on_pre`` before ``on_post``), so an arrival and a postsynaptic spike in the same step
  count as ``t_post - t_pre = 0`` and potentiate.

The equivalent Brian2 synapse has ``on_pre`` delayed by the same ``delay`` (ms), traces ``event-driven``;
``tests/data/make_brian2_stdp.py`` builds it and ``tests/test_plasticity_network.py`` compares synapse by
synapse. ``pairing="nearest"`` sets a trace to 1 instead of adding 1; ``bounds="soft"`` makes the updates
multiplicative (``w - (w - w_min) a_minus apost`` and ``w + (w_max - w) a_plus apre``).
:class:`TripletSTDP` adds the triplet terms of Pfister & Gerstner (2006).

Cost per step: with the sparse propagator, a pass over every synapse; with the event-driven ones
(``event``, ``vector_event``), only the synapses of the arriving spikes (row table) and of the
postsynaptic spikes (transposed table), in vectorized blocks, plus ``O(n_pre + n_post)`` for the traces.
The weights used to transmit a step's spikes are those after the previous step's updates.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.typing import ArrayLike

from snnjax import _checks, axes, kernels, ops
from snnjax.plasticity.local import HardBounds, SoftBounds
from snnjax.propagators.base import default_max_events, per_batch

PAIRINGS = ("all-to-all", "nearest")
BOUNDS = ("hard", "soft")


def _rounded(x: jax.Array) -> jax.Array:
    """``x``, rounded to its dtype before it is added to a weight. XLA CPU contracts a product feeding an add
    into one fused multiply-add (one rounding instead of two) inside some fusions and not others, so the same
    rule gave weights 1 ulp apart in programs fused differently (one device against several). A select between
    the product and zero cannot be contracted through; it returns ``x`` (a product of -0 becomes +0, which adds
    the same to any weight but -0)."""
    return jnp.where(x != 0, x, jnp.zeros((), x.dtype))


def _triplet(a2, a3, trace: jax.Array) -> jax.Array:
    """The triplet rule's amplitude ``a2 + a3 trace``, its product rounded first (:func:`_rounded`): XLA fused it into
    a multiply-add in some programs and not in others (a vmapped run against a plain one: weights 1 ulp apart)."""
    return a2 + _rounded(a3 * trace)


@struct.dataclass
class STDPState:
    """Weights and traces of an STDP projection (traces dimensionless).

    Attributes:
      w: weights, ``(*batch, K)`` in the connector's order, in the weight's unit.
      apre: presynaptic trace, ``(*batch, n_pre)`` (``(*batch, K)`` with per-synapse delays).
      apost: postsynaptic trace, ``(*batch, n_post)``.
      apre2: the slow presynaptic trace of :class:`TripletSTDP` (``tau_x``), else None.
      apost2: the slow postsynaptic trace of :class:`TripletSTDP` (``tau_y``), else None.
    """

    w: jax.Array = axes.field(axes.SYN)
    apre: jax.Array = axes.field(axes.PRE)
    apost: jax.Array = axes.field(axes.POST)
    apre2: jax.Array | None = axes.field(axes.PRE, default=None)
    apost2: jax.Array | None = axes.field(axes.POST, default=None)


class _TraceRule:
    """The shared algorithm of pair and triplet STDP (subclasses give :meth:`_params`)."""

    _TIMES = ()
    _AMPS = ()

    def _params(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def triplet(self) -> bool:
        return False

    def _check(self, owner: str, strict: bool) -> None:
        _checks.check_choice(owner, "pairing", self.pairing, PAIRINGS)
        _checks.check_choice(owner, "bounds", self.bounds, BOUNDS)
        for name in self._TIMES:
            _checks.check_real(owner, name, getattr(self, name), positive=True, strict=strict)
        for name in self._AMPS:
            _checks.check_real(owner, name, getattr(self, name), nonnegative=True, strict=strict)
        lo, hi = self.w_min, self.w_max
        if all(_checks.is_concrete_float(v, strict) for v in (lo, hi)):
            if np.isnan(np.asarray(lo)).any() or np.isnan(np.asarray(hi)).any():
                raise ValueError(f"{owner}: w_min and w_max must not be NaN, got {lo!r}, {hi!r}")
            if not np.all(np.asarray(lo) < np.asarray(hi)):
                raise ValueError(f"{owner}: w_min must be < w_max, got w_min={lo!r}, w_max={hi!r}")
            if self.bounds == "soft" and not np.all(np.isfinite([np.max(lo), np.max(hi)])):
                raise ValueError(f"{owner}: bounds='soft' needs finite w_min and w_max, got {lo!r}, {hi!r}")

    def _validate(self, where: str, wshape: tuple[int, ...], weight=None) -> None:
        """Complete checks (concrete values) for a projection with ``K = wshape[0]`` synapses."""
        owner = f"{where}: {type(self).__name__}"
        self._check(owner, strict=True)
        for name in (*self._TIMES, *self._AMPS, "w_min", "w_max"):
            if np.ndim(getattr(self, name)) != 0:
                raise ValueError(f"{owner}: {name} must be a scalar, got shape {np.shape(getattr(self, name))}")
        if weight is not None and not isinstance(weight, jax.core.Tracer):
            w = np.asarray(weight, np.float64)
            if w.size and (w.min() < float(self.w_min) or w.max() > float(self.w_max)):
                raise ValueError(
                    f"{owner}: the initial weight must lie in [w_min, w_max] = [{self.w_min}, {self.w_max}], "
                    f"got values in [{w.min()}, {w.max()}]"
                )

    # -- state ----------------------------------------------------------------------------------
    def init(self, w: jax.Array, pre_shape: tuple[int, ...], n_post: int, batch_shape=()) -> STDPState:
        """Weights ``w (K,)`` copied per batch element, traces at 0."""
        batch_shape = tuple(batch_shape)
        dtype = jnp.result_type(float)
        w = jnp.broadcast_to(jnp.asarray(w, dtype), (*batch_shape, w.shape[-1]))
        pre = jnp.zeros((*batch_shape, *pre_shape), dtype)
        post = jnp.zeros((*batch_shape, n_post), dtype)
        two = self.triplet
        return STDPState(w=w, apre=pre, apost=post, apre2=pre if two else None, apost2=post if two else None)

    # -- pieces ---------------------------------------------------------------------------------
    def _decay(self, st: STDPState, dt: float) -> STDPState:
        # each decayed trace is rounded before a spike's jump adds to it (_rounded): XLA contracted the product and
        # that sum into one multiply-add in some programs (a vmapped run) and not in others (1 ulp apart)
        p = self._params()
        k = lambda tau: jnp.exp(-dt / jnp.asarray(tau, st.apre.dtype))  # noqa: E731
        return STDPState(
            w=st.w,
            apre=_rounded(st.apre * k(p["tau_plus"])),
            apost=_rounded(st.apost * k(p["tau_minus"])),
            apre2=None if st.apre2 is None else _rounded(st.apre2 * k(p["tau_x"])),
            apost2=None if st.apost2 is None else _rounded(st.apost2 * k(p["tau_y"])),
        )

    def _bump(self, trace, spiking):
        if trace is None:
            return None
        return jnp.where(spiking, 1.0, trace).astype(trace.dtype) if self.pairing == "nearest" else trace + spiking

    def _depress(self, w, apost, apre2):
        p = self._params()
        dep = apost * p["a2_minus"] if apre2 is None else apost * _triplet(p["a2_minus"], p["a3_minus"], apre2)
        return self._bounded(w, jnp.zeros((), w.dtype), _rounded(dep.astype(w.dtype)))

    def _potentiate(self, w, apre, apost2):
        p = self._params()
        pot = apre * p["a2_plus"] if apost2 is None else apre * _triplet(p["a2_plus"], p["a3_plus"], apost2)
        return self._bounded(w, _rounded(pot.astype(w.dtype)), jnp.zeros((), w.dtype))

    def _bounded(self, w, pot, dep):
        """The bounds of the Inferno view's rules (:class:`~snnjax.plasticity.local.HardBounds` /
        :class:`~snnjax.plasticity.local.SoftBounds`), applied to one depression or one potentiation."""
        kind = SoftBounds if self.bounds == "soft" else HardBounds
        return kind(self.w_min, self.w_max)(w, pot, dep)

    # -- one step, every synapse ------------------------------------------------------------------
    def step_sparse(
        self, st: STDPState, topo: ops.Topology, arrivals, post_spikes, *, dt: float, per_synapse: bool = False
    ) -> STDPState:
        """One step over every synapse. ``arrivals``: ``(*batch, n_pre)`` (``(*batch, K)`` per synapse), nonzero
        where a spike arrives; ``post_spikes``: ``(*batch, n_post)``."""
        st = self._decay(st, dt)
        a = arrivals != 0
        pre, post = topo.pre, topo.post
        at_syn = (lambda x: x) if per_synapse else (lambda x: x[..., pre])  # noqa: E731
        apre2 = None if st.apre2 is None else at_syn(st.apre2)
        w = jnp.where(at_syn(a), self._depress(st.w, st.apost[..., post], apre2), st.w)
        apre, apre2 = self._bump(st.apre, a), self._bump(st.apre2, a)
        p = post_spikes != 0
        apost2 = None if st.apost2 is None else st.apost2[..., post]
        w = jnp.where(p[..., post], self._potentiate(w, at_syn(apre), apost2), w)
        return STDPState(w=w, apre=apre, apost=self._bump(st.apost, p), apre2=apre2, apost2=self._bump(st.apost2, p))

    # -- event-driven, in two phases ------------------------------------------------------------
    # A propagator with ``propagate_plastic`` (event, vector_event) applies the depression of each arriving row
    # in the same loop that transmits it (one pass, and no read of the weights before their in-place update,
    # which would make XLA copy all K weights every step); the potentiation runs after the neuron update.

    def begin(self, st: STDPState, dt: float) -> STDPState:
        """Traces decayed to this step (the first thing a step does)."""
        return self._decay(st, dt)

    def depression(self, st: STDPState):
        """For one batch element's (decayed) state: ``f(row, targets, w_row) -> new w_row``, the depression of the
        synapses of an arriving presynaptic row (``row`` an index, or ``(M, 1)`` for blocks; ``targets`` their
        postsynaptic indices, padding ``n_post``)."""

        def f(row, targets, wv):
            slow = None if st.apre2 is None else _get(st.apre2, row)
            return self._depress(wv, _get(st.apost, targets), slow)

        return f

    def arrived(self, st: STDPState, arrivals) -> STDPState:
        """The presynaptic traces after this step's arrivals (``(*batch, n_pre)``, nonzero = arrived)."""
        a = arrivals != 0
        return st.replace(apre=self._bump(st.apre, a), apre2=self._bump(st.apre2, a))

    def potentiation(
        self,
        st: STDPState,
        topo: ops.Topology,
        post_spikes,
        *,
        post_bound: int | None = None,
        blocks: bool = False,
        compiled: bool = True,
    ) -> STDPState:
        """Potentiation at this step's postsynaptic spikes ``(*batch, n_post)`` through the transposed table, then
        the postsynaptic traces' jumps (the last phase of a step). Runs as one compiled kernel call
        (:func:`snnjax.kernels.stdp.potentiation`, bit-identical) when :func:`snnjax.kernels.active`, unless
        ``compiled=False`` (the XLA path, the kernel's reference)."""
        if compiled and kernels.active():
            new = kernels.stdp.potentiation(self, st, topo, post_spikes)
            if new is not None:
                return new
        m_post = post_bound or default_max_events(topo.n_post)

        def one(st, p):
            pidx, pcount = ops.compact(p, min(m_post, p.shape[-1]))

            def fire(col, syn, w):  # col: () or (M, 1); syn: (F_in,) or (M, F_in)
                slow = None if st.apost2 is None else _get(st.apost2, col)
                src = topo.in_pre[jnp.squeeze(col, -1) if jnp.ndim(col) else col]
                return w.at[syn].set(self._potentiate(_get(w, syn), _get(st.apre, src), slow), mode="drop")

            if blocks:

                def fire_block(cols, valid, w):
                    c = jnp.where(valid, cols, topo.n_post)
                    return fire(c[:, None], topo.in_syn[c], w)

                w = ops.row_passes(p, pidx, pcount, fire_block, st.w)
            else:  # one loop iteration per spike; w is the loop's carry, updated in place
                w = ops.spike_rows(p, pidx, pcount, lambda j, _, w: fire(j, topo.in_syn[j], w), st.w)
            q = p != 0
            return st.replace(w=w, apost=self._bump(st.apost, q), apost2=self._bump(st.apost2, q))

        return per_batch(one, st, post_spikes)

    def step_event(
        self,
        st: STDPState,
        topo: ops.Topology,
        arrivals,
        index,
        post_spikes,
        *,
        dt: float,
        post_bound: int | None = None,
        blocks: bool = False,
        post_blocks: bool | None = None,
    ) -> STDPState:
        """One step visiting only the synapses of the arriving spikes (row table, their compacted ``index``)
        and of the postsynaptic spikes (transposed table); the same result as :meth:`step_sparse`. (The
        propagators with ``propagate_plastic`` run the depression inside their transmission loop instead.)

        ``blocks=False``: one loop iteration per arriving spike (:func:`snnjax.ops.spike_rows`); ``True``: the
        rows of up to ``len(idx)`` spikes at once (:func:`snnjax.ops.row_passes`). ``post_blocks`` does the same
        for the postsynaptic spikes, in blocks of ``post_bound`` (default: as ``blocks``).
        """
        st = self.begin(st, dt)
        idx, count = index

        def depress_all(st, s, idx, count):
            dep = self.depression(st)

            def arrive(row, syn, w):
                tgt = topo.ell_post[jnp.squeeze(row, -1) if jnp.ndim(row) else row]
                return w.at[syn].set(dep(row, tgt, _get(w, syn)), mode="drop")

            if blocks:

                def arrive_block(rows, valid, w):
                    r = jnp.where(valid, rows, topo.n_pre)
                    return arrive(r[:, None], topo.ell_syn[r], w)

                return st.replace(w=ops.row_passes(s, idx, count, arrive_block, st.w))
            return st.replace(w=ops.spike_rows(s, idx, count, lambda i, _, w: arrive(i, topo.ell_syn[i], w), st.w))

        st = per_batch(depress_all, st, arrivals, idx, count)
        st = self.arrived(st, arrivals)
        post_blocks = blocks if post_blocks is None else post_blocks
        return self.potentiation(st, topo, post_spikes, post_bound=post_bound, blocks=post_blocks)


def _get(a, i):
    """``a[i]`` with out-of-range (padding) indices read as 0."""
    return a.at[i].get(mode="fill", fill_value=0)


@struct.dataclass
class STDP(_TraceRule):
    """Pair-based STDP on a projection (Brian2's canonical STDP synapse; see the module docstring).

    Args:
      a_plus: potentiation per pair, weight units, >= 0 (``w += a_plus apre`` at a postsynaptic spike).
      a_minus: depression per pair, weight units, >= 0 (``w -= a_minus apost`` at an arrival).
      tau_plus: decay of ``apre`` (potentiation window), ms, > 0.
      tau_minus: decay of ``apost`` (depression window), ms, > 0.
      w_min, w_max: weight bounds (weight units), ``w_min < w_max``; default unbounded.
      pairing: ``"all-to-all"`` (traces add 1 per spike) or ``"nearest"`` (a spike sets its trace to 1).
      bounds: ``"hard"`` (clip to ``[w_min, w_max]``) or ``"soft"`` (multiplicative; finite bounds).
    """

    a_plus: ArrayLike = 0.01
    a_minus: ArrayLike = 0.0105
    tau_plus: ArrayLike = 20.0
    tau_minus: ArrayLike = 20.0
    w_min: ArrayLike = -float("inf")
    w_max: ArrayLike = float("inf")
    pairing: str = struct.field(pytree_node=False, default="all-to-all")
    bounds: str = struct.field(pytree_node=False, default="hard")

    _TIMES = ("tau_plus", "tau_minus")
    _AMPS = ("a_plus", "a_minus")

    def __post_init__(self):
        self._check("STDP", strict=False)

    def _params(self):
        return dict(a2_plus=self.a_plus, a2_minus=self.a_minus, tau_plus=self.tau_plus, tau_minus=self.tau_minus)


@struct.dataclass
class TripletSTDP(_TraceRule):
    """Triplet STDP (Pfister & Gerstner 2006, all-to-all or nearest) on a projection.

    At an arrival: ``w -= apost (a2_minus + a3_minus apre2)`` (``apre2`` before this arrival's jump); at a
    postsynaptic spike: ``w += apre (a2_plus + a3_plus apost2)`` (``apost2`` before this spike's jump); the
    traces ``apre`` (``tau_plus``), ``apre2`` (``tau_x``), ``apost`` (``tau_minus``), ``apost2`` (``tau_y``)
    jump at the spikes as in :class:`STDP`.

    Args:
      a2_plus, a3_plus, a2_minus, a3_minus: amplitudes, weight units, >= 0.
      tau_plus, tau_minus, tau_x, tau_y: trace time constants, ms, > 0.
      w_min, w_max, pairing, bounds: as :class:`STDP`.
    """

    a2_plus: ArrayLike = 5e-3
    a3_plus: ArrayLike = 6.2e-3
    a2_minus: ArrayLike = 7e-3
    a3_minus: ArrayLike = 2.3e-4
    tau_plus: ArrayLike = 16.8
    tau_minus: ArrayLike = 33.7
    tau_x: ArrayLike = 101.0
    tau_y: ArrayLike = 125.0
    w_min: ArrayLike = -float("inf")
    w_max: ArrayLike = float("inf")
    pairing: str = struct.field(pytree_node=False, default="all-to-all")
    bounds: str = struct.field(pytree_node=False, default="hard")

    _TIMES = ("tau_plus", "tau_minus", "tau_x", "tau_y")
    _AMPS = ("a2_plus", "a3_plus", "a2_minus", "a3_minus")

    def __post_init__(self):
        self._check("TripletSTDP", strict=False)

    @property
    def triplet(self) -> bool:
        return True

    def _params(self):
        names = (*self._AMPS, *self._TIMES)
        return {n: getattr(self, n) for n in names}
