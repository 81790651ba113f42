"""Exponential integrate-and-fire neurons (Fourcaud-Trocme et al. 2003)."""

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
class ExpIFState:
    """State of an ExpIF group; every field has shape ``(*batch_shape, *shape)``.

    Attributes:
      v: membrane potential, mV.
      spike: 1.0 where the neuron fired during the last step, else 0.0.
      refrac: remaining refractory time, ms (whole steps times ``dt``; 0 when not refractory).
    """

    v: jax.Array
    spike: jax.Array
    refrac: jax.Array

    @property
    def voltage(self) -> jax.Array:
        """Inferno's name for ``v`` (mV)."""
        return self.v


@struct.dataclass
class ExpIF(_base.NeuronGroup):
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
      spike_fn: spike function (Heaviside forward, surrogate gradient backward).
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
    spike_fn: SpikeFunction = struct.field(pytree_node=False, default=Sigmoid())

    _FIELDS = dict(
        v_rest=None, v_reset=None, v_th=None, v_t=None, delta_t="positive", tau="positive",
        tau_ref="nonnegative", r="positive",
    )  # fmt: skip

    def init(self, batch_shape: tuple[int, ...] = (), key: jax.Array | None = None) -> ExpIFState:
        """Resting state (Inferno's ``clear``): ``v = v_init``, no spike, not refractory."""
        self._validate()
        shape = (*tuple(batch_shape), *self.shape)
        v = self._initial(self.v_init, self.v_rest, shape, key, "v_init")
        zeros = jnp.zeros(shape, v.dtype)
        return ExpIFState(v=v, spike=zeros, refrac=zeros)

    def update(self, state: ExpIFState, current: ArrayLike, *, dt: float) -> ExpIFState:
        """One step of ``dt`` ms with input ``current`` (nA, broadcastable to the state's shape)."""
        ex = jnp.exp((state.v - self.v_t) / self.delta_t)
        f = (-(state.v - self.v_rest) + self.delta_t * ex + self.r * current) / self.tau
        v = _base.exp_euler(state.v, f, (ex - 1.0) / self.tau, dt)
        refr = _base.refractory(state.refrac, dt)
        v = jnp.where(refr, state.v, v)
        spike = _base.fire(self.spike_fn, v - self.v_th, refr)
        v = _base.reset_v(v, spike, self.v_th, self.v_reset, "value")
        return ExpIFState(v=v, spike=spike, refrac=_base.next_refrac(spike, state.refrac, self.tau_ref, dt, v.shape))
