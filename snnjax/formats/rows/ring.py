"""Ring-buffer delivery of per-synapse delays: each spike written once, at emission, into the future input it causes.

``ring (D, n_post)`` holds the input of the next ``D`` steps, slot ``(head + d) % D`` the input ``d`` steps ahead.
For every nonzero ``s[i]`` in increasing ``i`` and its synapses ``k`` in increasing ``k``:
``ring[(head + lag[k]) % D, post[k]] += s[i] * w[k]``, with ``lag[k]`` in ``[1, D]`` steps. Reading and clearing the
slot of the current step is the caller's (the engine's) business. :func:`deliver_xla` is the XLA reference and
fallback (one scatter-add over all ``K`` synapses, in the same order: bit-identical for a list sorted by ``pre``).

Bounds: the slot is taken modulo ``D`` (any ``head`` and ``lag``, even out of their range, land inside the ring;
a lag of ``D`` is the current slot ``head``); ``row_ptr`` ranges are clamped to ``[0, K]``; targets outside
``[0, n_post)`` are skipped (never written).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from snnjax import ops
from snnjax.kernels import _build
from snnjax.kernels._call import aliased, batch_shape, call

__all__ = ["deliver", "deliver_xla"]

_LAG_DTYPES = (jnp.uint8, jnp.int16, jnp.int32)


def deliver_xla(ring: jax.Array, head: jax.Array, s: jax.Array, topo: ops.Topology, w, lag: jax.Array) -> jax.Array:
    """The XLA reference: ``ring.at[(head + lag) % D, post].add(s[pre] * w)`` over the synapses of the spiking
    neurons (the others add nothing), in the order of ``k``. Shapes as :func:`deliver`."""
    w, head = jnp.asarray(w, ring.dtype), jnp.asarray(head, jnp.int32)
    depth = ring.shape[-2]

    def one(ring, head, s):
        amp = s.astype(ring.dtype)[topo.pre_index()]  # the rows-only format stores no pre: derived from row_ptr
        slot = (head + lag.astype(jnp.int32)) % depth
        return ring.at[slot, topo.post].add(jnp.where(amp != 0, amp * w, 0), mode="drop")

    batch = batch_shape((ring, head, s), (2, 0, 1))
    if not batch:
        return one(ring, head, s)
    flat = [jnp.broadcast_to(a, (*batch, *a.shape[a.ndim - c :])).reshape(-1, *a.shape[a.ndim - c :])
            for a, c in ((ring, 2), (head, 0), (s, 1))]  # fmt: skip
    return jax.vmap(one)(*flat).reshape(*batch, *ring.shape[-2:])


def deliver(
    ring: jax.Array,
    head: jax.Array,
    s: jax.Array,
    topo: ops.Topology,
    w,
    lag: jax.Array,
    clear: bool = False,
    take: bool = False,
) -> jax.Array | tuple[jax.Array, jax.Array]:
    """The spikes ``s`` of one step added into the ring of future input, by the compiled kernel when
    :func:`~snnjax.kernels.active` and the list is sorted by ``pre`` (``topo.row_ptr``), else by :func:`deliver_xla`.

    Args:
      ring: ``(*batch, D, n_post)`` float32 or float64; updated in place (the result aliases it: no copy per step
        inside a scan).
      head: int32 ``()`` or ``(*batch,)``, the slot of the current step, in ``[0, D)``.
      s: spikes ``(*batch, n_pre)`` (0 = none; a value scales the row).
      topo: the synapse list (``row_ptr``, ``post``; ``pre`` for the XLA path).
      w: scalar or ``(K,)`` weights (cast to the ring's dtype).
      lag: ``(K,)`` delays in steps, uint8, int16 or int32, each in ``[1, D]``.
      clear: zero slot ``head`` first (the engine's ring: the slot the last step took), inside the call.
      take: also return slot ``(head + 1) % D`` after the delivery (the engine's current step), copied in the call.

    Returns:
      The new ring, ``(*batch, D, n_post)`` (and with ``take`` that slot, ``(*batch, n_post)``). Differentiable in
      ``ring``, ``s`` and ``w`` (the XLA path's tangent).
    """
    if jnp.dtype(lag.dtype) not in [jnp.dtype(t) for t in _LAG_DTYPES]:
        raise TypeError(f"deliver: lag must be uint8, int16 or int32, got {lag.dtype}")
    w = jnp.asarray(w, ring.dtype)
    if topo.row_ptr is None or not _build.active() or ring.dtype not in (jnp.float32, jnp.float64):
        ring = _cleared(ring, head) if clear else ring
        ring = deliver_xla(ring, head, s, topo, w, lag)
        return (ring, _slot(ring, (jnp.asarray(head) + 1) % ring.shape[-2])) if take else ring
    out = _deliver(ring, jnp.asarray(head, jnp.int32), s.astype(ring.dtype), topo, w, lag, bool(clear), bool(take))
    return out if take else out[0]


def _cleared(ring, head):
    depth = ring.shape[-2]
    return jnp.where((jnp.arange(depth) == jnp.asarray(head)[..., None])[..., None], 0, ring)


def _slot(ring, slot):
    depth = ring.shape[-2]
    return jnp.sum(jnp.where((jnp.arange(depth) == jnp.asarray(slot)[..., None])[..., None], ring, 0), axis=-2)


@functools.partial(jax.custom_jvp, nondiff_argnums=(6, 7))
def _deliver(ring, head, s, topo, w, lag, clear, take):
    return _kernel(jnp.ndim(w) == 0, clear, take)(ring, head, s, topo.row_ptr, topo.post, w, lag)


@_deliver.defjvp
def _deliver_jvp(clear, take, primals, tangents):
    # the delivery is linear in the ring and bilinear in (s, w): the XLA reference's tangent is the XLA path's
    ring, head = primals[0], primals[1]
    d_ring = _cleared(tangents[0], head) if clear else tangents[0]
    d_out = jax.jvp(deliver_xla, primals, (d_ring, *tangents[1:]))[1]
    d_now = _slot(d_out, (head + 1) % ring.shape[-2]) if take else jnp.zeros(ring.shape[:-2] + (0,), ring.dtype)
    return _deliver(*primals, clear, take), (d_out, d_now)


@functools.cache
def _kernel(w_scalar: bool, clear: bool = False, take: bool = False):
    def fn(ring, head, s, row_ptr, post, w, lag):
        batch = batch_shape((ring, head, s, w), (2, 0, 1, 0 if w_scalar else 1))
        ring = jnp.broadcast_to(ring, (*batch, *ring.shape[-2:]))
        out = (
            jax.ShapeDtypeStruct(ring.shape, ring.dtype),
            jax.ShapeDtypeStruct((*batch, ring.shape[-1] if take else 0), ring.dtype),
        )
        return call("snnjax_ring", out, (ring, head, s, row_ptr, post, w, lag), aliases={0: 0}, w_scalar=w_scalar,
                    clear=clear, take=take, threads=_build.threads(), parallel_min=_build.parallel_min())  # fmt: skip

    return aliased(fn, (0,))
