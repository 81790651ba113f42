"""Readouts and integrators: the leaky integrator ``LI``, the perfect ``Integrator`` and integrate-and-fire ``IF``.

These are NIR's ``LI``, ``I``/``Integrator`` and ``IF`` nodes (:mod:`snnjax.nir`) and the usual readout layer of a
trained classifier (the class is the output with the largest ``v``). ``LI`` and ``Integrator`` never spike: their
state still has a ``spike`` field (zeros) so that monitors, projections and the ``Network`` treat them as any
group. A current-based readout (NIR's ``CubaLI``) is an ``LI`` fed through a projection with
``synapses.Exponential`` kinetics and ``outputs.CUBA()``, as ``CubaLIF`` is a ``LIF`` fed that way.

Units: ``v`` in mV, currents in nA, ``r`` in MOhm (mV / nA), times in ms. The input current is held constant over
each step and every update is exact for it.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from jax.typing import ArrayLike

from snnjax.neurons import _base
from snnjax.surrogate import Sigmoid, SpikeFunction

__all__ = ["IF", "LI", "IFState", "Integrator", "ReadoutState"]


@struct.dataclass
class ReadoutState:
    """State of a non-spiking group; both fields have shape ``(*batch_shape, *shape)``.

    Attributes:
      v: membrane potential (the readout value), mV.
      spike: always 0.0 (these groups never fire; the field keeps the group contract).
    """

    v: jax.Array
    spike: jax.Array

    @property
    def voltage(self) -> jax.Array:
        """Inferno's name for ``v`` (mV)."""
        return self.v


@struct.dataclass
class LI(_base.NeuronGroup):
    """Leaky integrator (non-spiking readout): ``tau dv/dt = (v_rest - v) + r I``.

    Exact over each step with ``I`` held constant: ``v <- v_inf + (v - v_inf) exp(-dt/tau)``, ``v_inf = v_rest + r I``
    (the update of :class:`~snnjax.neurons.LIF` without threshold or reset). NIR's ``LI`` node: ``tau`` = NIR ``tau``
    (times the time unit), ``r`` = NIR ``r``, ``v_rest`` = NIR ``v_leak``.

    Args:
      size: number of neurons (int) or the group's shape (tuple).
      tau: time constant, ms, > 0 (scalar or the group's shape, as every parameter).
      r: resistance, MOhm (mV / nA), > 0.
      v_rest: leak (resting) potential, mV.
      v_init: initial ``v``: ``None`` (= ``v_rest``), a float (mV) or an ``snnjax.init`` spec.
    """

    size: Any = struct.field(pytree_node=False)
    tau: ArrayLike = 10.0
    r: ArrayLike = 1.0
    v_rest: ArrayLike = 0.0
    v_init: Any = struct.field(pytree_node=False, default=None)
    spike_fn: SpikeFunction = struct.field(pytree_node=False, default=Sigmoid())  # unused; the group contract

    _FIELDS = dict(tau="positive", r="positive", v_rest=None)

    def init(self, batch_shape: tuple[int, ...] = (), key: jax.Array | None = None) -> ReadoutState:
        """Resting state: ``v = v_init`` (default ``v_rest``), ``spike = 0``."""
        self._validate()
        shape = (*tuple(batch_shape), *self.shape)
        v = self._initial(self.v_init, self.v_rest, shape, key, "v_init")
        return ReadoutState(v=v, spike=jnp.zeros(shape, v.dtype))

    def update(self, state: ReadoutState, current: ArrayLike, *, dt: float) -> ReadoutState:
        """One step of ``dt`` ms with input ``current`` (nA, broadcastable to the state's shape)."""
        v_inf = self.v_rest + self.r * current
        v = v_inf + (state.v - v_inf) * jnp.exp(-dt / self.tau)
        return ReadoutState(v=v, spike=jnp.zeros_like(v))


