"""The plastic loops of :class:`~snnjax.plasticity.STDP` and :class:`~snnjax.plasticity.TripletSTDP`, compiled.

Two kernels, each the whole loop of one phase of a step, bit-identical to the XLA path (its reference and fallback):

* :func:`arrive`: transmission with the plastic weights fused with the depression at the arrivals, what
  ``Event.propagate_plastic`` computes with :func:`snnjax.formats.rows.loops.event_update` and the rule's ``on_pre``
  (reference :func:`arrive_xla`): for every arriving presynaptic row ``i`` (nonzero spike) in increasing ``i``, its
  synapses ``k`` in increasing ``k``: ``out[post[k]] += s[i] w[k]``, then ``w[k] = bound(w[k], 0, rounded(apost[post[k]]
  c_i))`` with ``c_i`` the rule's ``a_minus`` (triplet: ``a2_minus + a3_minus apre2[i]``);
* :func:`potentiation`: the potentiation at the postsynaptic spikes through the transposed table
  (``Topology.in_pre``, ``in_syn``), ``w[k] = bound(w[k], rounded(apre[pre[k]] c_j), 0)`` with ``c_j`` the rule's
  ``a_plus`` (triplet: ``a2_plus + a3_plus apost2[j]``), then the postsynaptic traces' jumps, what
  ``Event.learn_post`` computes in XLA (reference :func:`potentiation_xla`; :func:`potentiate` is the weights only,
  what ``Event.learn_post`` calls).

``bound`` is the rule's ``HardBounds`` or ``SoftBounds``. The weights are updated in place (the kernel's result
aliases them). The factors ``c`` (one per neuron) are computed by XLA before the call, with the rule's own
expressions. Each synapse changes at most once per phase, so the order of the rows does not change the weights.

Both return ``None`` (the caller then runs its XLA path) when the library cannot be built, or when the rule or the
data are outside what the kernels do:
a rule that overrides the trace rule's arithmetic, dtypes other than one float32/float64 for weights, traces,
spikes and parameters (the XLA path would then round through another precision), or missing tables.

Bounds: as :mod:`snnjax.formats.rows.transmission`; synapse indices outside ``[0, K)`` in a table are skipped, and a
trace read at a neuron index outside its group reads 0 (as the XLA path's ``mode="fill"`` gathers).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from snnjax import ops
from snnjax.formats.rows import plastic
from snnjax.kernels import _build
from snnjax.kernels._call import FLOATS, aliased, batch_shape, call

__all__ = ["arrive", "arrive_xla", "potentiate", "potentiation", "potentiation_xla"]


def _trace_rule(rule) -> bool:
    """Whether ``rule`` is an STDP / TripletSTDP whose arithmetic is the trace rule's own (not overridden)."""
    from snnjax.plasticity.stdp import STDP, TripletSTDP, _TraceRule

    if not isinstance(rule, (STDP, TripletSTDP)):
        return False
    own = ("decay", "on_pre", "pre_spike", "on_post", "post_spike", "on_step", "_depress", "_potentiate", "_bounded",
           "_jump", "depression")  # fmt: skip
    return all(getattr(type(rule), m) is getattr(_TraceRule, m) for m in own) and rule.bounds in ("hard", "soft")


def _same_float(dtype, *values) -> bool:
    """All ``values`` promote to ``dtype`` (one of float32/float64): no other precision in the XLA path."""
    return jnp.dtype(dtype) in FLOATS and all(jnp.result_type(dtype, v) == dtype for v in values)


# -- arrivals: transmission + depression -------------------------------------------------------------------------


def arrive_xla(rule, st, topo: ops.Topology, spikes: jax.Array, index=None) -> tuple[jax.Array, jax.Array]:
    """The XLA path (``Event.propagate_plastic``): :func:`snnjax.formats.rows.loops.event_update` with the rule's
    ``on_pre`` per batch element over the compacted ``index`` (default: :func:`snnjax.ops.compact` of every spike).

    Returns:
      ``(out (*batch, n_post), w (*batch, K))``.
    """
    if index is None:
        index = ops.compact(spikes, spikes.shape[-1])
    out, st = plastic.propagate_plastic(topo, spikes, index, st, rule)
    return out, st.w


def arrive(rule, st, topo: ops.Topology, spikes: jax.Array) -> tuple[jax.Array, jax.Array] | None:
    """Transmission with the plastic weights and the depression of every transmitted synapse, by the kernel.

    Args:
      rule: the projection's rule (or one of its bound methods, e.g. ``rule.depression``); the kernel runs for an
        :class:`~snnjax.plasticity.STDP` or :class:`~snnjax.plasticity.TripletSTDP`.
      st: the rule's state, traces decayed to this step (``rule.begin``): ``w (*batch, K)``, ``apost (*batch,
        n_post)``, ``apre2 (*batch, n_pre)`` for the triplet rule.
      topo: the synapse list with ``row_ptr`` (CSR) or the row tables.
      spikes: the arriving spikes ``(*batch, n_pre)`` (their values scale the transmission).

    Returns:
      ``(out (*batch, n_post), w (*batch, K))``, or None when the kernel does not apply (see the module docstring).
    """
    rule = getattr(rule, "__self__", rule)
    if not _trace_rule(rule) or (topo.row_ptr is None and topo.ell_post is None) or _build._loaded() is not None:
        return None
    from snnjax.plasticity.stdp import _triplet

    p = rule._params()
    factor = p["a2_minus"] if st.apre2 is None else _triplet(p["a2_minus"], p["a3_minus"], st.apre2)
    w = st.w
    if not _same_float(w.dtype, spikes, st.apost, factor, rule.w_min, rule.w_max) or spikes.dtype != w.dtype:
        return None
    return _arrive(rule.bounds == "soft", jnp.ndim(factor) > 0, rule, st, topo, spikes, jnp.asarray(factor, w.dtype))


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1))
def _arrive(soft, per_row, rule, st, topo, spikes, factor):
    csr = topo.row_ptr is not None
    t0, t1 = (topo.row_ptr, topo.post) if csr else (topo.ell_post, topo.ell_syn)
    lo, hi = (jnp.asarray(b, st.w.dtype) for b in (rule.w_min, rule.w_max))
    return tuple(_arrive_kernel(csr, soft, per_row)(spikes, t0, t1, st.w, st.apost, factor, lo, hi))


