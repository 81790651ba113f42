"""snnjax: spiking neural networks in JAX, as immutable pytrees and pure update functions."""

from snnjax import conn, init, neurons, ops, outputs, surrogate, synapses
from snnjax.delays import DelayBuffer
from snnjax.network import Network, NetworkState
from snnjax.projection import Projection
from snnjax.runner import Monitors, Runner, simulate
from snnjax.training import trainable

__version__ = "0.1.0"

__all__ = [
    "DelayBuffer",
    "Monitors",
    "Network",
    "NetworkState",
    "Projection",
    "Runner",
    "conn",
    "init",
    "neurons",
    "ops",
    "outputs",
    "simulate",
    "surrogate",
    "synapses",
    "trainable",
]
