"""Adaptive leaky integrate-and-fire neurons (threshold adaptation, Bellec et al. 2020)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import struct
from jax.typing import ArrayLike

from snnjax.init import Initializer
from snnjax.neurons import _base
from snnjax.neurons.base import ODENeuron


@struct.dataclass
class ALIF(ODENeuron):
    """Adaptive LIF (BrainPy's ``ALIFBellec2020``; Bellec et al. 2020, Allen GLIF2-like).

    ``tau dv/dt = -(v - v_rest) + r I``, ``tau_a da/dt = -a``; a spike when ``v >= v_th + beta a``, then
    ``a += 1`` and ``v`` is reset as set by ``reset_mode``: ``'subtract'`` (default, as BrainPy/Bellec:
    ``v -= v_th - v_reset``, the *base* threshold; with ``v_reset = 0`` this is Bellec's ``v -= v_th``) or
    ``'value'`` (``v = v_reset``). Then ``v`` is held for ``floor(tau_ref / dt + 1/2)`` steps (as :class:`LIF`).

    Integration: exact over each step (exponential Euler, exact here: both equations are linear and
    uncoupled; ``I`` constant over the step); Brian2 ``method='exact'`` or ``'exponential_euler'`` give the
    same numbers. The threshold uses the adaptation *after* the step's decay (Brian2 order; BrainPy uses the
    value before it, a relative difference of ``dt / tau_a``).

    Every parameter may be a scalar or an array of the group's ``shape``. Gradients: ``spike`` carries
    the surrogate gradient of ``spike_fn`` (through ``v`` and ``a``); reset and ``a += 1`` are detached.

    Input: ``current`` in nA. State: :class:`ALIFState` (``v`` mV, ``a`` dimensionless, ``spike``, ``refrac`` ms).

    Args:
      size: number of neurons (int) or the group's shape (tuple).
      v_rest: resting potential, mV.
      v_reset: reset potential, mV (``'subtract'`` removes ``v_th - v_reset``).
      v_th: baseline threshold, mV.
      beta: threshold increase per unit of ``a``, mV, >= 0.
      tau: membrane time constant, ms, > 0.
      tau_a: adaptation time constant, ms, > 0.
      tau_ref: absolute refractory period, ms, >= 0.
      r: membrane resistance, MOhm (mV / nA), > 0.
      v_init: initial potential: ``None`` (= ``v_rest``), mV, or an ``snnjax.init`` spec.
      reset_mode: ``'subtract'`` (default) or ``'value'``.
      spike_fn: spike function (Heaviside forward, surrogate gradient backward); keyword only.
      method: integrator (:mod:`snnjax.integrators`), default ``'exact'`` (the closed form); keyword only.
    """

    size: Any = struct.field(pytree_node=False)
    v_rest: ArrayLike = -70.0
    v_reset: ArrayLike = -70.0
    v_th: ArrayLike = -60.0
    beta: ArrayLike = 1.6
    tau: ArrayLike = 20.0
    tau_a: ArrayLike = 2000.0
    tau_ref: ArrayLike = 0.0
    r: ArrayLike = 1.0
    v_init: float | Initializer | None = struct.field(pytree_node=False, default=None)
    reset_mode: str = struct.field(pytree_node=False, default="subtract")

    _FIELDS = dict(
        v_rest=None, v_reset=None, v_th=None, beta="nonnegative", tau="positive", tau_a="positive",
        tau_ref="nonnegative", r="positive",
    )  # fmt: skip
    STATE = dict(
        v=("v_rest", "membrane potential, mV."),
        a=(0.0, "threshold adaptation variable (dimensionless; the threshold is ``v_th + beta * a``)."),
    )

    METHOD = "exact"

    def derivatives(self, s, current):
        """``dv/dt`` (mV/ms, ``current`` in nA) and ``da/dt`` (1/ms)."""
        return dict(v=(-(s.v - self.v_rest) + self.r * current) / self.tau, a=-s.a / self.tau_a)

    def integrate(self, s, current, dt):
        """The exact step of both linear equations (mV and dimensionless)."""
        v_inf = self.v_rest + self.r * current
        return dict(v=v_inf + (s.v - v_inf) * jnp.exp(-dt / self.tau), a=s.a * jnp.exp(-dt / self.tau_a))

    def spike_condition(self, s):
        """``v - (v_th + beta a)``, mV."""
        return s.v - (self.v_th + self.beta * s.a)

    def reset(self, s, spike):
        """``v`` reset by ``reset_mode`` (from the base threshold), ``a += 1``."""
        return dict(v=_base.reset_v(s.v, spike, self.v_th, self.v_reset, self.reset_mode), a=s.a + spike)


ALIFState = ALIF.State
