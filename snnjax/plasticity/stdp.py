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

Both are rules on the contract of :class:`~snnjax.plasticity.Rule` (``decay``, ``on_pre``, ``pre_spike``,
``on_post``, ``post_spike``); the connectivity format owns the traversal. Cost per step: with the sparse propagator,
a pass over every synapse; with the event-driven ones (``event``, ``vector_event``), only the synapses of the
arriving spikes (row table, inside the transmission loop) and of the postsynaptic spikes (transposed table), plus
``O(n_pre + n_post)`` for the traces; on a CPU both loops run as compiled kernels (:mod:`snnjax.formats.rows.stdp`,
bit-identical). The weights used to transmit a step's spikes are those after the previous step's updates.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from jax.typing import ArrayLike

from snnjax import axes
from snnjax.plasticity.bounds import bounded
from snnjax.plasticity.rule import Rule

PAIRINGS = ("all-to-all", "nearest")
BOUNDS = ("hard", "soft")

__all__ = ["STDP", "STDPState", "TripletSTDP"]


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


@struct.dataclass
class _TraceRule(Rule):
    """The maths shared by pair and triplet STDP (subclasses give :meth:`_params` and declare their traces):
    exponential traces that jump at spikes, depression at arrivals, potentiation at postsynaptic spikes, bounds."""

    State = STDPState

    def _params(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- the contract ---------------------------------------------------------------------------------------------
    def decay(self, pre: dict, post: dict, dt: float) -> tuple[dict, dict]:
        """Each trace times ``exp(-dt / tau)``, rounded before a spike's jump adds to it (:func:`_rounded`: XLA
        contracted the product and that sum into one multiply-add in some programs, a vmapped run, and not in others,
        1 ulp apart)."""
        p = self._params()
        k = lambda tau: jnp.exp(-dt / jnp.asarray(tau, pre["apre"].dtype))  # noqa: E731
        taus = dict(apre="tau_plus", apre2="tau_x", apost="tau_minus", apost2="tau_y")
        return (
            {n: _rounded(v * k(p[taus[n]])) for n, v in pre.items()},
            {n: _rounded(v * k(p[taus[n]])) for n, v in post.items()},
        )

    def on_pre(self, syn: dict, pre: dict, post: dict) -> dict:
        """Depression: ``w -= apost a_minus`` (triplet: ``apost (a2_minus + a3_minus apre2)``), bounded."""
        return {"w": self._depress(syn["w"], post["apost"], pre.get("apre2"))}

    def pre_spike(self, pre: dict) -> dict:
        """Every presynaptic trace jumps (``+ 1``, or to 1 with ``pairing="nearest"``)."""
        return {n: self._jump(v) for n, v in pre.items()}

    def on_post(self, syn: dict, pre: dict, post: dict) -> dict:
        """Potentiation: ``w += apre a_plus`` (triplet: ``apre (a2_plus + a3_plus apost2)``), bounded."""
        return {"w": self._potentiate(syn["w"], pre["apre"], post.get("apost2"))}

    def post_spike(self, post: dict) -> dict:
        """Every postsynaptic trace jumps."""
        return {n: self._jump(v) for n, v in post.items()}

    # -- pieces ---------------------------------------------------------------------------------------------------
    def _jump(self, trace):
        return jnp.ones_like(trace) if self.pairing == "nearest" else trace + 1.0

    def _depress(self, w, apost, apre2=None):
        p = self._params()
        dep = apost * p["a2_minus"] if apre2 is None else apost * _triplet(p["a2_minus"], p["a3_minus"], apre2)
        return self._bounded(w, jnp.zeros((), w.dtype), _rounded(dep.astype(w.dtype)))

    def _potentiate(self, w, apre, apost2=None):
        p = self._params()
        pot = apre * p["a2_plus"] if apost2 is None else apre * _triplet(p["a2_plus"], p["a3_plus"], apost2)
        return self._bounded(w, _rounded(pot.astype(w.dtype)), jnp.zeros((), w.dtype))

    def _bounded(self, w, pot, dep):
        """The bounds (``HardBounds`` / ``SoftBounds`` arithmetic, :func:`snnjax.plasticity.bounds.bounded`) applied
        to one depression or one potentiation."""
        return bounded(self.bounds, w, pot, dep, self.w_min, self.w_max)

    def depression(self, st):
        """``f(row, targets, w_row) -> new w_row``: :meth:`on_pre` at the synapses of one arriving row of one batch
        element's (decayed) state ``st`` (``row`` an index or ``(M, 1)``; ``targets`` padded with ``n_post``). What
        :func:`snnjax.formats.rows.stdp.arrive` replaces."""
        _, pre, post = self.split(st)
        update = self.updater("on_pre", pre, post)
        return lambda row, targets, w: update(row, targets, {"w": w})["w"]


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

    PRE = dict(apre=(0.0, "presynaptic trace (``tau_plus``), dimensionless."))
    POST = dict(apost=(0.0, "postsynaptic trace (``tau_minus``), dimensionless."))
    State = STDPState
    _FIELDS = dict(a_plus="nonnegative", a_minus="nonnegative")

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

    PRE = dict(apre=(0.0, "fast presynaptic trace (``tau_plus``)."), apre2=(0.0, "slow one (``tau_x``)."))
    POST = dict(apost=(0.0, "fast postsynaptic trace (``tau_minus``)."), apost2=(0.0, "slow one (``tau_y``)."))
    State = STDPState
    _FIELDS = dict(a2_plus="nonnegative", a3_plus="nonnegative", a2_minus="nonnegative", a3_minus="nonnegative")

    def _params(self):
        names = ("a2_plus", "a3_plus", "a2_minus", "a3_minus", "tau_plus", "tau_minus", "tau_x", "tau_y")
        return {n: getattr(self, n) for n in names}
