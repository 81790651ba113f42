"""The row-table format's loops in XLA: the rows of a step's spiking presynaptic neurons, and the columns of its
spiking postsynaptic neurons, visited one loop iteration per spike (or by the compiled kernels of
:mod:`snnjax.formats.rows.transmission`, :mod:`~snnjax.formats.rows.ring` and :mod:`~snnjax.formats.rows.stdp`, which
are tested against these).

The tables are :class:`snnjax.ops.Topology`'s row fields: the padded row table ``ell_post`` / ``ell_syn``, the
transposed table ``in_pre`` / ``in_syn`` (built for plastic weights), and ``row_ptr`` for a list sorted by ``pre``
(rows read as contiguous windows). The spike iteration itself (:func:`snnjax.ops.spike_rows`,
:func:`snnjax.ops.row_passes`, over the compacted index of :func:`snnjax.ops.compact`) is shared with just-in-time
connectivity.

* :func:`event`: transmission (``out[post[k]] += s[i] w[k]`` for the rows of the spikes), exact whatever the activity;
  its derivative is that of the bilinear map :func:`snnjax.ops.sparse`.
* :func:`event_update`: transmission with plastic weights, a rule's arrival update applied to each transmitted row.
* :func:`row_update`, :func:`column_update`: a rule's update at the rows of the arriving spikes and at the columns of
  the postsynaptic spikes (loops or blocks).
* :func:`ring_deliver`: per-synapse delays delivered once, at emission, into a ring of future input.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp

from snnjax.ops import Topology, _pack_on_overflow, _select, compact, row_passes, sparse, spike_rows

__all__ = ["batched", "column_update", "event", "event_update", "ring_deliver", "row_update", "take_slot"]


def _event_rows(s, idx, count, topo, w):
    """Adds the ELL row of every spike, scaled by the spike's value (unbatched)."""
    scalar = jnp.ndim(w) == 0

    def add_row(row, amp, out):
        # padding slots hold synapse index K: read as 0 (no copy of w with a zero appended: O(K) per step)
        wr = w if scalar else w.at[topo.ell_syn[row]].get(mode="fill", fill_value=0)
        return out.at[topo.ell_post[row]].add((amp * wr).astype(out.dtype), mode="promise_in_bounds")

    out = spike_rows(s, idx, count, add_row, jnp.zeros((topo.n_post + 1,), s.dtype))
    return out[: topo.n_post]


def event_update(s, idx, count, topo: Topology, w, update) -> tuple[jax.Array, Any]:
    """Event-driven propagation that also rewrites the synapses of every row it reads (unbatched): plasticity at the
    arrival of a spike, fused with its transmission.

    For each spiking row ``i`` (as :func:`spike_rows`): ``out[ell_post[i]] += s[i] * w[ell_syn[i]]``, then the row's
    synapses become ``update(i, ell_post[i], their values)``. One pass, and the synapses are the loop's carry,
    updated in place. Not differentiable (a data-dependent loop).

    Args:
      w: the weights ``(K,)``, or a dict of per-synapse arrays ``(K,)`` whose ``"w"`` is transmitted (a plasticity
        rule's per-synapse state).
      update: ``update(row, targets, values) -> new values`` (an array for an array ``w``; for a dict, a dict of the
        values it changes), ``values`` the row's entries (padding slots read 0, ``targets`` there ``n_post``).

    Returns:
      ``(out (n_post,), w)``, ``w`` in the form it was given.
    """
    if not isinstance(w, dict):  # one array: the dict form with one entry
        out, syn = event_update(s, idx, count, topo, {"w": w}, lambda r, t, v: {"w": update(r, t, v["w"])})
        return out, syn["w"]
    if topo.row_ptr is not None:  # rows are contiguous in k: slices instead of gathers and scatters
        return _event_update_rows(s, idx, count, topo, w, update)

    def add_row(row, amp, carry):
        out, syn = carry
        ids, tgt = topo.ell_syn[row], topo.ell_post[row]
        vals = {k: v.at[ids].get(mode="fill", fill_value=0) for k, v in syn.items()}
        out = out.at[tgt].add((amp * vals["w"]).astype(out.dtype), mode="promise_in_bounds")
        return out, _set(syn, ids, update(row, tgt, vals))

    out, w = spike_rows(s, idx, count, add_row, (jnp.zeros((topo.n_post + 1,), s.dtype), w))
    return out[: topo.n_post], w


