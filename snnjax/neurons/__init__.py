"""Neuron models: parameter dataclasses with pure ``init`` / ``update``.

Every model follows :class:`LIF`'s contract: ``shape``, ``count``, ``init(batch_shape=(), key=None)``
(Inferno's ``clear``), ``update(state, current, *, dt)``; its state has ``v`` (``voltage``), ``spike`` and,
where the model has refractoriness, ``refrac``.
"""

from snnjax.neurons.adex import AdEx, AdExState
from snnjax.neurons.alif import ALIF, ALIFState
from snnjax.neurons.expif import ExpIF, ExpIFState
from snnjax.neurons.gif import GIF, GIFState
from snnjax.neurons.hh import HH, HHState
from snnjax.neurons.izhikevich import Izhikevich, IzhikevichState
from snnjax.neurons.lif import LIF, LIFState
from snnjax.neurons.qif import QIF, QIFState

__all__ = [
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
    "Izhikevich",
    "IzhikevichState",
    "LIFState",
    "QIFState",
]
