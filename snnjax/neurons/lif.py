"""Leaky integrate-and-fire neurons with an absolute refractory period."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import struct
from jax.typing import ArrayLike

from snnjax.init import Initializer
from snnjax.neurons.base import ODENeuron


@struct.dataclass
class LIF(ODENeuron):
    """Leaky integrate-and-fire group: ``tau dv/dt = -(v - v_rest) + r I``.

    The ODE is integrated exactly over each step with the input current held constant:
    ``v <- v_inf + (v - v_inf) exp(-dt/tau)`` with ``v_inf = v_rest + r I`` (method ``'exact'``, the closed
    form of :meth:`integrate`; any integrator of :mod:`snnjax.integrators` can be asked for with ``method=``).
    A neuron fires when ``v >= v_th`` after that update; it is then reset and held there (input ignored) for
    ``tau_ref`` ms, i.e. for ``floor(tau_ref / dt + 1/2)`` steps (the rule of the delays, decided on the host
    for concrete ``tau_ref``: half steps round up and whole steps stay whole, so 0.15 ms at ``dt = 0.1`` is
    2 steps and 0.35 ms is 4; see ``neurons._base.refractory_steps``), as BrainPy's LIF does.

    Reset (``reset_mode``): ``'value'`` sets ``v = v_reset`` (BrainPy ``spk_reset='hard'``, Brian2
    ``reset='v = v_reset'``); ``'subtract'`` lowers ``v`` by ``v_th - v_reset`` and keeps the overshoot above
    threshold (BrainPy ``spk_reset='soft'``, Brian2 ``reset='v -= v_th - v_reset'``, snnTorch
    ``'subtract'``). At most one spike per step either way; with ``'subtract'`` a neuron still above ``v_th``
    after the reset fires again on the next step. No spike is emitted while refractory (as Brian2's
    ``not_refractory``; it matters only when the held ``v`` is at or above ``v_th``).

    Every parameter may be a scalar or an array of the group's ``shape`` (heterogeneous neurons).
    Gradients: ``spike`` carries the surrogate gradient of ``spike_fn``; the reset is detached from it
    (differentiating through the reset multiplies the gradient by ``(v_reset - v_th) x surrogate'(0)`` at every
    spike, which explodes over long runs; Zenke & Vogels 2021).

    Input: ``current`` in nA (``r I`` in mV). State: :class:`LIFState` (``v`` mV, ``spike``, ``refrac`` ms).

    Args:
      size: number of neurons (int) or the group's shape (tuple).
      v_rest: resting potential, mV.
      v_reset: reset potential after a spike, mV.
      v_th: firing threshold, mV.
      tau: membrane time constant, ms, > 0.
      tau_ref: absolute refractory period, ms, >= 0.
      r: membrane resistance, MOhm (mV / nA), > 0.
      v_init: initial potential: ``None`` (= ``v_rest``), a float in mV, or an ``snnjax.init`` spec
        such as ``Normal(-55., 2.)`` (then ``init`` needs a key).
      reset_mode: ``'value'`` (default) or ``'subtract'``, see above.
      spike_fn: spike function (Heaviside forward, surrogate gradient backward); keyword only.
      method: integrator (:mod:`snnjax.integrators`), default ``'exact'`` (the closed form); keyword only.
    """

    size: Any = struct.field(pytree_node=False)
    v_rest: ArrayLike = 0.0
    v_reset: ArrayLike = -5.0
    v_th: ArrayLike = 20.0
    tau: ArrayLike = 10.0
    tau_ref: ArrayLike = 0.0
    r: ArrayLike = 1.0
    v_init: float | Initializer | None = struct.field(pytree_node=False, default=None)
    reset_mode: str = struct.field(pytree_node=False, default="value")

    _FIELDS = dict(v_rest=None, v_reset=None, v_th=None, tau="positive", tau_ref="nonnegative", r="positive")
    STATE = dict(v=("v_rest", "membrane potential, mV."))

    METHOD = "exact"

    def derivatives(self, s, current):
        """``dv/dt`` (mV/ms) with ``current`` in nA."""
        return dict(v=(-(s.v - self.v_rest) + self.r * current) / self.tau)

    def integrate(self, s, current, dt):
        """The exact step, ``v_inf + (v - v_inf) exp(-dt / tau)`` with ``v_inf = v_rest + r I`` (mV)."""
        v_inf = self.v_rest + self.r * current
        return dict(v=v_inf + (s.v - v_inf) * jnp.exp(-dt / self.tau))


LIFState = LIF.State
