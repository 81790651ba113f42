"""NEST's ``iaf_psc_exp``: leaky integrate-and-fire with exponential synaptic currents, integrated exactly."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import struct
from jax.typing import ArrayLike

from snnjax.init import Initializer
from snnjax.integrators import exprel
from snnjax.neurons.base import ODENeuron


def _p21(dt: float, tau: ArrayLike, tau_syn: ArrayLike, c_m: ArrayLike) -> jnp.ndarray:
    """Effect on ``v`` (mV) over ``dt`` of a synaptic current of 1 pA at the start of the step decaying with
    ``tau_syn``: ``tau tau_s / (c_m (tau - tau_s)) (e^{-dt/tau} - e^{-dt/tau_s})``, written as
    ``dt / c_m max(e^{-dt/tau}, e^{-dt/tau_s}) exprel(-|x|)`` with ``x = dt (tau - tau_s) / (tau tau_s)``: no
    difference of close numbers, and the limit ``dt / c_m e^{-dt/tau}`` at ``tau == tau_s`` (where NEST switches to
    the singular propagator)."""
    x = dt * (tau - tau_syn) / (tau * tau_syn)
    return dt / c_m * jnp.maximum(jnp.exp(-dt / tau), jnp.exp(-dt / tau_syn)) * exprel(-jnp.abs(x))


@struct.dataclass
class IafPscExp(ODENeuron):
    """Leaky integrate-and-fire neurons with exponentially decaying synaptic currents (NEST's ``iaf_psc_exp``, the
    neuron of the Potjans & Diesmann cortical microcircuit), in NEST's units: mV, ms, pF, pA.

    ``c_m dv/dt = -c_m (v - v_rest) / tau + i_ex + i_in + i_e + I``, ``di_ex/dt = -i_ex / tau_syn_ex``,
    ``di_in/dt = -i_in / tau_syn_in``, integrated exactly over each step (the system is linear: NEST's propagators,
    method ``'exact'``). A synapse adds its weight (pA) to ``i_ex`` or ``i_in``: a projection with
    ``synapse=Delta(), output=CUBA(target="i_ex")`` (weights >= 0) or ``target="i_in"`` (weights <= 0), and
    :class:`snnjax.inputs.PoissonInput` likewise. A neuron fires when ``v >= v_th``, is reset to ``v_reset`` and
    held there for ``tau_ref`` ms (``floor(tau_ref / dt + 1/2)`` steps), while its currents go on.

    Timing against NEST: NEST adds a step's arriving weights to the currents *after* that step's membrane update,
    a projection here before it (as its jump into ``i_ex``), so a NEST delay of ``d`` steps is a lag of ``d + 1``
    here: give ``delay = d_NEST + dt`` for the same spike times (``snnjax.examples.microcircuit`` does).

    Every parameter may be a scalar or an array of the group's shape.

    Args:
      size: number of neurons (int) or the group's shape (tuple).
      c_m: membrane capacitance, pF, > 0.
      tau: membrane time constant, ms, > 0 (NEST's ``tau_m``).
      v_rest: resting potential, mV (NEST's ``E_L``).
      v_th: threshold, mV (``V_th``).
      v_reset: reset potential, mV (``V_reset``).
      tau_ref: refractory period, ms, >= 0 (``t_ref``).
      tau_syn_ex, tau_syn_in: decay of the excitatory and inhibitory currents, ms, > 0.
      i_e: constant input current, pA (``I_e``).
      v_init: initial potential (None: ``v_rest``; a float in mV; or an ``snnjax.init`` spec, e.g.
        ``sj.init.Blocks(...)`` of normal distributions per layer).

    Input ``current`` (``"<name>.input"``): pA, held over the step. State: ``v`` (mV), ``i_ex``, ``i_in`` (pA),
    ``spike``, ``refrac`` (ms).
    """

    size: Any = struct.field(pytree_node=False)
    c_m: ArrayLike = 250.0
    tau: ArrayLike = 10.0
    v_rest: ArrayLike = -65.0
    v_th: ArrayLike = -50.0
    v_reset: ArrayLike = -65.0
    tau_ref: ArrayLike = 2.0
    tau_syn_ex: ArrayLike = 0.5
    tau_syn_in: ArrayLike = 0.5
    i_e: ArrayLike = 0.0
    v_init: float | Initializer | None = struct.field(pytree_node=False, default=None)

    STATE = dict(
        v=("v_rest", "membrane potential, mV"),
        i_ex=(0.0, "excitatory synaptic current, pA"),
        i_in=(0.0, "inhibitory synaptic current, pA"),
    )
    METHOD = "exact"

    @property
    def _FIELDS(self) -> dict[str, str | None]:  # noqa: N802 (the name NeuronGroup reads)
        fields = super()._FIELDS
        return {**fields, "c_m": "positive"}

    def derivatives(self, s, current):
        """``dv/dt`` (mV/ms) and the currents' decay (pA/ms), with ``current`` in pA."""
        i = s.i_ex + s.i_in + self.i_e + current
        return dict(
            v=-(s.v - self.v_rest) / self.tau + i / self.c_m,
            i_ex=-s.i_ex / self.tau_syn_ex,
            i_in=-s.i_in / self.tau_syn_in,
        )

    def integrate(self, s, current, dt):
        """The exact step (NEST's propagators): the currents at the start of the step decay within it."""
        p22 = jnp.exp(-dt / self.tau)
        p20 = dt / self.c_m * exprel(-dt / self.tau)  # (1 - p22) tau / c_m
        v = (
            self.v_rest
            + (s.v - self.v_rest) * p22
            + _p21(dt, self.tau, self.tau_syn_ex, self.c_m) * s.i_ex
            + _p21(dt, self.tau, self.tau_syn_in, self.c_m) * s.i_in
            + p20 * (self.i_e + current)
        )
        return dict(v=v, i_ex=s.i_ex * jnp.exp(-dt / self.tau_syn_ex), i_in=s.i_in * jnp.exp(-dt / self.tau_syn_in))


IafPscExpState = IafPscExp.State
