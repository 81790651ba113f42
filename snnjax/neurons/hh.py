"""Hodgkin-Huxley neurons (squid giant axon, Hodgkin & Huxley 1952; BrainPy's ``HH``)."""

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
class HHState:
    """State of an HH group; every field has shape ``(*batch_shape, *shape)``.

    Attributes:
      v: membrane potential, mV.
      m: Na+ activation gate (0..1).
      h: Na+ inactivation gate (0..1).
      n: K+ activation gate (0..1).
      spike: 1.0 where ``v`` crossed ``v_th`` upwards during the last step, else 0.0.
    """

    v: jax.Array
    m: jax.Array
    h: jax.Array
    n: jax.Array
    spike: jax.Array

    @property
    def voltage(self) -> jax.Array:
        """Inferno's name for ``v`` (mV)."""
        return self.v


def _rates(v):
    """Rate functions (1/ms) of the m, h, n gates at ``v`` (mV), as BrainPy's HH (``exprel`` form)."""
    am = 1.0 / _base.exprel(-(v + 40.0) / 10.0)  # = 0.1 (v + 40) / (1 - exp(-(v + 40) / 10))
    bm = 4.0 * jnp.exp(-(v + 65.0) / 18.0)
    ah = 0.07 * jnp.exp(-(v + 65.0) / 20.0)
    bh = 1.0 / (1.0 + jnp.exp(-(v + 35.0) / 10.0))
    an = 0.1 / _base.exprel(-(v + 55.0) / 10.0)  # = 0.01 (v + 55) / (1 - exp(-(v + 55) / 10))
    bn = 0.125 * jnp.exp(-(v + 65.0) / 80.0)
    return (am, bm), (ah, bh), (an, bn)


@struct.dataclass
class HH(_base.NeuronGroup):
    """Hodgkin-Huxley group (BrainPy's ``HH``), per unit membrane area:

    ``c dv/dt = -g_na m^3 h (v - e_na) - g_k n^4 (v - e_k) - g_l (v - e_l) + I``,
    ``dx/dt = alpha_x(v) (1 - x) - beta_x(v) x`` for ``x`` in ``m, h, n`` (rates as in BrainPy's HH).

    Units: conductances mS/cm^2, capacitance uF/cm^2, current ``I`` uA/cm^2 (so ``dv/dt`` is in mV/ms), as
    BrainPy. A spike is emitted on the step where ``v`` crosses ``v_th`` upwards (``v_old < v_th <= v``);
    there is no reset and no imposed refractoriness (the state has no ``refrac``).

    Integration: exponential Euler per variable with the others at the start of the step (BrainPy's
    ``method='exp_auto'`` and Brian2's ``method='exponential_euler'``, which agree here because every
    equation is linear in its own variable): ``x <- x_inf + (x - x_inf) exp(J dt)``.

    Every parameter may be a scalar or an array of the group's ``shape``. Gradients: ``spike`` carries the
    surrogate gradient of ``spike_fn`` at ``v - v_th``; the upward-crossing condition is detached.

    Args:
      size: number of neurons (int) or the group's shape (tuple).
      e_na: sodium reversal potential, mV.
      g_na: maximal sodium conductance, mS/cm^2, >= 0.
      e_k: potassium reversal potential, mV.
      g_k: maximal potassium conductance, mS/cm^2, >= 0.
      e_l: leak reversal potential, mV.
      g_l: leak conductance, mS/cm^2, > 0. BrainPy's default 0.03 (rest near -70.7 mV) is kept; Hodgkin &
        Huxley's 0.3 gives the classic -65 mV rest with ``e_l = -54.387``.
      c: membrane capacitance, uF/cm^2, > 0.
      v_th: spike detection threshold, mV (BrainPy's default +20). Action potentials shrink under strong
        drive (peaks of +16 mV at 40 uA/cm^2), so for f-I curves above ~30 uA/cm^2 use ``v_th=0.``.
      v_init: initial potential: ``None`` (= -65 mV), mV, or an ``snnjax.init`` spec; the gates start at
        their steady state ``alpha / (alpha + beta)`` for that potential.
      spike_fn: spike function (Heaviside forward, surrogate gradient backward).
    """

    size: Any = struct.field(pytree_node=False)
    e_na: ArrayLike = 50.0
    g_na: ArrayLike = 120.0
    e_k: ArrayLike = -77.0
    g_k: ArrayLike = 36.0
    e_l: ArrayLike = -54.387
    g_l: ArrayLike = 0.03
    c: ArrayLike = 1.0
    v_th: ArrayLike = 20.0
    v_init: float | Initializer | None = struct.field(pytree_node=False, default=None)
    spike_fn: SpikeFunction = struct.field(pytree_node=False, default=Sigmoid())

    _FIELDS = dict(
        e_na=None, g_na="nonnegative", e_k=None, g_k="nonnegative", e_l=None, g_l="positive", c="positive",
        v_th=None,
    )  # fmt: skip

    def init(self, batch_shape: tuple[int, ...] = (), key: jax.Array | None = None) -> HHState:
        """Initial state (Inferno's ``clear``): ``v = v_init``, gates at steady state, no spike."""
        self._validate()
        shape = (*tuple(batch_shape), *self.shape)
        v = self._initial(self.v_init, -65.0, shape, key, "v_init")
        m, h, n = (a / (a + b) for a, b in _rates(v))
        return HHState(v=v, m=m, h=h, n=n, spike=jnp.zeros(shape, v.dtype))

    def update(self, state: HHState, current: ArrayLike, *, dt: float) -> HHState:
        """One step of ``dt`` ms with input ``current`` (uA/cm^2, broadcastable to the state's shape)."""
        v0 = state.v
        g_na = self.g_na * state.m**3 * state.h
        g_k = self.g_k * state.n**4
        g_tot = g_na + g_k + self.g_l
        f_v = (-g_na * (v0 - self.e_na) - g_k * (v0 - self.e_k) - self.g_l * (v0 - self.e_l) + current) / self.c
        v = _base.exp_euler(v0, f_v, -g_tot / self.c, dt)
        gates = []
        for x, (a, b) in zip((state.m, state.h, state.n), _rates(v0)):
            gates.append(_base.exp_euler(x, a * (1.0 - x) - b * x, -(a + b), dt))
        below = jax.lax.stop_gradient((v0 < self.v_th).astype(v.dtype))
        spike = self.spike_fn(v - self.v_th) * below
        m, h, n = (jnp.broadcast_to(g, v.shape) for g in gates)
        return HHState(v=v, m=m, h=h, n=n, spike=spike)
