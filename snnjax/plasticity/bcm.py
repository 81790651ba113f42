"""A spiking BCM rule with a sliding threshold per postsynaptic neuron (Bienenstock, Cooper & Munro 1982), written
on the rule contract (:class:`~snnjax.plasticity.Rule`) as a user would.

Rate-based BCM is ``dw/dt = eta x y (y - theta)`` with a threshold that follows the square of the postsynaptic
activity, ``tau_theta dtheta/dt = y^2 / y0 - theta``. Here ``x`` is the presynaptic trace ``apre`` (``tau_pre``) and
``y`` the postsynaptic trace ``apost`` (``tau_post``), both dimensionless (jump by 1 per spike), and the factor ``y``
of the drive is the postsynaptic spike itself: at each postsynaptic spike ``w += eta apre (apost - theta)`` (``apost``
before this spike's jump). Above threshold the synapses of active inputs grow, below they shrink, and the threshold
rises with the activity it causes: the postsynaptic activity settles near ``apost = y0`` (where the fixed point
``theta = y0`` of a steady ``apost = y0`` sits). ``tests/test_bcm.py`` compares it with a NumPy implementation of
these equations.
"""

from __future__ import annotations

import jax.numpy as jnp
from flax import struct

from snnjax.plasticity.rule import Rule

__all__ = ["BCM"]


@struct.dataclass
class BCM(Rule):
    """Spiking BCM with a sliding threshold ``theta`` per postsynaptic neuron.

    Per step of ``dt``: ``apre``, ``apost`` decay with ``tau_pre``, ``tau_post``; ``theta`` relaxes to ``apost^2 /
    y0`` (exactly over the step, ``apost`` held at its value at the start of the step); at a postsynaptic spike
    ``w += eta apre (apost - theta)``, clipped to ``[w_min, w_max]``; traces jump by 1 at their spikes.

    Args:
      eta: learning rate, weight units, >= 0.
      tau_pre, tau_post: trace time constants, ms, > 0.
      tau_theta: time constant of the threshold, ms, > 0 (slower than the traces).
      y0: the activity the threshold normalises by (``apost`` units), > 0.
      theta0: the initial threshold (``apost`` units), >= 0.
      w_min, w_max: weight bounds, weight units.
    """

    eta: float = 1e-3
    tau_pre: float = 20.0
    tau_post: float = 50.0
    tau_theta: float = 500.0
    y0: float = 1.0
    theta0: float = 1.0
    w_min: float = 0.0
    w_max: float = 1.0

    PRE = dict(apre=(0.0, "presynaptic trace, dimensionless."))
    POST = dict(apost=(0.0, "postsynaptic trace, dimensionless."), theta=("theta0", "sliding threshold (apost units)."))
    _FIELDS = dict(eta="nonnegative", y0="positive", theta0="nonnegative")

    def decay(self, pre, post, dt):
        e = jnp.exp(-dt / self.tau_theta)
        theta = post["theta"] * e + (1.0 - e) * post["apost"] ** 2 / self.y0
        apost = post["apost"] * jnp.exp(-dt / self.tau_post)
        return dict(apre=pre["apre"] * jnp.exp(-dt / self.tau_pre)), dict(apost=apost, theta=theta)

    def on_pre(self, syn, pre, post):
        return {}  # an arrival only feeds the presynaptic trace

    def pre_spike(self, pre):
        return dict(apre=pre["apre"] + 1.0)

    def on_post(self, syn, pre, post):
        dw = self.eta * pre["apre"] * (post["apost"] - post["theta"])
        return dict(w=jnp.clip(syn["w"] + dw, self.w_min, self.w_max))

    def post_spike(self, post):
        return dict(apost=post["apost"] + 1.0)
