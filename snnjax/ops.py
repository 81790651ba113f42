"""Propagation kernels: presynaptic spikes -> summed synaptic weight per postsynaptic neuron.

All kernels take spikes ``s`` of shape ``(*batch, n_pre)`` (floats; 0 = no spike) and return
``(*batch, n_post)``: ``out[j] = sum_k w_k s[pre_k]`` over the synapses ``k`` onto ``j``. The entries of
``s`` need not be 0/1: with short-term plasticity a spike carries its efficacy, and pre-aligned synapses
(``synapses.AMPA`` ...) send their presynaptic conductances through ``dense`` or ``sparse`` every step.
The event kernel multiplies each listed row by its value ``s[i]``, so it is exact for valued spikes as long
as the compacted indices cover the nonzero entries of ``s``.

* ``dense``: ``s @ W`` with a dense ``(n_pre, n_post)`` matrix. Best for small or dense projections.
* ``sparse``: gather every synapse's presynaptic spike and scatter-add (``O(K)`` per step).
* ``event``: event-driven. Compacts the indices of the (few) spiking presynaptic neurons, up to
  ``max_events`` of them, and adds only their rows of a padded fixed-width (ELL) table, one row per
  loop iteration (``O(spikes x max_fanout)`` per step). When more neurons spike than ``max_events``,
  the remaining ones are found one by one from the packed spike words (:func:`spike_rows`), so no
  spike is ever dropped, and there is no branch on the activity: under ``vmap`` a batch costs its
  busiest element's spikes (a ``lax.cond`` fallback to ``sparse`` would, under ``vmap``, run both
  branches: a pass over every synapse in every step).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct


@struct.dataclass
class Topology:
    """A projection's synapse list, built once on the host (every index array is a pytree leaf).

    Synapse ``k`` is ``pre[k] -> post[k]`` in the connector's order (a ``(pre_idx, post_idx)`` list keeps the
    user's order, so per-synapse weights, delays and parameters given with it apply as given). Only the
    formats a propagator or a plasticity rule asks for are built (the others are ``None``):

    Attributes:
      pre, post: int32 ``(K,)``; ``pre`` is None in the rows-only format of a list sorted by ``pre``
        (``from_lists(rows_only=True)``), where ``row_ptr`` holds it (:meth:`pre_index` derives it).
      ell_post: int32 ``(n_pre + 1, F)``: row ``i`` lists the targets of presynaptic neuron ``i`` (its
        synapses in increasing ``k``), padded with ``n_post``; the extra last row is all padding.
      ell_syn: int32 ``(n_pre + 1, F)``: the synapse index of each ``ell_post`` entry, padded with ``K``.
      in_pre: int32 ``(n_post + 1, F_in)``: row ``j`` lists the sources of postsynaptic neuron ``j`` (the
        transposed index, for event-driven plasticity at postsynaptic spikes), padded with ``n_pre``.
      in_syn: int32 ``(n_post + 1, F_in)``: the synapse index of each ``in_pre`` entry, padded with ``K``.
      row_ptr: int32 ``(n_pre + 2,)`` when the list is sorted by ``pre`` (every connector but a user's unsorted
        ``(pre_idx, post_idx)`` list) and row tables are built: row ``i``'s synapses are ``k`` in
        ``[row_ptr[i], row_ptr[i + 1])``, so plastic rows are read and written as contiguous slices
        (:func:`event_update`); else ``None``.
      n_pre, n_post: group sizes (static).
      row_width: the largest row (synapses of one presynaptic neuron) when ``row_ptr`` is built, else 0 (static):
        the width of the windows in which rows are read without the padded tables (:func:`ring_deliver`).
    """

    pre: jax.Array
    post: jax.Array
    ell_post: jax.Array | None = None
    ell_syn: jax.Array | None = None
    in_pre: jax.Array | None = None
    in_syn: jax.Array | None = None
    row_ptr: jax.Array | None = None
    n_pre: int = struct.field(pytree_node=False, default=0)
    n_post: int = struct.field(pytree_node=False, default=0)
    row_width: int = struct.field(pytree_node=False, default=0)

    @classmethod
    def from_lists(
        cls,
        pre: np.ndarray,
        post: np.ndarray,
        n_pre: int,
        n_post: int,
        on_device: bool = True,
        ell: bool = True,
        transposed: bool = False,
        rows_only: bool = False,
    ) -> Topology:
        """The synapse list ``pre[k] -> post[k]`` (any order; numpy arrays if not ``on_device``), with the
        row tables (``ell``) and the transposed tables (``transposed``) when asked for. ``rows_only``: for a list
        sorted by ``pre``, only ``row_ptr`` and ``row_width`` (no padded tables, whose memory grows with the widest
        row); an unsorted list gets the padded tables instead."""
        pre = np.asarray(pre, np.int32)
        post = np.asarray(post, np.int32)
        put = jnp.asarray if on_device else np.asarray
        tables = {}
        keep_pre = True
        if ell:
            ptr = _row_ptr(pre, n_pre)
            width = max(int(np.max(np.diff(ptr))) if n_pre else 0, 1) if ptr is not None else 0
            if ptr is None or not rows_only:
                ell_post, ell_syn = _rows(pre, post, n_pre, n_post)
                tables["ell_post"], tables["ell_syn"] = put(ell_post), put(ell_syn)
            if ptr is not None and pre.size >= width:
                tables["row_ptr"], tables["row_width"] = put(np.append(ptr, np.int32(pre.size))), width
                keep_pre = not rows_only or transposed  # the rows-only format derives pre from row_ptr
        if transposed:
            tables["in_pre"], tables["in_syn"] = (put(a) for a in _rows(post, pre, n_post, n_pre))
        return cls(pre=put(pre) if keep_pre else None, post=put(post), n_pre=int(n_pre), n_post=int(n_post), **tables)

    @property
    def n_syn(self) -> int:
        """Number of synapses ``K``."""
        return self.post.shape[0]

    def pre_index(self) -> jax.Array | np.ndarray:
        """``pre (K,)``: stored, or derived from ``row_ptr`` in the rows-only format (host arrays give a NumPy array,
        device arrays a JAX array)."""
        if self.pre is not None:
            return self.pre
        counts = self.row_ptr[1 : self.n_pre + 1] - self.row_ptr[: self.n_pre]
        if isinstance(self.row_ptr, np.ndarray):
            return np.repeat(np.arange(self.n_pre, dtype=np.int32), counts)
        return jnp.repeat(jnp.arange(self.n_pre, dtype=jnp.int32), counts, total_repeat_length=self.n_syn)

    @property
    def max_fanout(self) -> int:
        """Width ``F`` of the row table (largest number of targets of one presynaptic neuron)."""
        return self.ell_post.shape[1] if self.ell_post is not None else self.row_width

    def padded(self, ell_width: int | None, in_width: int | None) -> Topology:
        """The same synapses with the row tables padded to ``ell_width`` columns and the transposed tables to
        ``in_width`` (host NumPy; ``None`` leaves a table as it is), so that every device of a sharded network holds
        tables of one shape. A padding entry repeats the table's last entry (a dummy synapse of weight 0 added by the
        split), so it never points outside ``[0, n_post)`` / ``[0, K)``. The rows-only format (``row_ptr``) is kept
        when the list is at least one window long, and chosen when a device's list reaches the window width; then
        ``row_width`` is the shared window width (a static of the structure)."""
        changes: dict[str, Any] = {}
        for field, width in (
            ("ell_post", ell_width),
            ("ell_syn", ell_width),
            ("in_pre", in_width),
            ("in_syn", in_width),
        ):
            table = getattr(self, field)
            if table is None or width is None:
                continue
            table = np.asarray(table)
            if table.shape[1] > width:
                raise ValueError(f"row table {field} has {table.shape[1]} columns, more than the width {width}")
            pad = np.full((table.shape[0], width - table.shape[1]), table[-1, 0], table.dtype)
            changes[field] = np.concatenate([table, pad], axis=1)
        if ell_width is not None and self.row_ptr is None and self.ell_post is not None and self.n_syn >= ell_width:
            ptr = np.searchsorted(np.asarray(self.pre_index()), np.arange(self.n_pre + 1)).astype(np.int32)
            changes["row_ptr"] = np.append(ptr, np.int32(self.n_syn))
        elif ell_width is not None and self.row_ptr is not None and self.n_syn < ell_width:
            if self.ell_post is None:
                raise ValueError(f"a rows-only list of {self.n_syn} synapses is shorter than its window {ell_width}")
            changes["row_ptr"] = None
        if ell_width is not None and changes.get("row_ptr", self.row_ptr) is not None:
            changes["row_width"] = ell_width
        return self.replace(**changes) if changes else self


def _row_ptr(pre: np.ndarray, n_pre: int) -> np.ndarray | None:
    """``(n_pre + 1,)`` start of each row of a list sorted by ``pre`` (int32), or None if it is not sorted."""
    if pre.size > 1 and not np.all(pre[1:] >= pre[:-1]):
        return None
    return np.searchsorted(pre, np.arange(n_pre + 1, dtype=pre.dtype)).astype(np.int32)  # same dtype: no copy of pre


def _rows(src: np.ndarray, dst: np.ndarray, n_src: int, n_dst: int) -> tuple[np.ndarray, np.ndarray]:
    """Padded row tables ``(n_src + 1, F)`` of ``dst`` and of the synapse index, grouped by ``src``."""
    k = src.size
    order = np.argsort(src, kind="stable")  # within a row, synapses in increasing k
    counts = np.bincount(src, minlength=n_src)
    width = max(int(counts.max()) if counts.size else 0, 1)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    s = src[order]
    slot = np.arange(k) - indptr[s]
    table = np.full((n_src + 1, width), n_dst, np.int32)
    syn = np.full((n_src + 1, width), k, np.int32)
    table[s, slot] = dst[order]
    syn[s, slot] = order.astype(np.int32)
    return table, syn


def dense(s: jax.Array, w: jax.Array) -> jax.Array:
    """``s @ w`` with ``w`` of shape ``(n_pre, n_post)``."""
    return jnp.matmul(s, w.astype(s.dtype))


def _scatter(values: jax.Array, index: jax.Array, n: int) -> jax.Array:
    """Sum ``values (*batch, ...)`` into ``n`` bins by ``index`` (same trailing shape); index ``n`` is dropped."""
    batch = values.shape[: values.ndim - index.ndim]
    out = jnp.zeros((*batch, n + 1), values.dtype)
    return out.at[..., index].add(values)[..., :n]


def sparse(s: jax.Array, topo: Topology, w: jax.Array) -> jax.Array:
    """Every synapse, every step: ``out = scatter_add(post, s[pre] * w)``; ``w`` scalar or ``(K,)``."""
    return _scatter(s[..., topo.pre_index()] * w, topo.post, topo.n_post)


def delayed(values: jax.Array, topo: Topology, w: jax.Array) -> jax.Array:
    """Per-synapse presynaptic values ``(*batch, K)`` (already read with per-synapse delays) -> ``(*batch, n_post)``."""
    return _scatter(values * w, topo.post, topo.n_post)


def compact(s: jax.Array, max_events: int) -> tuple[jax.Array, jax.Array]:
    """Indices of the nonzero entries of ``s (*batch, n)`` along the last axis, for event-driven kernels.

    Sort-free: the spikes are packed into 32-bit words (one ``population_count`` per word), the
    words' running counts give, for each output slot ``j``, the word holding the ``j``-th spike (a
    binary search over ``n / 32`` counts), and five ``population_count`` halvings give its bit. The cost
    is ``O(n + max_events log(n / 32))``, against ``O(n log max_events)`` for ``lax.top_k``, which it
    replaces (2-4x faster at 50k-800k neurons with 0.2% of them spiking per step; see
    ``benchmarks/README.md``).

    Returns:
      ``(idx, count)``: ``idx`` int32 ``(*batch, max_events)`` whose first ``min(count, max_events)``
      entries are the spiking indices in increasing order (the rest are unspecified valid indices);
      ``count`` int32 ``(*batch,)`` the true number of nonzeros, which may exceed ``max_events`` (then
      the kernels find the other spikes one by one: :func:`spike_rows`).
    """
    fn = functools.partial(_compact_bits, k=int(max_events))
    for _ in range(s.ndim - 1):
        fn = jax.vmap(fn)
    # Materialise the index: otherwise XLA fuses the binary search into each consumer and repeats it for every
    # element a consumer produces (a (max_events, fan_in) block of plasticity recomputed it 95 times per slot).
    # A sort is never fused into its consumers, and it is the identity here: the listed spikes come in
    # increasing order and the padding slots hold n - 1, no smaller than any of them.
    return jax.lax.sort(fn(s), dimension=-1), jnp.count_nonzero(s, axis=-1).astype(jnp.int32)


def _pack(s: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Spikes ``(n,)`` -> ``(words, counts, ends)``: 32 spikes per uint32 word, set bits per word, running count."""
    f = jnp.pad(s != 0, (0, (-s.shape[0]) % 32)).reshape(-1, 32).astype(jnp.uint32)
    words = (f << jnp.arange(32, dtype=jnp.uint32)).sum(1, dtype=jnp.uint32)  # distinct bits: sum == or
    counts = jax.lax.population_count(words).astype(jnp.int32)
    return words, counts, jnp.cumsum(counts)  # ends[w]: spikes in words 0..w


