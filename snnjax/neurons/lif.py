"""Leaky integrate-and-fire neurons with an absolute refractory period."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from jax.typing import ArrayLike

from snnjax import _checks
from snnjax.init import Initializer
from snnjax.surrogate import Sigmoid, SpikeFunction


@struct.dataclass
class LIFState:
    """State of a LIF group; every field has shape ``(*batch_shape, *shape)``.

    Attributes:
      v: membrane potential, mV.
      spike: 1.0 where the neuron fired during the last step, else 0.0 (float so gradients flow).
      refrac: remaining refractory time, ms (0 when not refractory).
    """

    v: jax.Array
    spike: jax.Array
    refrac: jax.Array

    @property
    def voltage(self) -> jax.Array:
        """Inferno's name for ``v`` (mV)."""
        return self.v


@struct.dataclass
class LIF:
    """Leaky integrate-and-fire group: ``tau dv/dt = -(v - v_rest) + r I``.

    The ODE is integrated exactly over each step with the input current held constant:
    ``v <- v_inf + (v - v_inf) exp(-dt/tau)``, ``v_inf = v_rest + r I``. A neuron fires when
    ``v >= v_th`` after that update; it is then set to ``v_reset`` and held there (input ignored) for
    ``tau_ref`` ms, i.e. for ``round(tau_ref / dt)`` steps, as BrainPy's LIF does.

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

    _FIELDS = dict(v_rest=None, v_reset=None, v_th=None, tau="positive", tau_ref="nonnegative", r="positive")

    def __post_init__(self):
        _checks.check_fields(self, self._FIELDS, strict=False, shape=_checks.normalize_shape("LIF", self.size))

    def _validate(self) -> None:
        """Complete checks on concrete values (run by ``Network``, ``Runner`` and ``simulate``)."""
        _checks.check_fields(self, self._FIELDS, strict=True, shape=self.shape)
        if not (self.v_init is None or isinstance(self.v_init, (int, float, Initializer))):
            raise TypeError(f"LIF: v_init must be None, a float (mV) or an snnjax.init spec, got {self.v_init!r}")
        if not isinstance(self.spike_fn, SpikeFunction):
            raise TypeError(f"LIF: spike_fn must be an snnjax.surrogate.SpikeFunction, got {self.spike_fn!r}")

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the group (without batch dimensions)."""
        return _checks.normalize_shape("LIF", self.size)

    @property
    def count(self) -> int:
        """Number of neurons in the group."""
        n = 1
        for s in self.shape:
            n *= s
        return n

    def init(self, batch_shape: tuple[int, ...] = (), key: jax.Array | None = None) -> LIFState:
        """Resting state (Inferno's ``clear``): ``v = v_init``, no spike, not refractory."""
        self._validate()
        shape = (*tuple(batch_shape), *self.shape)
        dtype = jnp.result_type(float)
        if self.v_init is None:
            v = jnp.broadcast_to(jnp.asarray(self.v_rest, dtype), shape)
        elif isinstance(self.v_init, Initializer):
            if self.v_init.needs_key and key is None:
                raise ValueError(f"LIF.init: v_init={self.v_init!r} is random, so init needs key=jax.random.key(...)")
            v = self.v_init(key, shape, dtype)
        else:
            v = jnp.full(shape, self.v_init, dtype)
        zeros = jnp.zeros(shape, dtype)
        return LIFState(v=v, spike=zeros, refrac=zeros)

    def update(self, state: LIFState, current: ArrayLike, *, dt: float) -> LIFState:
        """One step of ``dt`` ms with input ``current`` (nA, broadcastable to the state's shape)."""
        v_inf = self.v_rest + self.r * current
        v = v_inf + (state.v - v_inf) * jnp.exp(-dt / self.tau)
        refractory = state.refrac > 0.5 * dt  # counts whole steps: round(tau_ref / dt) held steps
        v = jnp.where(refractory, state.v, v)
        spike = self.spike_fn(v - self.v_th)
        # reset with the spike detached (Zenke & Vogels 2021): differentiating through the reset multiplies
        # the gradient by (v_reset - v_th) x surrogate'(0) at every spike, which explodes over long runs
        v = v + jax.lax.stop_gradient(spike) * (self.v_reset - v)
        refrac = jnp.where(spike > 0, self.tau_ref, jnp.maximum(state.refrac - dt, 0.0))
        return LIFState(v=v, spike=spike, refrac=jnp.broadcast_to(refrac, v.shape))
