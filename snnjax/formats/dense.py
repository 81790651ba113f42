"""Dense propagation: ``spikes @ W`` with a ``(n_pre, n_post)`` matrix built once per run."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from snnjax import ops
from snnjax.propagators.base import ProjectionInfo, Propagator, is_accelerator, register

DENSE_MAX = 2**24  # largest n_pre * n_post that 'auto' turns into a dense matrix (64 MB of float32)
_CPU_NS = (0.1, 0.15)  # per matrix entry, matrix <= 2**20 entries (in cache) / larger


@dataclasses.dataclass(frozen=True)
class Dense(Propagator):
    """Matrix product with a dense weight matrix: best for small or densely connected, active projections.

    Cost ``O(n_pre n_post)`` per step whatever the activity; takes valued spikes (STP, pre-aligned kinetics).
    Not for plastic weights (the matrix is built once per run) nor per-synapse delays.
    """

    name = "dense"

    def supports(self, info: ProjectionInfo) -> str | None:
        why = super().supports(info)
        if why is None and info.plastic:
            why = "plastic weights (a plasticity rule) need method='sparse', 'event' or 'vector_event'"
        return why

    def cost(self, info: ProjectionInfo, backend: str) -> float:
        entries = info.n_pre * info.n_post
        if is_accelerator(backend):
            return 5000.0 + 0.002 * entries if entries <= 4 * DENSE_MAX else float("inf")
        if entries > DENSE_MAX:
            return float("inf")
        return 1000.0 + _CPU_NS[entries > 2**20] * entries

    def prepare(self, topo: ops.Topology, weight: jax.Array) -> jax.Array:
        """The ``(n_pre, n_post)`` matrix (zeros where there is no synapse)."""
        if jnp.ndim(weight) == 2 and topo.n_syn == topo.n_pre * topo.n_post:
            return jnp.asarray(weight)
        w = super().prepare(topo, weight)
        wk = jnp.broadcast_to(w, (topo.n_syn,))
        return jnp.zeros((topo.n_pre, topo.n_post), wk.dtype).at[topo.pre, topo.post].add(wk)

    def propagate(self, topo, w, spikes, index):
        return ops.dense(spikes, w)


DENSE = register(Dense())
