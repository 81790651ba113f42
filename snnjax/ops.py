"""Propagation kernels: presynaptic spikes -> summed synaptic weight per postsynaptic neuron.

All kernels take spikes ``s`` of shape ``(*batch, n_pre)`` (floats; 0 = no spike) and return
``(*batch, n_post)``: ``out[j] = sum_k w_k s[pre_k]`` over the synapses ``k`` onto ``j``.

* ``dense``: ``s @ W`` with a dense ``(n_pre, n_post)`` matrix. Best for small or dense projections.
* ``sparse``: gather every synapse's presynaptic spike and scatter-add (``O(K)`` per step).
* ``event``: event-driven. Compacts the indices of the (few) spiking presynaptic neurons, up to
  ``max_events`` of them, and touches only their rows of a padded fixed-width (ELL) table
  (``O(max_events x max_fanout)`` per step). When more neurons spike than ``max_events``, the step
  falls back to the exact ``sparse`` kernel (``lax.cond``), so no spike is ever dropped.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct


@struct.dataclass
class Topology:
    """A projection's synapse list, built once on the host (all index arrays are pytree leaves).

    Attributes:
      pre, post: int32 ``(K,)``, sorted by (pre, post).
      ell_post: int32 ``(n_pre + 1, F)``: row ``i`` lists the targets of presynaptic neuron ``i``,
        padded with ``n_post``; the extra last row is all padding (target of the compaction's fill).
      ell_syn: int32 ``(n_pre + 1, F)``: the synapse index of each ``ell_post`` entry, padded with ``K``.
      n_pre, n_post: group sizes (static).
    """

    pre: jax.Array
    post: jax.Array
    ell_post: jax.Array
    ell_syn: jax.Array
    n_pre: int = struct.field(pytree_node=False)
    n_post: int = struct.field(pytree_node=False)

    @classmethod
    def from_lists(cls, pre: np.ndarray, post: np.ndarray, n_pre: int, n_post: int) -> Topology:
        """Build the ELL tables from a (pre, post)-sorted synapse list."""
        pre = np.asarray(pre, np.int32)
        post = np.asarray(post, np.int32)
        k = pre.size
        counts = np.bincount(pre, minlength=n_pre)
        width = max(int(counts.max()) if counts.size else 0, 1)
        indptr = np.concatenate([[0], np.cumsum(counts)])
        slot = np.arange(k) - indptr[pre]
        ell_post = np.full((n_pre + 1, width), n_post, np.int32)
        ell_syn = np.full((n_pre + 1, width), k, np.int32)
        ell_post[pre, slot] = post
        ell_syn[pre, slot] = np.arange(k, dtype=np.int32)
        return cls(
            pre=jnp.asarray(pre),
            post=jnp.asarray(post),
            ell_post=jnp.asarray(ell_post),
            ell_syn=jnp.asarray(ell_syn),
            n_pre=int(n_pre),
            n_post=int(n_post),
        )

    @property
    def n_syn(self) -> int:
        """Number of synapses ``K``."""
        return self.pre.shape[0]

    @property
    def max_fanout(self) -> int:
        """Width ``F`` of the ELL table (largest number of targets of one presynaptic neuron)."""
        return self.ell_post.shape[1]


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
    return _scatter(s[..., topo.pre] * w, topo.post, topo.n_post)


def delayed(values: jax.Array, topo: Topology, w: jax.Array) -> jax.Array:
    """Per-synapse presynaptic values ``(*batch, K)`` (already read with per-synapse delays) -> ``(*batch, n_post)``."""
    return _scatter(values * w, topo.post, topo.n_post)


def _event_rows(s: jax.Array, topo: Topology, w: jax.Array, max_events: int) -> jax.Array:
    """Event-driven kernel for one unbatched ``s`` of shape ``(n_pre,)`` with at most ``max_events`` spikes.

    ``lax.top_k`` compacts the spiking indices (no sort of the whole group, no cumsum+scatter, both slow
    on CPU), then a loop whose trip count is the number of spikes adds one ELL row per spike, so the
    work is proportional to the actual activity.
    """
    amp, idx = jax.lax.top_k((s != 0).astype(s.dtype), max_events)  # top_k on bool is slow on CPU
    amp = s[idx] * amp  # spike values (1.0, or surrogate-carrying floats); 0 for the filler slots
    count = jnp.minimum(jnp.count_nonzero(s), max_events)
    scalar = jnp.ndim(w) == 0
    w_ext = w if scalar else jnp.concatenate([w, jnp.zeros((1,), w.dtype)])

    def add_row(i, out):
        row = idx[i]
        wr = w_ext if scalar else w_ext[topo.ell_syn[row]]
        return out.at[topo.ell_post[row]].add((amp[i] * wr).astype(out.dtype), mode="promise_in_bounds")

    out = jax.lax.fori_loop(0, count, add_row, jnp.zeros((topo.n_post + 1,), s.dtype))
    return out[: topo.n_post]


@partial(jax.custom_vjp, nondiff_argnums=(3,))
def _event(s: jax.Array, topo: Topology, w: jax.Array, max_events: int) -> jax.Array:
    return jax.lax.cond(
        jnp.count_nonzero(s) <= max_events,
        lambda x: _event_rows(x, topo, w, max_events),
        lambda x: sparse(x, topo, w),
        s,
    )


def _event_fwd(s, topo, w, max_events):
    return _event(s, topo, w, max_events), (s, topo, w)


def _event_bwd(max_events, res, g):
    # The forward loop has a data-dependent trip count (not reverse-differentiable); the kernel is the
    # linear map of `sparse`, so its transpose is the same whatever path the forward pass took.
    s, topo, w = res
    _, vjp = jax.vjp(lambda s_, w_: sparse(s_, topo, w_), s, w)
    ds, dw = vjp(g)
    zero_topo = jax.tree.map(lambda x: np.zeros(x.shape, jax.dtypes.float0), topo)
    return ds, zero_topo, dw


_event.defvjp(_event_fwd, _event_bwd)


def event(s: jax.Array, topo: Topology, w: jax.Array, max_events: int) -> jax.Array:
    """Event-driven propagation with an exact fallback to :func:`sparse` when more than
    ``max_events`` presynaptic neurons spike in one step (checked per batch element)."""
    w = jnp.asarray(w, s.dtype)
    if s.ndim == 1:
        return _event(s, topo, w, max_events)
    flat = s.reshape(-1, s.shape[-1])
    out = jax.vmap(_event, in_axes=(0, None, None, None))(flat, topo, w, max_events)
    return out.reshape(*s.shape[:-1], topo.n_post)