def _set(syn: dict, ids: jax.Array, new: dict) -> dict:
    """``syn`` with ``new``'s values written at the synapses ``ids`` (padding ``K`` dropped)."""
    return {**syn, **{k: syn[k].at[ids].set(v, mode="drop") for k, v in new.items()}}


def _event_update_rows(s, idx, count, topo: Topology, w: dict, update) -> tuple[jax.Array, dict]:
    """:func:`event_update` for a synapse list sorted by ``pre`` (``topo.row_ptr``): row ``i`` is the slice
    ``[row_ptr[i], row_ptr[i + 1])`` of each per-synapse array, read and written as a window of the row table's width
    ``F`` starting at ``at = min(row_ptr[i], K - F)`` (lanes outside the row are written back unchanged).

    The loop carries the windows of the row it is about to visit, read right after the previous row's write: no op
    reads an array before the in-place update of an iteration, so XLA neither copies it nor gathers from or scatters
    into the whole array (on CPU, ops on a large operand are split over threads, which costs more than the ~100
    elements they move). Same order and result as the generic loop of :func:`spike_rows`.
    """
    width = topo.ell_post.shape[1]
    last = topo.n_syn - width  # >= 0: row_ptr is built only then
    lanes = jnp.arange(width, dtype=jnp.int32)
    n, k = s.shape[0], idx.shape[0]

    def window(syn, row):
        at = (jnp.minimum(topo.row_ptr[row], last),)
        return {key: jax.lax.dynamic_slice(v, at, (width,)) for key, v in syn.items()}

    def visit(row, nxt, carry):
        out, syn, win = carry
        start, end = topo.row_ptr[row], topo.row_ptr[row + 1]
        at = jnp.minimum(start, last)
        mine = (at + lanes >= start) & (at + lanes < end)
        tgt = jnp.where(mine, jax.lax.dynamic_slice(topo.post, (at,), (width,)), topo.n_post)
        out = out.at[tgt].add((s[row] * jnp.where(mine, win["w"], 0)).astype(out.dtype), mode="promise_in_bounds")
        new = update(row, tgt, win)
        syn = {**syn, **{key: jax.lax.dynamic_update_slice(syn[key], jnp.where(mine, v, win[key]), (at,))
                         for key, v in new.items()}}  # fmt: skip
        return out, syn, window(syn, nxt)

    def listed(j, carry):
        return visit(idx[j], idx[jnp.minimum(j + 1, k - 1)], carry)

    out = jnp.zeros((topo.n_post + 1,), s.dtype)
    carry = jax.lax.fori_loop(0, jnp.minimum(count, k), listed, (out, w, window(w, idx[0])))
    packed = _pack_on_overflow(s, count, k)

    def rest(j, carry):
        return visit(_select(packed, j, n), _select(packed, j + 1, n), carry)

    out, w, _ = carry
    out, w, _ = jax.lax.fori_loop(k, jnp.maximum(count, k), rest, (out, w, window(w, _select(packed, k, n))))
    return out[: topo.n_post], w


# -- plasticity: a rule's update at the rows of the arriving spikes, the columns of the postsynaptic spikes --------


def row_update(s, idx, count, topo: Topology, syn: dict, update, blocks: bool = False) -> dict:
    """``update`` at the synapses of every spiking row of ``s (n_pre,)`` (unbatched; row tables ``ell_post`` /
    ``ell_syn``): ``src`` the row (``(M, 1)`` for blocks), ``dst`` its targets. ``blocks=False``: one loop iteration
    per spike (:func:`spike_rows`); ``True``: ``len(idx)`` rows per pass (:func:`row_passes`)."""

    def visit(row, ids, tgt, syn):
        vals = {k: v.at[ids].get(mode="fill", fill_value=0) for k, v in syn.items()}
        return _set(syn, ids, update(row, tgt, vals))

    if blocks:

        def block(rows, valid, syn):
            r = jnp.where(valid, rows, topo.n_pre)  # row n_pre of the table is all padding
            return visit(r[:, None], topo.ell_syn[r], topo.ell_post[r], syn)

        return row_passes(s, idx, count, block, syn)
    return spike_rows(s, idx, count, lambda i, _, syn: visit(i, topo.ell_syn[i], topo.ell_post[i], syn), syn)


