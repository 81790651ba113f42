"""Delays: one rule from milliseconds to whole steps, and a pytree ring buffer of a population's spikes.

Timing convention: a spike emitted at step ``s`` (recorded at ``t_s = s dt``) acts on the postsynaptic
side at step ``s + lag``, i.e. it shows in the postsynaptic trace at ``t_s + lag dt``. One step is the
shortest latency of a clock-driven simulation in which every group updates from the previous step's
spikes, so ``delay=0`` means one step (as in NEST and BrainPy, whose minimum delay is one step, and as
Brian2's delay-0 ``on_pre``, which changes the membrane before the next step's integration). During step
``i`` projections read the spikes emitted ``lag`` steps earlier, then the groups update and their new
spikes are written.

The one rule from milliseconds to steps (:func:`time_steps`), decided once on the host in float64, is used
by every conversion of a time in ms to a number of steps in the package -- run durations and chunks
(``simulate``, ``Runner``), the sections and step times of :mod:`snnjax.inputs`, refractory periods, delays,
the windows of :mod:`snnjax.analysis`:

    steps = floor(t / dt + 1/2),  with t / dt first rounded to 9 significant digits,

(6 significant digits when the time is given in float32 or a narrower float, whose own
rounding error is near 1e-7), so a time of a whole number of steps gives that number even when
``t / dt`` is 3.4999999999999996 (0.35 / 0.1), and half steps round up (0.25 ms at dt 0.1 is
3 steps, 0.35 is 4, 0.45 is 5, where Python's ``round(t / dt)`` gives 2, 3 and 4: half to even, and
``0.35 / 0.1`` below 3.5). A delay has in
addition a minimum of one step (:func:`lag_steps`: ``lag = max(1, steps)``); a refractory period of 0
is none. Times traced inside ``jit``/``vmap`` get the same rule on the device in their own precision
(:func:`device_time_steps`, :func:`device_lag`). The lags reach the device as ints and the buffer depths
come from the same numbers; a lag beyond a buffer is an error (:class:`ValueError` before the run, or a
runtime error for delays traced inside ``jit``/``vmap``), never a wrap-around.

BrainPy's ``delay_step=D`` gives a lag of ``max(1, D - 1)`` steps, one step shorter than ours for
``D >= 2``: the same ``delay`` lands one step later in snnjax than in BrainPy (and exactly on
``t_s + delay``).

The buffer stores *whether* each neuron spiked (bool, whatever the float dtype of the spikes). Lag-1 reads
do not go through it: they take the population's ``spike`` state of the previous step as it is (float,
with its surrogate gradient), so training through one-step projections is unaffected; spikes read from
the buffer (lags of two steps or more) are 0/1 and carry no gradient.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from snnjax import _checks

_SIG_DIGITS = 9


def _digits(dtype) -> int:
    """Significant digits the quotient keeps: 6 for float32 or narrower floats (bfloat16 too), else 9."""
    return 6 if _checks.is_float_dtype(dtype) and np.dtype(dtype).itemsize < 8 else _SIG_DIGITS


def time_steps(t, dt: float) -> np.ndarray:
    """Time(s) in ms -> whole steps of ``dt`` ms, on the host (float64): the package's one rule (module docstring).

    Args:
      t: concrete time(s), ms: a number or an array of any shape.
      dt: step, ms, > 0.

    Returns:
      int64 NumPy array shaped like ``t``: ``floor(round(t / dt, 9 significant digits) + 1/2)`` (6 digits for
      float32 or narrower inputs), so half steps round up and whole steps stay whole.
    """
    raw = np.asarray(t)
    q = raw.astype(np.float64) / float(dt)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(q > 0, np.floor(np.log10(np.abs(np.where(q > 0, q, 1.0)))), 0.0)
    scale = 10.0 ** (_digits(raw.dtype) - 1 - mag)
    q = np.round(q * scale) / scale
    return np.floor(q + 0.5).astype(np.int64)


def steps_of(t_ms: float, dt: float) -> int:
    """Python-int :func:`time_steps` of one concrete time (ms): e.g. a run's number of steps."""
    return int(time_steps(float(t_ms), dt))


def lag_steps(delay, dt: float) -> np.ndarray:
    """Delay(s) in ms -> lag(s) in whole steps of ``dt`` ms, on the host (float64): :func:`time_steps`, at least 1.

    Args:
      delay: concrete delay(s), ms, >= 0: a number or an array of any shape.
      dt: step, ms, > 0.

    Returns:
      int64 NumPy array shaped like ``delay``: ``max(1, floor(round(delay / dt, 9 significant digits) + 1/2))``
      (6 digits for float32 or narrower inputs).
    """
    return np.maximum(1, time_steps(delay, dt))


def lag_of(delay_ms: float, dt: float) -> int:
    """Python-int :func:`lag_steps` of one concrete delay (ms)."""
    return int(lag_steps(float(delay_ms), dt))


