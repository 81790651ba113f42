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
from snnjax.propagators.dense import Dense
from snnjax.propagators.event import Event
from snnjax.propagators.jit import Jit
from snnjax.propagators.sparse import Sparse
from snnjax.propagators.vector_event import VectorEvent, vector_event

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