def _select(packed: tuple[jax.Array, jax.Array, jax.Array], j: jax.Array, n: int) -> jax.Array:
    """Index of the ``j``-th spike (int32, any shape) from :func:`_pack`'s output; ``n`` = len(s)."""
    words, counts, ends = packed
    w = jnp.searchsorted(ends, j, side="right", method="scan_unrolled").astype(jnp.int32)
    w = jnp.minimum(w, words.shape[0] - 1)
    rank = j - (ends[w] - counts[w])  # the j-th spike is the rank-th set bit of word w
    word, bit = words[w], jnp.zeros_like(j)
    for width in (16, 8, 4, 2, 1):
        low = jax.lax.population_count(word & jnp.uint32((1 << width) - 1)).astype(jnp.int32)
        up = rank >= low
        rank = jnp.where(up, rank - low, rank)
        bit = jnp.where(up, bit + width, bit)
        word = jnp.where(up, word >> width, word)
    return jnp.minimum(w * 32 + bit, n - 1)


def _pack_on_overflow(s: jax.Array, count: jax.Array, k: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """:func:`_pack` of ``s`` when the step has more than ``k`` spikes (the listed index overflows), zeros of the
    same shapes otherwise. The branch closes over nothing but ``s``: under vmap it becomes a select whose operands
    are broadcast to the batch (a branch holding the synapse tables would copy them once per batch element and
    step)."""
    empty = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), jax.eval_shape(_pack, s))
    return jax.lax.cond(count > k, _pack, lambda _: empty, s)


