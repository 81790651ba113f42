"""Neuron models: parameter dataclasses with pure ``init`` / ``update``.

Every model follows the :class:`Population` protocol: ``shape``, ``count``, ``init(batch_shape=(), key=None)``
(Inferno's ``clear``), ``update(state, current, *, dt)``; its state has ``v`` (``voltage``), ``spike`` and,
where the model has refractoriness, ``refrac``. The ODE models are built on :class:`ODENeuron`, the base
for writing your own (``snnjax.neurons.base``).
"""

from snnjax.neurons.adex import AdEx, AdExState
from snnjax.neurons.alif import ALIF, ALIFState
from snnjax.neurons.base import ODENeuron, Population, check_population
from snnjax.neurons.expif import ExpIF, ExpIFState
from snnjax.neurons.gif import GIF, GIFState
from snnjax.neurons.hh import HH, HHState
from snnjax.neurons.iaf_psc_exp import IafPscExp, IafPscExpState
from snnjax.neurons.izhikevich import Izhikevich, IzhikevichState
from snnjax.neurons.lif import LIF, LIFState
from snnjax.neurons.qif import QIF, QIFState
from snnjax.neurons.readout import IF, LI, IFState, Integrator, ReadoutState

__all__ = [
    "ODENeuron",
    "Population",
    "check_population",
    "IF",
    "LI",
    "IFState",
    "Integrator",
    "ReadoutState",
    "ALIF",
    "GIF",
    "HH",
    "LIF",
    "QIF",
    "ALIFState",
    "AdEx",
    "AdExState",
    "ExpIF",
    "ExpIFState",
    "GIFState",
    "HHState",
    "IafPscExp",
    "IafPscExpState",
    "Izhikevich",
    "IzhikevichState",
    "LIFState",
    "QIFState",
]
