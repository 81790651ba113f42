"""Synaptic kinetics on the postsynaptic side: ``g`` driven by the weighted presynaptic spikes.

Each model turns ``inp`` -- the sum of the weights of the spikes that arrive at each postsynaptic
neuron during this step (shape ``(*batch, *post_shape)``) -- into a synaptic variable ``g`` in the
unit of the weights (nA for a CUBA current, conductance relative to leak or nS for COBA, mV for a
voltage jump). Because the kinetics are linear with one time constant per projection, summing the
weights first and integrating once per postsynaptic neuron is exact (BrainPy's "align post").

An arriving spike adds its weight to ``g`` during the step it arrives (after the decay of that step),
so its effect on ``g`` during that step is exactly the weight.

Names follow BrainPy's, which a BrainPy user types without looking: ``Exponential(tau=)`` (``bp.synapses.Exponential``)
but ``Alpha(tau_decay=)`` and ``DualExponential(tau_rise=, tau_decay=)`` (``bp.synapses.Alpha``/``DualExponential``).

Every model here is written on :class:`snnjax.synapses.Kinetics` (:mod:`snnjax.synapses.base`): parameters as
fields, ``STATE``, ``derivatives`` (the ODE between inputs), a closed-form ``integrate`` (the step that runs by
default; ``method="rk4"`` etc. integrates ``derivatives`` instead) and ``on_input`` (what an arriving input adds).
Your own kinetics are written the same way: see :mod:`snnjax.synapses.base` and ``docs/models.md`` ("Your own
synapse kinetics"). What :class:`snnjax.Projection` needs of any ``synapse`` is still only ``init(shape,
batch_shape=())``, ``update(state, inp, *, dt)`` and a state field ``g``; the base provides them.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from jax.typing import ArrayLike

from snnjax.integrators import exprel
from snnjax.synapses.base import Kinetics


@struct.dataclass
class SynapseState:
    """``g``: the synaptic variable, shape ``(*batch, *post_shape)`` (``(*batch, n_pre)`` for pre-aligned
    models); ``h``: the model's second variable -- the rise variable of ``Alpha``, ``DualExponential`` and
    ``NMDA``, the time since the last spike (ms) of ``AMPA``/``GABAa`` -- or ``None``."""

    g: jax.Array
    h: jax.Array | None = None


@struct.dataclass
class Delta(Kinetics):
    """No kinetics: ``g`` equals this step's input (BrainPy's ``Delta`` / voltage-jump synapse).

    With ``outputs.CUBA(target="v")`` each arriving spike adds its weight (mV) to the postsynaptic
    membrane potential; with ``CUBA()`` it injects its weight (nA) as current for one step.
    """

    STATE = dict(g=0.0)
    State = SynapseState

    def integrate(self, state: SynapseState, dt: float) -> dict:
        """Nothing is left of the last step's input."""
        return {"g": jnp.zeros_like(state.g)}

    def on_input(self, state: SynapseState, inp: ArrayLike) -> dict:
        """``g = inp``."""
        return {"g": inp}


@struct.dataclass
class Exponential(Kinetics):
    """Single exponential: ``dg/dt = -g / tau`` plus a jump of the weight per spike (exact integration).

    Args:
      tau: decay time constant, ms, > 0 (scalar or shape of the postsynaptic group).
    """

    tau: ArrayLike = 8.0

    STATE = dict(g=0.0)
    State = SynapseState
    _FIELDS = {"tau": "positive"}

    def derivatives(self, state: SynapseState) -> dict:
        """``dg/dt = -g / tau``."""
        return {"g": -state.g / self.tau}

    def integrate(self, state: SynapseState, dt: float) -> dict:
        """``g exp(-dt/tau)``; then ``on_input`` adds the input (``g <- g exp(-dt/tau) + inp``)."""
        return {"g": state.g * jnp.exp(-dt / self.tau)}


@struct.dataclass
class Alpha(Kinetics):
    """Alpha function: ``g(t) = w (t / tau_decay) exp(1 - ...)``-shaped response, as the linear system

    ``dh/dt = -h / tau_decay`` (each spike adds its weight to ``h``),
    ``dg/dt = (h - g) / tau_decay``,

    integrated exactly over each step: ``g <- (g + h dt/tau) e^{-dt/tau}``, ``h <- h e^{-dt/tau}``.
    A single spike of weight ``w`` at ``t=0`` gives ``g(t) = w (t/tau) exp(-t/tau)``, peaking at
    ``w / e`` at ``t = tau`` (BrainPy's Alpha uses the same equations with exponential Euler).

    Args:
      tau_decay: time constant, ms, > 0.
    """

    tau_decay: ArrayLike = 10.0

    STATE = dict(g=0.0, h=0.0)
    State = SynapseState
    _FIELDS = {"tau_decay": "positive"}

    def derivatives(self, state: SynapseState) -> dict:
        """``dg/dt = (h - g) / tau_decay``, ``dh/dt = -h / tau_decay``."""
        return {"g": (state.h - state.g) / self.tau_decay, "h": -state.h / self.tau_decay}

    def integrate(self, state: SynapseState, dt: float) -> dict:
        """Exact step of the linear system."""
        decay = jnp.exp(-dt / self.tau_decay)
        g = (state.g + state.h * (dt / self.tau_decay)) * decay
        return {"g": g, "h": state.h * decay}

    def on_input(self, state: SynapseState, inp: ArrayLike) -> dict:
        """``h += inp``."""
        return {"h": state.h + inp}


