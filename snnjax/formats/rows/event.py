"""The ``event`` propagator: the row-table format with one loop iteration per spiking presynaptic neuron (or one
compiled call per step on a CPU), and its cost model."""

from __future__ import annotations

import dataclasses

import numpy as np

from snnjax import ops
from snnjax.formats.rows import loops, plastic, ring, stdp, transmission
from snnjax.jitconn import JitFixedProb
from snnjax.kernels import _build
from snnjax.kernels._call import FLOATS
from snnjax.propagators.base import (
    ProjectionInfo,
    Propagator,
    default_max_events,
    is_accelerator,
    register,
)

_CPU_NS = (4000.0, 1.0, 1.5, 350.0)  # fixed, per presynaptic neuron (compaction), per synaptic event, per spike


class _Name(str):
    """A propagator's registered name that shows how it runs (``repr(net)``: ``event+cpu-kernel``) while comparing,
    hashing and serialising as the name itself (``Projection.method`` stays a registered name)."""

    def __new__(cls, name: str, shown: str):
        obj = super().__new__(cls, name)
        obj.shown = shown
        return obj

    def __str__(self):
        return self.shown

    def __format__(self, spec):
        return format(self.shown, spec)

    def __reduce__(self):
        return (_Name, (str.__str__(self), self.shown))


