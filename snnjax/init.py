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
