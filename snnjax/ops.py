"""The synapse list and the propagation loops every format shares.

:class:`Topology` is a projection's synapse list (``pre[k] -> post[k]``), with the tables the formats ask for. The loops
here take spikes ``s`` of shape ``(*batch, n_pre)`` (floats; 0 = no spike; a value scales the weights: a spike's STP
efficacy, a pre-aligned conductance) and return ``(*batch, n_post)``, ``out[j] = sum_k w_k s[pre_k]`` over the synapses
``k`` onto ``j``:

* :func:`dense`: ``s @ W`` with a dense ``(n_pre, n_post)`` matrix (the ``dense`` format);
* :func:`sparse`, :func:`delayed`, :func:`every_synapse`: every synapse, every step (``O(K)``; the ``sparse``
  format, and the derivative of the event-driven loops, which are bilinear maps of the same sum);
* :func:`compact`, :func:`spike_rows`, :func:`row_passes`: the spiking indices of a step, compacted without a sort,
  and the loops over them that the event-driven formats run (exact whatever the activity: spikes beyond the compacted
  list are found one by one from the packed spike words, with no branch on the activity, so under ``vmap`` a batch
  costs its busiest element's spikes).

Each format's own loops live with the format: the row tables' (``event``, ``vector_event``) in
:mod:`snnjax.formats.rows`, just-in-time connectivity's in :mod:`snnjax.jitconn`.
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


# -- plasticity: how each format visits the synapses a rule changes --------------------------------------------------
# A rule gives ``update(src, dst, values) -> changed values`` (snnjax.plasticity.Rule.updater): the synapses' values
# become the update of themselves, the presynaptic state at ``src`` and the postsynaptic state at ``dst``. Each format
# decides which synapses it sees: every synapse here (sparse); the rows of the arriving spikes and the columns of the
# postsynaptic spikes in the row-table format (snnjax.formats.rows.loops: row_update, column_update).


def every_synapse(topo: Topology, syn: dict, update, mask: jax.Array | None = None, per_synapse: bool = False) -> dict:
    """``update`` at every synapse at once (batched arrays ``(*batch, K)``), kept where ``mask (*batch, K)``.

    ``src`` is ``topo.pre_index()`` (``None`` with ``per_synapse``: the presynaptic values are per synapse already,
    as with per-synapse delays) and ``dst`` is ``topo.post``.
    """
    new = update(None if per_synapse else topo.pre_index(), topo.post, syn)
    if mask is None:
        return {**syn, **new}
    return {**syn, **{k: jnp.where(mask, v, syn[k]) for k, v in new.items()}}


# -- per-synapse delays ----------------------------------------------------------------------------------------------


def lag_dtype(max_lag: int) -> np.dtype:
    """The narrowest integer type that holds lags up to ``max_lag`` steps: uint8, int16 or int32 (the types the
    compiled kernels take)."""
    if max_lag <= np.iinfo(np.uint8).max:
        return np.dtype(np.uint8)
    if max_lag <= np.iinfo(np.int16).max:
        return np.dtype(np.int16)
    return np.dtype(np.int32)
