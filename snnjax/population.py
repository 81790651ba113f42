"""The base of every population: neuron models, readouts and spike sources.

:class:`Population` states what :class:`snnjax.Network`, :class:`snnjax.Runner` and :func:`snnjax.simulate` need of
a population, and declares the hooks by which the engine treats kinds of populations differently, so that no
module asks "is this a ``PoissonGroup``?":

* members: ``shape`` (tuple of ints, without batch axes), ``count`` (``prod(shape)``), ``init(batch_shape=(),
  key=None)`` (the state: a ``flax.struct`` dataclass whose fields have shape ``(*batch_shape, *shape)`` and include
  ``spike``, 1.0 where the neuron fired during the last step) and ``update(state, current, *, dt)`` (one step of
  ``dt`` ms with ``current`` held over it); optionally ``_validate()``, run once on the concrete tree;
* hooks (class attributes, overridden by the kinds that differ):

  - ``TAKES_INPUT`` (default ``True``): projections, drives and inputs may add to it. ``False`` for spike sources,
    whose spikes are given, not computed: a projection onto one must have ``output=None`` (it only learns);
  - ``SPLITTABLE`` (default ``True``): a sharded network may split it over devices by neuron index. ``False`` for
    sources whose spikes are listed by neuron index (``SpikeTimeGroup``) or given whole (``SpikeArray``);
  - ``ZERO_GRADIENT`` (default ``()``): its parameters whose gradient is zero by construction (a Poisson rate, spike
    times), which :func:`snnjax.trainable` leaves out.

The built-in models and sources subclass it. Any object with the four members counts as one for ``isinstance``
(as a protocol would) and gets the defaults of the hooks (:func:`hook`); subclass it to declare other values.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

__all__ = ["MEMBERS", "Population", "hook"]

MEMBERS = ("shape", "count", "init", "update")
_DEFAULTS = {"TAKES_INPUT": True, "SPLITTABLE": True, "ZERO_GRADIENT": ()}


class Population(abc.ABC):  # noqa: B024 - no abstract method: duck-typed populations count too (__subclasshook__)
    """Base of neuron models, readouts and spike sources (members and hooks in the module docstring).

    Attributes:
      shape: the group's shape without batch dimensions, a tuple of ints (e.g. ``(100,)`` or ``(28, 28)``).
      count: the number of neurons, ``prod(shape)``; presynaptic spikes are read flattened to ``(*batch, count)``.
      TAKES_INPUT: class attribute, whether projections, drives and inputs may add to it (default True).
      SPLITTABLE: class attribute, whether a sharded network may split it by neuron index (default True).
      ZERO_GRADIENT: class attribute, names of its parameters whose gradient is zero by construction.
    """

    TAKES_INPUT: ClassVar[bool] = True
    SPLITTABLE: ClassVar[bool] = True
    ZERO_GRADIENT: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def __subclasshook__(cls, other: type) -> Any:
        def has(m: str) -> bool:  # a method, property or class attribute, or a (dataclass) field annotation
            return any(m in base.__dict__ or m in base.__dict__.get("__annotations__", {}) for base in other.__mro__)

        if cls is Population and all(has(m) for m in MEMBERS):
            return True
        return NotImplemented


def hook(pop: Any, name: str) -> Any:
    """The value of the hook ``name`` (``"TAKES_INPUT"``, ``"SPLITTABLE"``, ``"ZERO_GRADIENT"``) for ``pop``: its
    own, else :class:`Population`'s default (a duck-typed population that does not subclass it)."""
    if name not in _DEFAULTS:
        raise ValueError(f"hook: name must be one of {sorted(_DEFAULTS)}, got {name!r}")
    return getattr(pop, name, _DEFAULTS[name])
