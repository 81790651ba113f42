"""Izhikevich (2003) simple-model neurons."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import struct
from jax.typing import ArrayLike

from snnjax.init import Initializer
from snnjax.neurons.base import ODENeuron


@struct.dataclass
class Izhikevich(ODENeuron):
    """Izhikevich group (BrainPy's ``Izhikevich``):

    ``dv/dt = p1 v^2 + p2 v + p3 - u + I / cm``, ``du/dt = a (b v - u)`` (time in ms, ``v`` in mV).

    Units of the input: ``I`` is a current in nA and ``cm`` a capacitance in nF, so ``I / cm`` is in mV/ms.
    With the default ``cm = 1`` nF the input enters ``dv/dt`` directly, 1 nA raising ``v`` by 1 mV/ms, as in
    Izhikevich (2003) and BrainPy (whose input is in mV/ms). A spike when ``v >= v_th`` after the step; then
    ``v = c``, ``u += d``, and ``v`` is held for ``floor(tau_ref / dt + 1/2)`` steps (default 0: none).

    Integration: exponential Euler per variable with the other variable at the start of the step,
    BrainPy's ``method='exp_auto'``: ``x <- x + dt exprel(J dt) f``, ``J = df/dx`` (``2 p1 v + p2`` for ``v``,
    ``-a`` for ``u``); first order in ``dt``.

    Every parameter may be a scalar or an array of the group's ``shape``. Gradients: ``spike`` carries the
    surrogate gradient of ``spike_fn``; the reset and ``u += d`` are detached.

    Names: ``a, b, c, d`` are Izhikevich's (``c`` is the reset potential, elsewhere ``v_reset``).
    State: :class:`IzhikevichState` (``v`` mV, ``u`` mV/ms, ``spike``, ``refrac`` ms).

    Args:
      size: number of neurons (int) or the group's shape (tuple).
      a: recovery rate, 1/ms, > 0.
      b: sensitivity of ``u`` to ``v``, 1/ms (``u`` in mV/ms).
      c: reset potential, mV.
      d: spike-triggered increment of ``u``, mV/ms.
      v_th: spike cut-off, mV.
      p1: quadratic coefficient, 1/(mV ms), > 0.
      p2: linear coefficient, 1/ms.
      p3: constant term, mV/ms.
      tau_ref: absolute refractory period, ms, >= 0.
      cm: membrane capacitance, nF, > 0 (converts the input current, nA, to mV/ms); default 1.
      v_init: initial potential: ``None`` (= -70 mV, as BrainPy), mV, or an ``snnjax.init`` spec.
      u_init: initial recovery: ``None`` (= ``b * v_init``), mV/ms, or an ``snnjax.init`` spec.
      spike_fn: spike function (Heaviside forward, surrogate gradient backward); keyword only.
      method: integrator (:mod:`snnjax.integrators`), default ``'exp_euler'``; keyword only.
    """

    size: Any = struct.field(pytree_node=False)
    a: ArrayLike = 0.02
    b: ArrayLike = 0.2
    c: ArrayLike = -65.0
    d: ArrayLike = 8.0
    v_th: ArrayLike = 30.0
    p1: ArrayLike = 0.04
    p2: ArrayLike = 5.0
    p3: ArrayLike = 140.0
    tau_ref: ArrayLike = 0.0
    cm: ArrayLike = 1.0
    v_init: float | Initializer | None = struct.field(pytree_node=False, default=None)
    u_init: float | Initializer | None = struct.field(pytree_node=False, default=None)

    _FIELDS = dict(
        a="positive", b=None, c=None, d=None, v_th=None, p1="positive", p2=None, p3=None, tau_ref="nonnegative",
        cm="positive",
    )  # fmt: skip
    STATE = dict(
        v=(-70.0, "membrane potential, mV."),
        u=(lambda m, s: m.b * s["v"], "recovery variable, mV/ms (enters ``dv/dt`` directly)."),
    )

    def derivatives(self, s, current):
        """``dv/dt`` (mV/ms, ``current`` in nA) and ``du/dt`` (mV/ms^2)."""
        dv = self.p1 * s.v * s.v + self.p2 * s.v + self.p3 - s.u + current / self.cm
        return dict(v=dv, u=self.a * (self.b * s.v - s.u))

    def jacobian(self, s, current):
        """``d(dv/dt)/dv`` and ``d(du/dt)/du`` (1/ms), as BrainPy's ``exp_auto`` derives them."""
        return dict(v=2.0 * self.p1 * s.v + self.p2, u=-self.a)

    def reset(self, s, spike):
        """``v = c``, ``u += d``."""
        return dict(v=jnp.where(spike > 0, self.c, s.v), u=s.u + spike * self.d)


IzhikevichState = Izhikevich.State
