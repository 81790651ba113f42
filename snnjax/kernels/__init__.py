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

:func:`event`, :func:`deliver` and :mod:`stdp` are the row-table format's (they live in :mod:`snnjax.formats.rows`,
with the format's XLA loops); the random numbers are the drive's. Each has its XLA version beside it (``event_xla``,
``deliver_xla``, ``stdp.arrive_xla``, ``stdp.potentiation_xla``): the reference the kernels are tested against
(bit-identical results) and the fallback. The C++ sources (``kernels.cc``, and each format's, added with
:func:`add_source`) are compiled into one library on first use with the system C++ compiler and cached; without a
compiler, with
``SNNJAX_KERNELS=xla`` or on an accelerator backend the XLA path runs. :func:`active` says which, :func:`status` why.
"""

import importlib

from snnjax.kernels._build import active, add_source, cache_root, compiler, mode, status
from snnjax.kernels._call import FLOATS
from snnjax.kernels.rng import poisson, poisson_xla, uniform, uniform_xla

# The row-table format's kernels live with the format (snnjax/formats/rows/: transmission.py, ring.py, stdp.py, where
# the API reference documents them), which imports this package's build machinery; sj.kernels.event, .deliver and .stdp
# are read from there on first use (a load-time import here would be circular).
_ROWS = {
    "event": "snnjax.formats.rows.transmission",
    "event_xla": "snnjax.formats.rows.transmission",
    "deliver": "snnjax.formats.rows.ring",
    "deliver_xla": "snnjax.formats.rows.ring",
    "stdp": "snnjax.formats.rows.stdp",
}


def __getattr__(name: str):
    if name in _ROWS:
        module = importlib.import_module(_ROWS[name])
        return module if name == "stdp" else getattr(module, name)
    raise AttributeError(f"module 'snnjax.kernels' has no attribute {name!r}")


def __dir__():
    return sorted([*__all__, *_ROWS])


__all__ = [
    "FLOATS",
    "active",
    "add_source",
    "cache_root",
    "compiler",
    "mode",
    "poisson",
    "poisson_xla",
    "status",
    "uniform",
    "uniform_xla",
]
