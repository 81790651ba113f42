"""Connectivity formats: how a projection's synapses are stored, visited each step, split over devices and traversed
by a plasticity rule. A propagator (:mod:`snnjax.propagators`) is a format plus a cost model.

One folder or module per format, each holding everything of its own:

========================  ====================================================================================
``formats/dense.py``      a dense ``(n_pre, n_post)`` matrix built once per run (``dense``).
``formats/sparse.py``     the synapse list, every synapse every step (``sparse``; plasticity over every synapse).
``formats/rows/``         row tables (``event``, ``vector_event``): the tables' loops in XLA (``loops.py``, blocks in
                          ``blocks.py``) with their derivative rules, the compiled CPU kernels' wrappers
                          (``transmission.py``, ``ring.py``, ``stdp.py``), the plasticity traversal (``plastic.py``)
                          and the two propagators (``event.py``, ``vector_event.py``).
``formats/jit.py``        the ``jit`` propagator over just-in-time connectivity, whose connector, loops and device
                          view are :mod:`snnjax.jitconn` (``JitFixedProb``, ``STORED = False``, ``local``).
========================  ====================================================================================

Shared by all: the synapse list :class:`snnjax.ops.Topology` (a format builds the tables it needs in its
propagator's ``build``, pads them for devices in ``Topology.padded``, or subclasses it for tables of its own), the spike
compaction and spike loops of :mod:`snnjax.ops`, and the propagator protocol and registry of
:mod:`snnjax.propagators.base`. ``docs/engine.md`` says which files a new format needs.
"""
