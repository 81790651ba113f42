"""Synapse kinetics models: ``init(shape, batch_shape)`` and ``update(state, inp, dt=)``; short-term plasticity.

Every kinetics model is written on :class:`Kinetics` (:mod:`snnjax.synapses.base`): parameters, ``STATE``,
``derivatives`` or a closed-form ``integrate``, and ``on_input`` (what an arriving input adds); yours can be too.

Post-aligned (linear) models -- ``Delta``, ``Exponential``, ``Alpha``, ``DualExponential`` -- integrate the
summed weighted input of each postsynaptic neuron. Pre-aligned (saturating) models -- ``AMPA``, ``GABAa``,
``NMDA`` -- keep one state per presynaptic neuron (``align = "pre"``); see :mod:`snnjax.synapses.markov`.
``SingleExponentialCurrent`` is Inferno's synapse (its own ``update(state, spikes)`` contract, with
``current_at``/``spike_at`` reads of its history), used through :mod:`snnjax.connections`.
"""

from snnjax.synapses.base import Kinetics
from snnjax.synapses.inferno import SingleExponentialCurrent, SingleExponentialCurrentState
from snnjax.synapses.kinetics import Alpha, Delta, DualExponential, Exponential, SynapseState
from snnjax.synapses.markov import AMPA, GABAa
from snnjax.synapses.nmda import NMDA
from snnjax.synapses.stp import STP, STPState

__all__ = [
    "AMPA",
    "NMDA",
    "STP",
    "Alpha",
    "Delta",
    "DualExponential",
    "Exponential",
    "GABAa",
    "Kinetics",
    "STPState",
    "SingleExponentialCurrent",
    "SingleExponentialCurrentState",
    "SynapseState",
]
