"""Delay buffers: a pytree ring buffer of a population's recent outputs (spikes).

Timing convention (BrainPy's): during step ``i`` every projection reads the spikes its presynaptic
group emitted at step ``i - 1 - d``, where ``d = round(delay / dt)`` is the delay in steps; the group
then updates and its new spikes are written. So ``d = 0`` means "the last step's spikes", the
shortest causal latency of a clock-driven simulation, and a spike emitted at step ``s`` acts on the
postsynaptic side at step ``s + 1 + d``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct


def delay_steps(delay, dt: float) -> jax.Array:
    """Delay in ms -> whole steps of ``dt`` ms (rounded to the nearest step, as Brian2 does)."""
    return jnp.round(jnp.asarray(delay) / dt).astype(jnp.int32)


@struct.dataclass
class DelayBuffer:
    """Ring buffer holding the last ``length`` outputs of a group.

    Attributes:
      data: shape ``(length, *batch, n)`` (the group's outputs, flattened); ``data[head]`` is the most recent entry.
      head: int32 scalar index of the most recent entry.
    """

    data: jax.Array
    head: jax.Array

    @classmethod
    def create(cls, max_delay_steps: int, like: jax.Array) -> DelayBuffer:
        """A zero buffer that can serve delays of ``0 .. max_delay_steps`` steps of arrays like ``like``."""
        length = int(max_delay_steps) + 1
        return cls(data=jnp.zeros((length, *like.shape), like.dtype), head=jnp.zeros((), jnp.int32))

    @property
    def max_delay_steps(self) -> int:
        """Longest delay (steps) this buffer can serve."""
        return self.data.shape[0] - 1

    def read(self, steps) -> jax.Array:
        """The entry written ``steps`` writes ago (0 = the latest); ``steps`` an int scalar."""
        return self.data[(self.head - steps) % self.data.shape[0]]

    def read_at(self, steps: jax.Array, index: jax.Array) -> jax.Array:
        """Per-element delayed read: ``out[..., k] = data[head - steps[k], ..., index[k]]``.

        Args:
          steps: int array ``(K,)`` of delays in steps.
          index: int array ``(K,)`` of positions along the buffer's last axis.
        Returns:
          shape ``(*batch, K)``.
        """
        rows = (self.head - steps) % self.data.shape[0]
        return jnp.moveaxis(self.data[rows, ..., index], 0, -1)  # advanced indices first: (K, *batch)

    def write(self, value: jax.Array) -> DelayBuffer:
        """Push ``value`` as the newest entry (drops the oldest)."""
        head = (self.head + 1) % self.data.shape[0]
        return DelayBuffer(data=self.data.at[head].set(value.astype(self.data.dtype)), head=head)
