"""The row-table format's block loops (the ``vector_event`` propagator, for accelerators): the rows of all listed
spikes in one block.

Each pass takes up to ``max_events`` spiking presynaptic neurons (from the compacted index), gathers their rows of the
padded row table as one ``(max_events, fan_out)`` block of targets and weights, and adds the whole block with one
scatter-add: no per-spike loop, so a GPU runs one kernel per pass instead of one per spike. When a step has more spikes
than ``max_events``, further passes take the next ``max_events`` spikes (found from the packed spike words,
:func:`snnjax.ops.compact`'s representation) until all are done: at most ``ceil(n_pre / max_events)`` passes, exact
whatever the activity.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from snnjax import ops
from snnjax.formats.rows import loops

__all__ = ["event_update_blocks", "ring_blocks", "vector_event"]


def _rows(s, rows, valid, topo, w):
    """One block of rows ``rows (M,)`` (those with ``valid``): padded row ids ``(M,)``, synapse ids (None for a
    scalar weight) and targets ``(M, F)``, spike values ``(M,)`` and weights (padding slots read as 0)."""
    r = jnp.where(valid, rows, topo.n_pre)  # row n_pre of the table is all padding
    syn = None if jnp.ndim(w) == 0 else topo.ell_syn[r]
    wv = w if syn is None else w.at[syn].get(mode="fill", fill_value=0)
    return r, syn, topo.ell_post[r], jnp.where(valid, s[rows], 0), wv


def _add(out, targets, amp, wv):
    """Adds the block ``amp[:, None] * wv`` at ``targets (M, F)``, in one scatter-add."""
    vals = jnp.broadcast_to((amp[:, None] * wv).astype(out.dtype), targets.shape)
    return out.at[targets.reshape(-1)].add(vals.reshape(-1), mode="promise_in_bounds")


def _forward(s, idx, count, topo, w):
    def block(rows, valid, out):
        _, _, targets, amp, wv = _rows(s, rows, valid, topo, w)
        return _add(out, targets, amp, wv)

    out = ops.row_passes(s, idx, count, block, jnp.zeros((topo.n_post + 1,), s.dtype))
    return out[: topo.n_post]


_vector = loops.sparse_tangent(_forward)


def ring_blocks(s, idx, count, topo, w, lag, ring, head):
    """Ring delivery (:func:`snnjax.formats.rows.loops.ring_deliver`, one batch element; slot ``head`` cleared first)
    in blocks of ``len(idx)`` rows, one scatter-add each."""
    ring = loops._clear(ring, head)
    scalar = jnp.ndim(w) == 0

    def block(rows, valid, ring):
        r = jnp.where(valid, rows, topo.n_pre)  # row n_pre is empty (row_ptr) or all padding (tables)
        amp = jnp.where(valid, s[rows], 0)[:, None]
        if topo.row_ptr is not None:  # sorted list: row i is k in [row_ptr[i], row_ptr[i + 1])
            k = topo.row_ptr[r][:, None] + jnp.arange(topo.row_width, dtype=jnp.int32)
            mine = k < topo.row_ptr[r + 1][:, None]
            k = jnp.minimum(k, topo.n_syn - 1)
            tgt, lg, wv = topo.post[k], lag[k], w if scalar else w[k]
        else:
            syn, tgt = topo.ell_syn[r], topo.ell_post[r]
            mine = tgt < topo.n_post
            lg = lag.at[syn].get(mode="fill", fill_value=1)
            wv = w if scalar else w.at[syn].get(mode="fill", fill_value=0)
        return loops._ring_add(ring, head, amp, wv, lg, tgt, mine)  # the block as one scatter-add

    return ops.row_passes(s, idx, count, block, ring)


def vector_event(s: jax.Array, topo: ops.Topology, w: jax.Array, index: tuple[jax.Array, jax.Array]) -> jax.Array:
    """Vectorized event-driven propagation (see the module docstring).

    Args:
      s: spikes ``(*batch, n_pre)`` (0 = none; values scale the weights).
      topo: synapse list with row tables.
      w: scalar, ``(K,)`` or per batch element ``(*batch, K)``.
      index: ``snnjax.ops.compact(s, max_events)``.

    Returns:
      ``(*batch, n_post)``.
    """
    idx, count = index
    return loops.batched(_vector, s, idx, count, topo, jnp.asarray(w, s.dtype))


def event_update_blocks(s, idx, count, topo: ops.Topology, syn: dict, update) -> tuple[jax.Array, dict]:
    """:func:`snnjax.formats.rows.loops.event_update` in blocks of ``len(idx)`` rows (unbatched; ``syn`` a dict of
    per-synapse arrays whose ``"w"`` is transmitted): ``(out (n_post,), syn)``."""

    def block(rows, valid, carry):
        out, syn = carry
        r, ids, tgt, amp, wv = _rows(s, rows, valid, topo, syn["w"])
        vals = {k: wv if k == "w" else v.at[ids].get(mode="fill", fill_value=0) for k, v in syn.items()}
        return _add(out, tgt, amp, wv), loops._set(syn, ids, update(r[:, None], tgt, vals))

    out, syn = ops.row_passes(s, idx, count, block, (jnp.zeros((topo.n_post + 1,), s.dtype), syn))
    return out[: topo.n_post], syn
