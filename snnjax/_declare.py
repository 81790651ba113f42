"""What neuron models (:class:`snnjax.neurons.ODENeuron`), synapse kinetics (:class:`snnjax.synapses.Kinetics`) and
plasticity rules (:class:`snnjax.plasticity.Rule`) share: their declared state entries and the ``flax.struct``
state class generated from them."""

from __future__ import annotations

from typing import Any

import jax
from flax import struct


def spec(entry: Any) -> tuple[Any, str]:
    """A declared state entry -> ``(initial value, doc)``: ``(value, "doc")`` or a bare value (doc ``""``)."""
    return entry if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], str) else (entry, "")


def state_class(cls: type, docs: dict[str, str], summary: str, namespace: dict | None = None) -> type:
    """The ``flax.struct`` dataclass ``<cls>State`` with one array field per entry of ``docs`` (name -> doc, in
    order; an empty doc reads "state variable."), documented by ``summary`` and an Attributes list; ``namespace``
    adds to the class body (field specifiers such as ``snnjax.axes.field``, properties)."""
    lines = "\n".join(f"      {n}: {d or 'state variable.'}" for n, d in docs.items())
    ns = {
        "__annotations__": {n: jax.Array for n in docs},
        "__doc__": f"{summary}\n\n    Attributes:\n{lines}\n    ",
        "__module__": cls.__module__,
        "__qualname__": f"{cls.__name__}State",
        **(namespace or {}),
    }
    return struct.dataclass(type(f"{cls.__name__}State", (), ns))