@struct.dataclass
class Integrator(_base.NeuronGroup):
    """Perfect integrator (non-spiking): ``dv/dt = r I``, so ``v <- v + dt r I`` (exact for a held ``I``).

    NIR's ``I`` and ``Integrator`` nodes (``r`` = NIR ``r``, per NIR time unit; see :mod:`snnjax.nir`).

    Args:
      size: number of neurons (int) or the group's shape (tuple).
      r: gain, mV / (nA ms), > 0.
      v_init: initial ``v`` (mV): ``None`` (= 0), a float or an ``snnjax.init`` spec.
    """

    size: Any = struct.field(pytree_node=False)
    r: ArrayLike = 1.0
    v_init: Any = struct.field(pytree_node=False, default=None)
    spike_fn: SpikeFunction = struct.field(pytree_node=False, default=Sigmoid())  # unused; the group contract

    _FIELDS = dict(r="positive")

    def init(self, batch_shape: tuple[int, ...] = (), key: jax.Array | None = None) -> ReadoutState:
        """``v = v_init`` (default 0 mV), ``spike = 0``."""
        self._validate()
        shape = (*tuple(batch_shape), *self.shape)
        v = self._initial(self.v_init, 0.0, shape, key, "v_init")
        return ReadoutState(v=v, spike=jnp.zeros(shape, v.dtype))

    def update(self, state: ReadoutState, current: ArrayLike, *, dt: float) -> ReadoutState:
        """One step of ``dt`` ms with input ``current`` (nA, broadcastable to the state's shape)."""
        v = state.v + dt * self.r * current
        return ReadoutState(v=v, spike=jnp.zeros_like(v))


@struct.dataclass
class IFState(ReadoutState):
    """State of an :class:`IF` group; both fields have shape ``(*batch_shape, *shape)`` (the fields and ``voltage``
    of :class:`ReadoutState`, but this group fires).

    Attributes:
      v: membrane potential, mV.
      spike: 1.0 where the neuron fired during the last step, else 0.0.
    """


@struct.dataclass
class IF(_base.NeuronGroup):
    """Integrate-and-fire without leak: ``dv/dt = r I``; fires when ``v >= v_th``, then ``v = v_reset``.

    ``v <- v + dt r I`` (exact for a held ``I``), then the spike and the reset as :class:`~snnjax.neurons.LIF` does
    (``reset_mode`` ``'value'`` or ``'subtract'``, spike detached in the reset, surrogate gradient ``spike_fn``).
    NIR's ``IF`` node (``r``, ``v_threshold``, ``v_reset``; see :mod:`snnjax.nir` for its strict threshold).

    Args:
      size: number of neurons (int) or the group's shape (tuple).
      r: gain, mV / (nA ms), > 0.
      v_th: threshold, mV.
      v_reset: reset potential, mV.
      v_init: initial ``v`` (mV): ``None`` (= ``v_reset``), a float or an ``snnjax.init`` spec.
      spike_fn: spike function (Heaviside forward, surrogate gradient backward).
      reset_mode: ``'value'`` (default) or ``'subtract'``.
    """

    size: Any = struct.field(pytree_node=False)
    r: ArrayLike = 1.0
    v_th: ArrayLike = 1.0
    v_reset: ArrayLike = 0.0
    v_init: Any = struct.field(pytree_node=False, default=None)
    spike_fn: SpikeFunction = struct.field(pytree_node=False, default=Sigmoid())
    reset_mode: str = struct.field(pytree_node=False, default="value")

    _FIELDS = dict(r="positive", v_th=None, v_reset=None)

    def init(self, batch_shape: tuple[int, ...] = (), key: jax.Array | None = None) -> IFState:
        """``v = v_init`` (default ``v_reset``), no spike."""
        self._validate()
        shape = (*tuple(batch_shape), *self.shape)
        v = self._initial(self.v_init, self.v_reset, shape, key, "v_init")
        return IFState(v=v, spike=jnp.zeros(shape, v.dtype))

    def update(self, state: IFState, current: ArrayLike, *, dt: float) -> IFState:
        """One step of ``dt`` ms with input ``current`` (nA, broadcastable to the state's shape)."""
        v = state.v + dt * self.r * current
        spike = _base.fire(self.spike_fn, v - self.v_th, jnp.zeros(v.shape, bool))
        v = _base.reset_v(v, spike, self.v_th, self.v_reset, self.reset_mode)
        return IFState(v=v, spike=spike)
