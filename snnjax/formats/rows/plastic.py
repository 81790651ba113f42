"""How a plasticity rule is traversed on the row-table format, in XLA: the synapses of the rows of the arriving spikes
(row table, inside the transmission loop or without it) and of the columns of the postsynaptic spikes (transposed
table), one loop iteration per spike or in blocks.

A rule (:class:`snnjax.plasticity.Rule`) gives ``update(src, dst, values) -> changed values`` (``rule.updater``); these
functions decide which synapses it sees, per batch element. The compiled kernels of the built-in STDP rules
(:mod:`snnjax.formats.rows.stdp`) are tested against :func:`propagate_plastic` and :func:`plastic_columns`.
"""

from __future__ import annotations

from snnjax import ops
from snnjax.formats.rows import blocks as _blocks
from snnjax.formats.rows import loops
from snnjax.propagators.base import default_max_events, per_batch

__all__ = ["learn_pre", "plastic_columns", "propagate_plastic"]


def propagate_plastic(topo, spikes, index, st, rule, *, blocks=False):
    """Transmission with the plastic weights ``st.w`` and ``rule.on_pre`` at each transmitted row, in one pass
    (:func:`snnjax.formats.rows.loops.event_update`; ``blocks``: ``len(idx)`` rows per scatter-add):
    ``(out (*batch, n_post), st)``."""

    def one(tree, s, idx, count):
        syn, pre, post = tree
        update = rule.updater("on_pre", pre, post)
        if blocks:
            return _blocks.event_update_blocks(s, idx, count, topo, syn, update)
        return loops.event_update(s, idx, count, topo, syn, update)

    out, syn = per_batch(one, rule.split(st), spikes, *index)
    return out, rule.merge(st, syn=syn)


def learn_pre(topo, rule, st, arrivals, index, *, blocks=False, voltage=None):
    """``rule.on_pre`` at the rows of the arriving spikes, without transmission
    (:func:`snnjax.formats.rows.loops.row_update`: a loop per spike, or blocks)."""

    def one(tree, s, idx, count):
        syn, pre, post = tree
        return loops.row_update(s, idx, count, topo, syn, rule.updater("on_pre", pre, post), blocks=blocks)

    return rule.merge(st, syn=per_batch(one, rule.split(st, voltage), arrivals, *index))


def plastic_columns(topo, rule, st, post_spikes, *, voltage=None, post_bound=None):
    """``rule.on_post`` at the synapses onto the neurons that spiked, through the transposed table, ``post_bound``
    columns per block (default :func:`snnjax.propagators.default_max_events`): the XLA path of the row format's
    ``learn_post`` and the compiled potentiation kernel's reference."""
    m_post = post_bound or default_max_events(topo.n_post)

    def one(tree, p):
        syn, pre, post = tree
        idx, count = ops.compact(p, min(m_post, p.shape[-1]))
        return loops.column_update(p, idx, count, topo, syn, rule.updater("on_post", pre, post), blocks=True)

    return rule.merge(st, syn=per_batch(one, rule.split(st, voltage), post_spikes))
