"""Propagators: how a projection's presynaptic spikes become per-neuron synaptic input.

``Projection(method=...)`` takes a registered name or a propagator object (the protocol is in
:mod:`snnjax.propagators.base`). Registered: ``dense``, ``sparse``, ``event``, ``vector_event``, ``jit``;
``auto`` picks the cheapest registered one for ``jax.default_backend()`` (:func:`choose`). A user-written
propagator is a frozen dataclass with the protocol's methods; :func:`register` makes it available by name
and to ``auto``.
"""

from snnjax.propagators.base import (
    DEFAULT_ACTIVITY,
    ProjectionInfo,
    Propagator,
    check_protocol,
    choose,
    costs,
    default_max_events,
    get,
    names,
    register,
    unregister,
)

# the built-in formats' propagators, registered in this order (auto's ties go to the first registered)
# isort: off
from snnjax.formats.dense import Dense
from snnjax.formats.rows.event import Event
from snnjax.formats.jit import Jit
from snnjax.formats.sparse import Sparse
from snnjax.formats.rows.vector_event import VectorEvent
from snnjax.formats.rows.blocks import vector_event
# isort: on

__all__ = [
    "DEFAULT_ACTIVITY",
    "Dense",
    "Event",
    "Jit",
    "ProjectionInfo",
    "Propagator",
    "Sparse",
    "VectorEvent",
    "check_protocol",
    "choose",
    "costs",
    "default_max_events",
    "get",
    "names",
    "register",
    "unregister",
    "vector_event",
]
