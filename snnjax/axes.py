"""Which axis of a state leaf runs over what: declared, never inferred from a length.

A sharded network (:mod:`snnjax.sharding`) splits every state leaf over the devices along its last axis, and must
know what that axis counts: the postsynaptic neurons (``POST``: kinetics, a ring of future input, a rule's
postsynaptic traces), the presynaptic neurons (``PRE``: pre-aligned kinetics, STP, a rule's presynaptic traces,
kept whole on every device), the synapses (``SYN``: plastic weights, eligibility), or nothing (``REP``: the same on
every device). Guessing it from lengths fails exactly when two of them are equal (``n_syn == n_post``, e.g.
``One2One``), so each leaf declares it:

* a plasticity rule's state fields carry ``axis`` metadata: ``w: jax.Array = snnjax.axes.field(SYN)``;
* a projection knows the rest from where the leaf sits (:meth:`snnjax.Projection.state_axes`);
* a population's state leaves run over its neurons (the :class:`~snnjax.neurons.Population` protocol), keys excepted.

With per-synapse delays a presynaptic state is kept per synapse, so ``PRE`` then means ``SYN``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from flax import struct

POST = "post"
PRE = "pre"
SYN = "syn"
REP = "rep"
KINDS = (POST, PRE, SYN, REP)

__all__ = ["KINDS", "POST", "PRE", "REP", "SYN", "declared", "field"]


def field(axis: str, **kwargs: Any) -> Any:
    """A ``flax.struct`` dataclass field (a pytree leaf) declaring the axis its last dimension runs over."""
    if axis not in KINDS:
        raise ValueError(f"axes.field: axis must be one of {KINDS}, got {axis!r}")
    return struct.field(pytree_node=True, metadata={"axis": axis}, **kwargs)


def declared(state: Any, owner: str) -> Any:
    """``state`` (a dataclass) with every non-None field replaced by its declared axis; ``TypeError`` naming the
    fields that declare none."""
    if state is None:
        return None
    missing = [
        f.name for f in dataclasses.fields(state) if getattr(state, f.name) is not None and "axis" not in f.metadata
    ]
    if missing:
        raise TypeError(
            f"{owner}: the state {type(state).__name__} does not declare the axis of its fields {missing}: give each "
            "field snnjax.axes.field(axis) with axis one of 'syn' (per synapse), 'pre' (per presynaptic neuron), "
            "'post' (per postsynaptic neuron) or 'rep' (not split)"
        )
    return state.replace(
        **{f.name: f.metadata["axis"] for f in dataclasses.fields(state) if getattr(state, f.name) is not None}
    )