def column_update(p, idx, count, topo: Topology, syn: dict, update, blocks: bool = True) -> dict:
    """``update`` at the synapses onto every spiking postsynaptic neuron of ``p (n_post,)`` (unbatched; transposed
    table ``in_pre`` / ``in_syn``): ``src`` the synapses' sources, ``dst`` the column (``(M, 1)`` for blocks).
    ``idx, count``: :func:`compact` of ``p``. ``blocks``: ``len(idx)`` columns per pass, else one per loop iteration."""

    def visit(col, ids, syn):
        src = topo.in_pre[jnp.squeeze(col, -1) if jnp.ndim(col) else col]
        vals = {k: v.at[ids].get(mode="fill", fill_value=0) for k, v in syn.items()}
        return _set(syn, ids, update(src, col, vals))

    if blocks:

        def block(cols, valid, syn):
            c = jnp.where(valid, cols, topo.n_post)  # column n_post of the table is all padding
            return visit(c[:, None], topo.in_syn[c], syn)

        return row_passes(p, idx, count, block, syn)
    return spike_rows(p, idx, count, lambda j, _, syn: visit(j, topo.in_syn[j], syn), syn)


def sparse_tangent(forward):
    """``forward(s, idx, count, topo, w) -> (n_post,)`` as a ``jax.custom_jvp`` function whose tangent is that of the
    bilinear map :func:`snnjax.ops.sparse`, which it computes: the loops have a data-dependent trip count (no derivative
    rule of their own), so the tangent is computed with ``sparse`` whatever path the loop took. It is linear in
    ``(ds, dw)``: reverse mode transposes it, forward mode (``jvp``, ``jacfwd``) uses it as is."""
    fn = jax.custom_jvp(forward)

    @fn.defjvp
    def _jvp(primals, tangents):
        s, idx, count, topo, w = primals
        ds, dw = tangents[0], tangents[4]
        return fn(s, idx, count, topo, w), sparse(ds, topo, w) + sparse(s, topo, dw)

    return fn


_event = sparse_tangent(_event_rows)


def event(
    s: jax.Array,
    topo: Topology,
    w: jax.Array,
    max_events: int | None = None,
    events: tuple[jax.Array, jax.Array] | None = None,
) -> jax.Array:
    """Event-driven propagation, exact whatever the activity.

    Args:
      s: spikes ``(*batch, n_pre)``.
      topo: the synapse list.
      w: scalar or per-synapse ``(K,)`` weights.
      max_events: length of the compacted spike list (per batch element); spikes beyond it are found one
        by one (slower, still exact: no spike is ever dropped).
      events: ``compact(s, max_events)`` when already computed (the delay buffers store it, so each
        population is compacted once per step whatever the number of its projections).
    """
    w = jnp.asarray(w, s.dtype)
    if events is None:
        if max_events is None:
            raise ValueError("event: give max_events or events")
        events = compact(s, min(int(max_events), s.shape[-1]))
    idx, count = events
    return batched(_event, s, idx, count, topo, w)


def batched(kernel, s: jax.Array, idx: jax.Array, count: jax.Array, topo: Topology, w: jax.Array) -> jax.Array:
    """Apply an unbatched ``kernel(s (n,), idx, count, topo, w) -> (n_post,)`` over the leading batch axes of
    ``s (*batch, n)``; ``w`` is shared (scalar or ``(K,)``) or one per batch element (``(*batch, K)``, e.g.
    plastic weights)."""
    if s.ndim == 1:
        return kernel(s, idx, count, topo, w)
    per_batch = jnp.ndim(w) > 1
    flat = (s.reshape(-1, s.shape[-1]), idx.reshape(-1, idx.shape[-1]), count.reshape(-1))
    wf = jnp.broadcast_to(w, (*s.shape[:-1], w.shape[-1])).reshape(-1, w.shape[-1]) if per_batch else w
    out = jax.vmap(kernel, in_axes=(0, 0, 0, None, 0 if per_batch else None))(*flat, topo, wf)
    return out.reshape(*s.shape[:-1], topo.n_post)


# -- ring delivery of per-synapse delays ----------------------------------------------------------------------


