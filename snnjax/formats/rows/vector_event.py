"""The ``vector_event`` propagator: the row-table format in blocks of ``max_events`` rows, one scatter-add per block
(:mod:`snnjax.formats.rows.blocks`), and its cost model.

On CPU one scatter element costs more than the per-spike loop overhead it saves, so ``auto`` keeps ``event`` there;
the cost model favours this propagator on GPU/TPU backends.
"""

from __future__ import annotations

import dataclasses

from snnjax.formats.rows import loops
from snnjax.formats.rows.blocks import ring_blocks, vector_event
from snnjax.formats.rows.event import Event
from snnjax.propagators.base import ProjectionInfo, default_max_events, is_accelerator, register


@dataclasses.dataclass(frozen=True)
class VectorEvent(Event):
    """Event-driven propagation in blocks of ``max_events`` rows (one scatter-add per block): the event
    propagator for GPUs and TPUs. Exact whatever the activity (further passes for overflow spikes).
    Post-aligned kinetics only.

    Attributes:
      max_events: spikes per pass (set by ``bind`` from ``Projection(max_events=, activity=)``).
    """

    name = "vector_event"
    vectorized = True  # plasticity visits the rows of its spikes in blocks too

    # supports, bind, build and index_bound are Event's (the same row tables and compacted index)

    def cost(self, info: ProjectionInfo, backend: str) -> float:
        m = info.max_events or default_max_events(info.n_pre, info.activity)
        fan = 1.5 * info.n_syn / max(info.n_pre, 1)  # rows are padded to the largest fan-out
        if is_accelerator(backend):
            return 10000.0 + 0.02 * info.n_pre + 0.05 * m * fan
        # CPU: every pass adds all max_events x fan_out slots, padding included, and one scatter element costs
        # more than a loop iteration saves (benchmarks/README.md): priced above 'event', never auto's pick there
        return super().cost(info, backend) + 6.0 * m * fan

    def propagate(self, topo, w, spikes, index):
        return vector_event(spikes, topo, w, index)

    def deliver(self, topo, w, lag, ring, head, spikes, index):
        """Per-synapse delays: this step's spikes into the ring of future input, ``max_events`` rows per
        scatter-add (:func:`snnjax.formats.rows.loops.ring_deliver` with a block kernel): ``(ring, now)``."""
        return loops.ring_deliver(spikes, index, topo, w, lag, ring, head, kernel=loops._with_slot(ring_blocks))

    # propagate_plastic and learn_pre are Event's, in blocks (vectorized)


VECTOR_EVENT = register(VectorEvent())
