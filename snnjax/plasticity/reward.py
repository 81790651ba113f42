"""Reward-modulated STDP with an eligibility trace (Florian 2007, MSTDPET) on a Projection.

``Projection(..., plasticity=MSTDPET(...))`` and a reward input ``("<projection>.reward", r)`` (a scalar per
step, or one per batch element: a constant, an array over time or a function of t, as any input). Per step:

* traces as :class:`~snnjax.plasticity.STDP` (``apre`` jumps at arrivals, ``apost`` at postsynaptic spikes);
* ``zeta = a_plus apre [post spike] - a_minus apost [arrival]`` per synapse (the pair-STDP change of the step,
  same ordering as STDP: an arrival reads ``apost`` before this step's postsynaptic spikes);
* ``z <- z exp(-dt / tau_z) + zeta / tau_z`` (``tau_z dz/dt = -z + zeta``; weight units per ms);
* ``w <- w + lr dt r z`` with the step's reward ``r``, clipped to ``[w_min, w_max]`` (``bounds="hard"``) or
  multiplicative (``"soft"``: the positive part of the change scales with ``w_max - w``, the negative with
  ``w - w_min``).

A rule on the contract of :class:`~snnjax.plasticity.Rule`: the traces are :class:`~snnjax.plasticity.STDP`'s
(``decay``, ``pre_spike``, ``post_spike``), the arrivals and postsynaptic spikes change no synapse directly
(``on_pre``, ``on_post`` return ``{}``), and ``on_step`` holds the eligibility and the reward. ``z`` and ``w`` change
at every synapse every step (the reward reaches all of them), so the cost is a pass over the synapses per step
whatever the propagator. :func:`snnjax.plasticity.mstdpet` (Inferno's ``MSTDPET``, the Inferno view) is an adapter
over this same rule.
"""

from __future__ import annotations

import jax.numpy as jnp
from flax import struct
from jax.typing import ArrayLike

from snnjax.plasticity.stdp import _rounded, _TraceRule

__all__ = ["MSTDPET"]


@struct.dataclass
class MSTDPET(_TraceRule):
    """Reward-modulated STDP with an eligibility trace on a projection (see the module docstring).

    Its state (``MSTDPET.State``): ``w``, ``z`` (eligibility, ``(*batch, K)``, weight units per ms), ``apre``,
    ``apost``; monitor paths ``'<name>.w'``, ``'<name>.z'`` ...

    Args:
      lr: learning rate per unit of reward, dimensionless, >= 0.
      a_plus, a_minus: STDP amplitudes, weight units, >= 0.
      tau_plus, tau_minus: STDP trace time constants, ms, > 0.
      tau_z: eligibility time constant, ms, > 0.
      w_min, w_max, pairing, bounds: as :class:`~snnjax.plasticity.STDP`.
    """

    lr: ArrayLike = 1.0
    a_plus: ArrayLike = 0.01
    a_minus: ArrayLike = 0.0105
    tau_plus: ArrayLike = 20.0
    tau_minus: ArrayLike = 20.0
    tau_z: ArrayLike = 25.0
    w_min: ArrayLike = -float("inf")
    w_max: ArrayLike = float("inf")
    pairing: str = struct.field(pytree_node=False, default="all-to-all")
    bounds: str = struct.field(pytree_node=False, default="hard")

    SYNAPSE = dict(z=(0.0, "eligibility, ``(*batch, K)``, weight units per ms."))
    PRE = dict(apre=(0.0, "presynaptic trace (``tau_plus``), dimensionless."))
    POST = dict(apost=(0.0, "postsynaptic trace (``tau_minus``), dimensionless."))
    NEEDS = ("reward",)
    _FIELDS = dict(lr="nonnegative", a_plus="nonnegative", a_minus="nonnegative")

    def _params(self):
        return dict(a2_plus=self.a_plus, a2_minus=self.a_minus, tau_plus=self.tau_plus, tau_minus=self.tau_minus)

    def on_pre(self, syn: dict, pre: dict, post: dict) -> dict:
        """No direct change: the pairing of the arrival enters the eligibility (:meth:`on_step`)."""
        return {}

    def on_post(self, syn: dict, pre: dict, post: dict) -> dict:
        """No direct change: the pairing of the postsynaptic spike enters the eligibility (:meth:`on_step`)."""
        return {}

    def on_step(self, syn: dict, pre: dict, post: dict, arrived, fired, *, dt: float, reward) -> dict:
        """``zeta = a_plus apre [fired] - a_minus apost [arrived]``, ``z <- z exp(-dt/tau_z) + zeta / tau_z``,
        ``w <- bounds(w + lr dt reward z)`` (positive part as potentiation, negative as depression)."""
        k = jnp.exp(-dt / jnp.asarray(self.tau_z, syn["z"].dtype))
        ltd = jnp.where(arrived, post["apost"], 0.0)  # post trace before this step's post spikes
        ltp = jnp.where(fired, pre["apre"], 0.0)  # pre trace with this step's arrivals
        # products rounded before they meet a sum (_rounded): XLA contracts them into multiply-adds in some programs
        # and not in others, which made one device and several differ in the last bit
        zeta = _rounded(self.a_plus * ltp) - _rounded(self.a_minus * ltd)
        z = _rounded(syn["z"] * k) + zeta / self.tau_z
        dw = (self.lr * dt * reward * z).astype(syn["w"].dtype)
        return dict(w=self._bounded(syn["w"], jnp.maximum(dw, 0), jnp.maximum(-dw, 0)), z=z)
