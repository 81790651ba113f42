"""Izhikevich (2003) simple-model neurons."""

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
class IzhikevichState:
    """State of an Izhikevich group; every field has shape ``(*batch_shape, *shape)``.

    Attributes:
      v: membrane potential, mV.
      u: recovery variable, mV/ms (enters ``dv/dt`` directly).
      spike: 1.0 where the neuron fired during the last step, else 0.0.
      refrac: remaining refractory time, ms (whole steps times ``dt``; 0 when not refractory).
    """

    v: jax.Array
    u: jax.Array
    spike: jax.Array
    refrac: jax.Array

    @property
    def voltage(self) -> jax.Array:
        """Inferno's name for ``v`` (mV)."""
        return self.v


@struct.dataclass
class Izhikevich(_base.NeuronGroup):
    """Izhikevich group (BrainPy's ``Izhikevich``):

    ``dv/dt = p1 v^2 + p2 v + p3 - u + I``, ``du/dt = a (b v - u)`` (time in ms, ``v`` in mV).

    The input ``I`` enters ``dv/dt`` directly: 1 nA raises ``v`` by 1 mV/ms (an implicit 1 nF membrane),
    as in Izhikevich (2003) and BrainPy. A spike when ``v >= v_th`` after the step; then ``v = c``,
    ``u += d``, and ``v`` is held for ``floor(tau_ref / dt + 1/2)`` steps (default 0: no refractoriness).

    Integration: exponential Euler per variable with the other variable at the start of the step,
    BrainPy's ``method='exp_auto'``: ``x <- x + dt exprel(J dt) f``, ``J = df/dx`` (``2 p1 v + p2`` for ``v``,
    ``-a`` for ``u``); first order in ``dt``.

    Every parameter may be a scalar or an array of the group's ``shape``. Gradients: ``spike`` carries the
    surrogate gradient of ``spike_fn``; the reset and ``u += d`` are detached.

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
      v_init: initial potential: ``None`` (= -70 mV, as BrainPy), mV, or an ``snnjax.init`` spec.
      u_init: initial recovery: ``None`` (= ``b * v_init``), mV/ms, or an ``snnjax.init`` spec.
      spike_fn: spike function (Heaviside forward, surrogate gradient backward).
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
    v_init: float | Initializer | None = struct.field(pytree_node=False, default=None)
    u_init: float | Initializer | None = struct.field(pytree_node=False, default=None)
    spike_fn: SpikeFunction = struct.field(pytree_node=False, default=Sigmoid())

    _FIELDS = dict(
        a="positive", b=None, c=None, d=None, v_th=None, p1="positive", p2=None, p3=None, tau_ref="nonnegative"
    )
    _INITS = ("v_init", "u_init")

    def init(self, batch_shape: tuple[int, ...] = (), key: jax.Array | None = None) -> IzhikevichState:
        """Initial state (Inferno's ``clear``): ``v = v_init``, ``u = u_init``, no spike, not refractory."""
        self._validate()
        shape = (*tuple(batch_shape), *self.shape)
        kv, ku = jax.random.split(key) if key is not None else (None, None)
        v = self._initial(self.v_init, -70.0, shape, kv, "v_init")
        if self.u_init is None:
            u = jnp.broadcast_to(self.b * v, shape)
        else:
            u = self._initial(self.u_init, 0.0, shape, ku, "u_init")
        zeros = jnp.zeros(shape, v.dtype)
        return IzhikevichState(v=v, u=u.astype(v.dtype), spike=zeros, refrac=zeros)

    def update(self, state: IzhikevichState, current: ArrayLike, *, dt: float) -> IzhikevichState:
        """One step of ``dt`` ms with input ``current`` (nA = mV/ms here, broadcastable to the state's shape)."""
        v0, u0 = state.v, state.u
        f_v = self.p1 * v0 * v0 + self.p2 * v0 + self.p3 - u0 + current
        v = _base.exp_euler(v0, f_v, 2.0 * self.p1 * v0 + self.p2, dt)
        u = _base.exp_euler(u0, self.a * (self.b * v0 - u0), -self.a, dt)
        refr = _base.refractory(state.refrac, dt)
        v = jnp.where(refr, v0, v)
        spike = _base.fire(self.spike_fn, v - self.v_th, refr)
        v = _base.reset_v(v, spike, self.v_th, self.c, "value")
        u = jnp.broadcast_to(u + jax.lax.stop_gradient(spike) * self.d, v.shape)
        refrac = _base.next_refrac(spike, state.refrac, self.tau_ref, dt, v.shape)
        return IzhikevichState(v=v, u=u, spike=spike, refrac=refrac)
