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

The same equations as :func:`snnjax.plasticity.mstdpet` (Inferno's ``MSTDPET``) on the Inferno view; here on
the projection's own synapse list, one state per batch element. ``z`` and ``w`` change at every synapse
every step (the reward reaches all of them), so the cost is a pass over the synapses per step whatever the
propagator.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from jax.typing import ArrayLike

from snnjax import axes, ops
from snnjax.plasticity.stdp import _TraceRule


@struct.dataclass
class MSTDPETState:
    """Weights, traces and eligibility of an MSTDPET projection.

    Attributes:
      w: weights ``(*batch, K)``; apre ``(*batch, n_pre)`` (``(*batch, K)`` with per-synapse delays);
      apost: ``(*batch, n_post)``; z: eligibility ``(*batch, K)``, weight units per ms.
    """

    w: jax.Array = axes.field(axes.SYN)
    apre: jax.Array = axes.field(axes.PRE)
    apost: jax.Array = axes.field(axes.POST)
    z: jax.Array = axes.field(axes.SYN)
    apre2: None = axes.field(axes.PRE, default=None)
    apost2: None = axes.field(axes.POST, default=None)


@struct.dataclass
class MSTDPET(_TraceRule):
    """Reward-modulated STDP with an eligibility trace on a projection (see the module docstring).

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

    _TIMES = ("tau_plus", "tau_minus", "tau_z")
    _AMPS = ("lr", "a_plus", "a_minus")
    event_driven = False  # the reward changes every synapse every step
    needs_reward = True

    def __post_init__(self):
        self._check("MSTDPET", strict=False)

    def _params(self):
        return dict(a2_plus=self.a_plus, a2_minus=self.a_minus, tau_plus=self.tau_plus, tau_minus=self.tau_minus)

    def init(self, w, pre_shape, n_post, batch_shape=()) -> MSTDPETState:
        """Weights ``w (K,)`` per batch element; traces and eligibility at 0."""
        st = super().init(w, pre_shape, n_post, batch_shape)
        return MSTDPETState(w=st.w, apre=st.apre, apost=st.apost, z=jnp.zeros_like(st.w))

    def step_sparse(
        self, st, topo: ops.Topology, arrivals, post_spikes, *, dt: float, per_synapse: bool = False, reward=0.0
    ) -> MSTDPETState:
        """One step over every synapse; ``reward`` a scalar or ``(*batch,)`` (dimensionless)."""
        k = lambda tau: jnp.exp(-dt / jnp.asarray(tau, st.apre.dtype))  # noqa: E731
        apre, apost = st.apre * k(self.tau_plus), st.apost * k(self.tau_minus)
        a = arrivals != 0
        at_syn = (lambda x: x) if per_synapse else (lambda x: x[..., topo.pre])  # noqa: E731
        ltd = jnp.where(at_syn(a), apost[..., topo.post], 0.0)  # post trace before this step's post spikes
        apre = self._bump(apre, a)
        p = post_spikes != 0
        ltp = jnp.where(p[..., topo.post], at_syn(apre), 0.0)  # pre trace with this step's arrivals
        zeta = self.a_plus * ltp - self.a_minus * ltd
        z = st.z * k(self.tau_z) + zeta / self.tau_z
        r = jnp.asarray(reward, z.dtype)
        r = r.reshape(*r.shape, 1) if r.ndim else r
        dw = (self.lr * dt * r * z).astype(st.w.dtype)
        w = self._bounded(st.w, jnp.maximum(dw, 0), jnp.maximum(-dw, 0))
        return MSTDPETState(w=w, apre=apre, apost=self._bump(apost, p), z=z)
