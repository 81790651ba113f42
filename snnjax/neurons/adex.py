"""Adaptive exponential integrate-and-fire neurons (Brette & Gerstner 2005)."""

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
class AdExState:
    """State of an AdEx group; every field has shape ``(*batch_shape, *shape)``.

    Attributes:
      v: membrane potential, mV.
      w: adaptation current, nA.
      spike: 1.0 where the neuron fired during the last step, else 0.0.
      refrac: remaining refractory time, ms (whole steps times ``dt``; 0 when not refractory).
    """

    v: jax.Array
    w: jax.Array
    spike: jax.Array
    refrac: jax.Array

    @property
    def voltage(self) -> jax.Array:
        """Inferno's name for ``v`` (mV)."""
        return self.v


@struct.dataclass
class AdEx(_base.NeuronGroup):
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
      spike_fn: spike function (Heaviside forward, surrogate gradient backward).
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
    spike_fn: SpikeFunction = struct.field(pytree_node=False, default=Sigmoid())

    _FIELDS = dict(
        v_rest=None, v_reset=None, v_th=None, v_t=None, delta_t="positive", a=None, b=None, tau="positive",
        tau_w="positive", tau_ref="nonnegative", r="positive",
    )  # fmt: skip
    _INITS = ("v_init", "w_init")

    def init(self, batch_shape: tuple[int, ...] = (), key: jax.Array | None = None) -> AdExState:
        """Initial state (Inferno's ``clear``): ``v = v_init``, ``w = w_init``, no spike, not refractory."""
        self._validate()
        shape = (*tuple(batch_shape), *self.shape)
        kv, kw = jax.random.split(key) if key is not None else (None, None)
        v = self._initial(self.v_init, self.v_rest, shape, kv, "v_init")
        w = self._initial(self.w_init, 0.0, shape, kw, "w_init")
        zeros = jnp.zeros(shape, v.dtype)
        return AdExState(v=v, w=w, spike=zeros, refrac=zeros)

    def update(self, state: AdExState, current: ArrayLike, *, dt: float) -> AdExState:
        """One step of ``dt`` ms with input ``current`` (nA, broadcastable to the state's shape)."""
        v0, w0 = state.v, state.w
        ex = jnp.exp((v0 - self.v_t) / self.delta_t)
        f_v = (-(v0 - self.v_rest) + self.delta_t * ex - self.r * w0 + self.r * current) / self.tau
        v = _base.exp_euler(v0, f_v, (ex - 1.0) / self.tau, dt)
        w = _base.exp_euler(w0, (self.a * (v0 - self.v_rest) - w0) / self.tau_w, -1.0 / self.tau_w, dt)
        refr = _base.refractory(state.refrac, dt)
        v = jnp.where(refr, v0, v)
        spike = _base.fire(self.spike_fn, v - self.v_th, refr)
        v = _base.reset_v(v, spike, self.v_th, self.v_reset, "value")
        w = jnp.broadcast_to(w + jax.lax.stop_gradient(spike) * self.b, v.shape)
        refrac = _base.next_refrac(spike, state.refrac, self.tau_ref, dt, v.shape)
        return AdExState(v=v, w=w, spike=spike, refrac=refrac)
