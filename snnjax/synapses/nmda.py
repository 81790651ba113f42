"""NMDA receptor kinetics (BrainPy's ``bp.dyn.NMDA``); pair with ``outputs.MgBlock`` for the Mg2+ block."""

from __future__ import annotations

import jax.numpy as jnp
from flax import struct
from jax.typing import ArrayLike

from snnjax.synapses.base import Kinetics
from snnjax.synapses.kinetics import SynapseState


@struct.dataclass
class NMDA(Kinetics):
    """NMDA gating with saturation (Brunel & Wang 2001; BrainPy's ``bp.dyn.NMDA``):

    ``dg/dt = -g / tau_decay + a h (1 - g)``, ``dh/dt = -h / tau_rise`` (each presynaptic spike adds 1
    to ``h``; BrainPy calls ``h`` ``x``).

    Each step uses exponential Euler with ``h`` held at its value at the start of the step, as BrainPy's
    ``exp_auto`` and Brian2's ``exponential_euler`` do (exact in ``g`` for that ``h``):
    ``k = 1/tau_decay + a h``, ``g <- g_inf + (g - g_inf) e^{-k dt}``, ``g_inf = a h / k``,
    ``h <- h e^{-dt/tau_rise}``; then ``h += spikes`` (so ``g`` starts rising one step after arrival).

    ``g (1 - g)``-type saturation makes the model nonlinear in its input, so it is **pre-aligned** like
    :class:`snnjax.synapses.AMPA`: one ``(g, h)`` per presynaptic neuron (or per synapse with per-synapse
    delays), driven by its own spikes, and the projection sends ``sum_j w_ij g_j`` (weight = ``g_max``)
    to the output every step with a dense or sparse kernel, as BrainPy's ``ProjAlignPreMg2``. Summing
    weights first would instead saturate on the weighted sum of all inputs.

    Args:
      tau_decay: decay time constant, ms, > 0.
      tau_rise: rise time constant of ``h``, ms, > 0.
      a: binding rate, 1/ms, >= 0.
    State: ``g`` (open fraction, in [0, 1)) and ``h`` (dimensionless), shape ``(*batch, n_pre)``.
    """

    tau_decay: ArrayLike = 100.0
    tau_rise: ArrayLike = 2.0
    a: ArrayLike = 0.5

    STATE = dict(g=0.0, h=0.0)
    State = SynapseState
    align = "pre"  # the projection feeds it presynaptic spikes
    _FIELDS = {"tau_decay": "positive", "tau_rise": "positive", "a": "nonnegative"}

    def derivatives(self, state: SynapseState) -> dict:
        """``dg/dt = -g / tau_decay + a h (1 - g)``, ``dh/dt = -h / tau_rise``."""
        return {"g": -state.g / self.tau_decay + self.a * state.h * (1.0 - state.g), "h": -state.h / self.tau_rise}

    def integrate(self, state: SynapseState, dt: float) -> dict:
        """One exponential-Euler step with ``h`` held at its value at the start of the step."""
        rate = 1.0 / self.tau_decay + self.a * state.h
        g_inf = self.a * state.h / rate
        g = g_inf + (state.g - g_inf) * jnp.exp(-rate * dt)
        return {"g": g, "h": state.h * jnp.exp(-dt / self.tau_rise)}

    def on_input(self, state: SynapseState, inp: ArrayLike) -> dict:
        """``h += inp`` (the presynaptic spikes)."""
        return {"h": state.h + inp}
