"""Initial-value specs for state variables (e.g. a neuron's membrane potential).

Each spec is a small frozen dataclass, hashable so models keep it in a static field, called as
``spec(key, shape, dtype)``. Values are in the unit of the variable they initialise (mV for ``v``).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class Initializer:
    """Base class. ``needs_key`` says whether ``__call__`` uses its random key."""

    needs_key = False

    def __call__(self, key, shape, dtype=None) -> jax.Array:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class Constant(Initializer):
    """Every element equal to ``value``."""

    value: float = 0.0

    def __post_init__(self):
        if not math.isfinite(self.value):
            raise ValueError(f"Constant: value must be finite, got {self.value!r}")

    def __call__(self, key, shape, dtype=None):
        return jnp.full(shape, self.value, dtype or jnp.result_type(float))


@dataclasses.dataclass(frozen=True)
class Normal(Initializer):
    """Independent normal draws with mean ``mean`` and standard deviation ``std`` (>= 0)."""

    mean: float = 0.0
    std: float = 1.0
    needs_key = True

    def __post_init__(self):
        if not (math.isfinite(self.mean) and math.isfinite(self.std) and self.std >= 0):
            raise ValueError(f"Normal: mean must be finite and std finite and >= 0, got {self.mean!r}, {self.std!r}")

    def __call__(self, key, shape, dtype=None):
        dtype = dtype or jnp.result_type(float)
        return self.mean + self.std * jax.random.normal(key, shape, dtype)


@dataclasses.dataclass(frozen=True)
class Uniform(Initializer):
    """Independent uniform draws in ``[low, high)`` (``low <= high``)."""

    low: float = 0.0
    high: float = 1.0
    needs_key = True

    def __post_init__(self):
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low <= self.high):
            raise ValueError(f"Uniform: need finite low <= high, got low={self.low!r}, high={self.high!r}")

    def __call__(self, key, shape, dtype=None):
        dtype = dtype or jnp.result_type(float)
        return jax.random.uniform(key, shape, dtype, self.low, self.high)


@dataclasses.dataclass(frozen=True)
class Blocks(Initializer):
    """Consecutive blocks of a population with their own specs (e.g. one initial-voltage distribution per layer and
    type of a cortical column kept in one population).

    Args:
      sizes: block sizes (ints >= 1, summing to the population's size), in order.
      specs: one spec per block: an :class:`Initializer` or a number.

    Block ``i`` draws with ``fold_in(key, i)`` over the last axis's slice ``[sum(sizes[:i]), sum(sizes[:i + 1]))``
    (a population's state is ``(*batch, size)``; N-D populations are blocked over their flattened index).
    """

    sizes: tuple
    specs: tuple

    def __post_init__(self):
        if not isinstance(self.sizes, tuple) or not isinstance(self.specs, tuple) or len(self.sizes) != len(self.specs):
            raise ValueError(
                f"Blocks: sizes and specs must be tuples of equal length, got {self.sizes!r} and {self.specs!r}"
            )
        for s in self.sizes:
            if isinstance(s, bool) or not isinstance(s, int) or s < 1:
                raise ValueError(f"Blocks: sizes must be ints >= 1, got {self.sizes!r}")
        for s in self.specs:
            if not (isinstance(s, Initializer) or (isinstance(s, (int, float)) and not isinstance(s, bool))):
                raise TypeError(f"Blocks: each spec must be an snnjax.init spec or a number, got {s!r}")
            if isinstance(s, (int, float)) and not math.isfinite(s):
                raise ValueError(f"Blocks: a number spec must be finite, got {s!r}")

    @property
    def needs_key(self) -> bool:  # noqa: D102 -- the base's attribute
        return any(isinstance(s, Initializer) and s.needs_key for s in self.specs)

    def __call__(self, key, shape, dtype=None):
        dtype = dtype or jnp.result_type(float)
        batch, n = tuple(shape[:-1]), math.prod(shape[-1:])
        total = sum(self.sizes)
        if math.prod(shape) // max(math.prod(batch), 1) != total and n != total:
            raise ValueError(f"Blocks: the blocks cover {total} neurons, but the state has shape {tuple(shape)}")
        parts = []
        for i, (size, spec) in enumerate(zip(self.sizes, self.specs)):
            if isinstance(spec, Initializer):
                parts.append(spec(None if key is None else jax.random.fold_in(key, i), (*batch, size), dtype))
            else:
                parts.append(jnp.full((*batch, size), spec, dtype))
        return jnp.concatenate(parts, axis=-1).reshape(shape)
