"""Delay buffers: a pytree ring buffer of a population's recent outputs (spikes).

Timing convention: a spike emitted at step ``s`` (recorded at ``t_s = s dt``) acts on the postsynaptic
side at step ``s + lag``, i.e. it shows in the postsynaptic trace at ``t_s + lag dt``, where
``lag = max(1, round(delay / dt))``. One step is the shortest latency of a clock-driven simulation in
which every group updates from the previous step's spikes, so ``delay=0`` means one step (as in NEST and
BrainPy, whose minimum delay is one step). During step ``i`` projections read the buffer (``lag``
writes back), then the groups update and their new spikes are written.

BrainPy's ``delay_step=D`` gives a lag of ``max(1, D - 1)`` steps, one step shorter than ours for
``D >= 2``: the same ``delay`` lands one step later in snnjax than in BrainPy (and exactly on
``t_s + delay``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from snnjax import ops


def delay_lag(delay, dt: float) -> jax.Array:
    """Delay in ms -> lag in whole steps of ``dt`` ms: ``max(1, round(delay / dt))`` (int32)."""
    return jnp.maximum(jnp.round(jnp.asarray(delay) / dt), 1).astype(jnp.int32)


def lag_of(delay_ms: float, dt: float) -> int:
    """Python-int version of :func:`delay_lag` for a concrete delay."""
    return max(1, int(round(float(delay_ms) / dt)))


@struct.dataclass
class DelayBuffer:
    """Ring buffer holding the last ``length`` outputs of a group.

    Attributes:
      data: shape ``(length, *batch, n)`` (the group's outputs, flattened); ``data[head]`` is the most recent entry.
      head: int32 scalar index of the most recent entry.
    """

    data: jax.Array
    head: jax.Array
    events_idx: jax.Array | None = None
    events_count: jax.Array | None = None

    @classmethod
    def create(cls, max_lag: int, like: jax.Array, max_events: int | None = None) -> DelayBuffer:
        """A zero buffer serving lags ``1 .. max_lag`` steps for arrays like ``like`` (``max_lag`` entries).

        With ``max_events``, each write also stores the compacted indices of the nonzero entries
        (:func:`snnjax.ops.compact`), so event-driven projections do not compact again.
        """
        length = max(int(max_lag), 1)
        buf = cls(data=jnp.zeros((length, *like.shape), like.dtype), head=jnp.zeros((), jnp.int32))
        if max_events is not None:
            m = min(int(max_events), like.shape[-1])
            buf = buf.replace(
                events_idx=jnp.zeros((length, *like.shape[:-1], m), jnp.int32),
                events_count=jnp.zeros((length, *like.shape[:-1]), jnp.int32),
            )
        return buf

    @property
    def max_lag(self) -> int:
        """Longest lag (steps) this buffer can serve."""
        return self.data.shape[0]

    def read(self, lag) -> jax.Array:
        """The entry written ``lag`` writes ago (1 = the latest); ``lag`` an int scalar in ``[1, max_lag]``."""
        return self.data[(self.head - lag + 1) % self.data.shape[0]]

    def read_at(self, lag: jax.Array, index: jax.Array) -> jax.Array:
        """Per-element delayed read: ``out[..., k] = data[head - lag[k] + 1, ..., index[k]]``.

        Args:
          lag: int array ``(K,)`` of lags in steps, each in ``[1, max_lag]``.
          index: int array ``(K,)`` of positions along the buffer's last axis.
        Returns:
          shape ``(*batch, K)``.
        """
        rows = (self.head - lag + 1) % self.data.shape[0]
        return jnp.moveaxis(self.data[rows, ..., index], 0, -1)  # advanced indices first: (K, *batch)

    def read_events(self, lag) -> tuple[jax.Array, jax.Array] | None:
        """The compacted ``(idx, count)`` of the entry ``lag`` writes ago, or None if not stored."""
        if self.events_idx is None:
            return None
        row = (self.head - lag + 1) % self.data.shape[0]
        return self.events_idx[row], self.events_count[row]

    def write(self, value: jax.Array) -> DelayBuffer:
        """Push ``value`` as the newest entry (drops the oldest)."""
        head = (self.head + 1) % self.data.shape[0]
        new = self.replace(data=self.data.at[head].set(value.astype(self.data.dtype)), head=head)
        if self.events_idx is None:
            return new
        idx, count = ops.compact(value, self.events_idx.shape[-1])
        return new.replace(
            events_idx=self.events_idx.at[head].set(idx), events_count=self.events_count.at[head].set(count)
        )