@_arrive.defjvp
def _arrive_jvp(soft, per_row, primals, tangents):
    # no derivative of its own (a data-dependent loop): the XLA path's, through its loop. The factor is a function of
    # (rule, st), which the XLA path differentiates itself: its own tangent would count that twice.
    tangent = jax.jvp(arrive_xla, primals[:4], tangents[:4])[1]
    return _arrive(soft, per_row, *primals), tangent


@functools.cache
def _arrive_kernel(csr: bool, soft: bool, per_row: bool):
    table = 1 if csr else 2

    def fn(s, t0, t1, w, apost, factor, lo, hi):
        batch = batch_shape((s, t0, t1, w, apost, factor, lo, hi), (1, table, table, 1, 1, int(per_row), 0, 0))
        w = jnp.broadcast_to(w, (*batch, w.shape[-1]))
        outs = (jax.ShapeDtypeStruct((*batch, apost.shape[-1]), w.dtype), jax.ShapeDtypeStruct(w.shape, w.dtype))
        args = (s, t0, t1, w, apost, factor, lo, hi)
        return call("snnjax_stdp_arrive", outs, args, aliases={3: 1}, csr=csr, soft=soft, factor_per_row=per_row)

    return aliased(fn, (3,))


# -- postsynaptic spikes: potentiation ---------------------------------------------------------------------------


def potentiation_xla(rule, st, topo: ops.Topology, post_spikes: jax.Array, post_bound: int | None = None):
    """The XLA path: the rule's ``on_post`` at the columns of the postsynaptic spikes in blocks of ``post_bound``
    (:func:`snnjax.formats.rows.plastic.plastic_columns`), then the postsynaptic traces' jumps (``rule.fired``)."""
    return rule.fired(plastic.plastic_columns(topo, rule, st, post_spikes, post_bound=post_bound), post_spikes)


def potentiate(rule, st, topo: ops.Topology, post_spikes: jax.Array) -> jax.Array | None:
    """The weights ``(*batch, K)`` after the potentiation at the postsynaptic spikes ``(*batch, n_post)`` through the
    transposed table, by the kernel (what ``Event.learn_post`` runs), or None when the kernel does not apply.

    ``st`` holds the weights ``(*batch, K)`` and the traces after this step's arrivals (``apre (*batch, n_pre)``,
    ``apost``; ``apost2`` for the triplet rule); ``topo`` needs ``in_pre`` and ``in_syn``.
    """
    if not _trace_rule(rule) or topo.in_pre is None or st.apre.shape[-1] != topo.n_pre or _build._loaded() is not None:
        return None
    from snnjax.plasticity.stdp import _triplet

    p = rule._params()
    factor = p["a2_plus"] if st.apost2 is None else _triplet(p["a2_plus"], p["a3_plus"], st.apost2)
    w = st.w
    if not _same_float(w.dtype, st.apre, factor, rule.w_min, rule.w_max):
        return None
    q = post_spikes != 0
    fired = post_spikes if post_spikes.dtype == w.dtype else q.astype(w.dtype)
    return _potentiate(rule.bounds == "soft", jnp.ndim(factor) > 0, rule, st, topo, fired, jnp.asarray(factor, w.dtype))


def potentiation(rule, st, topo: ops.Topology, post_spikes: jax.Array):
    """:func:`potentiate`, then the postsynaptic traces' jumps: the rule's new state, or None when the kernel does
    not apply (reference :func:`potentiation_xla`)."""
    w = potentiate(rule, st, topo, post_spikes)
    return None if w is None else rule.fired(st.replace(w=w), post_spikes)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1))
def _potentiate(soft, per_col, rule, st, topo, fired, factor):
    lo, hi = (jnp.asarray(b, st.w.dtype) for b in (rule.w_min, rule.w_max))
    return _post_kernel(soft, per_col)(fired, topo.in_pre, topo.in_syn, st.w, st.apre, factor, lo, hi)


@_potentiate.defjvp
def _potentiate_jvp(soft, per_col, primals, tangents):
    # as _arrive_jvp: the XLA path's tangent (the factor's dependence on (rule, st) included there)
    def ref(rule, st, topo, fired):
        return potentiation_xla(rule, st, topo, fired).w

    return _potentiate(soft, per_col, *primals), jax.jvp(ref, primals[:4], tangents[:4])[1]


@functools.cache
def _post_kernel(soft: bool, per_col: bool):
    def fn(p, in_pre, in_syn, w, apre, factor, lo, hi):
        batch = batch_shape((p, in_pre, in_syn, w, apre, factor, lo, hi), (1, 2, 2, 1, 1, int(per_col), 0, 0))
        w = jnp.broadcast_to(w, (*batch, w.shape[-1]))
        out = jax.ShapeDtypeStruct(w.shape, w.dtype)
        args = (p, in_pre, in_syn, w, apre, factor, lo, hi)
        return call("snnjax_stdp_post", out, args, aliases={3: 0}, soft=soft, factor_per_col=per_col)

    return aliased(fn, (3,))
