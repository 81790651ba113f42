"""snnjax: spiking neural networks in JAX, as immutable pytrees and pure update functions."""

from snnjax import (
    analysis,
    conn,
    connections,
    delay_learning,
    delays,
    encoders,
    formats,
    init,
    inputs,
    integrators,
    jitconn,
    kernels,
    monitors,
    neurons,
    ops,
    outputs,
    placement,
    plasticity,
    propagators,
    sharding,
    stages,
    surrogate,
    sweeps,
    synapses,
    training,
)
from snnjax._version import __version__ as __version__
from snnjax.checkpoint import load_state, read_metadata, save_state
from snnjax.delays import DelayBuffer
from snnjax.network import Network, NetworkState
from snnjax.projection import Projection, ProjectionState
from snnjax.runner import Monitors, Runner, simulate
from snnjax.sweeps import SweepResult, sweep
from snnjax.training import trainable

__all__ = [
    "DelayBuffer",
    "Monitors",
    "Network",
    "NetworkState",
    "Projection",
    "ProjectionState",
    "Runner",
    "SweepResult",
    "analysis",
    "conn",
    "connections",
    "delay_learning",
    "delays",
    "encoders",
    "formats",
    "init",
    "inputs",
    "integrators",
    "jitconn",
    "kernels",
    "load_state",
    "monitors",
    "neurons",
    "ops",
    "outputs",
    "placement",
    "plasticity",
    "plot",
    "propagators",
    "sharding",
    "read_metadata",
    "save_state",
    "simulate",
    "stages",
    "surrogate",
    "sweep",
    "sweeps",
    "synapses",
    "trainable",
    "training",
]


def __getattr__(name: str):
    # sj.plot and sj.nir import on first use, so that `import snnjax` does not need (or load) matplotlib or nir
    if name in ("plot", "nir"):
        import importlib

        return importlib.import_module(f"snnjax.{name}")
    raise AttributeError(f"module 'snnjax' has no attribute {name!r}")
