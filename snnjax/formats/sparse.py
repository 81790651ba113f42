"""Sparse propagation: every synapse, every step (gather the presynaptic value, scatter-add to the target)."""

from __future__ import annotations

import dataclasses

from snnjax import ops
from snnjax.jitconn import JitFixedProb
from snnjax.propagators.base import ProjectionInfo, Propagator, is_accelerator, register

_CPU_NS = 1.5  # per synapse (gather + scatter-add of every synapse)


@dataclasses.dataclass(frozen=True)
class Sparse(Propagator):
    """``O(K)`` per step whatever the activity. The only propagator for per-synapse delays (each synapse reads
    its own delayed spike); runs every projection that has a synapse list (valued spikes, pre-aligned
    kinetics, plastic weights)."""

    name = "sparse"

    def supports(self, info: ProjectionInfo) -> str | None:
        if isinstance(info.connector, JitFixedProb):
            return "conn=JitFixedProb (just-in-time connectivity) runs with method='jit'"
        return None

    def cost(self, info: ProjectionInfo, backend: str) -> float:
        if is_accelerator(backend):
            return 5000.0 + 0.05 * info.n_syn
        return 2000.0 + _CPU_NS * info.n_syn

    def propagate(self, topo, w, spikes, index):
        return ops.sparse(spikes, topo, w)

    def propagate_synapses(self, topo, w, values):
        """Per-synapse values ``(*batch, K)`` (read with per-synapse delays) -> ``(*batch, n_post)``."""
        return ops.delayed(values, topo, w)

    # -- plasticity: every synapse, every step (ops.every_synapse) -------------------------------------------------

    def learn_pre(self, topo, rule, st, arrivals, index=None, *, per_synapse=False, voltage=None):
        """A rule's ``on_pre`` at the synapses whose spike arrived (``arrivals (*batch, n_pre)``, per synapse
        ``(*batch, K)`` with ``per_synapse``): one pass over every synapse, kept where it arrived."""
        syn, pre, post = rule.split(st, voltage)
        arrived = arrivals != 0
        mask = arrived if per_synapse else arrived[..., topo.pre_index()]
        update = rule.updater("on_pre", pre, post, batched=True)
        return rule.merge(st, syn=ops.every_synapse(topo, syn, update, mask, per_synapse))

    def learn_post(self, topo, rule, st, post_spikes, *, per_synapse=False, voltage=None, post_bound=None):
        """A rule's ``on_post`` at the synapses onto the neurons that spiked (``post_spikes (*batch, n_post)``):
        one pass over every synapse, kept where the target spiked."""
        syn, pre, post = rule.split(st, voltage)
        mask = (post_spikes != 0)[..., topo.post]
        update = rule.updater("on_post", pre, post, batched=True)
        return rule.merge(st, syn=ops.every_synapse(topo, syn, update, mask, per_synapse))


SPARSE = register(Sparse())
