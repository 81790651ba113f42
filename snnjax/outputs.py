"""Synaptic outputs: how a projection's synaptic variable ``g`` acts on the postsynaptic group.

``contribution(g, post_state)`` returns what is added to the postsynaptic state field named by
``target``: ``"input"`` (the summed input current of the step, nA) or a state variable such as
``"v"`` (a jump, in that variable's unit; never ``"spike"``, which the group recomputes every step).

The conductance outputs (:class:`COBA`, :class:`MgBlock`) have ``check_weight(weight)``, which raises
``ValueError`` for a negative concrete weight (a negative conductance), for the projection to call on its
weight before the run.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.typing import ArrayLike

from snnjax import _checks


@struct.dataclass
class CUBA:
    """Current-based output: adds ``g`` to the postsynaptic input current (nA), or, with
    ``target="v"``, adds ``g`` (mV) straight to the membrane potential before the neuron's update."""

    target: str = struct.field(pytree_node=False, default="input")

    def __post_init__(self):
        if not isinstance(self.target, str) or not self.target:
            raise TypeError(f"CUBA: target must be 'input' or a state field name such as 'v', got {self.target!r}")
        if self.target == "spike":
            # the jump lands before the neuron's update, which overwrites 'spike': it would do nothing at all
            raise ValueError(
                "CUBA: target must be 'input' or a state variable other than 'spike' (such as 'v'), got 'spike': "
                "a group recomputes its spikes in every step, so a jump into 'spike' is lost"
            )

    def contribution(self, g: jax.Array, post_state) -> jax.Array:
        """``g`` itself."""
        return g


def _check_conductance(owner: str, weight) -> None:
    """Raise ``ValueError`` if a concrete weight has a negative entry (tracers and ``None`` pass)."""
    if weight is None or isinstance(weight, jax.core.Tracer):
        return
    w = np.asarray(weight)
    if not (_checks.is_real_dtype(w.dtype) or w.dtype == bool):  # bfloat16 is checked like float16
        return
    if w.size and np.nanmin(w) < 0:
        raise ValueError(
            f"{owner}: weight is a conductance and must be >= 0, got a minimum of {float(np.nanmin(w)):g}; for an "
            "inhibitory synapse keep the weight positive and give a reversal potential below rest (e.g. COBA(E=-80.))"
        )


@struct.dataclass
class COBA:
    """Conductance-based output: current ``I = g (E - v)`` into the postsynaptic input.

    ``g`` is relative to the leak conductance when the neuron has ``r = 1`` (then ``I`` is in mV, as in
    BrainPy's COBA benchmark); with ``g`` in uS and ``r`` in MOhm, ``I`` is in nA.

    Args:
      E: reversal potential, mV.
    """

    E: ArrayLike = 0.0
    target: str = struct.field(pytree_node=False, default="input")

    def __post_init__(self):
        _checks.check_fields(self, {"E": None}, strict=False)
        if self.target != "input":
            raise ValueError(f"COBA: target must be 'input' (a conductance drives a current), got {self.target!r}")

    def _validate(self) -> None:
        """Complete checks on concrete values."""
        _checks.check_fields(self, {"E": None}, strict=True)

    def check_weight(self, weight: ArrayLike) -> None:
        """Raise ``ValueError`` if a concrete ``weight`` (the conductance: scalar, ``(K,)`` or dense) is negative.

        A negative conductance reverses the driving force (an excitatory reversal potential would then
        hyperpolarise), which is never meant; traced weights are not checked.
        """
        _check_conductance("COBA", weight)

    def contribution(self, g: jax.Array, post_state) -> jax.Array:
        """``g (E - v_post)``, with ``v_post`` the postsynaptic potential at the start of the step."""
        return g * (self.E - post_state.v)


@struct.dataclass
class MgBlock:
    """Conductance-based output with the NMDA magnesium block (BrainPy's ``MgBlock``):

    ``I = g (E - v) / (1 + (cc_Mg / beta) exp(-alpha v))`` into the postsynaptic input, with ``v`` the
    postsynaptic potential (mV) at the start of the step. Units of ``g`` and ``I`` as for :class:`COBA`.

    Args:
      E: reversal potential, mV.
      cc_Mg: extracellular magnesium concentration, mM, >= 0.
      alpha: voltage sensitivity of the block, 1/mV.
      beta: magnesium dissociation constant, mM, > 0.
    """

    E: ArrayLike = 0.0
    cc_Mg: ArrayLike = 1.2
    alpha: ArrayLike = 0.062
    beta: ArrayLike = 3.57
    target: str = struct.field(pytree_node=False, default="input")

    _FIELDS = {"E": None, "cc_Mg": "nonnegative", "alpha": None, "beta": "positive"}

    def __post_init__(self):
        _checks.check_fields(self, self._FIELDS, strict=False)
        if self.target != "input":
            raise ValueError(f"MgBlock: target must be 'input' (a conductance drives a current), got {self.target!r}")

    def _validate(self) -> None:
        """Complete checks on concrete values."""
        _checks.check_fields(self, self._FIELDS, strict=True)

    def check_weight(self, weight: ArrayLike) -> None:
        """Raise ``ValueError`` if a concrete ``weight`` (the conductance) is negative, as :meth:`COBA.check_weight`."""
        _check_conductance("MgBlock", weight)

    def unblocked(self, v: jax.Array) -> jax.Array:
        """Fraction of unblocked channels at potential ``v`` (mV), in (0, 1]."""
        return 1.0 / (1.0 + self.cc_Mg / self.beta * jnp.exp(-self.alpha * v))

    def contribution(self, g: jax.Array, post_state) -> jax.Array:
        """``g (E - v_post) B(v_post)`` with ``B`` = :meth:`unblocked`."""
        return g * (self.E - post_state.v) * self.unblocked(post_state.v)
