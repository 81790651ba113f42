"""Local plasticity rules as pure, optax-like pairs, written once for every connection.

A rule is built for a connection (:class:`snnjax.connections.LinearDense`, ``LinearDirect`` or ``Conv2D``)
and is a :class:`LocalRule` ``(init, update)``, as an optax ``GradientTransformation``::

    rule = pair_stdp(conn, a_plus=0.01, a_minus=0.012, tau_plus=20., tau_minus=20., bounds=HardBounds(0., 1.))
    traces = rule.init()                                   # batch size from the connection
    weight, traces = rule.update(traces, pre_spikes, post_spikes, weight, dt=0.1)

``update`` is pure and jit-able, so it runs inside the simulation's ``lax.scan`` (online learning, one call
per step), or afterwards on recorded spike trains with :func:`accumulate` (learning between runs).
The rules only touch the connection through ``presyn_receptive`` / ``postsyn_receptive``: a weight change is
``(postsyn_receptive(post) * presyn_receptive(pre)).sum(-1)`` (summed over the receptive dimension, e.g. the
positions a convolution kernel visits), averaged over the batch. The connection's arrays are not kept (only
its structure), so the weights that learn are the ones passed to ``update``.

Each of these is an adapter over the projection rule of the same name (:class:`~snnjax.plasticity.STDP`,
:class:`~snnjax.plasticity.TripletSTDP`, :class:`~snnjax.plasticity.MSTDPET`, on the contract of
:class:`~snnjax.plasticity.Rule`), so each rule's maths exists once: the traces are the rule's (``decay``,
``pre_spike``, ``post_spike``, on the traces in this view's layout), and the weight change of an arrival / a
postsynaptic spike is the rule's ``on_pre`` / ``on_post`` (for MSTDPET its ``on_step``) evaluated at every contact of
the receptive fields with an unbounded copy of the rule at ``w = 0`` (the rules are additive there), summed over the
receptive dimension and the batch; this view then applies its own ``bounds`` once per step.

Data, per step (``B`` the batch size):

* ``pre_spikes``: presynaptic spikes (0/1, bool or float) as the synapses see them, ``conn.synspike(state)``:
  ``B x I`` (dense and direct), ``B x I x O`` (dense with delays: each synapse its own delayed spike),
  ``B x C x H x W`` (conv); ``B x *inshape`` is also accepted and reshaped by ``like_synaptic``.
* ``post_spikes``: postsynaptic spikes, ``B x *outshape``.
* ``weight``: the connection's weights (any shape ``conn.weight`` has), in their own units; amplitudes
  (``a_plus`` ...) are in the same units.

Traces are dimensionless: each spike adds 1 (``pairing="all-to-all"``) or sets the trace to 1
(``"nearest"``, nearest-spike pairing), and they decay by ``exp(-dt / tau)`` per step (exact for the
continuous exponential). Within a step the order is fixed: traces decay; depression at pre spikes reads the
post traces *before* this step's post spikes are added; pre spikes are added; potentiation at post spikes
reads the pre traces *with* this step's pre spikes. So a pre and a post spike in the same step count as
``t_post - t_pre = 0`` and potentiate (Brian2's ordering of ``on_pre`` before ``on_post``), and the pair
window is exactly ``a_plus exp(-dt_k / tau_plus)`` for ``dt_k = t_post - t_pre >= 0`` and
``-a_minus exp(dt_k / tau_minus)`` for ``dt_k < 0`` (up to float rounding of the repeated decay).

Weight bounds (``bounds=``): ``None`` (``w + pot - dep``), :class:`HardBounds` (the same, clipped to
``[w_min, w_max]``) or :class:`SoftBounds` (multiplicative: ``w + (w_max - w) pot - (w - w_min) dep``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from snnjax import _checks
from snnjax.plasticity.bounds import HardBounds, SoftBounds
from snnjax.plasticity.reward import MSTDPET
from snnjax.plasticity.rule import Rule
from snnjax.plasticity.stdp import STDP, TripletSTDP

PAIRINGS = ("all-to-all", "nearest")
_UNBOUNDED = dict(w_min=-float("inf"), w_max=float("inf"), bounds="hard")


class LocalRule(NamedTuple):
    """A local learning rule as an optax-like pair of pure functions.

    Attributes:
      init: ``init(batch_size=None) -> state`` (traces at rest; ``None`` means the connection's ``batchsz``).
      update: ``update(state, pre_spikes, post_spikes, weight, *, dt[, reward]) -> (new_weight, new_state)``,
        ``dt`` the step in ms (a Python number).
    """

    init: Callable[..., Any]
    update: Callable[..., tuple[jax.Array, Any]]


def _apply_bounds(bounds, weight, pot, dep):
    if bounds is None:
        return weight + pot - dep
    return bounds(weight, pot, dep)


# ------------------------------------------------------------------------------------------------ layout


def _skeleton(owner: str, connection: Any) -> tuple[Any, tuple[int, ...], tuple[int, ...]]:
    """The connection without its arrays (its static structure is all the receptive reshapes need), the
    per-example shape of the presynaptic data the rules read (like ``conn.synspike(state)``) and the weight shape."""
    for attr in ("presyn_receptive", "postsyn_receptive", "like_synaptic", "outshape", "inshape", "batchsz"):
        if not hasattr(connection, attr):
            raise TypeError(
                f"{owner}: connection must be an snnjax.connections connection (LinearDense, LinearDirect, Conv2D) "
                f"with presyn_receptive/postsyn_receptive, got {type(connection).__name__}"
            )
    probe = jnp.zeros((1, *connection.inshape), jnp.result_type(float))
    pre_tail = tuple(connection.like_synaptic(probe).shape[1:])
    if getattr(connection, "delay", None) is not None and len(connection.weight.shape) == 2:
        pre_tail = (*pre_tail, connection.outsize)  # dense with delays: each synapse its own delayed spike
    return jax.tree.map(lambda _: None, connection), pre_tail, tuple(connection.weight.shape)


def _pre(owner: str, conn: Any, spikes: ArrayLike, shape: tuple[int, ...], dtype) -> jax.Array:
    x = jnp.asarray(spikes)
    if tuple(x.shape) != shape and tuple(x.shape) == (shape[0], *conn.inshape):
        x = conn.like_synaptic(x)
    if tuple(x.shape) != shape:
        raise ValueError(
            f"{owner}: pre_spikes must have shape {shape} (the synapses' spikes, conn.synspike(state)) or "
            f"{(shape[0], *conn.inshape)} (B x inshape), got {tuple(x.shape)}"
        )
    return x.astype(dtype)


def _post(owner: str, conn: Any, spikes: ArrayLike, shape: tuple[int, ...], dtype) -> jax.Array:
    x = jnp.asarray(spikes)
    if tuple(x.shape) != shape:
        raise ValueError(f"{owner}: post_spikes must have shape {shape} (B x outshape), got {tuple(x.shape)}")
    return x.astype(dtype)


def _outer(conn: Any, post: jax.Array, pre: jax.Array) -> jax.Array:
    """Per-batch pre-post products summed over the receptive dimension: ``B x *weight.shape``."""
    return (conn.postsyn_receptive(post) * conn.presyn_receptive(pre)).sum(-1)


def _dt(owner: str, dt: Any) -> float:
    return _checks.check_time(owner, "dt", dt)


def _check_weight(owner: str, weight: jax.Array, want: tuple[int, ...]) -> None:
    if tuple(weight.shape) != tuple(want):
        raise ValueError(f"{owner}: weight must have the connection's weight shape {tuple(want)}, got {weight.shape}")


def _check_params(owner: str, wshape: tuple[int, ...], **params: tuple[Any, str]) -> None:
    """Time constants (rule "positive"): scalars > 0; amplitudes ("nonnegative"): >= 0, scalar or weight-shaped."""
    for name, (value, rule) in params.items():
        shape = tuple(getattr(value, "shape", ()))
        if rule == "positive" and shape != ():
            raise ValueError(f"{owner}: {name} must be a scalar (ms), got shape {shape}")
        if shape not in ((), tuple(wshape)):
            raise ValueError(f"{owner}: {name} must be a scalar or have the weight shape {tuple(wshape)}, got {shape}")
        _checks.check_real(owner, name, value, positive=rule == "positive", nonnegative=rule == "nonnegative")


def _check_common(owner: str, pairing: str, bounds: Any) -> None:
    _checks.check_choice(owner, "pairing", pairing, PAIRINGS)
    if bounds is not None and not isinstance(bounds, (HardBounds, SoftBounds)):
        raise TypeError(f"{owner}: bounds must be None, HardBounds(...) or SoftBounds(...), got {bounds!r}")


def _batch(owner: str, conn: Any, batch_size: int | None) -> int:
    b = conn.batchsz if batch_size is None else batch_size
    if isinstance(b, bool) or not isinstance(b, int) or b < 1:
        raise ValueError(f"{owner}: batch_size must be an int >= 1 or None, got {batch_size!r}")
    return b


def _per_contact(value: Any, wshape: tuple[int, ...]) -> Any:
    """A weight-shaped amplitude with a trailing receptive axis (contacts are ``B x *weight.shape x R``)."""
    return value[..., None] if tuple(np.shape(value)) == tuple(wshape) and np.ndim(value) else value


# ------------------------------------------------------------------------------------------------ the adapter


def _jumped(rule: Rule, values: dict, spikes: jax.Array, jump) -> dict:
    """``values`` after the spikes (nonzero entries): the rule's ``pre_spike`` / ``post_spike`` (``jump``) there."""
    new = jump(values)
    return {k: jnp.where(spikes != 0, new[k], v) if k in new else v for k, v in values.items()}


def _contact_step(owner, conn, rule: Rule, pre: dict, post: dict, pre_spikes, post_spikes, weight, dt, bounds):
    """One step of an additive rule (``rule`` unbounded: ``on_pre`` / ``on_post`` at ``w = 0`` are the weight changes)
    on a connection, with the traces of this view (``pre`` shaped like the pre data, ``post`` ``B x outshape``)."""
    dt = _dt(owner, dt)
    first_pre, first_post = next(iter(pre.values())), next(iter(post.values()))
    dtype = first_pre.dtype
    s = _pre(owner, conn, pre_spikes, tuple(first_pre.shape), dtype)
    q = _post(owner, conn, post_spikes, tuple(first_post.shape), dtype)
    pre, post = rule.decay(pre, post, dt)
    zero = {"w": jnp.zeros((), dtype)}

    def contacts(pre, post):  # the values at every contact of the receptive fields
        at_pre = {k: conn.presyn_receptive(v) for k, v in pre.items()}
        return at_pre, {k: conn.postsyn_receptive(v) for k, v in post.items()}

    # an arrival's weight change at every contact (post traces before this step's post spikes), where pre spiked
    dep = -(rule.on_pre(zero, *contacts(pre, post))["w"] * conn.presyn_receptive(s)).sum(-1).mean(0)
    pre = _jumped(rule, pre, s, rule.pre_spike)
    # a postsynaptic spike's weight change (pre traces with this step's pre spikes), where post spiked
    pot = (rule.on_post(zero, *contacts(pre, post))["w"] * conn.postsyn_receptive(q)).sum(-1).mean(0)
    post = _jumped(rule, post, q, rule.post_spike)
    weight = jnp.asarray(weight)
    _check_weight(owner, weight, pot.shape)
    return _apply_bounds(bounds, weight, pot.astype(weight.dtype), dep.astype(weight.dtype)), pre, post


# ------------------------------------------------------------------------------------------------ STDP


class PairSTDPState(NamedTuple):
    """Traces of :func:`pair_stdp` (dimensionless; :class:`~snnjax.plasticity.STDP`'s ``apre``, ``apost``).

    Attributes:
      pre_trace: presynaptic trace ``x`` (decays with ``tau_plus``), shaped like the pre data.
      post_trace: postsynaptic trace ``y`` (decays with ``tau_minus``), ``B x *outshape``.
    """

    pre_trace: jax.Array
    post_trace: jax.Array


class TripletSTDPState(NamedTuple):
    """Traces of :func:`triplet_stdp` (Pfister & Gerstner 2006 names; dimensionless; ``apre``, ``apre2``,
    ``apost``, ``apost2`` of :class:`~snnjax.plasticity.TripletSTDP`).

    Attributes:
      r1: presynaptic trace, time constant ``tau_plus``, shaped like the pre data.
      r2: presynaptic trace, time constant ``tau_x``.
      o1: postsynaptic trace, time constant ``tau_minus``, ``B x *outshape``.
      o2: postsynaptic trace, time constant ``tau_y``.
    """

    r1: jax.Array
    r2: jax.Array
    o1: jax.Array
    o2: jax.Array


def pair_stdp(
    connection: Any,
    *,
    a_plus: ArrayLike,
    a_minus: ArrayLike,
    tau_plus: ArrayLike = 20.0,
    tau_minus: ArrayLike = 20.0,
    pairing: str = "all-to-all",
    bounds: HardBounds | SoftBounds | None = None,
) -> LocalRule:
    """Pair-based STDP with exponential traces (Song, Miller & Abbott 2000; Morrison et al. 2008).

    Per step: ``x <- x exp(-dt/tau_plus) [+ pre]``, ``y <- y exp(-dt/tau_minus) [+ post]`` and
    ``dw = a_plus post x - a_minus y pre`` (see the module docstring for the order within a step), so one
    pair with ``dt_k = t_post - t_pre`` changes the weight by ``a_plus exp(-dt_k/tau_plus)`` (``dt_k >= 0``)
    or ``-a_minus exp(dt_k/tau_minus)`` (``dt_k < 0``).

    Args:
      connection: the connection whose weights learn (its structure only is kept).
      a_plus: potentiation amplitude, weight units, >= 0 (scalar or weight-shaped).
      a_minus: depression amplitude, weight units, >= 0 (the change is ``-a_minus ...``; scalar or weight-shaped).
      tau_plus: time constant of the presynaptic trace (potentiation window), ms, > 0 (scalar).
      tau_minus: time constant of the postsynaptic trace (depression window), ms, > 0 (scalar).
      pairing: ``"all-to-all"`` (traces add up) or ``"nearest"`` (a spike resets its trace to 1).
      bounds: None, :class:`HardBounds` or :class:`SoftBounds`.

    Returns:
      a :class:`LocalRule`; its state is a :class:`PairSTDPState`, ``update(state, pre_spikes, post_spikes,
      weight, *, dt)`` returns ``(new_weight, new_state)``.
    """
    owner = "pair_stdp"
    conn, pre_tail, wshape = _skeleton(owner, connection)
    _check_params(owner, wshape, a_plus=(a_plus, "nonnegative"), a_minus=(a_minus, "nonnegative"),
                  tau_plus=(tau_plus, "positive"), tau_minus=(tau_minus, "positive"))  # fmt: skip
    _check_common(owner, pairing, bounds)
    rule = STDP(a_plus=_per_contact(a_plus, wshape), a_minus=_per_contact(a_minus, wshape), tau_plus=tau_plus,
                tau_minus=tau_minus, pairing=pairing, **_UNBOUNDED)  # fmt: skip

    def init(batch_size: int | None = None) -> PairSTDPState:
        b = _batch(owner, conn, batch_size)
        dtype = jnp.result_type(float)
        return PairSTDPState(jnp.zeros((b, *pre_tail), dtype), jnp.zeros((b, *conn.outshape), dtype))

    def update(state: PairSTDPState, pre_spikes, post_spikes, weight, *, dt: float):
        pre, post = {"apre": state.pre_trace}, {"apost": state.post_trace}
        w, pre, post = _contact_step(owner, conn, rule, pre, post, pre_spikes, post_spikes, weight, dt, bounds)
        return w, PairSTDPState(pre["apre"], post["apost"])

    return LocalRule(init, update)


def triplet_stdp(
    connection: Any,
    *,
    a2_plus: ArrayLike,
    a3_plus: ArrayLike,
    a2_minus: ArrayLike,
    a3_minus: ArrayLike,
    tau_plus: ArrayLike = 16.8,
    tau_minus: ArrayLike = 33.7,
    tau_x: ArrayLike = 101.0,
    tau_y: ArrayLike = 125.0,
    pairing: str = "all-to-all",
    bounds: HardBounds | SoftBounds | None = None,
) -> LocalRule:
    """Triplet STDP (Pfister & Gerstner 2006), with their names and default time constants (visual cortex).

    Traces ``r1`` (``tau_plus``), ``r2`` (``tau_x``) of the pre spikes and ``o1`` (``tau_minus``), ``o2``
    (``tau_y``) of the post spikes. At a pre spike ``w -= o1 (a2_minus + a3_minus r2)``, at a post spike
    ``w += r1 (a2_plus + a3_plus o2)``, with ``r2`` and ``o2`` taken just before the spike (``t - epsilon``)
    and the order of the module docstring; with ``a3_plus = a3_minus = 0`` it is :func:`pair_stdp`.

    Args:
      connection: the connection whose weights learn (its structure only is kept).
      a2_plus, a3_plus: pair and triplet potentiation amplitudes, weight units, >= 0 (scalar or weight-shaped).
      a2_minus, a3_minus: pair and triplet depression amplitudes, weight units, >= 0 (scalar or weight-shaped).
      tau_plus, tau_minus, tau_x, tau_y: trace time constants, ms, > 0 (scalars).
      pairing: ``"all-to-all"`` or ``"nearest"`` (Pfister & Gerstner's minimal nearest-spike model).
      bounds: None, :class:`HardBounds` or :class:`SoftBounds`.

    Returns:
      a :class:`LocalRule` over a :class:`TripletSTDPState`.
    """
    owner = "triplet_stdp"
    conn, pre_tail, wshape = _skeleton(owner, connection)
    p = dict(a2_plus=a2_plus, a3_plus=a3_plus, a2_minus=a2_minus, a3_minus=a3_minus, tau_plus=tau_plus,
             tau_minus=tau_minus, tau_x=tau_x, tau_y=tau_y)  # fmt: skip
    _check_params(owner, wshape, **{k: (v, "positive" if k.startswith("tau") else "nonnegative") for k, v in p.items()})
    _check_common(owner, pairing, bounds)
    rule = TripletSTDP(**{k: _per_contact(v, wshape) for k, v in p.items()}, pairing=pairing, **_UNBOUNDED)

    def init(batch_size: int | None = None) -> TripletSTDPState:
        b = _batch(owner, conn, batch_size)
        dtype = jnp.result_type(float)
        pre, post = jnp.zeros((b, *pre_tail), dtype), jnp.zeros((b, *conn.outshape), dtype)
        return TripletSTDPState(pre, pre, post, post)

    def update(state: TripletSTDPState, pre_spikes, post_spikes, weight, *, dt: float):
        pre, post = {"apre": state.r1, "apre2": state.r2}, {"apost": state.o1, "apost2": state.o2}
        w, pre, post = _contact_step(owner, conn, rule, pre, post, pre_spikes, post_spikes, weight, dt, bounds)
        return w, TripletSTDPState(pre["apre"], pre["apre2"], post["apost"], post["apost2"])

    return LocalRule(init, update)


# ------------------------------------------------------------------------------------------------ MSTDPET


class MSTDPETState(NamedTuple):
    """State of :func:`mstdpet`: :class:`~snnjax.plasticity.MSTDPET`'s ``apre``, ``apost`` and ``z`` in this view's
    layout (the eligibility per weight, summed over the receptive dimension).

    Attributes:
      pre_trace: ``P+ / a_plus``, presynaptic trace (dimensionless, ``tau_plus``), shaped like the pre data.
      post_trace: ``-P- / a_minus``, postsynaptic trace (dimensionless, ``tau_minus``), ``B x *outshape``.
      eligibility: eligibility trace ``z``, weight units per ms, ``B x *weight.shape`` (one per batch element).
    """

    pre_trace: jax.Array
    post_trace: jax.Array
    eligibility: jax.Array


def mstdpet(
    connection: Any,
    *,
    lr: ArrayLike,
    a_plus: ArrayLike,
    a_minus: ArrayLike,
    tau_plus: ArrayLike = 20.0,
    tau_minus: ArrayLike = 20.0,
    tau_z: ArrayLike = 25.0,
    pairing: str = "all-to-all",
    bounds: HardBounds | SoftBounds | None = None,
) -> LocalRule:
    """Reward-modulated STDP with an eligibility trace (Florian 2007, MSTDPET; Inferno's ``MSTDPET``).

    Per step ``dt`` (ms), with the order of the module docstring:

    * ``P+ <- P+ exp(-dt/tau_plus) + a_plus [pre]``, ``P- <- P- exp(-dt/tau_minus) - a_minus [post]``;
    * ``zeta = P+ [post] + P- [pre]`` (the pair-STDP change this step would make);
    * ``z <- z exp(-dt/tau_z) + zeta / tau_z`` (``tau_z dz/dt = -z + zeta``, weight units per ms);
    * ``dw = lr * reward * z * dt``, with the updated ``z``, averaged over the batch (each element its own
      ``z`` and reward). With ``reward = 0`` the weights do not change.

    Bounds see the sign of ``dw``: its positive part is the potentiation and its negative part the depression.

    Inferno's ``MSTDPET`` names: ``gamma = lr``, ``eta_pre = a_plus``, ``eta_post = -a_minus``,
    ``tau_pre = tau_plus``, ``tau_post = tau_minus``, ``tau_z = tau_z``; its ``z_post + z_pre`` is ``z`` here.
    One difference, at simultaneous spikes only: Inferno's ``x_post(t)`` read at a pre spike includes a post
    spike of the same step; here a same-step pair only potentiates, as in :func:`pair_stdp`.

    Args:
      connection: the connection whose weights learn (its structure only is kept).
      lr: learning rate ``gamma`` (per unit of reward), dimensionless, >= 0 (scalar or weight-shaped).
      a_plus, a_minus: STDP amplitudes, weight units, >= 0 (scalar or weight-shaped).
      tau_plus, tau_minus: STDP trace time constants, ms, > 0 (scalars).
      tau_z: eligibility time constant, ms, > 0 (scalar).
      pairing: ``"all-to-all"`` or ``"nearest"``.
      bounds: None, :class:`HardBounds` or :class:`SoftBounds`.

    Returns:
      a :class:`LocalRule` over an :class:`MSTDPETState`; ``update(state, pre_spikes, post_spikes, weight, *,
      dt, reward)`` with ``reward`` a scalar or shape ``(B,)`` (dimensionless).
    """
    owner = "mstdpet"
    conn, pre_tail, wshape = _skeleton(owner, connection)
    _check_params(owner, wshape, lr=(lr, "nonnegative"), a_plus=(a_plus, "nonnegative"),
                  a_minus=(a_minus, "nonnegative"), tau_plus=(tau_plus, "positive"),
                  tau_minus=(tau_minus, "positive"), tau_z=(tau_z, "positive"))  # fmt: skip
    _check_common(owner, pairing, bounds)
    rule = MSTDPET(lr=lr, a_plus=a_plus, a_minus=a_minus, tau_plus=tau_plus, tau_minus=tau_minus, tau_z=tau_z,
                   pairing=pairing, **_UNBOUNDED)  # fmt: skip

    def init(batch_size: int | None = None) -> MSTDPETState:
        b = _batch(owner, conn, batch_size)
        dtype = jnp.result_type(float)
        pre, post = jnp.zeros((b, *pre_tail), dtype), jnp.zeros((b, *conn.outshape), dtype)
        wshape = _outer(conn, post, pre).shape  # B x *weight.shape (shapes only: traced once, no data)
        return MSTDPETState(pre, post, jnp.zeros(wshape, dtype))

    def update(state: MSTDPETState, pre_spikes, post_spikes, weight, *, dt: float, reward: ArrayLike):
        step = _dt(owner, dt)
        x, y, z = state
        pre = _pre(owner, conn, pre_spikes, tuple(x.shape), x.dtype)
        post = _post(owner, conn, post_spikes, tuple(y.shape), y.dtype)
        tr_pre, tr_post = rule.decay({"apre": x}, {"apost": y}, step)
        ltd = _outer(conn, tr_post["apost"], pre)  # post trace before this step's post spikes
        tr_pre = _jumped(rule, tr_pre, pre, rule.pre_spike)
        ltp = _outer(conn, post, tr_pre["apre"])  # pre trace with this step's pre spikes
        tr_post = _jumped(rule, tr_post, post, rule.post_spike)
        r = jnp.asarray(reward, z.dtype)
        if r.ndim not in (0, 1) or (r.ndim == 1 and r.shape[0] != z.shape[0]):
            raise ValueError(f"{owner}: reward must be a scalar or have shape ({z.shape[0]},), got {r.shape}")
        r = r.reshape((-1,) + (1,) * (z.ndim - 1)) if r.ndim else r
        # the rule's per-step term on the pairings summed over the receptive dimension (zeta is linear in them),
        # at w = 0 of the unbounded rule: its change of the weights, per batch element
        new = rule.on_step({"w": jnp.zeros((), z.dtype), "z": z}, {"apre": ltp}, {"apost": ltd}, True, True,
                           dt=step, reward=r)  # fmt: skip
        dw = new["w"].mean(0)
        weight = jnp.asarray(weight)
        _check_weight(owner, weight, dw.shape)
        dw = dw.astype(weight.dtype)
        w = _apply_bounds(bounds, weight, jnp.maximum(dw, 0), jnp.maximum(-dw, 0))
        return w, MSTDPETState(tr_pre["apre"], tr_post["apost"], new["z"])

    return LocalRule(init, update)


# ------------------------------------------------------------------------------------------------ offline


def accumulate(
    rule: LocalRule,
    pre_spikes: ArrayLike,
    post_spikes: ArrayLike,
    weight: ArrayLike,
    *,
    dt: float,
    state: Any = None,
    reward: ArrayLike | None = None,
) -> tuple[jax.Array, Any]:
    """Apply ``rule`` step by step to recorded spike trains (learning between runs), in one ``lax.scan``.

    Args:
      rule: a :class:`LocalRule`.
      pre_spikes: ``T x`` (the per-step pre data of the rule), time along axis 0.
      post_spikes: ``T x B x *outshape``.
      weight: initial weights.
      dt: step, ms (Python number).
      state: initial rule state; ``None`` means ``rule.init(B)`` with ``B = post_spikes.shape[1]``.
      reward: for reward-modulated rules, shape ``(T,)`` or ``(T, B)`` (dimensionless); None otherwise.

    Returns:
      ``(weight, state)`` after the last step.
    """
    pre_spikes, post_spikes = jnp.asarray(pre_spikes), jnp.asarray(post_spikes)
    if pre_spikes.ndim < 2 or post_spikes.ndim < 2 or pre_spikes.shape[0] != post_spikes.shape[0]:
        raise ValueError(
            f"accumulate: pre_spikes and post_spikes must have the same number of steps on axis 0 and a batch axis, "
            f"got shapes {pre_spikes.shape} and {post_spikes.shape}"
        )
    if state is None:
        state = rule.init(int(post_spikes.shape[1]))
    if reward is not None:
        reward = jnp.asarray(reward)
        if reward.ndim == 0 or reward.shape[0] != pre_spikes.shape[0]:
            raise ValueError(f"accumulate: reward must have {pre_spikes.shape[0]} steps on axis 0, got {reward.shape}")

    def step(carry, xs):
        w, s = carry
        if reward is None:
            w, s = rule.update(s, xs[0], xs[1], w, dt=dt)
        else:
            w, s = rule.update(s, xs[0], xs[1], w, dt=dt, reward=xs[2])
        return (w, s), None

    xs = (pre_spikes, post_spikes) if reward is None else (pre_spikes, post_spikes, reward)
    (weight, state), _ = jax.lax.scan(step, (jnp.asarray(weight), state), xs)
    return weight, state


def stdp_window(delta_t: ArrayLike, *, a_plus: float, a_minus: float, tau_plus: float, tau_minus: float) -> jax.Array:
    """The analytic pair-STDP window: ``a_plus exp(-dt/tau_plus)`` for ``dt >= 0``, else ``-a_minus exp(dt/tau_minus)``.

    Args:
      delta_t: ``t_post - t_pre``, ms, any shape.
      a_plus, a_minus: amplitudes, weight units; tau_plus, tau_minus: ms.

    Returns:
      the weight change of one isolated pair, weight units, shaped like ``delta_t``.
    """
    d = jnp.asarray(delta_t, jnp.result_type(float))
    return jnp.where(d >= 0, a_plus * jnp.exp(-jnp.abs(d) / tau_plus), -a_minus * jnp.exp(-jnp.abs(d) / tau_minus))


__all__ = [
    "HardBounds",
    "LocalRule",
    "MSTDPETState",
    "PairSTDPState",
    "SoftBounds",
    "TripletSTDPState",
    "accumulate",
    "mstdpet",
    "pair_stdp",
    "stdp_window",
    "triplet_stdp",
]
