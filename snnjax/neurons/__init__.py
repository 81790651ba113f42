"""Neuron models: parameter dataclasses with pure ``init`` / ``update``."""

from snnjax.neurons.lif import LIF, LIFState

__all__ = ["LIF", "LIFState"]
