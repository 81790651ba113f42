"""Inhibitory STDP of Vogels, Sprekeler, Zenke, Clopath & Gerstner (2011, Science 334:1569), written on the rule
contract (:class:`~snnjax.plasticity.Rule`) as a user would: a symmetric trace rule with a target rate.

Brian2's ``examples/frompapers/Vogels_et_al_2011.py``: one trace per side, both with ``tau``; at an arrival
``w += eta (apost - alpha)``, at a postsynaptic spike ``w += eta apre``, ``alpha = 2 rho0 tau`` (so a postsynaptic
neuron firing above ``rho0`` strengthens its inhibition, below it weakens it). ``tests/test_vogels.py`` compares it
with Brian2 2.9 synapse by synapse (``tests/data/make_brian2_istdp.py``).
"""

from __future__ import annotations

import jax.numpy as jnp
from flax import struct

from snnjax.plasticity.rule import Rule

__all__ = ["VogelsSprekeler"]


@struct.dataclass
class VogelsSprekeler(Rule):
    """Vogels-Sprekeler inhibitory STDP: ``w += eta (apost - 2 rho0 tau)`` at an arrival, ``w += eta apre`` at a
    postsynaptic spike, clipped to ``[w_min, w_max]``; traces jump by 1 (or to 1, ``pairing="nearest"``), decay
    with ``tau``.

    Args:
      eta: learning rate, weight units per pairing, >= 0.
      rho0: target postsynaptic rate, Hz, >= 0.
      tau: trace time constant, ms, > 0.
      w_min, w_max: weight bounds, weight units (may be infinite).
      pairing: ``"all-to-all"`` or ``"nearest"``.
    """

    eta: float = 1e-3
    rho0: float = 5.0
    tau: float = 20.0
    w_min: float = 0.0
    w_max: float = float("inf")
    pairing: str = struct.field(pytree_node=False, default="all-to-all")

    PRE = dict(apre=(0.0, "presynaptic trace, dimensionless."))
    POST = dict(apost=(0.0, "postsynaptic trace, dimensionless."))
    _FIELDS = dict(eta="nonnegative", rho0="nonnegative")

    def decay(self, pre, post, dt):
        k = jnp.exp(-dt / self.tau)
        return dict(apre=pre["apre"] * k), dict(apost=post["apost"] * k)

    def on_pre(self, syn, pre, post):
        alpha = 2.0 * self.rho0 * 1e-3 * self.tau  # Hz x ms -> dimensionless
        return dict(w=jnp.clip(syn["w"] + self.eta * (post["apost"] - alpha), self.w_min, self.w_max))

    def pre_spike(self, pre):
        return dict(apre=self._jump(pre["apre"]))

    def on_post(self, syn, pre, post):
        return dict(w=jnp.clip(syn["w"] + self.eta * pre["apre"], self.w_min, self.w_max))

    def post_spike(self, post):
        return dict(apost=self._jump(post["apost"]))

    def _jump(self, trace):
        return jnp.ones_like(trace) if self.pairing == "nearest" else trace + 1.0
