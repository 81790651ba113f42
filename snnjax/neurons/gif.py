"""Generalized integrate-and-fire neurons (Mihalas & Niebur 2009; BrainPy's ``GIF``)."""

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
class GIFState:
    """State of a GIF group; every field has shape ``(*batch_shape, *shape)``.

    Attributes:
      v: membrane potential, mV.
      i1: first internal (spike-induced) current, nA.
      i2: second internal current, nA.
      v_th: moving threshold, mV.
      spike: 1.0 where the neuron fired during the last step, else 0.0.
      refrac: remaining refractory time, ms (whole steps times ``dt``; 0 when not refractory).
    """

    v: jax.Array
    i1: jax.Array
    i2: jax.Array
    v_th: jax.Array
    spike: jax.Array
    refrac: jax.Array

    @property
    def voltage(self) -> jax.Array:
        """Inferno's name for ``v`` (mV)."""
        return self.v


@struct.dataclass
class GIF(_base.NeuronGroup):
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
      spike_fn: spike function (Heaviside forward, surrogate gradient backward).
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
    spike_fn: SpikeFunction = struct.field(pytree_node=False, default=Sigmoid())

    _FIELDS = dict(
        v_rest=None, v_reset=None, v_th_inf=None, v_th_reset=None, r="positive", tau="positive", a=None,
        b="nonnegative", k1="nonnegative", k2="nonnegative", r1=None, r2=None, a1=None, a2=None,
        tau_ref="nonnegative",
    )  # fmt: skip
    _INITS = ("v_init", "v_th_init")

    def init(self, batch_shape: tuple[int, ...] = (), key: jax.Array | None = None) -> GIFState:
        """Initial state (Inferno's ``clear``): ``v = v_init``, ``v_th = v_th_init``, no internal currents."""
        self._validate()
        shape = (*tuple(batch_shape), *self.shape)
        kv, kt = jax.random.split(key) if key is not None else (None, None)
        v = self._initial(self.v_init, self.v_rest, shape, kv, "v_init")
        v_th = self._initial(self.v_th_init, self.v_th_inf, shape, kt, "v_th_init")
        zeros = jnp.zeros(shape, v.dtype)
        return GIFState(v=v, i1=zeros, i2=zeros, v_th=v_th, spike=zeros, refrac=zeros)

    def update(self, state: GIFState, current: ArrayLike, *, dt: float) -> GIFState:
        """One step of ``dt`` ms with input ``current`` (nA, broadcastable to the state's shape)."""
        s = state
        i1 = s.i1 * jnp.exp(-self.k1 * dt)
        i2 = s.i2 * jnp.exp(-self.k2 * dt)
        f_th = self.a * (s.v - self.v_rest) - self.b * (s.v_th - self.v_th_inf)
        v_th = _base.exp_euler(s.v_th, f_th, -self.b, dt)
        f_v = (-(s.v - self.v_rest) + self.r * (s.i1 + s.i2 + current)) / self.tau
        v = _base.exp_euler(s.v, f_v, -1.0 / self.tau, dt)
        refr = _base.refractory(s.refrac, dt)
        v = jnp.where(refr, s.v, v)
        spike = _base.fire(self.spike_fn, v - v_th, refr)
        sp = jax.lax.stop_gradient(spike) > 0
        v = jnp.where(sp, self.v_reset, v)
        i1 = jnp.where(sp, self.r1 * i1 + self.a1, i1)
        i2 = jnp.where(sp, self.r2 * i2 + self.a2, i2)
        v_th = jnp.where(sp, jnp.maximum(self.v_th_reset, v_th), v_th)
        refrac = _base.next_refrac(spike, s.refrac, self.tau_ref, dt, v.shape)
        bc = lambda x: jnp.broadcast_to(x, v.shape)  # noqa: E731
        return GIFState(v=v, i1=bc(i1), i2=bc(i2), v_th=bc(v_th), spike=spike, refrac=refrac)
