"""Leaky integrate-and-fire neurons with an absolute refractory period."""

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
class LIFState:
    """State of a LIF group; every field has shape ``(*batch_shape, *shape)``.

    Attributes:
      v: membrane potential, mV.
      spike: 1.0 where the neuron fired during the last step, else 0.0 (float so gradients flow).
      refrac: remaining refractory time, ms: a whole number of steps times ``dt`` (0 when not refractory).
    """

    v: jax.Array
    spike: jax.Array
    refrac: jax.Array

    @property
    def voltage(self) -> jax.Array:
        """Inferno's name for ``v`` (mV)."""
        return self.v


@struct.dataclass
class LIF(_base.NeuronGroup):
    """Leaky integrate-and-fire group: ``tau dv/dt = -(v - v_rest) + r I``.

    The ODE is integrated exactly over each step with the input current held constant:
    ``v <- v_inf + (v - v_inf) exp(-dt/tau)``, ``v_inf = v_rest + r I``. A neuron fires when
    ``v >= v_th`` after that update; it is then reset and held there (input ignored) for
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
    Gradients: ``spike`` carries the surrogate gradient of ``spike_fn``; the reset is detached from it.

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
      spike_fn: spike function (Heaviside forward, surrogate gradient backward).
      reset_mode: ``'value'`` (default) or ``'subtract'``, see above.
    """

    size: Any = struct.field(pytree_node=False)
    v_rest: ArrayLike = 0.0
    v_reset: ArrayLike = -5.0
    v_th: ArrayLike = 20.0
    tau: ArrayLike = 10.0
    tau_ref: ArrayLike = 0.0
    r: ArrayLike = 1.0
    v_init: float | Initializer | None = struct.field(pytree_node=False, default=None)
    spike_fn: SpikeFunction = struct.field(pytree_node=False, default=Sigmoid())
    reset_mode: str = struct.field(pytree_node=False, default="value")

    _FIELDS = dict(v_rest=None, v_reset=None, v_th=None, tau="positive", tau_ref="nonnegative", r="positive")

    def init(self, batch_shape: tuple[int, ...] = (), key: jax.Array | None = None) -> LIFState:
        """Resting state (Inferno's ``clear``): ``v = v_init``, no spike, not refractory."""
        self._validate()
        shape = (*tuple(batch_shape), *self.shape)
        v = self._initial(self.v_init, self.v_rest, shape, key, "v_init")
        dtype = v.dtype
        zeros = jnp.zeros(shape, dtype)
        return LIFState(v=v, spike=zeros, refrac=zeros)

    def update(self, state: LIFState, current: ArrayLike, *, dt: float) -> LIFState:
        """One step of ``dt`` ms with input ``current`` (nA, broadcastable to the state's shape)."""
        v_inf = self.v_rest + self.r * current
        v = v_inf + (state.v - v_inf) * jnp.exp(-dt / self.tau)
        refr = _base.refractory(state.refrac, dt)
        v = jnp.where(refr, state.v, v)
        spike = _base.fire(self.spike_fn, v - self.v_th, refr)
        # reset with the spike detached (Zenke & Vogels 2021): differentiating through the reset multiplies
        # the gradient by (v_reset - v_th) x surrogate'(0) at every spike, which explodes over long runs
        v = _base.reset_v(v, spike, self.v_th, self.v_reset, self.reset_mode)
        return LIFState(v=v, spike=spike, refrac=_base.next_refrac(spike, state.refrac, self.tau_ref, dt, v.shape))
