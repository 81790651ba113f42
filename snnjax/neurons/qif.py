"""Quadratic integrate-and-fire neurons (Latham et al. 2000)."""

from __future__ import annotations

from typing import Any

from flax import struct
from jax.typing import ArrayLike

from snnjax.init import Initializer
from snnjax.neurons.base import ODENeuron


@struct.dataclass
class QIF(ODENeuron):
    """Quadratic integrate-and-fire group (BrainPy's ``QuaIF``):

    ``tau dv/dt = c (v - v_rest) (v - v_c) + r I``.

    Without input ``v_rest`` is the stable and ``v_c`` the unstable fixed point (``v_c > v_rest``,
    ``c > 0``); the rheobase current is ``c (v_c - v_rest)^2 / (4 r)``. A spike when ``v >= v_th`` after
    the step; then ``v = v_reset``, held for ``floor(tau_ref / dt + 1/2)`` steps (as :class:`LIF`).

    Integration: exponential Euler with ``J = df/dv`` at the start of the step (BrainPy's
    ``method='exp_auto'``): ``v <- v + dt exprel(J dt) f(v)``; first order in ``dt``. Any other integrator
    of :mod:`snnjax.integrators` can be chosen with ``method=``.

    Every parameter may be a scalar or an array of the group's ``shape``. Gradients: ``spike`` carries the
    surrogate gradient of ``spike_fn``; the reset is detached.

    Input: ``current`` in nA. State: :class:`QIFState` (``v`` mV, ``spike``, ``refrac`` ms).

    Args:
      size: number of neurons (int) or the group's shape (tuple).
      v_rest: resting potential (stable fixed point), mV.
      v_reset: reset potential, mV.
      v_th: spike cut-off, mV.
      v_c: critical potential for spike initiation (unstable fixed point), mV.
      c: curvature, 1/mV, > 0 (BrainPy's name; not a capacitance).
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
    v_th: ArrayLike = -30.0
    v_c: ArrayLike = -50.0
    c: ArrayLike = 0.07
    tau: ArrayLike = 10.0
    tau_ref: ArrayLike = 0.0
    r: ArrayLike = 1.0
    v_init: float | Initializer | None = struct.field(pytree_node=False, default=None)

    _FIELDS = dict(
        v_rest=None, v_reset=None, v_th=None, v_c=None, c="positive", tau="positive", tau_ref="nonnegative",
        r="positive",
    )  # fmt: skip
    STATE = dict(v=("v_rest", "membrane potential, mV."))

    def derivatives(self, s, current):
        """``dv/dt`` (mV/ms) with ``current`` in nA."""
        return dict(v=(self.c * (s.v - self.v_rest) * (s.v - self.v_c) + self.r * current) / self.tau)


QIFState = QIF.State
