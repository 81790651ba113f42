"""Exponential integrate-and-fire neurons (Fourcaud-Trocme et al. 2003)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import struct
from jax.typing import ArrayLike

from snnjax.init import Initializer
from snnjax.neurons.base import ODENeuron


@struct.dataclass
class ExpIF(ODENeuron):
    """Exponential integrate-and-fire group (BrainPy's ``ExpIF``):

    ``tau dv/dt = -(v - v_rest) + delta_t exp((v - v_t) / delta_t) + r I``.

    A spike when ``v >= v_th`` after the step; then ``v = v_reset``, held for ``floor(tau_ref / dt + 1/2)`` steps
    (as :class:`LIF`). ``v_th`` is the numerical cut-off of the upswing; it should lie a few ``delta_t``
    above ``v_t`` (the upswing then reaches it within a step or two).

    Integration: exponential Euler with the Jacobian ``df/dv`` at the start of the step, BrainPy's
    ``method='exp_auto'``: ``v <- v + dt exprel(J dt) f(v)``. First order in ``dt`` (exact for the linear
    part); there is no Brian2 equivalent (its ``exponential_euler`` needs equations linear in ``v``).

    Every parameter may be a scalar or an array of the group's ``shape``. Gradients: ``spike`` carries the
    surrogate gradient of ``spike_fn``; the reset is detached.

    Input: ``current`` in nA. State: :class:`ExpIFState` (``v`` mV, ``spike``, ``refrac`` ms).

    Args:
      size: number of neurons (int) or the group's shape (tuple).
      v_rest: resting potential, mV.
      v_reset: reset potential, mV.
      v_th: spike cut-off, mV.
      v_t: threshold of the exponential term (rheobase potential), mV.
      delta_t: spike slope factor (sharpness), mV, > 0.
      tau: membrane time constant, ms, > 0.
      tau_ref: absolute refractory period, ms, >= 0.
      r: membrane resistance, MOhm (mV / nA), > 0.
      v_init: initial potential: ``None`` (= ``v_rest``), mV, or an ``snnjax.init`` spec.
      spike_fn: spike function (Heaviside forward, surrogate gradient backward); keyword only.
      method: integrator (:mod:`snnjax.integrators`), default ``'exp_euler'``; keyword only.
    """

    size: Any = struct.field(pytree_node=False)
    v_rest: ArrayLike = -65.0
    v_reset: ArrayLike = -68.0
    v_th: ArrayLike = -55.0
    v_t: ArrayLike = -59.9
    delta_t: ArrayLike = 3.48
    tau: ArrayLike = 10.0
    tau_ref: ArrayLike = 0.0
    r: ArrayLike = 1.0
    v_init: float | Initializer | None = struct.field(pytree_node=False, default=None)

    _FIELDS = dict(
        v_rest=None, v_reset=None, v_th=None, v_t=None, delta_t="positive", tau="positive",
        tau_ref="nonnegative", r="positive",
    )  # fmt: skip
    STATE = dict(v=("v_rest", "membrane potential, mV."))

    def derivatives(self, s, current):
        """``dv/dt`` (mV/ms) with ``current`` in nA."""
        ex = self.delta_t * jnp.exp((s.v - self.v_t) / self.delta_t)
        return dict(v=(-(s.v - self.v_rest) + ex + self.r * current) / self.tau)


ExpIFState = ExpIF.State