def device_time_steps(t, dt: float) -> jax.Array:
    """:func:`time_steps` for a time traced inside ``jit``/``vmap`` (int32, in the time's float precision).

    The quotient is rounded to 6 significant digits in float32 (9 with ``jax_enable_x64``) before the
    half-step rule, so whole steps stay whole; compare :func:`time_steps` for concrete times.
    """
    d = jnp.asarray(t)
    d = d.astype(jnp.result_type(float)) if not jnp.issubdtype(d.dtype, jnp.floating) else d
    q = d / dt
    digits = 9 if d.dtype == jnp.float64 else 6
    mag = jnp.floor(jnp.log10(jnp.where(q > 0, q, 1.0)))
    scale = 10.0 ** (digits - 1 - mag)
    q = jnp.round(q * scale) / scale
    return jnp.floor(q + 0.5).astype(jnp.int32)


def device_lag(delay, dt: float) -> jax.Array:
    """:func:`lag_steps` for a delay traced inside ``jit``/``vmap``: :func:`device_time_steps`, at least 1."""
    return jnp.maximum(1, device_time_steps(delay, dt))


def _raise_beyond(lag, depth):
    lag = np.asarray(lag)
    if lag.size and lag.max() > depth:
        raise ValueError(
            f"delay: a traced delay gives a lag of {int(lag.max())} steps, beyond the delay buffer of {depth} steps "
            "(the Projection's max_delay); raise max_delay"
        )


def check_lag(lag: jax.Array, depth: int) -> jax.Array:
    """``lag``, with a runtime error (raised from the device) if any entry exceeds ``depth`` steps.

    For lags computed from traced delays: concrete ones are checked on the host before the run.
    """
    jax.debug.callback(_raise_beyond, lag, depth)
    return lag


def ring_write(data: jax.Array, head: jax.Array, value: jax.Array, axis: int = 0) -> tuple[jax.Array, jax.Array]:
    """Push ``value`` as the newest entry of a ring buffer whose time axis is ``axis``.

    The one ring mechanism of the package: :class:`DelayBuffer` (time first) and the Inferno view's synapse
    record (:class:`snnjax.synapses.inferno.SingleExponentialCurrent`, time last) both use it.

    Args:
      data: the buffer, ``n`` entries along ``axis``.
      head: int32 scalar, position of the newest entry.
      value: the new entry, ``data``'s shape without ``axis`` (cast to ``data``'s dtype).

    Returns:
      ``(data, head)`` after the write; the oldest entry is overwritten.
    """
    n = data.shape[axis]
    head = (head + 1) % n
    return jax.lax.dynamic_update_index_in_dim(data, value.astype(data.dtype), head, axis), head


def ring_read(data: jax.Array, head: jax.Array, steps: jax.Array, axis: int = -1) -> jax.Array:
    """Per-element read ``steps`` entries back (0 = the newest) from a ring buffer whose time axis is ``axis``.

    Args:
      data: the buffer, ``n`` entries along ``axis``.
      head: int32 scalar, position of the newest entry.
      steps: int array broadcastable against ``data`` with ``axis`` of any length ``D`` (one read per entry).

    Returns:
      ``take_along_axis(data, (head - steps) % n, axis)``: ``data``'s shape with ``D`` along ``axis``.
    """
    n = data.shape[axis]
    return jnp.take_along_axis(data, (head - steps.astype(jnp.int32)) % n, axis=axis)


@struct.dataclass
class DelayBuffer:
    """Ring buffer holding whether each neuron spiked in each of the last ``length`` steps.

    Attributes:
      data: bool ``(length, *batch, n)`` (the group's spikes, flattened); ``data[head]`` is the most recent.
      head: int32 scalar index of the most recent entry.
    """

    data: jax.Array
    head: jax.Array

    @classmethod
    def create(cls, max_lag: int, like: jax.Array) -> DelayBuffer:
        """An empty buffer serving lags ``1 .. max_lag`` steps for spikes shaped like ``like`` ``(*batch, n)``."""
        length = max(int(max_lag), 1)
        return cls(data=jnp.zeros((length, *like.shape), bool), head=jnp.zeros((), jnp.int32))

    @property
    def max_lag(self) -> int:
        """Longest lag (steps) this buffer can serve."""
        return self.data.shape[0]

    def read(self, lag) -> jax.Array:
        """The entry written ``lag`` writes ago (1 = the latest), bool ``(*batch, n)``; ``lag`` an int scalar in
        ``[1, max_lag]``."""
        return self.data[(self.head - lag + 1) % self.data.shape[0]]

    def read_at(self, lag: jax.Array, index: jax.Array) -> jax.Array:
        """Per-element delayed read: ``out[..., k] = data[head - lag[k] + 1, ..., index[k]]``.

        Args:
          lag: int array ``(K,)`` of lags in steps, each in ``[1, max_lag]``.
          index: int array ``(K,)`` of positions along the buffer's last axis.
        Returns:
          bool, shape ``(*batch, K)``.
        """
        rows = (self.head - lag + 1) % self.data.shape[0]
        return jnp.moveaxis(self.data[rows, ..., index], 0, -1)  # advanced indices first: (K, *batch)

    def write(self, value: jax.Array) -> DelayBuffer:
        """Push ``value != 0`` as the newest entry (drops the oldest)."""
        data, head = ring_write(self.data, self.head, value != 0, axis=0)
        return self.replace(data=data, head=head)


__all__ = [
    "DelayBuffer",
    "check_lag",
    "device_lag",
    "device_time_steps",
    "lag_of",
    "lag_steps",
    "ring_read",
    "ring_write",
    "steps_of",
    "time_steps",
]
