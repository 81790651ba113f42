"""Adaptive leaky integrate-and-fire neurons (threshold adaptation, Bellec et al. 2020)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from jax.typing import ArrayLike

from snnjax.init import Initializer
from snnjax.neurons import _base
from snnjax.surrogate import Sigmoid, SpikeFunction


@struct.dataclass
class ALIFState:
    """State of an ALIF group; every field has shape ``(*batch_shape, *shape)``.

    Attributes:
      v: membrane potential, mV.
      a: threshold adaptation variable (dimensionless; the threshold is ``v_th + beta * a``).
      spike: 1.0 where the neuron fired during the last step, else 0.0.
      refrac: remaining refractory time, ms (whole steps times ``dt``; 0 when not refractory).
    """

    v: jax.Array
    a: jax.Array
    spike: jax.Array
    refrac: jax.Array

    @property
    def voltage(self) -> jax.Array:
        """Inferno's name for ``v`` (mV)."""
        return self.v


@struct.dataclass
class ALIF(_base.NeuronGroup):
    """Adaptive LIF (BrainPy's ``ALIFBellec2020``; Bellec et al. 2020, Allen GLIF2-like).

    ``tau dv/dt = -(v - v_rest) + r I``, ``tau_a da/dt = -a``; a spike when ``v >= v_th + beta a``, then
    ``a += 1`` and ``v`` is reset as set by ``reset_mode``: ``'subtract'`` (default, as BrainPy/Bellec:
    ``v -= v_th - v_reset``, the *base* threshold; with ``v_reset = 0`` this is Bellec's ``v -= v_th``) or
    ``'value'`` (``v = v_reset``). Then ``v`` is held for ``floor(tau_ref / dt + 1/2)`` steps (as :class:`LIF`).

    Integration: exact over each step (both equations are linear and uncoupled; ``I`` constant over the
    step); Brian2 ``method='exact'`` or ``'exponential_euler'`` give the same numbers. The threshold uses
    the adaptation *after* the step's decay (Brian2 order; BrainPy uses the value before it, a relative
    difference of ``dt / tau_a``).

    Every parameter may be a scalar or an array of the group's ``shape``. Gradients: ``spike`` carries
    the surrogate gradient of ``spike_fn`` (through ``v`` and ``a``); reset and ``a += 1`` are detached.

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
      spike_fn: spike function (Heaviside forward, surrogate gradient backward).
      reset_mode: ``'subtract'`` (default) or ``'value'``.
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
    spike_fn: SpikeFunction = struct.field(pytree_node=False, default=Sigmoid())
    reset_mode: str = struct.field(pytree_node=False, default="subtract")

    _FIELDS = dict(
        v_rest=None,
        v_reset=None,
        v_th=None,
        beta="nonnegative",
        tau="positive",
        tau_a="positive",
        tau_ref="nonnegative",
        r="positive",
    )

    def init(self, batch_shape: tuple[int, ...] = (), key: jax.Array | None = None) -> ALIFState:
        """Resting state (Inferno's ``clear``): ``v = v_init``, ``a = 0``, no spike, not refractory."""
        self._validate()
        shape = (*tuple(batch_shape), *self.shape)
        v = self._initial(self.v_init, self.v_rest, shape, key, "v_init")
        zeros = jnp.zeros(shape, v.dtype)
        return ALIFState(v=v, a=zeros, spike=zeros, refrac=zeros)

    def update(self, state: ALIFState, current: ArrayLike, *, dt: float) -> ALIFState:
        """One step of ``dt`` ms with input ``current`` (nA, broadcastable to the state's shape)."""
        v_inf = self.v_rest + self.r * current
        v = v_inf + (state.v - v_inf) * jnp.exp(-dt / self.tau)
        a = state.a * jnp.exp(-dt / self.tau_a)
        refr = _base.refractory(state.refrac, dt)
        v = jnp.where(refr, state.v, v)
        spike = _base.fire(self.spike_fn, v - (self.v_th + self.beta * a), refr)
        v = _base.reset_v(v, spike, self.v_th, self.v_reset, self.reset_mode)
        a = a + jax.lax.stop_gradient(spike)
        refrac = _base.next_refrac(spike, state.refrac, self.tau_ref, dt, v.shape)
        return ALIFState(v=v, a=jnp.broadcast_to(a, v.shape), spike=spike, refrac=refrac)