def _compact_bits(s: jax.Array, k: int) -> jax.Array:
    return _select(_pack(s), jnp.arange(k, dtype=jnp.int32), s.shape[0])


def spike_rows(s: jax.Array, idx: jax.Array, count: jax.Array, add_row, init: jax.Array) -> jax.Array:
    """``add_row(i, value, out)`` for every spiking index ``i`` of ``s (n,)`` in increasing order, exactly.

    The first ``min(count, len(idx))`` come from the compacted list ``idx`` (:func:`compact`); when a step
    has more spikes than that, the rest are found one by one from the packed spike words (built only in
    that case). The two loops run ``count`` iterations in all, with no branch around them: under ``vmap``
    (batched states, sweeps) a batch costs its busiest element's spikes plus one packing of the spikes,
    never a pass over every synapse.
    """
    k, n = idx.shape[0], s.shape[0]
    values = s[idx]

    def listed(j, out):
        return add_row(idx[j], values[j], out)

    out = jax.lax.fori_loop(0, jnp.minimum(count, k), listed, init)
    packed = _pack_on_overflow(s, count, k)  # the packed words are built only when this step overflows

    def rest(j, out):
        i = _select(packed, j, n)
        return add_row(i, s[i], out)

    return jax.lax.fori_loop(k, jnp.maximum(count, k), rest, out)


