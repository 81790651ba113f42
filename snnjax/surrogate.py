"""Spike functions: exactly the Heaviside step forward, a smooth surrogate derivative backward.

A spike function is a small frozen (hashable) dataclass, so neuron models keep it in a static field.
``fn(x)`` takes the distance above threshold ``x = v - v_th`` (mV) and returns 1.0 where ``x >= 0`` and
0.0 elsewhere, in ``x``'s dtype; ``jax.grad`` sees ``fn.grad(x)`` instead of the Dirac delta.
"""

from __future__ import annotations

import dataclasses
from functools import partial

import jax
import jax.numpy as jnp


@partial(jax.custom_jvp, nondiff_argnums=(0,))
def _spike(fn: SpikeFunction, x: jax.Array) -> jax.Array:
    return (x >= 0).astype(x.dtype)


@_spike.defjvp
def _spike_jvp(fn, primals, tangents):
    (x,), (dx,) = primals, tangents
    return _spike(fn, x), fn.grad(x) * dx


@dataclasses.dataclass(frozen=True)
class SpikeFunction:
    """Base class: Heaviside forward, ``grad`` backward."""

    def __call__(self, x: jax.Array) -> jax.Array:
        x = jnp.asarray(x)
        if not jnp.issubdtype(x.dtype, jnp.floating):
            x = x.astype(jnp.result_type(float))
        return _spike(self, x)

    def grad(self, x: jax.Array) -> jax.Array:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class Sigmoid(SpikeFunction):
    """Derivative of ``sigmoid(alpha * x)``: ``alpha * s * (1 - s)``; ``alpha`` in 1/mV, > 0."""

    alpha: float = 4.0

    def __post_init__(self):
        if not self.alpha > 0:
            raise ValueError(f"Sigmoid: alpha must be > 0 (1/mV), got {self.alpha!r}")

    def grad(self, x):
        s = jax.nn.sigmoid(self.alpha * x)
        return self.alpha * s * (1.0 - s)


@dataclasses.dataclass(frozen=True)
class FastSigmoid(SpikeFunction):
    """SuperSpike (Zenke & Ganguli 2018): ``1 / (1 + alpha |x|)^2``; ``alpha`` in 1/mV, > 0."""

    alpha: float = 10.0

    def __post_init__(self):
        if not self.alpha > 0:
            raise ValueError(f"FastSigmoid: alpha must be > 0 (1/mV), got {self.alpha!r}")

    def grad(self, x):
        return 1.0 / (1.0 + self.alpha * jnp.abs(x)) ** 2
