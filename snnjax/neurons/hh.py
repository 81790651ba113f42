"""Hodgkin-Huxley neurons (squid giant axon, Hodgkin & Huxley 1952; BrainPy's ``HH``)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from jax.typing import ArrayLike

from snnjax.init import Initializer
from snnjax.integrators import exprel
from snnjax.neurons.base import ODENeuron


def _rates(v):
    """Rate functions (1/ms) of the m, h, n gates at ``v`` (mV), as BrainPy's HH (``exprel`` form)."""
    am = 1.0 / exprel(-(v + 40.0) / 10.0)  # = 0.1 (v + 40) / (1 - exp(-(v + 40) / 10))
    bm = 4.0 * jnp.exp(-(v + 65.0) / 18.0)
    ah = 0.07 * jnp.exp(-(v + 65.0) / 20.0)
    bh = 1.0 / (1.0 + jnp.exp(-(v + 35.0) / 10.0))
    an = 0.1 / exprel(-(v + 55.0) / 10.0)  # = 0.01 (v + 55) / (1 - exp(-(v + 55) / 10))
    bn = 0.125 * jnp.exp(-(v + 65.0) / 80.0)
    return (am, bm), (ah, bh), (an, bn)


def _gate(i):
    """Initial value of gate ``i`` (0: m, 1: h, 2: n): its steady state ``alpha / (alpha + beta)`` at ``v``."""
    return lambda model, s: (lambda a, b: a / (a + b))(*_rates(s["v"])[i])


@struct.dataclass
class HH(ODENeuron):
    """Hodgkin-Huxley group (BrainPy's ``HH``), per unit membrane area:

    ``c dv/dt = -g_na m^3 h (v - e_na) - g_k n^4 (v - e_k) - g_l (v - e_l) + J``,
    ``dx/dt = alpha_x(v) (1 - x) - beta_x(v) x`` for ``x`` in ``m, h, n`` (rates as in BrainPy's HH).

    Units: conductances mS/cm^2, capacitance uF/cm^2, current density ``J`` uA/cm^2 (so ``dv/dt`` is in
    mV/ms), as BrainPy. The input ``current`` is that density (uA/cm^2) by default; with ``area`` (cm^2) it is
    a current in nA like every other model's, converted as ``J = 1e-3 current / area`` (1 nA into 1e-5 cm^2,
    i.e. 1000 um^2, is 100 uA/cm^2). A spike is emitted on the step where ``v`` crosses ``v_th`` upwards
    (``v_old < v_th <= v``); there is no reset and no imposed refractoriness (the state has no ``refrac``).

    Integration: exponential Euler per variable with the others at the start of the step (BrainPy's
    ``method='exp_auto'`` and Brian2's ``method='exponential_euler'``, which agree here because every
    equation is linear in its own variable): ``x <- x_inf + (x - x_inf) exp(J dt)``.

    Every parameter may be a scalar or an array of the group's ``shape``. Gradients: ``spike`` carries the
    surrogate gradient of ``spike_fn`` at ``v - v_th``; the upward-crossing condition is detached.

    State: :class:`HHState` (``v`` mV, gates ``m``, ``h``, ``n`` in 0..1, ``spike``).

    Args:
      size: number of neurons (int) or the group's shape (tuple).
      e_na: sodium reversal potential, mV.
      g_na: maximal sodium conductance, mS/cm^2, >= 0.
      e_k: potassium reversal potential, mV.
      g_k: maximal potassium conductance, mS/cm^2, >= 0.
      e_l: leak reversal potential, mV.
      g_l: leak conductance, mS/cm^2, > 0. BrainPy's default 0.03 (rest near -70.7 mV) is kept; Hodgkin &
        Huxley's 0.3 gives the classic -65 mV rest with ``e_l = -54.387``.
      c: membrane capacitance, uF/cm^2, > 0 (BrainPy's name; ``c`` of QIF is a curvature).
      v_th: spike detection threshold, mV (BrainPy's default +20). Action potentials shrink under strong
        drive (peaks of +16 mV at 40 uA/cm^2), so for f-I curves above ~30 uA/cm^2 use ``v_th=0.``.
      area: membrane area, cm^2, > 0, or ``None`` (default: the input is already a density in uA/cm^2).
      v_init: initial potential: ``None`` (= -65 mV), mV, or an ``snnjax.init`` spec; the gates start at
        their steady state ``alpha / (alpha + beta)`` for that potential.
      spike_fn: spike function (Heaviside forward, surrogate gradient backward); keyword only.
      method: integrator (:mod:`snnjax.integrators`), default ``'exp_euler'``; keyword only.
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
    area: ArrayLike | None = None
    v_init: float | Initializer | None = struct.field(pytree_node=False, default=None)

    _FIELDS = dict(
        e_na=None, g_na="nonnegative", e_k=None, g_k="nonnegative", e_l=None, g_l="positive", c="positive",
        v_th=None, area="positive",
    )  # fmt: skip
    STATE = dict(
        v=(-65.0, "membrane potential, mV."),
        m=(_gate(0), "Na+ activation gate (0..1)."),
        h=(_gate(1), "Na+ inactivation gate (0..1)."),
        n=(_gate(2), "K+ activation gate (0..1)."),
    )

    def derivatives(self, s, current):
        """``dv/dt`` (mV/ms; ``current`` in uA/cm^2, or nA with ``area``) and the gates' rates (1/ms)."""
        density = current if self.area is None else 1e-3 * current / self.area
        g_na, g_k = self.g_na * s.m**3 * s.h, self.g_k * s.n**4
        i_ion = g_na * (s.v - self.e_na) + g_k * (s.v - self.e_k) + self.g_l * (s.v - self.e_l)
        gates = {x: a * (1.0 - getattr(s, x)) - b * getattr(s, x) for x, (a, b) in zip("mhn", _rates(s.v))}
        return dict(v=(density - i_ion) / self.c, **gates)

    def fire(self, old, new, refractory):
        """``spike_fn(v - v_th)`` on upward crossings only (``v_old < v_th``, detached)."""
        below = jax.lax.stop_gradient((old.v < self.v_th).astype(new.v.dtype))
        return self.spike_fn(new.v - self.v_th) * below

    def reset(self, s, spike):
        """No reset."""
        return {}


HHState = HH.State
