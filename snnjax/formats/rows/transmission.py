"""Event transmission: the rows of a step's spiking presynaptic neurons added to their targets, in one kernel call.

For every nonzero ``s[i]`` in increasing ``i``, ``out[post[k]] += s[i] * w[k]`` for the synapses ``k`` of row ``i``
in increasing ``k``: what :func:`snnjax.formats.rows.loops.event` computes (its reference and fallback,
:func:`event_xla`), in the same order, so the results are bit-identical. The kernel scans the spikes itself: it needs
no compacted index and has no overflow path. Two formats of the synapse list: CSR (``Topology.row_ptr`` and ``post``, a
list sorted by presynaptic neuron) when the topology has it, else the padded row tables (``ell_post``, ``ell_syn``).

Bounds: ``row_ptr`` ranges are clamped to ``[0, K]``, targets outside ``[0, n_post)`` are skipped (never written),
and a synapse index outside ``[0, K)`` in the ELL table reads its weight as 0 (as the XLA path does).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from snnjax import ops
from snnjax.formats.rows import loops
from snnjax.kernels import _build
from snnjax.kernels._call import batch_shape, call

__all__ = ["event", "event_xla"]


def event_xla(s: jax.Array, topo: ops.Topology, w: jax.Array, max_events: int | None = None) -> jax.Array:
    """The XLA path (:func:`snnjax.formats.rows.loops.event`, a loop over a compacted spike index; ``max_events``
    default: all)."""
    return loops.event(s, topo, w, s.shape[-1] if max_events is None else max_events)


def event(s: jax.Array, topo: ops.Topology, w: jax.Array) -> jax.Array:
    """Event-driven transmission by the compiled kernel (RuntimeError if it cannot be built: see
    :func:`~snnjax.kernels.status`).

    Args:
      s: spikes ``(*batch, n_pre)``, float32 or float64 (0 = no spike; a value scales the row: STP efficacy).
      topo: the synapse list with ``row_ptr`` (CSR) or the row tables ``ell_post``/``ell_syn``.
      w: scalar, ``(K,)`` or per batch element ``(*batch, K)`` weights (cast to ``s``'s dtype).

    Returns:
      ``(*batch, n_post)`` in ``s``'s dtype. Differentiable: the tangent is :func:`snnjax.ops.sparse`'s bilinear
      form, as :func:`snnjax.formats.rows.loops.event`'s.
    """
    _build.require("snnjax.kernels.event")
    return _event(s, topo, jnp.asarray(w, s.dtype))


@jax.custom_jvp
def _event(s, topo, w):
    csr = topo.row_ptr is not None
    t0, t1 = (topo.row_ptr, topo.post) if csr else (topo.ell_post, topo.ell_syn)
    w_scalar = jnp.ndim(w) == 0
    batch = batch_shape((s, w), (1, 0 if w_scalar else 1))
    out = jax.ShapeDtypeStruct((*batch, topo.n_post), s.dtype)
    return call("snnjax_event", out, (s, t0, t1, w), csr=csr, w_scalar=w_scalar)


@_event.defjvp
def _event_jvp(primals, tangents):
    # the same tangent as loops._event's: the kernel computes sparse's bilinear map, whatever path the rows took
    s, topo, w = primals
    ds, dw = tangents[0], tangents[2]
    return _event(s, topo, w), ops.sparse(ds, topo, w) + ops.sparse(s, topo, dw)
