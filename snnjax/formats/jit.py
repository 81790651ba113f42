"""Just-in-time connectivity: a ``JitFixedProb`` projection's rows regenerated from its seed at each spike."""

from __future__ import annotations

import dataclasses

import numpy as np

from snnjax import jitconn, ops
from snnjax.propagators.base import ProjectionInfo, Propagator, default_max_events, is_accelerator, register


@dataclasses.dataclass(frozen=True)
class Jit(Propagator):
    """Event-driven propagation over connectivity drawn on the fly (:mod:`snnjax.jitconn`): nothing is stored,
    ``k_max`` random numbers and additions per spike. Only for ``conn=JitFixedProb``, with a scalar weight
    and delay, post-aligned kinetics and fixed weights.

    Attributes:
      conn: the :class:`~snnjax.jitconn.JitFixedProb` (set by ``bind``).
      max_events: compacted spikes per step (set by ``bind``).
    """

    name = "jit"
    conn: jitconn.JitFixedProb | None = None
    max_events: int | None = None

    @property
    def index_bound(self) -> int | None:
        return self.max_events

    def supports(self, info: ProjectionInfo) -> str | None:
        if not isinstance(info.connector, jitconn.JitFixedProb):
            return "method='jit' needs conn=snnjax.jitconn.JitFixedProb(p, seed)"
        if info.weight_ndim or info.per_synapse_delay or info.align == "pre" or info.plastic:
            return (
                "just-in-time connectivity (conn=JitFixedProb) takes a scalar weight and delay, a post-aligned "
                "synapse (Delta, Exponential, Alpha, DualExponential) and no plasticity"
            )
        return None

    def cost(self, info: ProjectionInfo, backend: str) -> float:
        per_spike = 5000.0 if is_accelerator(backend) else 350.0
        return 4000.0 + info.n_pre + (per_spike + 5.0 * info.n_syn / max(info.n_pre, 1)) * info.expected_spikes

    def bind(self, info: ProjectionInfo) -> Jit:
        m = min(info.max_events, info.n_pre) if info.max_events else default_max_events(info.n_pre, info.activity)
        return dataclasses.replace(self, conn=info.connector, max_events=int(m))

    def build(self, pre: np.ndarray, post: np.ndarray, info: ProjectionInfo) -> ops.Topology:
        jitconn.check_sizes("Projection", info.connector, info.n_post)
        empty = np.zeros(0, np.int32)
        return ops.Topology.from_lists(empty, empty, info.n_pre, info.n_post, on_device=False, ell=False)

    def local(self, targets: jitconn.LocalTargets) -> Jit:
        """This propagator on one device of a split network: drawing the device's own targets (``targets``, from
        :meth:`snnjax.jitconn.JitFixedProb.local`)."""
        return dataclasses.replace(self, conn=targets)

    def propagate(self, topo, w, spikes, index):
        return jitconn.event_jit(spikes, w, self.conn, topo.n_post, self.max_events, events=index)


JIT = register(Jit())