def _ring_add(ring, head, amp, wv, lg, tgt, valid):
    """``ring[(head + lg) % D, tgt] += amp * wv`` where ``valid`` (the others dropped), as one scatter into the flat
    view of ``ring (D, n_post)``. (The ring stays 2-D between scatters: a carried ring reshaped before the loop was
    copied by XLA every step; a reshape inside the loop body is free.)"""
    depth, n_post = ring.shape
    slot = head + lg.astype(jnp.int32)  # in [1, 2 D): one conditional subtraction is the modulo
    slot = jnp.where(slot >= depth, slot - depth, slot)
    pos = jnp.where(valid, slot * n_post + tgt, depth * n_post)  # out of range: the scatter drops it
    vals = jnp.broadcast_to(amp * wv, pos.shape).astype(ring.dtype)
    return ring.reshape(-1).at[pos.reshape(-1)].add(vals.reshape(-1), mode="drop").reshape(depth, n_post)


def _ring_rows(s, idx, count, topo: Topology, w, lag, ring, head):
    """:func:`ring_deliver` for one batch element (slot ``head`` cleared first), one loop iteration per spike."""
    ring = _clear(ring, head)
    n_post = topo.n_post
    scalar = jnp.ndim(w) == 0

    if topo.row_ptr is not None:  # a list sorted by pre: rows are windows of the row's width (no padded tables)
        width = topo.row_width
        last = topo.n_syn - width
        lanes = jnp.arange(width, dtype=jnp.int32)

        def add_row(row, amp, ring):
            start, end = topo.row_ptr[row], topo.row_ptr[row + 1]
            at = jnp.minimum(start, last)
            window = lambda a: jax.lax.dynamic_slice(a, (at,), (width,))  # noqa: E731
            mine = (at + lanes >= start) & (at + lanes < end)
            return _ring_add(ring, head, amp, w if scalar else window(w), window(lag), window(topo.post), mine)

    else:

        def add_row(row, amp, ring):
            syn, tgt = topo.ell_syn[row], topo.ell_post[row]
            wv = w if scalar else w.at[syn].get(mode="fill", fill_value=0)
            lg = lag.at[syn].get(mode="fill", fill_value=1)
            return _ring_add(ring, head, amp, wv, lg, tgt, tgt < n_post)

    return spike_rows(s, idx, count, add_row, ring)


def _ring_all(s, topo: Topology, w, lag, ring, head):
    """Every synapse (``O(K)``): what :func:`ring_deliver` adds, as a bilinear map of ``(s, w)``, for its derivative."""
    depth, n_post = ring.shape
    slot = head + lag.astype(jnp.int32)
    slot = jnp.where(slot >= depth, slot - depth, slot)
    vals = s[..., topo.pre_index()] * w
    return jnp.zeros(ring.shape, vals.dtype).at[slot, topo.post].add(vals)


def _clear(ring, head):
    """``ring (D, n_post)`` with slot ``head`` zeroed (in place)."""
    return jax.lax.dynamic_update_index_in_dim(ring, jnp.zeros(ring.shape[1:], ring.dtype), head, 0)


def take_slot(ring: jax.Array, slot: jax.Array) -> jax.Array:
    """Slot ``slot`` of a ring ``(*batch, D, n)``: ``(*batch, n)``, materialised once. (A plain dynamic slice was fused
    into each of its consumers -- the kinetics, the output, the neuron's update -- with its index arithmetic done per
    element in each.)"""
    axis = ring.ndim - 2
    return jax.lax.cond(
        slot >= 0,  # always: a branch's result is materialised
        lambda r: jax.lax.dynamic_index_in_dim(r, slot, axis=axis, keepdims=False),
        lambda r: jnp.zeros(r.shape[:axis] + r.shape[axis + 1 :], r.dtype),
        ring,
    )


def _next(head, depth):
    return jnp.where(head + 1 < depth, head + 1, 0)


def _with_slot(kernel):
    """A ring kernel that returns the ring (the XLA ones) as one that also returns the slot after ``head``."""

    def fn(s, idx, count, topo, w, lag, ring, head):
        ring = kernel(s, idx, count, topo, w, lag, ring, head)
        return ring, take_slot(ring, _next(head, ring.shape[0]))

    return fn


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _ring(kernel, s, idx, count, topo, w, lag, ring, head):
    return kernel(s, idx, count, topo, w, lag, ring, head)


