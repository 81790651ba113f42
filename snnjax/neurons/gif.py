"""Generalized integrate-and-fire neurons (Mihalas & Niebur 2009; BrainPy's ``GIF``)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import struct
from jax.typing import ArrayLike

from snnjax.init import Initializer
from snnjax.neurons.base import ODENeuron


@struct.dataclass
class GIF(ODENeuron):
    """Generalized integrate-and-fire group (Mihalas & Niebur 2009, BrainPy's ``GIF``):

    ``di1/dt = -k1 i1``, ``di2/dt = -k2 i2``, ``tau dv/dt = -(v - v_rest) + r (i1 + i2 + I)``,
    ``dv_th/dt = a (v - v_rest) - b (v_th - v_th_inf)``.

    A spike when ``v >= v_th`` (the moving threshold after the step); then ``v = v_reset``,
    ``i1 = r1 i1 + a1``, ``i2 = r2 i2 + a2``, ``v_th = max(v_th_reset, v_th)``, and ``v`` is held for
    ``floor(tau_ref / dt + 1/2)`` steps (the other variables keep evolving).

    Integration: exponential Euler per variable with the others at the start of the step (BrainPy's
    ``method='exp_auto'``, Brian2's ``method='exponential_euler'``; exact for ``i1`` and ``i2``).
    The threshold test uses the threshold after the step (Brian2's order; BrainPy tests the value before
    it, a difference of ``dt * dv_th/dt``).

    Every parameter may be a scalar or an array of the group's ``shape``. Gradients: ``spike`` carries the
    surrogate gradient of ``spike_fn`` at ``v - v_th``; the resets are detached.

    Input: ``current`` in nA. State: :class:`GIFState` (``v`` mV, ``i1``/``i2`` nA, ``v_th`` mV, ``spike``,
    ``refrac`` ms).

    Args:
      size: number of neurons (int) or the group's shape (tuple).
      v_rest: resting potential, mV.
      v_reset: reset potential, mV.
      v_th_inf: target value of the threshold, mV.
      v_th_reset: lower bound of the threshold after a spike, mV.
      r: membrane resistance, MOhm (mV / nA), > 0.
      tau: membrane time constant, ms, > 0.
      a: threshold dependence on ``v``, 1/ms.
      b: threshold relaxation rate, 1/ms, >= 0.
      k1: decay rate of ``i1``, 1/ms, >= 0.
      k2: decay rate of ``i2``, 1/ms, >= 0.
      r1: fraction of ``i1`` kept at a spike (dimensionless).
      r2: fraction of ``i2`` kept at a spike (dimensionless).
      a1: increment of ``i1`` at a spike, nA.
      a2: increment of ``i2`` at a spike, nA.
      tau_ref: absolute refractory period, ms, >= 0.
      v_init: initial potential: ``None`` (= ``v_rest``), mV, or an ``snnjax.init`` spec.
      v_th_init: initial threshold: ``None`` (= ``v_th_inf``), mV, or an ``snnjax.init`` spec.
      spike_fn: spike function (Heaviside forward, surrogate gradient backward); keyword only.
      method: integrator (:mod:`snnjax.integrators`), default ``'exp_euler'``; keyword only.
    """

    size: Any = struct.field(pytree_node=False)
    v_rest: ArrayLike = -70.0
    v_reset: ArrayLike = -70.0
    v_th_inf: ArrayLike = -50.0
    v_th_reset: ArrayLike = -60.0
    r: ArrayLike = 20.0
    tau: ArrayLike = 20.0
    a: ArrayLike = 0.0
    b: ArrayLike = 0.01
    k1: ArrayLike = 0.2
    k2: ArrayLike = 0.02
    r1: ArrayLike = 0.0
    r2: ArrayLike = 1.0
    a1: ArrayLike = 0.0
    a2: ArrayLike = 0.0
    tau_ref: ArrayLike = 0.0
    v_init: float | Initializer | None = struct.field(pytree_node=False, default=None)
    v_th_init: float | Initializer | None = struct.field(pytree_node=False, default=None)

    _FIELDS = dict(
        v_rest=None, v_reset=None, v_th_inf=None, v_th_reset=None, r="positive", tau="positive", a=None,
        b="nonnegative", k1="nonnegative", k2="nonnegative", r1=None, r2=None, a1=None, a2=None,
        tau_ref="nonnegative",
    )  # fmt: skip
    STATE = dict(
        v=("v_rest", "membrane potential, mV."),
        i1=(0.0, "first internal (spike-induced) current, nA."),
        i2=(0.0, "second internal current, nA."),
        v_th=("v_th_inf", "moving threshold, mV."),
    )

    def derivatives(self, s, current):
        """``dv/dt``, ``dv_th/dt`` (mV/ms, ``current`` in nA), ``di1/dt``, ``di2/dt`` (nA/ms)."""
        dv = (-(s.v - self.v_rest) + self.r * (s.i1 + s.i2 + current)) / self.tau
        dth = self.a * (s.v - self.v_rest) - self.b * (s.v_th - self.v_th_inf)
        return dict(v=dv, i1=-self.k1 * s.i1, i2=-self.k2 * s.i2, v_th=dth)

    def spike_condition(self, s):
        """``v - v_th`` with the moving threshold, mV."""
        return s.v - s.v_th

    def reset(self, s, spike):
        """``v = v_reset``, ``i1 = r1 i1 + a1``, ``i2 = r2 i2 + a2``, ``v_th = max(v_th_reset, v_th)``."""
        sp = spike > 0
        return dict(
            v=jnp.where(sp, self.v_reset, s.v),
            i1=jnp.where(sp, self.r1 * s.i1 + self.a1, s.i1),
            i2=jnp.where(sp, self.r2 * s.i2 + self.a2, s.i2),
            v_th=jnp.where(sp, jnp.maximum(self.v_th_reset, s.v_th), s.v_th),
        )


GIFState = GIF.State
