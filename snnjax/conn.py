"""Connectivity specs. Each builds, once and on the host, the synapse list of a projection.

``connector.build(n_pre, n_post)`` returns ``(pre, post)``: two int32 numpy arrays of length ``K``
(the number of synapses), sorted by presynaptic then postsynaptic index, without duplicates. That
order is the order of per-synapse weights and delays everywhere in snnjax. Random connectors are
seeded (``seed``) and sample without building any ``n_pre x n_post`` array, so memory is ``O(K)``.

``connector.blocks(n_pre, n_post)`` yields the list a ``Network`` binds in consecutive pieces (their
concatenation is ``build``'s list; for ``FromIndices``, the list in its given order). ``All2All``, ``One2One``
and ``FixedProb`` generate it piece by piece, so a consumer that keeps part of each piece (a device's synapses,
:mod:`snnjax.sharding`) never holds the whole list; the others build it whole and yield it as one piece.

``include_self=False`` removes the pairs with equal pre and post index (autapses when a group
projects onto itself), as BrainPy's ``include_self`` does.
"""

from __future__ import annotations

import dataclasses
import math
import numbers

import jax.numpy as jnp
import numpy as np

from snnjax import _checks

BLOCK = 1 << 22  # synapses per piece of Connector.blocks


def _concat(blocks) -> tuple[np.ndarray, np.ndarray]:
    pieces = list(blocks) or [(np.zeros(0, np.int32), np.zeros(0, np.int32))]
    return _as_index(np.concatenate([p for p, _ in pieces])), _as_index(np.concatenate([q for _, q in pieces]))


def _check_int(owner, name, value, low=0):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{owner}: {name} must be an int >= {low}, got {value!r}")


def _check_bool(owner, name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r}")


def _drop_self(pre, post, include_self):
    if include_self:
        return pre, post
    keep = pre != post
    return pre[keep], post[keep]


def _as_index(a):
    return np.ascontiguousarray(a, dtype=np.int32)


@dataclasses.dataclass(frozen=True)
class Connector:
    """Base class for connectivity specs."""

    def build(self, n_pre: int, n_post: int) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def count(self, n_pre: int, n_post: int) -> int | None:
        """The number of synapses :meth:`build` gives, when known without building (else None)."""
        return None

    def blocks(self, n_pre: int, n_post: int, size: int = BLOCK):
        """The synapse list of :meth:`build` as consecutive ``(pre, post)`` pieces (int32 ``(k_i,)`` each, about
        ``size`` synapses or fewer; their concatenation is ``build(n_pre, n_post)``). This default builds the
        whole list and yields it as one piece."""
        yield self.build(n_pre, n_post)