@_ring.defjvp
def _ring_jvp(kernel, primals, tangents):
    # the loop has a data-dependent trip count; the delivery is bilinear in (s, w) plus the cleared ring, so the
    # tangent is computed over every synapse (forward mode as is, reverse mode by transposition). As with the delay
    # buffer, only one-step synapses pass the spikes' (surrogate) gradient: spikes that wait carry none.
    s, idx, count, topo, w, lag, ring, head = primals
    ds, dw, dring = tangents[0], tangents[4], tangents[6]
    out = _ring(kernel, s, idx, count, topo, w, lag, ring, head)
    w_now = jnp.where(lag == 1, w, jnp.zeros((), w.dtype))
    d_out = _clear(dring, head) + _ring_all(ds, topo, w_now, lag, ring, head)
    d_out = d_out + _ring_all(s, topo, dw, lag, ring, head)
    return out, (d_out, jax.lax.dynamic_index_in_dim(d_out, _next(head, ring.shape[0]), 0, keepdims=False))


def ring_deliver(
    s: jax.Array,
    index: tuple[jax.Array, jax.Array],
    topo: Topology,
    w: jax.Array,
    lag: jax.Array,
    ring: jax.Array,
    head: jax.Array,
    kernel=None,
) -> tuple[jax.Array, jax.Array]:
    """Deliver one step's spikes into a ring buffer of future input, once, at emission (NEST's and GeNN's scheme
    for per-synapse delays: the work follows the spikes and their fan-out, never the synapse count).

    First slot ``head`` is cleared (the slot the last step took); then for every spiking presynaptic neuron ``i``
    (in increasing order) and every synapse ``k`` of its row (in increasing ``k``):
    ``ring[(head + lag[k]) % D, post[k]] += s[i] * w[k]``. With ``head = (t - 1) % D`` at step ``t`` and the spikes
    emitted at step ``t - 1``, slot ``a % D`` then holds the summed weight arriving at step ``a``, and slot
    ``(head + 1) % D = t % D``, returned too, what arrives now (the next step clears it). Exact whatever the
    activity (the compacted ``index`` of :func:`compact`, with its overflow path). Differentiable in ``s``, ``w``
    and ``ring`` (the tangent visits every synapse); as spikes read from a delay buffer, only synapses of lag 1
    pass the spikes' gradient.

    Args:
      s: spikes ``(*batch, n_pre)`` (0 = none; a value scales the weights).
      index: ``compact(s, max_events)``: ``(idx (*batch, M), count (*batch,))``.
      topo: the synapse list with ``row_ptr`` (sorted by pre: rows read as windows) or the padded row tables.
      w: scalar or per-synapse ``(K,)`` weights (or ``(*batch, K)``).
      lag: per-synapse lags in steps, ``(K,)``, each in ``[1, D]`` (any integer type; guaranteed by the caller).
      ring: ``(*batch, D, n_post)``.
      head: int32 scalar in ``[0, D)``.
      kernel: the unbatched delivery ``kernel(s, idx, count, topo, w, lag, ring, head) -> (ring, now)`` (``ring (D,
        n_post)``; it clears slot ``head`` first, and ``now`` is slot ``(head + 1) % D`` after it); default one loop
        iteration per spike (``vector_event`` passes its block kernel, the ``event`` propagator the compiled one).

    Returns:
      ``(ring, now)``: the ring after delivery, ``(*batch, D, n_post)``, and what arrives at the current step,
      ``(*batch, n_post)``.
    """
    idx, count = index
    w = jnp.asarray(w, s.dtype)
    fn = functools.partial(_ring, _with_slot(_ring_rows) if kernel is None else kernel)
    if s.ndim == 1:
        return fn(s, idx, count, topo, w, lag, ring, head)
    batch = s.shape[:-1]
    per_batch_w = jnp.ndim(w) > 1
    flat = lambda a, n: a.reshape(-1, *a.shape[a.ndim - n :])  # noqa: E731
    wf = jnp.broadcast_to(w, (*batch, w.shape[-1])).reshape(-1, w.shape[-1]) if per_batch_w else w
    out, now = jax.vmap(fn, in_axes=(0, 0, 0, None, 0 if per_batch_w else None, None, 0, None))(
        flat(s, 1), flat(idx, 1), count.reshape(-1), topo, wf, lag, flat(ring, 2), head
    )
    return out.reshape(*batch, *ring.shape[-2:]), now.reshape(*batch, ring.shape[-1])
