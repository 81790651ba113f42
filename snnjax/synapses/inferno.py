"""Inferno's ``SingleExponentialCurrent`` synapse, with its history selectors, as pure functions.

The synapse keeps a record of its last ``recordsz = ceil(delay / step_time) + 1`` observations (the
current and the spike input of each step, newest at delay 0 ms) and answers :meth:`current_at` and
:meth:`spike_at` for delays in ms. Selection rules (Inferno's ``RecordTensor.select`` and
``SpikeCurrentMixin``), for a selector ``s`` (ms before the latest step):

1. ``s < -interp_tol`` or ``s > delay + interp_tol`` is out of bounds: the result is ``current_overbound``
   / ``spike_overbound``, or, where those are ``None``, the value at the nearest observation limit
   (``s`` clamped to ``[0, delay]``).
2. ``s`` within ``interp_tol`` ms of a stored observation ``r * step_time`` (plus a few float rounding
   units, so that ``3 * 0.1`` selects step 3) co-occurs with it: the result is that observation.
3. Otherwise ``s`` lies between the older observation ``hi = ceil(s / step_time)`` ("prev", earlier in
   time) and the newer ``lo = hi - 1`` ("next"); the interpolation function receives
   ``(prev, next, sample_at, step_time)`` with ``sample_at = hi * step_time - s`` ms, the time elapsed
   since the older observation, as Inferno's ``interp_*`` functions do.

Gradients with respect to ``s`` are the derivative of the interpolation function. At a co-occurring
observation (rule 2) the value is the observation itself and the gradient is the interpolation's
derivative at ``sample_at = 0``, i.e. from the side of smaller delays, where an exponentially decaying
current is continuous (a spike makes it jump when going to larger delays). This keeps learnable delays
that sit exactly on a step from getting a zero gradient.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.typing import ArrayLike

from snnjax import _checks
from snnjax.delays import ring_read, ring_write

SPIKE_INTERP_MODES = ("nearest", "previous")
CURRENT_INTERP_MODES = ("expdecay", "linear")

Interp = Callable[[jax.Array, jax.Array, jax.Array, float], jax.Array]


def interp_previous(prev_data, next_data, sample_at, step_time):
    """The older observation (Inferno's ``interp_previous``): the last state observed before the sample time."""
    return prev_data


def interp_nearest(prev_data, next_data, sample_at, step_time):
    """The nearer observation (Inferno's ``interp_nearest``); exactly halfway goes to the older one (``prev``)."""
    return jnp.where(sample_at / step_time > 0.5, next_data, prev_data)


def interp_linear(prev_data, next_data, sample_at, step_time):
    """Linear interpolation (Inferno's ``interp_linear``): ``prev + (next - prev) sample_at / step_time``."""
    return prev_data + (next_data - prev_data) * (sample_at / step_time)


def interp_expdecay(prev_data, next_data, sample_at, step_time, *, time_constant):
    """Exponential decay from the older observation (Inferno's ``interp_expdecay``).

    ``prev exp(-sample_at / time_constant)`` with ``sample_at`` and ``time_constant`` in ms. Exact
    between the steps of a single-exponential current (no spike arrives between two observations).
    """
    return prev_data * jnp.exp(-sample_at / time_constant)


def record_length(delay: float, step_time: float) -> int:
    """Observations needed to cover delays ``0 .. delay`` ms: ``ceil(delay / step_time) + 1``."""
    k = float(delay) / float(step_time)
    return int(math.ceil(k - 1e-9 * max(1.0, k))) + 1  # 0.3 / 0.1 = 2.9999999999999996 still needs 3 steps


def _layout(selector: jax.Array, full: tuple[int, ...], shape: tuple[int, ...], owner: str):
    """Broadcast ``selector`` to ``(*full, D)``; returns it and whether the trailing ``D`` was given."""
    got = tuple(selector.shape)
    if got == full:
        return selector[..., None], False
    if len(got) == len(full) + 1 and got[:-1] == full:
        return selector, True
    if got == shape:
        return jnp.broadcast_to(selector[..., None], (*full, 1)), False
    if len(got) == len(shape) + 1 and got[:-1] == shape:
        return jnp.broadcast_to(selector, (*full, got[-1])), True
    raise ValueError(
        f"{owner}: selector must have the batched synapse shape {full}, that shape plus a trailing dimension "
        f"(several delays per synapse) {(*full, 'D')}, or the unbatched shape {shape} (optionally plus D); "
        f"got shape {got}"
    )


def select(
    record: jax.Array,
    head: jax.Array,
    selector: ArrayLike,
    *,
    shape: tuple[int, ...],
    step_time: float,
    max_delay: float,
    interp: Interp,
    interp_kwargs: dict[str, Any] | None = None,
    interp_tol: float = 0.0,
    overbound: Any = None,
    owner: str = "select",
) -> jax.Array:
    """Read a ring-buffer record at delays ``selector`` (ms), following the module's selection rules.

    Compiled once per shape and configuration (``interp`` should be a module-level function, such as
    :func:`interp_previous`, so that it hashes the same on every call; arrays go in ``interp_kwargs``).

    Args:
      record: shape ``(*batch, *shape, n)``; ``record[..., head]`` is the newest observation (delay 0 ms)
        and ``record[..., (head - k) % n]`` the one ``k`` steps older (delay ``k * step_time`` ms).
      head: int32 scalar, position of the newest observation.
      selector: delays in ms, shape ``(*batch, *shape)``, ``(*batch, *shape, D)``, ``shape`` or
        ``(*shape, D)`` (the last two are shared by every batch element).
      shape: shape of the synapse group (without batch).
      step_time: time between observations, ms.
      max_delay: largest supported delay, ms (``<= (n - 1) * step_time``).
      interp: ``f(prev, next, sample_at, step_time, **interp_kwargs)``, e.g. :func:`interp_previous`.
      interp_kwargs: keyword arrays for ``interp``, shaped ``()`` or like ``shape`` (e.g. ``time_constant``).
      interp_tol: time from an observation within which a selector co-occurs with it, ms.
      overbound: value for out-of-bound selectors, or ``None`` for the value at the nearest limit.
      owner: name used in error messages.

    Returns:
      shape ``(*batch, *shape)``, or ``(*batch, *shape, D)`` when the selector has the trailing ``D``.
    """
    # the read carries a trailing selector dimension: per-synapse arrays get a matching axis
    kwargs = {k: (v[..., None] if jnp.ndim(v) else v) for k, v in (interp_kwargs or {}).items()}
    kwargs = jax.tree.map(jnp.asarray, kwargs)
    return _select(
        record, head, jnp.asarray(selector, jnp.result_type(float)), kwargs, shape=tuple(shape),
        step_time=float(step_time), max_delay=float(max_delay), interp=interp, interp_tol=float(interp_tol),
        overbound=overbound, owner=owner,
    )  # fmt: skip


@functools.partial(
    jax.jit, static_argnames=("shape", "step_time", "max_delay", "interp", "interp_tol", "overbound", "owner")
)
def _select(record, head, selector, interp_kwargs, *, shape, step_time, max_delay, interp, interp_tol, overbound,
            owner):  # fmt: skip
    n = record.shape[-1]
    full = tuple(record.shape[:-1])
    s, has_d = _layout(selector, full, shape, owner)
    # float rounding of s / step_time: a few ulps of the larger of s and one step
    eps = 8 * jnp.finfo(s.dtype).eps * jnp.maximum(jnp.abs(s), step_time)
    slack = interp_tol + eps
    in_bounds = (s >= -slack) & (s <= max_delay + slack)
    s_c = jnp.where(s < 0, 0.0, jnp.where(s > max_delay, max_delay, s))  # not clip: gradient 1 at the limits
    k = jax.lax.stop_gradient(s_c / step_time)
    r = jnp.round(k)
    exact = jnp.abs(s_c - r * step_time) <= slack
    hi = jnp.clip(jnp.where(exact, r, jnp.ceil(k)), 0, n - 1)
    lo = jnp.maximum(hi - 1, 0)
    sample_at = hi * step_time - s_c
    # co-occurring: value of the observation itself, gradient of interp at sample_at = 0 (straight through)
    sample_at = jnp.where(exact, sample_at - jax.lax.stop_gradient(sample_at), sample_at)

    out = interp(ring_read(record, head, hi), ring_read(record, head, lo), sample_at, step_time, **interp_kwargs)
    if overbound is not None:
        out = jnp.where(in_bounds, out, jnp.asarray(overbound, out.dtype))
    return out if has_d else out[..., 0]


@struct.dataclass
class SingleExponentialCurrentState:
    """Record of a :class:`SingleExponentialCurrent`; arrays have shape ``(*batch, *shape, recordsz)``.

    Attributes:
      currents: synaptic currents, nA, one per stored step.
      spikes: spike inputs (bool), one per stored step.
      head: int32 scalar, position of the newest entry along the last axis.
    """

    currents: jax.Array
    spikes: jax.Array
    head: jax.Array

    @property
    def current(self) -> jax.Array:
        """Present synaptic currents, nA, shape ``(*batch, *shape)``."""
        return jnp.take(self.currents, self.head, axis=-1)

    @property
    def spike(self) -> jax.Array:
        """Present spike input (bool), shape ``(*batch, *shape)``."""
        return jnp.take(self.spikes, self.head, axis=-1)


@struct.dataclass
class SingleExponentialCurrent:
    """Instantly applied, exponentially decaying current-based synapse (Inferno's ``SingleExponentialCurrent``).

    ``I(t + dt) = I(t) exp(-dt / tau) + (Q / tau) [spike at t + dt]``: the spikes given to :meth:`update`
    add ``Q / tau`` nA to the current of the same step, after the decay. Between steps the current is
    read back by exponential decay (:func:`interp_expdecay`), which is exact for this synapse, unless
    ``current_interp_mode="linear"`` (for learnable delays, see below).

    Args:
      shape: shape of the group of synapses (int or tuple; stored as a tuple).
      step_time: simulation step ``dt``, ms, > 0.
      spike_charge: charge carried by each presynaptic spike, ``Q``, pC, > 0 (scalar or ``shape``); the sign of
        a connection goes in its weights.
      time_constant: decay time constant, ``tau``, ms, > 0 (scalar or ``shape``).
      delay: maximum supported delay, ms, >= 0 (the record covers ``0 .. delay``).
      current_interp_mode: how :meth:`current_at` reads between observations: ``"expdecay"`` (default,
        exact for this synapse, :func:`interp_expdecay`) or ``"linear"`` (:func:`interp_linear`). Use
        ``"linear"`` to learn delays: the exponential read is constant-zero before a spike's arrival and
        jumps at it, so its gradient w.r.t. the delay sees only the decay (which says "a later arrival gives
        more current") and misses the arrival itself, pointing timing losses the wrong way; the linear read
        spreads the arrival over one step, so it is continuous in the delay and its gradient includes it
        (between steps it overestimates the decaying current by at most ``(dt / tau)^2 / 8`` of its value).
      spike_interp_mode: ``"previous"`` or ``"nearest"``: how :meth:`spike_at` selects between
        observations. The default is ``"previous"``, the default of Inferno's signature; Inferno's parameter
        description says ``"nearest"``, and we follow the signature.
      interp_tol: largest time from an observation, ms, >= 0, within which a selector co-occurs with it.
      current_overbound: current (nA) for out-of-bound selectors; ``None`` uses the value at the limit.
      spike_overbound: spike (bool) for out-of-bound selectors; ``None`` uses the value at the limit.
      batch_size: size of input batches, >= 1; :meth:`init` gives states with leading dimension
        ``batch_size`` unless another ``batch_shape`` is asked.
    """

    shape: Any = struct.field(pytree_node=False)
    step_time: float = struct.field(pytree_node=False, kw_only=True)
    spike_charge: ArrayLike = struct.field(kw_only=True)
    time_constant: ArrayLike = struct.field(kw_only=True)
    delay: float = struct.field(pytree_node=False, default=0.0, kw_only=True)
    spike_interp_mode: str = struct.field(pytree_node=False, default="previous", kw_only=True)
    current_interp_mode: str = struct.field(pytree_node=False, default="expdecay", kw_only=True)
    interp_tol: float = struct.field(pytree_node=False, default=0.0, kw_only=True)
    current_overbound: float | None = struct.field(pytree_node=False, default=0.0, kw_only=True)
    spike_overbound: bool | None = struct.field(pytree_node=False, default=False, kw_only=True)
    batch_size: int = struct.field(pytree_node=False, default=1, kw_only=True)

    _FIELDS = dict(spike_charge="positive", time_constant="positive")
    _NAME = "SingleExponentialCurrent"

    def __post_init__(self):
        name = self._NAME
        shape = _checks.normalize_shape(name, self.shape)
        if self.shape != shape:  # a static field: normalising the int form to a tuple is safe on every unflatten
            object.__setattr__(self, "shape", shape)
        _checks.check_time(name, "step_time", self.step_time)
        for arg in ("delay", "interp_tol"):
            v = getattr(self, arg)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"{name}: {arg} must be a finite number of ms >= 0, got {v!r}")
        _checks.check_choice(name, "spike_interp_mode", self.spike_interp_mode, SPIKE_INTERP_MODES)
        _checks.check_choice(name, "current_interp_mode", self.current_interp_mode, CURRENT_INTERP_MODES)
        cob = self.current_overbound
        if cob is not None and (isinstance(cob, bool) or not isinstance(cob, (int, float)) or not math.isfinite(cob)):
            raise TypeError(f"{name}: current_overbound must be a finite Python number (nA) or None, got {cob!r}")
        if self.spike_overbound is not None and not isinstance(self.spike_overbound, (bool, np.bool_)):
            raise TypeError(f"{name}: spike_overbound must be a bool or None, got {self.spike_overbound!r}")
        if (
            isinstance(self.batch_size, bool)
            or not isinstance(self.batch_size, (int, np.integer))
            or self.batch_size < 1
        ):
            raise ValueError(f"{name}: batch_size must be an int >= 1, got {self.batch_size!r}")
        _checks.check_fields(self, self._FIELDS, strict=False, shape=shape)

    def _validate(self) -> None:
        """Complete checks on concrete values (also JAX arrays)."""
        _checks.check_fields(self, self._FIELDS, strict=True, shape=self.shape)

    @classmethod
    def partialconstructor(
        cls,
        spike_charge: ArrayLike,
        time_constant: ArrayLike,
        spike_interp_mode: str = "previous",
        interp_tol: float = 0.0,
        current_overbound: float | None = 0.0,
        spike_overbound: bool | None = False,
        current_interp_mode: str = "expdecay",
    ) -> Callable[..., SingleExponentialCurrent]:
        """Inferno's synapse constructor: returns ``f(shape, step_time, delay, batch_size) -> synapse``."""

        def construct(shape, step_time, delay, batch_size):
            return cls(
                shape, step_time=step_time, spike_charge=spike_charge, time_constant=time_constant, delay=delay,
                spike_interp_mode=spike_interp_mode, interp_tol=interp_tol, current_overbound=current_overbound,
                spike_overbound=spike_overbound, batch_size=batch_size, current_interp_mode=current_interp_mode,
            )  # fmt: skip

        return construct

    @property
    def count(self) -> int:
        """Number of synapses in the group."""
        return math.prod(self.shape)

    @property
    def dt(self) -> float:
        """Simulation step, ms (Inferno's ``dt``)."""
        return float(self.step_time)

    @property
    def batchsz(self) -> int:
        """Inferno's name for ``batch_size``."""
        return int(self.batch_size)

    @property
    def batchedshape(self) -> tuple[int, ...]:
        """``(batch_size, *shape)``, the shape of the present current and spike."""
        return (self.batchsz, *self.shape)

    @property
    def recordsz(self) -> int:
        """Number of stored observations, ``ceil(delay / step_time) + 1``."""
        return record_length(self.delay, self.step_time)

    def init(self, batch_shape: tuple[int, ...] | None = None, key: jax.Array | None = None):
        """Resting state (Inferno's ``clear``): zero current and no spike at every stored step.

        Args:
          batch_shape: leading batch dimensions; ``None`` means ``(batch_size,)``.
          key: unused (the resting state is deterministic); accepted for the common model contract.
        """
        self._validate()
        batch = (self.batchsz,) if batch_shape is None else tuple(batch_shape)
        shape = (*batch, *self.shape, self.recordsz)
        dtype = jnp.result_type(float)
        return SingleExponentialCurrentState(
            currents=jnp.zeros(shape, dtype), spikes=jnp.zeros(shape, bool), head=jnp.zeros((), jnp.int32)
        )

    def update(self, state: SingleExponentialCurrentState, spikes: ArrayLike) -> SingleExponentialCurrentState:
        """One step of ``step_time`` ms: decay, add ``Q / tau`` per input spike, push onto the record.

        Args:
          state: present state.
          spikes: spike input of this step, bool or float (0/1; a float's value scales ``Q / tau``, so
            surrogate gradients pass), broadcastable to ``(*batch, *shape)``. Nonzero is recorded as a spike.

        Returns:
          the new state; its ``current`` is the synaptic current after this step, nA.
        """
        full = state.currents.shape[:-1]
        spikes = jnp.asarray(spikes)
        try:
            ok = jnp.broadcast_shapes(spikes.shape, full) == full
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"{self._NAME}.update: spikes must broadcast to {full}, got shape {spikes.shape}")
        decay = jnp.exp(-self.step_time / jnp.asarray(self.time_constant))
        current = state.current * decay + (self.spike_charge / self.time_constant) * spikes.astype(state.currents.dtype)
        current = jnp.broadcast_to(current, full).astype(state.currents.dtype)
        currents, head = ring_write(state.currents, state.head, current, axis=-1)
        spikes, _ = ring_write(state.spikes, state.head, jnp.broadcast_to(spikes != 0, full), axis=-1)
        return SingleExponentialCurrentState(currents=currents, spikes=spikes, head=head)

    def current_at(self, state: SingleExponentialCurrentState, selector: ArrayLike) -> jax.Array:
        """Currents, nA, at ``selector`` ms before the latest step, interpolated by ``current_interp_mode``.

        Differentiable in ``selector`` (see the module docstring for the rules and the gradient at steps).

        Args:
          state: the synapse state.
          selector: delays, ms: shape ``(*batch, *shape)``, ``(*batch, *shape, D)``, ``shape`` or ``(*shape, D)``.

        Returns:
          currents shaped like the selector with the batch dimensions in front.
        """
        if self.current_interp_mode == "linear":
            interp, kwargs = interp_linear, None
        else:
            interp, kwargs = interp_expdecay, {"time_constant": self.time_constant}
        return select(
            state.currents, state.head, selector, shape=self.shape, step_time=self.step_time, max_delay=self.delay,
            interp=interp, interp_kwargs=kwargs, interp_tol=self.interp_tol,
            overbound=self.current_overbound, owner=f"{self._NAME}.current_at",
        )  # fmt: skip

    def spike_at(self, state: SingleExponentialCurrentState, selector: ArrayLike) -> jax.Array:
        """Spikes (bool) at ``selector`` ms before the latest step, by ``spike_interp_mode``.

        Args:
          state: the synapse state.
          selector: delays, ms, shaped as for :meth:`current_at`.

        Returns:
          bool spikes shaped like the selector with the batch dimensions in front.
        """
        interp = interp_nearest if self.spike_interp_mode == "nearest" else interp_previous
        return select(
            state.spikes, state.head, selector, shape=self.shape, step_time=self.step_time, max_delay=self.delay,
            interp=interp, interp_tol=self.interp_tol, overbound=self.spike_overbound,
            owner=f"{self._NAME}.spike_at",
        )  # fmt: skip
