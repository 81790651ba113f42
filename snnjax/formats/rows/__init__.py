"""The row-table format (the ``event`` and ``vector_event`` propagators).

A presynaptic neuron's synapses form its row: the padded row table ``Topology.ell_post`` / ``ell_syn`` (or, for a list
sorted by ``pre``, the contiguous windows of ``Topology.row_ptr``), and for plastic weights the transposed table
``in_pre`` / ``in_syn`` (the synapses onto each postsynaptic neuron). Each step visits only the rows of the spiking
neurons: ``O(spikes x fan-out)``.

Modules:

* :mod:`~snnjax.formats.rows.loops`: the XLA loops (transmission, ring delivery of per-synapse delays, a rule's update
  at rows and columns) with their derivative rules (the tangent of the bilinear map :func:`snnjax.ops.sparse`);
* :mod:`~snnjax.formats.rows.blocks`: the same in blocks of rows (accelerators);
* :mod:`~snnjax.formats.rows.plastic`: how a plasticity rule is traversed on the tables;
* :mod:`~snnjax.formats.rows.transmission`, :mod:`~snnjax.formats.rows.ring`, :mod:`~snnjax.formats.rows.stdp`: the
  compiled CPU kernels (their C++ is ``rows.cc`` here, built into the one kernel library), each beside its XLA
  reference;
* :mod:`~snnjax.formats.rows.event`, :mod:`~snnjax.formats.rows.vector_event`: the propagators (cost models, ``build``
  of the tables a projection needs, which loop runs).

Split over devices: each device holds the synapses onto its own neurons; ``snnjax.sharding`` counts the widest row and
column of any device and :meth:`snnjax.ops.Topology.padded` pads the tables to them.
"""

from pathlib import Path

from snnjax.kernels import _build

# the format's C++ kernels, compiled into snnjax's one kernel library (the wrappers: transmission.py, ring.py, stdp.py)
_build.add_source(
    Path(__file__).with_name("rows.cc"), ("snnjax_event", "snnjax_ring", "snnjax_stdp_arrive", "snnjax_stdp_post")
)