@dataclasses.dataclass(frozen=True)
class All2All(Connector):
    """Every presynaptic neuron to every postsynaptic one."""

    include_self: bool = True

    def __post_init__(self):
        _check_bool("All2All", "include_self", self.include_self)

    def build(self, n_pre, n_post):
        return _concat(self.blocks(n_pre, n_post, size=max(1, n_pre * n_post)))

    def blocks(self, n_pre, n_post, size=BLOCK):
        rows = max(1, size // max(n_post, 1))
        for start in range(0, n_pre, rows):  # pieces of whole rows: not a loop over neurons
            stop = min(n_pre, start + rows)
            pre = np.repeat(np.arange(start, stop), n_post)
            post = np.tile(np.arange(n_post), stop - start)
            pre, post = _drop_self(pre, post, self.include_self)
            yield _as_index(pre), _as_index(post)


@dataclasses.dataclass(frozen=True)
class One2One(Connector):
    """Neuron ``i`` to neuron ``i``; both groups must have the same size."""

    def build(self, n_pre, n_post):
        return _concat(self.blocks(n_pre, n_post, size=max(1, n_pre)))  # blocks checks the sizes

    def blocks(self, n_pre, n_post, size=BLOCK):
        if n_pre != n_post:
            raise ValueError(f"One2One: pre and post must have the same size, got {n_pre} and {n_post}")
        for start in range(0, n_pre, size):
            idx = np.arange(start, min(n_pre, start + size))
            yield _as_index(idx), _as_index(idx)


@dataclasses.dataclass(frozen=True)
class FixedProb(Connector):
    """Each pair connected independently with probability ``p`` in [0, 1] (Bernoulli).

    Sampled by geometric gaps between connected pairs, so it costs ``O(K)``, not ``O(n_pre n_post)``.
    """

    p: float
    seed: int = 0
    include_self: bool = True

    def __post_init__(self):
        if isinstance(self.p, (bool, np.bool_)) or not isinstance(self.p, numbers.Real):
            raise ValueError(f"FixedProb: p must be a probability in [0, 1] given as a Python float, got {self.p!r}")
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"FixedProb: p must be a probability in [0, 1], got {self.p!r}")
        _check_int("FixedProb", "seed", self.seed)
        _check_bool("FixedProb", "include_self", self.include_self)

    def build(self, n_pre, n_post):
        # one piece of the expected size (plus six standard deviations): the draws are those of blocks()
        k = self.p * n_pre * n_post
        return _concat(self.blocks(n_pre, n_post, size=int(k + 6 * math.sqrt(k) + 16)))

    def blocks(self, n_pre, n_post, size=BLOCK):
        """Positions ``pre * n_post + post`` of the connected pairs, by geometric gaps drawn ``size`` at a time
        from one stream: the pieces do not depend on ``size`` (numpy draws each gap from the stream in turn)."""
        total = n_pre * n_post
        if self.p == 0.0 or total == 0:
            return
        if self.p == 1.0:
            yield from All2All(self.include_self).blocks(n_pre, n_post, size)
            return
        rng = np.random.default_rng(self.seed)
        last = -1
        while last < total:
            # a gap past the end ends the list: clipping it to total + 1 changes nothing, and keeps the
            # cumsum from overflowing (numpy saturates geometric draws at 2**63 - 1 for tiny p)
            gaps = np.minimum(rng.geometric(self.p, size=max(1, size)).astype(np.int64), total + 1)
            pos = last + np.cumsum(gaps)
            last = int(pos[-1])
            pre, post = np.divmod(pos[pos < total], n_post)
            pre, post = _drop_self(pre, post, self.include_self)
            yield _as_index(pre), _as_index(post)


