"""Markov (kinetic) receptor models: AMPA and GABAa (BrainPy's ``bp.dyn.AMPA`` / ``bp.dyn.GABAa``).

A fraction ``g`` of open channels obeys ``dg/dt = alpha [T] (1 - g) - beta g``, where the transmitter
concentration ``[T]`` is a square pulse of height ``T`` that lasts ``T_duration`` ms after each
presynaptic spike. The response saturates (``g <= 1``), so it is *not* linear in the input: summing the
weights of the spikes per postsynaptic neuron first ("align post") would make one spike of weight 2
differ from two spikes of weight 1. These models are therefore **pre-aligned**, exactly as BrainPy's
``ProjAlignPreMg2`` uses them: one ``g`` per presynaptic neuron (or per synapse when delays are per
synapse), driven by that neuron's delayed spikes, and the :class:`snnjax.Projection` sends
``sum_j w_ij g_j`` to the output every step (so the weight is the maximal conductance ``g_max``).
The projection therefore propagates every step with a dense or sparse kernel, never event-driven.
"""

from __future__ import annotations

import jax.numpy as jnp
from flax import struct
from jax.typing import ArrayLike

from snnjax.synapses.base import Kinetics
from snnjax.synapses.kinetics import SynapseState

_NEVER = 1e7  # ms since the last spike before any spike (BrainPy's initial -1e7 arrival time)
_ARRIVED = -1.0  # h while a spike that arrived this step is being integrated (a time since a spike is >= 0)


@struct.dataclass
class AMPA(Kinetics):
    """AMPA receptor: ``dg/dt = alpha [T] (1 - g) - beta g`` (BrainPy's ``bp.dyn.AMPA`` defaults).

    ``[T] = T`` during the steps ``k = 0, 1, ...`` after a spike's arrival step with ``k dt < T_duration``
    (BrainPy: ``t - t_arrival < T_duration``), else 0. A new spike restarts the pulse. Each step is
    integrated with exponential Euler with ``[T]`` held for the step, which is exact because the equation
    is linear in ``g`` for fixed ``[T]`` (BrainPy's ``exp_auto``): ``g <- g_inf + (g - g_inf) e^{-k dt}``,
    ``k = alpha [T] + beta``, ``g_inf = alpha [T] / k``. The spike raises ``[T]`` in the step it arrives,
    so ``g`` grows during that very step (as BrainPy).

    Pre-aligned (see :mod:`snnjax.synapses.markov`): state shape ``(*batch, n_pre)`` (or ``(*batch, K)``
    with per-synapse delays); the postsynaptic conductance is ``sum_j w_ij g_j``.

    Args:
      alpha: binding rate, 1/(mM ms), >= 0.
      beta: unbinding rate, 1/ms, > 0.
      T: transmitter concentration during the pulse, mM, >= 0.
      T_duration: pulse length, ms, > 0 (BrainPy's ``T_dur``).
    State: ``g`` (open fraction, in [0, 1)) and ``h`` (ms since the last spike arrived).
    """

    alpha: ArrayLike = 0.98
    beta: ArrayLike = 0.18
    T: ArrayLike = 0.5
    T_duration: ArrayLike = 0.5

    STATE = dict(g=(0.0, "open fraction, in [0, 1)"), h=(_NEVER, "ms since the last spike arrived"))
    State = SynapseState
    ARRIVAL = "before"  # the spike starts the transmitter pulse in the step it arrives
    align = "pre"  # the projection feeds it presynaptic spikes
    _FIELDS = {"alpha": "nonnegative", "beta": "positive", "T": "nonnegative", "T_duration": "positive"}

    def on_input(self, state: SynapseState, inp: ArrayLike) -> dict:
        """Mark where a spike arrives (nonzero ``inp``): ``integrate`` restarts its clock and pulse there."""
        return {"h": jnp.where(jnp.asarray(inp) != 0, _ARRIVED, state.h)}

    def integrate(self, state: SynapseState, dt: float) -> dict:
        """One step: advance the clock ``h`` (0 where a spike arrived), hold ``[T]`` over the step, and
        ``g <- g_inf + (g - g_inf) e^{-k dt}``."""
        since = jnp.where(state.h < 0, 0.0, jnp.minimum(state.h + dt, _NEVER)).astype(state.h.dtype)
        # ``k dt < T_duration`` with a margin of dt/1000 so that float rounding of ``k dt`` at an exact
        # multiple of dt does not add a step
        tt = jnp.where(since < self.T_duration - 1e-3 * dt, self.T, 0.0)
        rate = self.alpha * tt + self.beta
        g_inf = self.alpha * tt / rate
        g = g_inf + (state.g - g_inf) * jnp.exp(-rate * dt)
        return {"g": g.astype(state.g.dtype), "h": since}


@struct.dataclass
class GABAa(AMPA):
    """GABAa receptor: the :class:`AMPA` kinetics with BrainPy's ``bp.dyn.GABAa`` defaults
    (``alpha=0.53`` 1/(mM ms), ``beta=0.18`` 1/ms, ``T=1`` mM, ``T_duration=1`` ms); pair it with
    ``outputs.COBA(E=-80.)``. Pre-aligned, like :class:`AMPA`."""

    alpha: ArrayLike = 0.53
    beta: ArrayLike = 0.18
    T: ArrayLike = 1.0
    T_duration: ArrayLike = 1.0