def row_passes(s: jax.Array, idx: jax.Array, count: jax.Array, block, carry):
    """``carry = block(rows, valid, carry)`` over the spiking indices of ``s (n,)`` in passes of ``len(idx)``.

    The first pass takes the compacted list ``idx`` (:func:`compact`; ``valid`` marks its first ``count``
    entries); when a step has more spikes than that, further passes take the next ``len(idx)`` spikes from the
    packed spike words until all ``count`` are done (at most ``ceil(n / len(idx))`` passes, none when there is no
    overflow). ``block`` handles ``len(idx)`` rows at once (a vectorized gather/scatter): no per-spike loop.
    """
    m, n = idx.shape[0], s.shape[0]
    slots = jnp.arange(m, dtype=jnp.int32)
    carry = block(idx, slots < count, carry)
    packed = _pack_on_overflow(s, count, m)

    def more(state):
        return state[0] * m < count

    def next_pass(state):
        p, carry = state
        j = p * m + slots
        return p + 1, block(_select(packed, j, n), j < count, carry)

    return jax.lax.while_loop(more, next_pass, (jnp.int32(1), carry))[1]


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


# -- plasticity: how each format visits the synapses a rule changes --------------------------------------------------
# A rule gives ``update(src, dst, values) -> changed values`` (snnjax.plasticity.Rule.updater): the synapses' values
# become the update of themselves, the presynaptic state at ``src`` and the postsynaptic state at ``dst``. The formats
# below decide which synapses it sees: every synapse (sparse), the rows of the arriving spikes (row table), the columns
# of the postsynaptic spikes (transposed table), in loops or blocks.