def _distinct_rows(rng, rows, num, n, include_self):
    """``rows x num`` distinct sorted picks from ``range(n)`` per row (row ``i`` avoids ``i`` if asked)."""
    row_id = np.arange(rows)[:, None]
    if num > n // 2:
        out = np.empty((rows, num), np.int64)
        chunk = max(1, 2**22 // max(n, 1))
        for start in range(0, rows, chunk):  # chunks of rows bound memory; not a loop over neurons
            keys = rng.random((min(chunk, rows - start), n))
            if not include_self:
                r = np.arange(start, start + keys.shape[0])
                ok = r < n
                keys[np.nonzero(ok)[0], r[ok]] = np.inf
            out[start : start + keys.shape[0]] = np.sort(np.argsort(keys, axis=1)[:, :num], axis=1)
        return out
    out = rng.integers(0, n, (rows, num))
    while True:
        out.sort(axis=1)
        bad = np.zeros(out.shape, bool)
        bad[:, 1:] = out[:, 1:] == out[:, :-1]
        if not include_self:
            bad |= out == row_id
        count = int(bad.sum())
        if count == 0:
            return out
        out[bad] = rng.integers(0, n, count)


@dataclasses.dataclass(frozen=True)
class FixedPostNum(Connector):
    """Each presynaptic neuron connects to exactly ``num`` distinct postsynaptic neurons (fixed fan-out)."""

    num: int
    seed: int = 0
    include_self: bool = True

    def __post_init__(self):
        _check_int("FixedPostNum", "num", self.num)
        _check_int("FixedPostNum", "seed", self.seed)
        _check_bool("FixedPostNum", "include_self", self.include_self)

    def build(self, n_pre, n_post):
        avail = n_post - (0 if self.include_self else 1)  # row 0 always exists and must avoid post 0
        if self.num > avail:
            raise ValueError(f"FixedPostNum: num must be <= {avail} (postsynaptic group size), got {self.num}")
        post = _distinct_rows(np.random.default_rng(self.seed), n_pre, self.num, n_post, self.include_self)
        pre = np.repeat(np.arange(n_pre), self.num)
        return _as_index(pre), _as_index(post.ravel())


@dataclasses.dataclass(frozen=True)
class FixedPreNum(Connector):
    """Each postsynaptic neuron receives from exactly ``num`` distinct presynaptic neurons (fixed fan-in)."""

    num: int
    seed: int = 0
    include_self: bool = True

    def __post_init__(self):
        _check_int("FixedPreNum", "num", self.num)
        _check_int("FixedPreNum", "seed", self.seed)
        _check_bool("FixedPreNum", "include_self", self.include_self)

    def build(self, n_pre, n_post):
        avail = n_pre - (0 if self.include_self else 1)  # column 0 always exists and must avoid pre 0
        if self.num > avail:
            raise ValueError(f"FixedPreNum: num must be <= {avail} (presynaptic group size), got {self.num}")
        pre = _distinct_rows(np.random.default_rng(self.seed), n_post, self.num, n_pre, self.include_self).ravel()
        post = np.repeat(np.arange(n_post), self.num)
        order = np.lexsort((post, pre))
        return _as_index(pre[order]), _as_index(post[order])


@dataclasses.dataclass(frozen=True, eq=False)
class FromIndices(Connector):
    """Explicit synapse list: ``pre[k] -> post[k]`` (int arrays of equal length; duplicates rejected).

    Any order is accepted; per-synapse weights and delays given with it follow *this* order and are
    reordered with the synapses.
    """

    pre: np.ndarray
    post: np.ndarray
    shape: tuple[int, int] | None = None  # (n_pre, n_post) the list was made for, when known

    def order(self, n_pre, n_post) -> np.ndarray:
        """Permutation that sorts the given list by (pre, post), after checking it."""
        if self.shape is not None and tuple(self.shape) != (n_pre, n_post):
            raise ValueError(
                f"conn: the connectivity matrix has shape {tuple(self.shape)}, but the projection "
                f"needs (n_pre, n_post) = {(n_pre, n_post)}"
            )
        pre, post = np.asarray(self.pre), np.asarray(self.post)
        if pre.ndim != 1 or pre.shape != post.shape:
            raise ValueError(
                f"conn: pre and post index arrays must be 1-D of equal length, got {pre.shape} and {post.shape}"
            )
        for name, a, n in (("pre", pre, n_pre), ("post", post, n_post)):
            if a.size and (not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() >= n):
                raise ValueError(f"conn: {name} indices must be ints in [0, {n}), got values in [{a.min()}, {a.max()}]")
        order = np.lexsort((post, pre))
        key = pre[order].astype(np.int64) * n_post + post[order]
        if key.size > 1 and np.any(key[1:] == key[:-1]):
            raise ValueError("conn: the synapse list has duplicate (pre, post) pairs; merge their weights instead")
        return order

    def build(self, n_pre, n_post):
        order = self.order(n_pre, n_post)
        return _as_index(np.asarray(self.pre)[order]), _as_index(np.asarray(self.post)[order])

    def blocks(self, n_pre, n_post, size=BLOCK):
        """The list in the given order (checked), one piece: the order a ``Network`` keeps it in, and in which
        weights and delays given with it apply (``build`` sorts it)."""
        self.order(n_pre, n_post)
        yield _as_index(self.pre), _as_index(self.post)


def from_matrix(matrix) -> FromIndices:
    """Connectivity from a dense ``(n_pre, n_post)`` matrix of 0/1 or True/False: 1 (True) means connected.

    Any other value is refused: a real-valued matrix passed as ``conn`` is almost always a weight matrix,
    which would otherwise silently become all-ones weights on its nonzero pattern.
    """
    m = np.asarray(matrix)
    if m.ndim != 2:
        raise ValueError(f"conn: a connectivity matrix must be 2-D (n_pre, n_post), got shape {m.shape}")
    if not (m.dtype == bool or _checks.is_real_dtype(m.dtype)):
        raise TypeError(f"conn: a connectivity matrix must hold bools or 0/1 numbers, got dtype {m.dtype}")
    if m.dtype != bool:
        bad = m[(m != 0) & (m != 1)]  # NaN compares unequal to both, so it lands here too
        if bad.size:
            shown = ", ".join(f"{v:g}" for v in np.unique(bad)[:4])
            raise ValueError(
                f"conn: a connectivity matrix must hold only 0/1 or True/False, got other values ({shown}"
                f"{', ...' if np.unique(bad).size > 4 else ''}). To give weights, pass the matrix as weight= "
                "with conn=snnjax.conn.All2All() (every pair a synapse, zeros included), or with its 0/1 mask "
                "conn=(W != 0) (the nonzero pairs only)"
            )
    pre, post = np.nonzero(m)
    return FromIndices(pre, post, shape=m.shape)


def _conv_pair(name, value, low):
    v = (value, value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else tuple(value)
    if len(v) != 2:
        raise ValueError(f"Conv2D: {name} must be an int or a pair of ints, got {value!r}")
    for x in v:
        _check_int("Conv2D", name, x, low)
    return tuple(int(x) for x in v)


@dataclasses.dataclass(frozen=True)
class Conv2D(Connector):
    """The synapse list of a 2-D convolution.

    Connects input neuron ``(c, y s0 + i d0 - p0, x s1 + j d1 - p1)`` to output neuron ``(f, y, x)`` for every
    kernel tap ``(f, c, i, j)`` that falls inside the input (zero padding: taps outside connect nothing), in C order
    on both sides, as ``torch.nn.Conv2d`` and the Inferno view's :class:`snnjax.connections.Conv2D`. The weights are
    shared: :meth:`expand` turns a kernel ``(F, C, kH, kW)`` into the per-synapse weights ``(K,)`` in the
    connector's order (differentiable: train the kernel, expand it inside the loss), e.g.::

        conv = sj.conn.Conv2D(in_shape=(1, 8, 8), filters=4, kernel=3, padding=1)
        proj = sj.Projection("inp", "hid", conn=conv, weight=conv.expand(kernel))   # hid: LIF((4, 8, 8))

    Each synapse is one kernel tap, so the event-driven propagators run a convolution of sparse spikes in time
    proportional to spikes x fan-out; :class:`snnjax.connections.Conv2D` (``lax.conv``) is the dense view.

    Args:
      in_shape: ``(C, H, W)`` of the presynaptic group (flattened in C order).
      filters: output channels ``F``; the postsynaptic group has ``(F, Ho, Wo)`` neurons,
        ``Ho = (H + 2 p0 - d0 (kH - 1) - 1) // s0 + 1`` (:attr:`out_shape`).
      kernel, stride, padding, dilation: ints or pairs.
    """

    in_shape: tuple = (1, 1, 1)
    filters: int = 1
    kernel: tuple | int = 1
    stride: tuple | int = 1
    padding: tuple | int = 0
    dilation: tuple | int = 1

    def __post_init__(self):
        shape = tuple(self.in_shape)
        if len(shape) != 3:
            raise ValueError(f"Conv2D: in_shape must be (C, H, W), got {self.in_shape!r}")
        for x in shape:
            _check_int("Conv2D", "in_shape", x, 1)
        _check_int("Conv2D", "filters", self.filters, 1)
        object.__setattr__(self, "in_shape", tuple(int(x) for x in shape))
        for name, low in (("kernel", 1), ("stride", 1), ("padding", 0), ("dilation", 1)):
            object.__setattr__(self, name, _conv_pair(name, getattr(self, name), low))
        if min(self.out_shape) < 1:
            raise ValueError(f"Conv2D: kernel {self.kernel} does not fit the padded input {self.in_shape}")

    @property
    def out_shape(self) -> tuple[int, int, int]:
        """``(F, Ho, Wo)``."""
        _, h, w = self.in_shape
        (kh, kw), (s0, s1), (p0, p1), (d0, d1) = self.kernel, self.stride, self.padding, self.dilation
        return (self.filters, (h + 2 * p0 - d0 * (kh - 1) - 1) // s0 + 1, (w + 2 * p1 - d1 * (kw - 1) - 1) // s1 + 1)

    def _lists(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c, h, w = self.in_shape
        f, ho, wo = self.out_shape
        (kh, kw), (s0, s1), (p0, p1), (d0, d1) = self.kernel, self.stride, self.padding, self.dilation
        ff, cc, ii, jj, yy, xx = np.meshgrid(
            np.arange(f), np.arange(c), np.arange(kh), np.arange(kw), np.arange(ho), np.arange(wo), indexing="ij"
        )
        yin, xin = yy * s0 + ii * d0 - p0, xx * s1 + jj * d1 - p1
        inside = (yin >= 0) & (yin < h) & (xin >= 0) & (xin < w)
        pre = ((cc * h + yin) * w + xin)[inside]
        post = ((ff * ho + yy) * wo + xx)[inside]
        tap = (((ff * c + cc) * kh + ii) * kw + jj)[inside]
        order = np.lexsort((post, pre))
        return pre[order], post[order], tap[order]

    def build(self, n_pre: int, n_post: int) -> tuple[np.ndarray, np.ndarray]:
        want = (int(np.prod(self.in_shape)), int(np.prod(self.out_shape)))
        if (n_pre, n_post) != want:
            raise ValueError(
                f"Conv2D: in_shape {self.in_shape} -> out_shape {self.out_shape} needs groups of "
                f"{want[0]} -> {want[1]} neurons, got {n_pre} -> {n_post}"
            )
        pre, post, _ = self._lists()
        return _as_index(pre), _as_index(post)

    def kernel_index(self) -> np.ndarray:
        """For each synapse (the connector's order), its flat index into the kernel ``(F, C, kH, kW)``."""
        return _as_index(self._lists()[2])

    def expand(self, kernel) -> jnp.ndarray:
        """Per-synapse weights ``(K,)`` from a shared kernel ``(F, C, kH, kW)`` (differentiable in ``kernel``)."""
        want = (self.filters, self.in_shape[0], *self.kernel)
        if tuple(np.shape(kernel)) != want:
            raise ValueError(f"Conv2D.expand: kernel must have shape {want}, got {tuple(np.shape(kernel))}")
        return jnp.reshape(jnp.asarray(kernel), (-1,))[self.kernel_index()]


@dataclasses.dataclass(frozen=True)
class FixedTotalNumber(Connector):
    """Exactly ``n`` synapses, each from a uniformly random presynaptic to a uniformly random postsynaptic neuron
    (NEST's ``fixed_total_number``; the connectivity of the Potjans & Diesmann microcircuit).

    Args:
      n: number of synapses, an int >= 0.
      autapses: allow pairs with equal pre and post index (autapses when a group projects onto itself); if
        False such pairs are redrawn.
      multapses: allow the same pair more than once; if False, repeated pairs are redrawn (then ``n`` must not
        exceed the number of allowed pairs).
      seed: random seed (numpy ``default_rng``).

    The list is sorted by presynaptic, then postsynaptic index (the order of per-synapse values); with
    multapses, repeated pairs are adjacent. Memory: the list and ``O(n)`` int64 temporaries while sorting.
    """

    n: int
    autapses: bool = True
    multapses: bool = True
    seed: int = 0

    def __post_init__(self):
        _check_int("FixedTotalNumber", "n", self.n)
        _check_bool("FixedTotalNumber", "autapses", self.autapses)
        _check_bool("FixedTotalNumber", "multapses", self.multapses)
        _check_int("FixedTotalNumber", "seed", self.seed)

    def count(self, n_pre, n_post):
        return int(self.n)

    def build(self, n_pre, n_post):
        pairs = n_pre * n_post - (0 if self.autapses else min(n_pre, n_post))
        if self.n and (n_pre == 0 or n_post == 0 or (not self.multapses and self.n > pairs)):
            raise ValueError(
                f"FixedTotalNumber: n must be <= {pairs if not self.multapses else 0} (the pairs available between "
                f"{n_pre} and {n_post} neurons{'' if self.autapses else ' without autapses'}"
                f"{'' if self.multapses else ', each at most once'}), got {self.n}"
            )
        rng = np.random.default_rng(self.seed)
        key = rng.integers(0, n_pre, self.n, dtype=np.int64)  # pair pre * n_post + post, built in place
        key *= n_post
        key += rng.integers(0, n_post, self.n, dtype=np.int64)
        while True:  # redraw autapses and (without multapses) repeated pairs until there are none
            key.sort()
            bad = np.zeros(key.shape, bool)
            if not self.autapses:
                bad |= key // n_post == key % n_post
            if not self.multapses and key.size > 1:
                bad[1:] |= key[1:] == key[:-1]
            count = int(bad.sum())
            if not count:
                break
            key[bad] = rng.integers(0, n_pre, count, dtype=np.int64) * n_post + rng.integers(0, n_post, count)
        pre, post = np.empty(key.size, np.int32), np.empty(key.size, np.int32)
        for start in range(0, key.size, BLOCK):  # in pieces: no int64 copies of the whole list
            pre[start : start + BLOCK], post[start : start + BLOCK] = np.divmod(key[start : start + BLOCK], n_post)
        return pre, post


@dataclasses.dataclass(frozen=True, eq=False)
class Blocks(Connector):
    """A projection between groups made of consecutive blocks of neurons (e.g. the layers and types of a cortical
    column in one population), with one connector per pair of blocks.

    Block ``i`` of the presynaptic group is neurons ``[sum(pre_sizes[:i]), sum(pre_sizes[:i + 1]))``, likewise
    for the postsynaptic group; ``connectors[(i, j)]`` (any connector, in the blocks' local numbering) connects
    presynaptic block ``i`` to postsynaptic block ``j``; missing pairs have no synapses. The list is sorted by
    presynaptic index, and within a row by postsynaptic block (each block's own order kept), so one projection
    carries the whole circuit: one event loop per step over its spikes, whatever the number of blocks.

    Args:
      pre_sizes: sizes of the presynaptic blocks (ints >= 1, summing to the group's size).
      post_sizes: sizes of the postsynaptic blocks.
      connectors: ``{(i, j): connector}``.
    """

    pre_sizes: tuple
    post_sizes: tuple
    connectors: dict

    def __post_init__(self):
        for name in ("pre_sizes", "post_sizes"):
            sizes = getattr(self, name)
            if not isinstance(sizes, (tuple, list)) or not sizes:
                raise ValueError(f"Blocks: {name} must be a non-empty tuple of block sizes, got {sizes!r}")
            for s in sizes:
                _check_int("Blocks", name, s, low=1)
        if not isinstance(self.connectors, dict):
            raise TypeError(f"Blocks: connectors must be a dict {{(i, j): connector}}, got {type(self.connectors)}")
        for ij, c in self.connectors.items():
            ok = isinstance(ij, tuple) and len(ij) == 2 and all(isinstance(x, (int, np.integer)) for x in ij)
            if not ok or not (0 <= ij[0] < len(self.pre_sizes) and 0 <= ij[1] < len(self.post_sizes)):
                raise ValueError(
                    f"Blocks: connectors keys must be (i, j) with 0 <= i < {len(self.pre_sizes)} and 0 <= j < "
                    f"{len(self.post_sizes)}, got {ij!r}"
                )
            if not isinstance(c, Connector):
                raise TypeError(f"Blocks: connectors[{ij!r}] must be an snnjax.conn connector, got {type(c).__name__}")

    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Start of every block and the end of the last: ``(len(pre_sizes) + 1,)``, ``(len(post_sizes) + 1,)``."""
        return np.concatenate([[0], np.cumsum(self.pre_sizes)]), np.concatenate([[0], np.cumsum(self.post_sizes)])

    def build(self, n_pre, n_post):
        pre_edges, post_edges = self.edges()
        if (pre_edges[-1], post_edges[-1]) != (n_pre, n_post):
            raise ValueError(
                f"Blocks: the blocks cover {pre_edges[-1]} -> {post_edges[-1]} neurons, but the groups have "
                f"{n_pre} -> {n_post}; pre_sizes and post_sizes must sum to the groups' sizes"
            )
        counts = {ij: c.count(self.pre_sizes[ij[0]], self.post_sizes[ij[1]]) for ij, c in self.connectors.items()}
        lists = {}  # connectors of unknown size are built first; the others one presynaptic block at a time
        for ij, n in counts.items():
            if n is None:
                lists[ij] = self.connectors[ij].build(self.pre_sizes[ij[0]], self.post_sizes[ij[1]])
                counts[ij] = lists[ij][0].size
        total = sum(counts.values())
        pre_out, post_out = np.empty(total, np.int32), np.empty(total, np.int32)  # the one copy of the list
        offset = 0
        for i, size in enumerate(self.pre_sizes):
            parts = [
                (j, lists.pop((i, j)) if (i, j) in lists else self.connectors[(i, j)].build(size, self.post_sizes[j]))
                for j in range(len(self.post_sizes))
                if (i, j) in self.connectors
            ]
            counts = [np.bincount(p, minlength=size) for _, (p, _) in parts]
            rows = np.sum(counts, axis=0) if counts else np.zeros(size, np.int64)
            start = offset + np.concatenate([[0], np.cumsum(rows)])  # each merged row's first synapse
            offset = int(start[-1])
            index = np.int64 if offset >= 2**31 else np.int32  # positions in the narrowest type: less memory
            before = np.zeros(size, index)  # synapses of a row in the blocks placed before this one
            for (j, (p, q)), c in zip(parts, counts):
                row_start = np.concatenate([[0], np.cumsum(c)])[:-1]  # block-local rows (its list is sorted by pre)
                shift = (start[:-1] - row_start).astype(index)  # row r's block-local k -> merged position, less before
                dest = np.arange(p.size, dtype=index)
                dest += shift[p]
                dest += before[p]
                pre_out[dest] = p + pre_edges[i]
                post_out[dest] = q + post_edges[j]
                before += c.astype(index)
        return pre_out, post_out


@dataclasses.dataclass(frozen=True, eq=False)
class Normal:
    """Per-synapse values drawn from a normal distribution when the projection is built, with NEST's redraw rule:
    a value outside ``[low, high]`` is drawn again (a truncated normal), e.g. weights that must keep their sign or
    delays of at least half a step. ``Projection(weight=Normal(...))`` / ``delay=Normal(...)`` draw one value per
    synapse of its list, in its order, seeded (the same network gives the same values).

    ``mean``, ``std``, ``low`` and ``high`` are numbers, or tables ``(B_pre, B_post)`` (broadcasting, e.g.
    ``(B_pre, 1)`` for a value per presynaptic block) indexed by the blocks of ``blocks=(pre_sizes, post_sizes)``
    that a synapse's pre and post neurons belong to (as :class:`Blocks` numbers them).

    Args:
      mean: mean, in the parameter's unit (weight: the output's unit; delay: ms).
      std: standard deviation, >= 0.
      low, high: the interval kept (inclusive); values outside it are redrawn. Bounds that leave less than
        :data:`MIN_ACCEPTANCE` of the distribution are refused (redrawing would be hopeless).
      seed: random seed (numpy ``default_rng``).
      blocks: ``(pre_sizes, post_sizes)`` when any parameter is a table.
    """

    mean: object
    std: object
    low: object = -math.inf
    high: object = math.inf
    seed: int = 0
    blocks: tuple | None = None

    CHUNK = 1 << 22  # synapses drawn at a time (bounds the temporaries; part of the stream's definition)

    def __post_init__(self):
        _check_int("Normal", "seed", self.seed)
        tables = [np.asarray(getattr(self, n), np.float64) for n in ("mean", "std", "low", "high")]
        if any(t.ndim not in (0, 2) for t in tables):
            raise ValueError("Normal: mean, std, low and high must be numbers or (B_pre, B_post) tables")
        if any(t.ndim == 2 for t in tables) and self.blocks is None:
            raise ValueError("Normal: a table of parameters needs blocks=(pre_sizes, post_sizes)")
        mean, std, low, high = np.broadcast_arrays(*tables)
        if np.any(~np.isfinite(mean)) or np.any(~np.isfinite(std)) or np.any(std < 0):
            raise ValueError(f"Normal: mean must be finite and std finite and >= 0, got {self.mean!r}, {self.std!r}")
        if np.any(np.isnan(low)) or np.any(np.isnan(high)) or np.any(low > high):
            raise ValueError(f"Normal: low and high must satisfy low <= high, got low={self.low!r}, high={self.high!r}")
        with np.errstate(divide="ignore", invalid="ignore"):
            cdf = lambda x: 0.5 * (1.0 + _erf((x - mean) / (std * math.sqrt(2.0))))  # noqa: E731
            accept = np.where(std > 0, cdf(high) - cdf(low), ((low <= mean) & (mean <= high)).astype(float))
        if np.any(accept < MIN_ACCEPTANCE):
            at = np.unravel_index(int(np.argmin(accept)), accept.shape)
            where = f" at block {tuple(int(i) for i in at)}" if accept.ndim else ""
            raise ValueError(
                f"Normal: the bounds [low, high] keep only {float(np.min(accept)):.3g} of the distribution{where} (at "
                f"least {MIN_ACCEPTANCE} is needed: a value would be redrawn over {1 / MIN_ACCEPTANCE:.0f} times): "
                f"mean={float(mean[at]):g}, std={float(std[at]):g}, low={float(low[at]):g}, high={float(high[at]):g}"
            )
        if self.blocks is not None:
            sizes = self.blocks
            if not (isinstance(sizes, tuple) and len(sizes) == 2):
                raise ValueError(f"Normal: blocks must be (pre_sizes, post_sizes), got {sizes!r}")
            shape = (len(sizes[0]), len(sizes[1]))
            for n, t in zip(("mean", "std", "low", "high"), tables):
                if t.ndim == 2 and any(a not in (1, b) for a, b in zip(t.shape, shape)):
                    raise ValueError(f"Normal: {n} must be a number or a table broadcasting to {shape}, got {t.shape}")

    def draw(self, pre: np.ndarray, post: np.ndarray) -> np.ndarray:
        """One value per synapse ``pre[k] -> post[k]``: float32 ``(K,)``, drawn chunk by chunk (float32 normal
        variates of numpy's ``default_rng(seed)``; the redraws of a chunk follow it in the stream)."""
        k = pre.size
        out = np.empty(k, np.float32)
        rng = np.random.default_rng(self.seed)
        if self.blocks is not None:
            shape = (len(self.blocks[0]), len(self.blocks[1]))
            block_type = np.int32
            pre_block = np.repeat(np.arange(shape[0], dtype=block_type) * shape[1], self.blocks[0])
            post_block = np.repeat(np.arange(shape[1], dtype=block_type), self.blocks[1])
        else:
            shape = (1, 1)
        mean, std, low, high = (np.broadcast_to(np.asarray(getattr(self, n), np.float64), shape).ravel()
                                .astype(np.float32) for n in ("mean", "std", "low", "high"))  # fmt: skip
        bounded = bool(np.any(np.isfinite(low)) or np.any(np.isfinite(high)))
        for start in range(0, k, self.CHUNK):
            stop = min(k, start + self.CHUNK)
            if self.blocks is not None:
                b = pre_block[pre[start:stop]] + post_block[post[start:stop]]  # table index of each synapse
            else:
                b = np.zeros(stop - start, np.intp)
            x = mean[b] + std[b] * rng.standard_normal(stop - start, dtype=np.float32)
            if bounded:
                lo, hi = low[b], high[b]
                bad = np.flatnonzero((x < lo) | (x > hi))
                while bad.size:
                    x[bad] = mean[b[bad]] + std[b[bad]] * rng.standard_normal(bad.size, dtype=np.float32)
                    bad = bad[(x[bad] < lo[bad]) | (x[bad] > hi[bad])]
            out[start:stop] = x
        return out


MIN_ACCEPTANCE = 1e-3  # Normal: the least probability of [low, high] for which redrawing is accepted


def _erf(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[float])(x)
