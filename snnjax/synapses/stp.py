"""Tsodyks--Markram short-term plasticity (BrainPy's ``STP(U, tau_f, tau_d)``), composable with any synapse.

``Projection(..., synapse=..., stp=STP(U=0.2, tau_f=500., tau_d=100.))`` gives every presynaptic neuron
(every synapse when delays are per synapse) a release variable ``u`` and a resource variable ``x``, driven
by its delayed spikes (they act at the presynaptic terminal). They are the ``stp`` part of the projection's
:class:`~snnjax.projection.ProjectionState`, whose fields read through (``state.synapses["EE"].u``), so
``'EE.u'`` and ``'EE.x'`` are monitor paths and the variables are checkpointed with the rest of the state.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from jax.typing import ArrayLike

from snnjax import _checks

VARIANTS = ("brainpy", "tsodyks_markram")


@struct.dataclass
class STPState:
    """``u`` (release fraction) and ``x`` (available resources), each ``(*batch, n)``, dimensionless."""

    u: jax.Array
    x: jax.Array


@struct.dataclass
class STP:
    """Short-term facilitation and depression, BrainPy's ``STP`` (``bp.dyn.STP`` / ``bp.synplast.STP``):

    ``du/dt = -u / tau_f``, ``dx/dt = (1 - x) / tau_d`` between spikes (exact exponential decay each step);
    at a spike, ``u+ = u- + U (1 - u-)`` then ``x+ = x- (1 - u+)``; each spike's weight is multiplied by its
    efficacy. Two variants (static ``variant``):

    * ``"brainpy"`` (default): BrainPy's: the terminal starts at ``u = U``, ``x = 1`` and the efficacy is
      ``u+ x+`` (BrainPy multiplies the spike by ``u x`` after ``stp.update``), so the first spike of a
      rested terminal has efficacy ``u1 (1 - u1)`` with ``u1 = 2U - U^2``;
    * ``"tsodyks_markram"``: Tsodyks, Pawelzik & Markram (1998): the terminal starts at ``u = 0``, ``x = 1``
      and the efficacy is the released fraction ``u+ x-``, so the first spike has efficacy ``U``.

    With a pre-aligned synapse (``AMPA``, ``GABAa``, ``NMDA``), which receives spikes as triggers, the
    presynaptic variable ``g_j`` is multiplied by ``u_j x_j`` every step instead (BrainPy's
    ``stp.filter(g)`` for those models).

    Args:
      U: release increment per spike (and BrainPy's initial ``u``), dimensionless, in (0, 1].
      tau_f: facilitation time constant, ms, > 0.
      tau_d: depression (recovery) time constant, ms, > 0.
      variant: ``"brainpy"`` or ``"tsodyks_markram"`` (static), see above.
    """

    U: ArrayLike = 0.15
    tau_f: ArrayLike = 1500.0
    tau_d: ArrayLike = 200.0
    variant: str = struct.field(pytree_node=False, default="brainpy")

    _FIELDS = {"U": "positive", "tau_f": "positive", "tau_d": "positive"}

    def __post_init__(self):
        _checks.check_choice("STP", "variant", self.variant, VARIANTS)
        _checks.check_fields(self, self._FIELDS, strict=False)
        self._check_u(strict=False)

    def _check_u(self, strict: bool) -> None:
        if _checks.is_concrete_float(self.U, strict) and not bool(jnp.all(jnp.asarray(self.U) <= 1.0)):
            raise ValueError(f"STP: U must be in (0, 1], got {_checks._describe(self.U)}")

    def _validate(self) -> None:
        """Complete checks on concrete values."""
        _checks.check_fields(self, self._FIELDS, strict=True)
        self._check_u(strict=True)

    def init(self, shape: tuple[int, ...], batch_shape: tuple[int, ...] = ()) -> STPState:
        """Rested terminals: ``u = U`` (``"brainpy"``) or 0 (``"tsodyks_markram"``), ``x = 1``; shape
        ``(*batch_shape, *shape)``."""
        full = (*tuple(batch_shape), *tuple(shape))
        dtype = jnp.result_type(float)
        u0 = jnp.asarray(self.U, dtype) if self.variant == "brainpy" else jnp.zeros((), dtype)
        return STPState(u=jnp.broadcast_to(u0, full), x=jnp.ones(full, dtype))

    def update(self, state: STPState, spikes: ArrayLike, *, dt: float) -> tuple[STPState, jax.Array]:
        """Decay over ``dt`` ms, then the jumps of this step's ``spikes`` (``(*batch, n)``, 0 or 1).

        Returns:
          ``(new_state, efficacy)``, the efficacy ``(*batch, n)`` of each spike (0 where none).
        """
        s = jnp.asarray(spikes)
        u = state.u * jnp.exp(-dt / self.tau_f)
        x = 1.0 - (1.0 - state.x) * jnp.exp(-dt / self.tau_d)
        u_new = u + s * self.U * (1.0 - u)
        x_new = x - s * u_new * x
        eff = u_new * (x_new if self.variant == "brainpy" else x)
        return STPState(u=u_new, x=x_new), s * eff