@dataclasses.dataclass(frozen=True)
class Event(Propagator):
    """``O(spikes x fan-out)`` per step: the rows of the spiking neurons of a padded row table, one loop
    iteration per spike (:func:`snnjax.formats.rows.loops.event`). Exact whatever the activity: spikes beyond the
    compacted index (``max_events``) are found one by one. Post-aligned kinetics only (pre-aligned ones send a value
    from every presynaptic neuron every step). On CPU the cheapest below ~10-20% activity; on accelerators
    each iteration is a kernel launch, so ``auto`` prefers ``vector_event`` there.

    Per-synapse delays are delivered once, at emission, into a ring buffer of future input on the postsynaptic
    side (:func:`snnjax.formats.rows.loops.ring_deliver`, NEST's and GeNN's scheme): the work follows the spikes and
    their fan-out, never the synapse count. Not with plastic weights, short-term plasticity or learnable delays (their
    state changes at each synapse's arrival): ``sparse`` runs those.

    On a CPU with :func:`snnjax.kernels.active`, the loops run as compiled kernels instead (one call per step,
    bit-identical: :func:`snnjax.formats.rows.transmission.event`, :func:`snnjax.formats.rows.ring.deliver`,
    :func:`snnjax.formats.rows.stdp.arrive`, :func:`snnjax.formats.rows.stdp.potentiate`);
    the compacted index is then unused, and XLA removes its computation from the program as dead code.

    Attributes:
      max_events: compacted spikes per step (set by ``bind`` from ``Projection(max_events=, activity=)``).
      kernel: whether the compiled kernels run (set by ``bind``: :func:`snnjax.kernels.active` then); shown in
        ``repr(net)`` as ``event+cpu-kernel``.
    """

    max_events: int | None = None
    kernel: bool = False
    event_driven = True  # plasticity visits the rows and columns of the spikes (row and transposed tables)
    vectorized = False  # ... one row per loop iteration (vector_event: in blocks)

    @property
    def name(self) -> str:
        return _Name("event", "event+cpu-kernel") if self.kernel else "event"

    @property
    def index_bound(self) -> int | None:
        return self.max_events

    def supports(self, info: ProjectionInfo) -> str | None:
        if isinstance(info.connector, JitFixedProb):
            return "conn=JitFixedProb (just-in-time connectivity) runs with method='jit'"
        if info.align == "pre":
            return "pre-aligned kinetics send a value from every presynaptic neuron every step"
        if info.per_synapse_delay:  # delivered at emission into a ring of future input (loops.ring_deliver)
            if info.plastic:
                return (
                    "plastic weights with per-synapse delays need method='sparse' (the rule acts at each synapse's "
                    "arrival, with the weight and traces of that step)"
                )
            if info.stp:
                return (
                    "short-term plasticity with per-synapse delays needs method='sparse' (each synapse's u and x "
                    "change at its own arrivals)"
                )
            if info.delay_interp != "step":
                return "learnable (delay_interp='linear') per-synapse delays need method='sparse'"
        return None

    def cost(self, info: ProjectionInfo, backend: str) -> float:
        fixed, per_neuron, per_event, per_spike = _CPU_NS
        a = info.activity
        if is_accelerator(backend):
            per_spike = 5000.0  # a loop iteration is a kernel launch
        ring = per_neuron * info.n_post if info.per_synapse_delay else 0.0  # a ring slot read and cleared per step
        return fixed + per_neuron * info.n_pre + per_event * a * info.n_syn + per_spike * a * info.n_pre + ring

    def bind(self, info: ProjectionInfo) -> Event:
        m = min(info.max_events, info.n_pre) if info.max_events else default_max_events(info.n_pre, info.activity)
        kernel = type(self).propagate is Event.propagate and _build.active()  # subclasses with their own loops: no
        return dataclasses.replace(self, max_events=int(m), kernel=bool(kernel))

    def build(self, pre: np.ndarray, post: np.ndarray, info: ProjectionInfo) -> ops.Topology:
        # plastic weights: the row tables and the transposed ones (the rule visits the rows of the arriving spikes and
        # the columns of the postsynaptic spikes); ring delivery reads the rows of a list sorted by pre as windows: no
        # padded tables, whose memory grows with the widest row (an unsorted list gets them)
        if info.plastic:
            return super().build(pre, post, info)  # event_driven: the row and transposed tables
        return ops.Topology.from_lists(
            pre, post, info.n_pre, info.n_post, on_device=False, ell=True, rows_only=info.per_synapse_delay
        )

    def propagate(self, topo, w, spikes, index):
        if self.kernel and spikes.dtype in FLOATS:
            return transmission.event(spikes, topo, w)
        return loops.event(spikes, topo, w, self.max_events, events=index)

    def deliver(self, topo, w, lag, ring, head, spikes, index):
        """Per-synapse delays: this step's spikes into the ring of future input, one loop iteration per spike
        (:func:`snnjax.formats.rows.loops.ring_deliver`), or one compiled call
        (:func:`snnjax.formats.rows.ring.deliver`) for a list sorted by pre when the kernels run: ``(ring, now)``,
        ``now`` what arrives at this step."""
        compiled = self.kernel and topo.row_ptr is not None and _build.active()
        return loops.ring_deliver(spikes, index, topo, w, lag, ring, head, kernel=_compiled_ring if compiled else None)

    # -- plasticity: the rows of the arriving spikes, the columns of the postsynaptic spikes ------------------------

    def propagate_plastic(self, topo, spikes, index, rule_state, rule):
        """Transmission with the plastic weights ``rule_state.w`` and ``rule.on_pre`` at each transmitted row, in one
        loop (:func:`snnjax.formats.rows.plastic.propagate_plastic`; the compiled kernel for the built-in STDP rules):
        ``(out (*batch, n_post), rule_state)``."""
        if self.kernel:
            done = stdp.arrive(rule, rule_state, topo, spikes)
            if done is not None:
                return done[0], rule_state.replace(w=done[1])
        return plastic.propagate_plastic(topo, spikes, index, rule_state, rule, blocks=self.vectorized)

    def learn_pre(self, topo, rule, st, arrivals, index, *, per_synapse=False, voltage=None):
        """``rule.on_pre`` at the rows of the arriving spikes, without transmission
        (:func:`snnjax.formats.rows.plastic.learn_pre`; a loop per spike, blocks for ``vector_event``)."""
        return plastic.learn_pre(topo, rule, st, arrivals, index, blocks=self.vectorized, voltage=voltage)

    def learn_post(self, topo, rule, st, post_spikes, *, per_synapse=False, voltage=None, post_bound=None):
        """``rule.on_post`` at the columns of the postsynaptic spikes, through the transposed table
        (:func:`snnjax.formats.rows.plastic.plastic_columns`, blocks of ``post_bound`` columns), or one compiled call
        for the built-in STDP rules when the kernels are active (:func:`snnjax.formats.rows.stdp.potentiate`,
        bit-identical)."""
        if _build.active() and voltage is None:
            w = stdp.potentiate(rule, st, topo, post_spikes)
            if w is not None:
                return st.replace(w=w)
        return plastic.plastic_columns(topo, rule, st, post_spikes, voltage=voltage, post_bound=post_bound)


def _compiled_ring(s, idx, count, topo, w, lag, ring_, head):
    """:func:`snnjax.formats.rows.loops.ring_deliver`'s kernel as one compiled call (the spikes scanned in C++: no index
    needed)."""
    del idx, count
    # the kernel clears slot head and copies out the slot after it itself (XLA ops around it copied the ring)
    return ring.deliver(ring_, head, s, topo, w, lag, clear=True, take=True)


EVENT = register(Event())
