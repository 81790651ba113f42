"""A connectivity format written outside the package, as a user would, in this one module (issue 23: adding a format
touches one folder): its own table, its propagator (what it supports, its cost, how it builds the table from the
synapse list, one step of transmission) and how the table is padded when the network is split over devices.

The format pulls instead of pushing: ``col_syn`` lists, for each postsynaptic neuron, the synapses onto it (padded
with ``K``, which reads weight 0), and a step gathers ``s[pre[k]] w[k]`` over each row of it and sums. Used by
``tests/test_format_contract.py`` (one device, against ``sparse``) and ``tests/format_cases.py`` (4 devices).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

import snnjax as sj
from snnjax import ops


@struct.dataclass
class ColumnTopology(ops.Topology):
    """The synapse list plus ``col_syn`` int32 ``(n_post + 1, F_in)``: row ``j`` the synapses onto neuron ``j`` in
    increasing ``k``, padded with ``K``; the last row is all padding."""

    col_syn: jax.Array | None = None

    def padded(self, ell_width, in_width):
        """The base tables as the base pads them, and ``col_syn`` padded to ``in_width`` columns (the widest column of
        any device, which the split computes) with ``K``."""
        out = super().padded(ell_width, in_width)
        if in_width is None or self.col_syn is None:
            return out
        table = np.asarray(self.col_syn)
        pad = np.full((table.shape[0], in_width - table.shape[1]), self.n_syn, table.dtype)
        return out.replace(col_syn=np.concatenate([table, pad], axis=1))


@dataclasses.dataclass(frozen=True)
class Columns(sj.propagators.Propagator):
    """Pull propagation over ``col_syn``: ``out[j] = sum over the row j of s[pre[k]] w[k]``."""

    name = "columns"
    auto = False  # never auto's pick: a test format

    def supports(self, info):
        if info.per_synapse_delay or info.plastic or info.align == "pre" or info.stp:
            return "columns: one delay per projection, fixed weights, post-aligned kinetics, no STP"
        return None

    def cost(self, info, backend):
        return 2.0 * info.n_syn

    def build(self, pre, post, info):
        base = ops.Topology.from_lists(pre, post, info.n_pre, info.n_post, on_device=False, ell=False)
        order = np.argsort(post, kind="stable")
        counts = np.bincount(post, minlength=info.n_post)
        width = max(int(counts.max()) if counts.size else 0, 1)
        start = np.concatenate([[0], np.cumsum(counts)])
        slot = np.arange(post.size) - start[post[order]]
        table = np.full((info.n_post + 1, width), post.size, np.int32)
        table[post[order], slot] = order
        fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
        return ColumnTopology(**fields, col_syn=table)

    def propagate(self, topo, w, spikes, index):
        vals = spikes[..., topo.pre_index()] * w  # (*batch, K)
        vals = jnp.concatenate([vals, jnp.zeros((*vals.shape[:-1], 1), vals.dtype)], axis=-1)  # index K reads 0
        return vals[..., topo.col_syn[: topo.n_post]].sum(-1)


def register() -> None:
    """Make ``method="columns"`` available (idempotent)."""
    if "columns" not in sj.propagators.names():
        sj.propagators.register(Columns())


def network(method: str) -> sj.Network:
    """A small E/I network whose sums are exact in float32 (weights are multiples of 1/4 and spikes 0/1), so every
    format and every split adds them to the same value."""
    lif = dict(v_rest=-49.0, v_th=-50.0, v_reset=-60.0, tau=20.0, tau_ref=2.0, v_init=sj.init.Normal(-55.0, 5.0))
    exc = dict(synapse=sj.synapses.Exponential(tau=5.0), output=sj.outputs.CUBA(), weight=1.25, delay=0.5)
    inh = dict(synapse=sj.synapses.Exponential(tau=10.0), output=sj.outputs.CUBA(), weight=-4.0, delay=1.0)
    return sj.Network(
        E=sj.neurons.LIF(160, **lif),
        I=sj.neurons.LIF(40, **lif),
        EE=sj.Projection("E", "E", conn=sj.conn.FixedProb(0.1, seed=1), method=method, **exc),
        EI=sj.Projection("E", "I", conn=sj.conn.FixedProb(0.1, seed=2), method=method, **exc),
        IE=sj.Projection("I", "E", conn=sj.conn.FixedProb(0.1, seed=3), method=method, **inh),
        II=sj.Projection("I", "I", conn=sj.conn.FixedProb(0.1, seed=4), method=method, **inh),
    )
