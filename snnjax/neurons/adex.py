"""Adaptive exponential integrate-and-fire neurons (Brette & Gerstner 2005)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import struct
from jax.typing import ArrayLike

from snnjax.init import Initializer
from snnjax.neurons.base import ODENeuron


@struct.dataclass
class AdEx(ODENeuron):
    """Adaptive exponential integrate-and-fire group (BrainPy's ``AdExIF``):

    ``tau dv/dt = -(v - v_rest) + delta_t exp((v - v_t) / delta_t) - r w + r I``,
    ``tau_w dw/dt = a (v - v_rest) - w``.

    A spike when ``v >= v_th`` after the step; then ``v = v_reset``, ``w += b``, and ``v`` is held for
    ``floor(tau_ref / dt + 1/2)`` steps (``w`` keeps evolving), as BrainPy's ``AdExIF``.

    Integration: exponential Euler per variable with the other variables at the start of the step,
    BrainPy's ``method='exp_auto'``: ``x <- x + dt exprel(J dt) f`` with ``J = df/dx`` (exact for ``w``
    given ``v``; first order in ``dt`` overall). Brian2 has no equivalent for ``v`` (not linear in ``v``).

    Every parameter may be a scalar or an array of the group's ``shape``. Gradients: ``spike`` carries the
    surrogate gradient of ``spike_fn``; the reset and ``w += b`` are detached from it.

    Input: ``current`` in nA. State: :class:`AdExState` (``v`` mV, ``w`` nA, ``spike``, ``refrac`` ms).

    Args:
      size: number of neurons (int) or the group's shape (tuple).
      v_rest: resting potential, mV.
      v_reset: reset potential, mV.
      v_th: spike cut-off, mV.
      v_t: threshold of the exponential term (rheobase potential), mV.
      delta_t: spike slope factor, mV, > 0.
      a: subthreshold adaptation coupling, nA / mV (1/MOhm).
      b: spike-triggered adaptation increment, nA.
      tau: membrane time constant, ms, > 0.
      tau_w: adaptation time constant, ms, > 0.
      tau_ref: absolute refractory period, ms, >= 0.
      r: membrane resistance, MOhm (mV / nA), > 0.
      v_init: initial potential: ``None`` (= ``v_rest``), mV, or an ``snnjax.init`` spec.
      w_init: initial adaptation current: ``None`` (= 0), nA, or an ``snnjax.init`` spec.
      spike_fn: spike function (Heaviside forward, surrogate gradient backward); keyword only.
      method: integrator (:mod:`snnjax.integrators`), default ``'exp_euler'``; keyword only.
    """

    size: Any = struct.field(pytree_node=False)
    v_rest: ArrayLike = -65.0
    v_reset: ArrayLike = -68.0
    v_th: ArrayLike = -55.0
    v_t: ArrayLike = -59.9
    delta_t: ArrayLike = 3.48
    a: ArrayLike = 1.0
    b: ArrayLike = 1.0
    tau: ArrayLike = 10.0
    tau_w: ArrayLike = 30.0
    tau_ref: ArrayLike = 0.0
    r: ArrayLike = 1.0
    v_init: float | Initializer | None = struct.field(pytree_node=False, default=None)
    w_init: float | Initializer | None = struct.field(pytree_node=False, default=None)

    _FIELDS = dict(
        v_rest=None, v_reset=None, v_th=None, v_t=None, delta_t="positive", a=None, b=None, tau="positive",
        tau_w="positive", tau_ref="nonnegative", r="positive",
    )  # fmt: skip
    STATE = dict(v=("v_rest", "membrane potential, mV."), w=(0.0, "adaptation current, nA."))

    def derivatives(self, s, current):
        """``dv/dt`` (mV/ms, ``current`` in nA) and ``dw/dt`` (nA/ms)."""
        ex = self.delta_t * jnp.exp((s.v - self.v_t) / self.delta_t)
        dv = (-(s.v - self.v_rest) + ex - self.r * s.w + self.r * current) / self.tau
        return dict(v=dv, w=(self.a * (s.v - self.v_rest) - s.w) / self.tau_w)

    def reset(self, s, spike):
        """``v = v_reset``, ``w += b``."""
        return dict(v=jnp.where(spike > 0, self.v_reset, s.v), w=s.w + spike * self.b)


AdExState = AdEx.State