def _log1p_ratio(u):
    """``log(1 + u) / u`` (1 at ``u = 0``) without cancellation, for ``u > -1``: its series where ``|u| < 1e-4``."""
    small = jnp.abs(u) < 1e-4
    us = jnp.where(small, 1.0, u)
    return jnp.where(small, 1.0 - 0.5 * u * (1.0 - 2.0 * u / 3.0), jnp.log1p(us) / us)


def _dual_exp_a(tau_rise, tau_decay, A):
    """BrainPy's jump coefficient ``a`` of ``h`` per unit input (``_dual_exp_a`` in brainpy.dyn).

    Peak-normalised (``A=None``): ``a = (1/tau_r) (tau_r/tau_d)^(tau_r/(tau_r - tau_d))``, evaluated as
    ``exp(log1p(u) / u) / tau_r`` with ``u = (tau_d - tau_r) / tau_r``: the same number, but continuous
    through ``tau_r == tau_d`` (where it is ``e / tau_r``) instead of cancelling near it. ``tau_d - tau_r``
    is exact in floating point when the two are close (Sterbenz), so ``u`` keeps full relative precision.
    """
    tau_rise, tau_decay = jnp.asarray(tau_rise), jnp.asarray(tau_decay)
    if A is not None:
        return (tau_decay - tau_rise) / (tau_rise * tau_decay) * jnp.asarray(A)
    return jnp.exp(_log1p_ratio((tau_decay - tau_rise) / tau_rise)) / tau_rise


@struct.dataclass
class DualExponential(Kinetics):
    """Difference of two exponentials (BrainPy's ``DualExpon``), as the linear system

    ``dh/dt = -h / tau_rise`` (each unit of input adds ``a`` to ``h``, ms^-1),
    ``dg/dt = -g / tau_decay + h``,

    so one spike of weight ``w`` arriving at ``t0`` gives
    ``g(t) = w a tau_r tau_d / (tau_d - tau_r) (exp(-(t-t0)/tau_d) - exp(-(t-t0)/tau_r))``.

    Normalisation (BrainPy's): with ``A=None`` (default), ``a = (1/tau_r) (tau_r/tau_d)^(tau_r/(tau_r-tau_d))``
    makes the peak of ``g`` equal to the weight ``w`` (``a = e / tau`` in the limit ``tau_rise == tau_decay``,
    where ``g`` becomes the alpha function ``w (t/tau) e^{1 - t/tau}``). With an explicit ``A``,
    ``a = (tau_d - tau_r) / (tau_r tau_d) A``, i.e. ``g(t) = w A (exp(-t/tau_d) - exp(-t/tau_r))``.

    Both the normalisation and the step are evaluated in forms that stay accurate (to float32 rounding)
    as ``tau_decay - tau_rise`` goes to 0, and continuous through it.

    Integration: exact over each step (the system is linear), which BrainPy's ``exp_auto`` is not
    (it holds ``h`` constant within the step, an ``O(dt / tau_rise)`` relative error). An arriving
    spike adds ``a w`` to ``h`` during the step it arrives, after that step's decay, so ``g`` starts
    rising one step later (as BrainPy). Linear in its input, so summing the weights per postsynaptic
    neuron ("align post") is exact.

    Args:
      tau_rise: rise time constant, ms, > 0.
      tau_decay: decay time constant, ms, > 0.
      A: peak scale (``None``: peak-normalised, see above), dimensionless.
    State: ``g`` (the unit of the weights) and ``h`` (that unit per ms), shape ``(*batch, *post_shape)``.
    """

    tau_rise: ArrayLike = 1.0
    tau_decay: ArrayLike = 10.0
    A: ArrayLike | None = None

    STATE = dict(g=0.0, h=0.0)
    State = SynapseState
    _FIELDS = {"tau_rise": "positive", "tau_decay": "positive", "A": None}

    def derivatives(self, state: SynapseState) -> dict:
        """``dg/dt = -g / tau_decay + h``, ``dh/dt = -h / tau_rise``."""
        return {"g": -state.g / self.tau_decay + state.h, "h": -state.h / self.tau_rise}

    def integrate(self, state: SynapseState, dt: float) -> dict:
        """Exact step of the linear system."""
        tr, td = jnp.asarray(self.tau_rise), jnp.asarray(self.tau_decay)
        er, ed = jnp.exp(-dt / tr), jnp.exp(-dt / td)
        # h's contribution to g over the step, tr td (ed - er) / (td - tr), written as
        # dt max(ed, er) exprel(-|x|) with x = dt (td - tr) / (tr td): no difference of close numbers (the
        # form above loses all digits as td -> tr in float32), equal to dt e^{-dt/tau} at td == tr, and no
        # overflow when one time constant is much shorter than dt (exprel of a negative argument is in (0, 1])
        x = dt * (td - tr) / (tr * td)
        coef = dt * jnp.maximum(ed, er) * exprel(-jnp.abs(x))
        g = state.g * ed + state.h * coef
        return {"g": g, "h": state.h * er}

    def on_input(self, state: SynapseState, inp: ArrayLike) -> dict:
        """``h += a inp``."""
        return {"h": state.h + _dual_exp_a(self.tau_rise, self.tau_decay, self.A) * inp}
