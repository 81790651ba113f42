"""Compiled CPU kernels for the per-step row loops, called by XLA as typed-FFI custom calls (docs/kernels.md).

An XLA CPU step runs one small kernel per operation, so a data-dependent loop over a step's spikes costs a few
kernels per spike (``docs/engine.md``). These kernels do a projection's whole loop in one call per step:

* :func:`event`: event-driven transmission (the ``event`` propagator's ``propagate``);
* :func:`deliver`: delivery of spikes into a ring buffer of future input (per-synapse delays);
* :func:`uniform`, :func:`poisson`: the counter-based Philox4x32-10 numbers and the Poisson counts
  :class:`~snnjax.inputs.PoissonInput` draws;
* :func:`snnjax.kernels.stdp.arrive` / :func:`snnjax.kernels.stdp.potentiation`: the loops of
  :class:`~snnjax.plasticity.STDP` and :class:`~snnjax.plasticity.TripletSTDP` (transmission fused with the
  depression at the arrivals; the potentiation at postsynaptic spikes).

Each has its XLA version beside it (``event_xla``, ``deliver_xla``, ``stdp.arrive_xla``, ``stdp.potentiation_xla``):
the reference the kernels are tested against (bit-identical results) and the fallback. The C++ source
(``kernels.cc``) is compiled on first use with the system C++ compiler and cached; without a compiler, with
``SNNJAX_KERNELS=xla`` or on an accelerator backend the XLA path runs. :func:`active` says which, :func:`status` why.
"""

from snnjax.kernels import stdp
from snnjax.kernels._build import active, cache_root, compiler, mode, status
from snnjax.kernels._call import FLOATS
from snnjax.kernels.ring import deliver, deliver_xla
from snnjax.kernels.rng import poisson, poisson_xla, uniform, uniform_xla
from snnjax.kernels.transmission import event, event_xla

__all__ = [
    "FLOATS",
    "active",
    "cache_root",
    "compiler",
    "deliver",
    "deliver_xla",
    "event",
    "event_xla",
    "mode",
    "poisson",
    "poisson_xla",
    "status",
    "stdp",
    "uniform",
    "uniform_xla",
]
