"""Synaptic kinetics on the postsynaptic side: ``g`` driven by the weighted presynaptic spikes.

Each model turns ``inp`` -- the sum of the weights of the spikes that arrive at each postsynaptic
neuron during this step (shape ``(*batch, *post_shape)``) -- into a synaptic variable ``g`` in the
unit of the weights (nA for a CUBA current, conductance relative to leak or nS for COBA, mV for a
voltage jump). Because the kinetics are linear with one time constant per projection, summing the
weights first and integrating once per postsynaptic neuron is exact (BrainPy's "align post").

An arriving spike adds its weight to ``g`` during the step it arrives (after the decay of that step),
so its effect on ``g`` during that step is exactly the weight.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from jax.typing import ArrayLike

from snnjax import _checks


@struct.dataclass
class SynapseState:
    """``g``: the synaptic variable, shape ``(*batch, *post_shape)``; ``h``: the rise variable (Alpha
    only; ``None`` otherwise)."""

    g: jax.Array
    h: jax.Array | None = None


def _zeros(shape, batch_shape):
    return jnp.zeros((*tuple(batch_shape), *tuple(shape)), jnp.result_type(float))


@struct.dataclass
class Delta:
    """No kinetics: ``g`` equals this step's input (BrainPy's ``Delta`` / voltage-jump synapse).

    With ``outputs.CUBA(target="v")`` each arriving spike adds its weight (mV) to the postsynaptic
    membrane potential; with ``CUBA()`` it injects its weight (nA) as current for one step.
    """

    def init(self, shape: tuple[int, ...], batch_shape: tuple[int, ...] = ()) -> SynapseState:
        """Zero state for a postsynaptic group of ``shape``."""
        return SynapseState(g=_zeros(shape, batch_shape))

    def update(self, state: SynapseState, inp: ArrayLike, *, dt: float) -> SynapseState:
        """``g = inp``."""
        return SynapseState(g=jnp.broadcast_to(inp, state.g.shape).astype(state.g.dtype))


@struct.dataclass
class Exponential:
    """Single exponential: ``dg/dt = -g / tau`` plus a jump of the weight per spike (exact integration).

    Args:
      tau: decay time constant, ms, > 0 (scalar or shape of the postsynaptic group).
    """

    tau: ArrayLike = 8.0

    def __post_init__(self):
        _checks.check_fields(self, {"tau": "positive"}, strict=False)

    def _validate(self) -> None:
        """Complete checks on concrete values."""
        _checks.check_fields(self, {"tau": "positive"}, strict=True)

    def init(self, shape: tuple[int, ...], batch_shape: tuple[int, ...] = ()) -> SynapseState:
        """Zero state for a postsynaptic group of ``shape``."""
        return SynapseState(g=_zeros(shape, batch_shape))

    def update(self, state: SynapseState, inp: ArrayLike, *, dt: float) -> SynapseState:
        """``g <- g exp(-dt/tau) + inp``."""
        return SynapseState(g=state.g * jnp.exp(-dt / self.tau) + inp)


@struct.dataclass
class Alpha:
    """Alpha function: ``g(t) = w (t / tau_decay) exp(1 - ...)``-shaped response, as the linear system

    ``dh/dt = -h / tau_decay`` (each spike adds its weight to ``h``),
    ``dg/dt = (h - g) / tau_decay``,

    integrated exactly over each step: ``g <- (g + h dt/tau) e^{-dt/tau}``, ``h <- h e^{-dt/tau}``.
    A single spike of weight ``w`` at ``t=0`` gives ``g(t) = w (t/tau) exp(-t/tau)``, peaking at
    ``w / e`` at ``t = tau`` (BrainPy's Alpha uses the same equations with exponential Euler).

    Args:
      tau_decay: time constant, ms, > 0.
    """

    tau_decay: ArrayLike = 10.0

    def __post_init__(self):
        _checks.check_fields(self, {"tau_decay": "positive"}, strict=False)

    def _validate(self) -> None:
        """Complete checks on concrete values."""
        _checks.check_fields(self, {"tau_decay": "positive"}, strict=True)

    def init(self, shape: tuple[int, ...], batch_shape: tuple[int, ...] = ()) -> SynapseState:
        """Zero state for a postsynaptic group of ``shape``."""
        z = _zeros(shape, batch_shape)
        return SynapseState(g=z, h=z)

    def update(self, state: SynapseState, inp: ArrayLike, *, dt: float) -> SynapseState:
        """Exact step of the linear system, then ``h += inp``."""
        decay = jnp.exp(-dt / self.tau_decay)
        g = (state.g + state.h * (dt / self.tau_decay)) * decay
        return SynapseState(g=g, h=state.h * decay + inp)