def every_synapse(topo: Topology, syn: dict, update, mask: jax.Array | None = None, per_synapse: bool = False) -> dict:
    """``update`` at every synapse at once (batched arrays ``(*batch, K)``), kept where ``mask (*batch, K)``.

    ``src`` is ``topo.pre_index()`` (``None`` with ``per_synapse``: the presynaptic values are per synapse already,
    as with per-synapse delays) and ``dst`` is ``topo.post``.
    """
    new = update(None if per_synapse else topo.pre_index(), topo.post, syn)
    if mask is None:
        return {**syn, **new}
    return {**syn, **{k: jnp.where(mask, v, syn[k]) for k, v in new.items()}}


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


@jax.custom_jvp
def _event(s, idx, count, topo, w):
    return _event_rows(s, idx, count, topo, w)


@_event.defjvp
def _event_jvp(primals, tangents):
    # The forward loop has a data-dependent trip count (no derivative rule of its own); the kernel is the
    # bilinear map of `sparse`, so its tangent is computed with `sparse` whatever path the loop took. The
    # tangent is linear in (ds, dw): reverse mode transposes it, forward mode (jvp, jacfwd) uses it as is.
    s, idx, count, topo, w = primals
    ds, dw = tangents[0], tangents[4]
    return _event(s, idx, count, topo, w), sparse(ds, topo, w) + sparse(s, topo, dw)


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


def lag_dtype(max_lag: int) -> np.dtype:
    """The narrowest integer type that holds lags up to ``max_lag`` steps: uint8, int16 or int32 (the types the
    compiled kernels take)."""
    if max_lag <= np.iinfo(np.uint8).max:
        return np.dtype(np.uint8)
    if max_lag <= np.iinfo(np.int16).max:
        return np.dtype(np.int16)
    return np.dtype(np.int32)


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
