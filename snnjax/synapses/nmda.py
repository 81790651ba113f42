"""NMDA receptor kinetics (BrainPy's ``bp.dyn.NMDA``); pair with ``outputs.MgBlock`` for the Mg2+ block."""

from __future__ import annotations

import jax.numpy as jnp
from flax import struct
from jax.typing import ArrayLike

from snnjax import _checks
from snnjax.synapses.kinetics import SynapseState, _zeros


@struct.dataclass
class NMDA:
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

    align = "pre"  # class attribute, not a field: the projection feeds it presynaptic spikes
    _FIELDS = {"tau_decay": "positive", "tau_rise": "positive", "a": "nonnegative"}

    def __post_init__(self):
        _checks.check_fields(self, self._FIELDS, strict=False)

    def _validate(self) -> None:
        """Complete checks on concrete values."""
        _checks.check_fields(self, self._FIELDS, strict=True)

    def init(self, shape: tuple[int, ...], batch_shape: tuple[int, ...] = ()) -> SynapseState:
        """Zero state; ``shape`` is the presynaptic shape (or ``(K,)``)."""
        z = _zeros(shape, batch_shape)
        return SynapseState(g=z, h=z)

    def update(self, state: SynapseState, inp: ArrayLike, *, dt: float) -> SynapseState:
        """One exponential-Euler step, then ``h += inp`` (the presynaptic spikes)."""
        rate = 1.0 / self.tau_decay + self.a * state.h
        g_inf = self.a * state.h / rate
        g = g_inf + (state.g - g_inf) * jnp.exp(-rate * dt)
        return SynapseState(g=g, h=state.h * jnp.exp(-dt / self.tau_rise) + inp)
