"""Spike functions: exactly the Heaviside step forward, a smooth surrogate derivative backward.

A spike function is a small frozen (hashable) dataclass, so neuron models keep it in a static field
(``LIF(..., spike_fn=Arctan(alpha=2.))``). ``fn(x)`` takes the distance above threshold ``x = v - v_th``
(mV) and returns 1.0 where ``x >= 0`` and 0.0 elsewhere (so ``x == 0`` spikes, for every spike function),
in ``x``'s floating dtype; ``jax.grad`` sees ``fn.grad(x)`` (1/mV) instead of the Dirac delta.
``fn.smooth(x)`` is the smooth step whose derivative is ``fn.grad`` (for plots and tests).

Available: :class:`Sigmoid`, :class:`FastSigmoid` (SuperSpike), :class:`Arctan`, :class:`PiecewiseLinear`
(triangle), :class:`Gaussian`, :class:`MultiGaussian`. All but ``FastSigmoid`` (whose peak is 1, as in
Zenke & Ganguli 2018; area ``2 / alpha``) and ``MultiGaussian`` (whose negative side lobes leave an area of
``1 - h``, as in Yin et al. 2021) are normalised so that ``grad`` integrates to 1 over ``x``, i.e.
``smooth`` goes from 0 to 1. Parameters are
Python floats (static: they key jit's cache); to learn a surrogate width, write your own spike function.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from functools import partial
from typing import ClassVar

import jax
import jax.numpy as jnp
from jax.scipy.special import erf


@partial(jax.custom_jvp, nondiff_argnums=(0,))
def _spike(fn: SpikeFunction, x: jax.Array) -> jax.Array:
    return (x >= 0).astype(x.dtype)


@_spike.defjvp
def _spike_jvp(fn, primals, tangents):
    (x,), (dx,) = primals, tangents
    return _spike(fn, x), (fn.grad(x) * dx).astype(x.dtype)


def _positive(owner: str, name: str, value, unit: str) -> float:
    """A finite Python number > 0, returned as float (static fields must be hashable)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{owner}: {name} must be a Python number ({unit}), got {value!r} of type {type(value).__name__}"
        )
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{owner}: {name} must be a finite number > 0 ({unit}), got {value!r}")
    return v


@dataclasses.dataclass(frozen=True)
class SpikeFunction:
    """Base class: Heaviside forward (1 at ``x >= 0``), ``grad`` backward.

    Subclasses define ``grad(x)`` (the surrogate derivative, 1/mV) and ``smooth(x)`` (its primitive,
    from 0 at ``-inf``), and check their parameters in ``__post_init__`` with ``_params``.
    """

    _params: ClassVar[tuple] = ()  # (field name, unit) pairs checked and converted to float

    def __post_init__(self):
        for name, unit in type(self)._params:
            object.__setattr__(self, name, _positive(type(self).__name__, name, getattr(self, name), unit))

    def __call__(self, x: jax.Array) -> jax.Array:
        """Heaviside step of ``x`` (mV above threshold, any shape): 1.0 where ``x >= 0``, else 0.0."""
        x = jnp.asarray(x)
        if not jnp.issubdtype(x.dtype, jnp.floating):
            x = x.astype(jnp.result_type(float))
        return _spike(self, x)

    def grad(self, x: jax.Array) -> jax.Array:  # pragma: no cover - abstract
        """Surrogate derivative at ``x`` (1/mV), same shape as ``x``."""
        raise NotImplementedError

    def smooth(self, x: jax.Array) -> jax.Array:  # pragma: no cover - abstract
        """The smooth step whose derivative is ``grad`` (dimensionless), same shape as ``x``."""
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class Sigmoid(SpikeFunction):
    """Derivative of ``sigmoid(alpha x)``: ``alpha s (1 - s)``, ``s = sigmoid(alpha x)``.

    Args:
      alpha: slope, 1/mV, > 0 (peak of ``grad`` is ``alpha / 4`` at ``x = 0``).
    """

    alpha: float = 4.0
    _params = (("alpha", "1/mV"),)

    def grad(self, x):
        # s (1 - s) written as sigmoid(ax) sigmoid(-ax): no cancellation in 1 - s for large x
        return self.alpha * jax.nn.sigmoid(self.alpha * x) * jax.nn.sigmoid(-self.alpha * x)

    def smooth(self, x):
        return jax.nn.sigmoid(self.alpha * x)


@dataclasses.dataclass(frozen=True)
class FastSigmoid(SpikeFunction):
    """SuperSpike (Zenke & Ganguli 2018): ``grad = 1 / (1 + alpha |x|)^2`` (peak 1 at ``x = 0``).

    Args:
      alpha: slope, 1/mV, > 0; ``grad`` integrates to ``2 / alpha``.
    """

    alpha: float = 10.0
    _params = (("alpha", "1/mV"),)

    def grad(self, x):
        return 1.0 / (1.0 + self.alpha * jnp.abs(x)) ** 2

    def smooth(self, x):
        # primitive of grad that is 0 at -inf: x / (1 + alpha |x|) + 1 / alpha
        return x / (1.0 + self.alpha * jnp.abs(x)) + 1.0 / self.alpha


@dataclasses.dataclass(frozen=True)
class Arctan(SpikeFunction):
    """Arctangent (Fang et al. 2021, SpikingJelly's ``ATan``): smooth step
    ``arctan(pi alpha x / 2) / pi + 1/2``, ``grad = (alpha / 2) / (1 + (pi alpha x / 2)^2)``.

    Args:
      alpha: slope, 1/mV, > 0 (peak of ``grad`` is ``alpha / 2``).
    """

    alpha: float = 2.0
    _params = (("alpha", "1/mV"),)

    def grad(self, x):
        return (self.alpha / 2.0) / (1.0 + (math.pi / 2.0 * self.alpha * x) ** 2)

    def smooth(self, x):
        return jnp.arctan(math.pi / 2.0 * self.alpha * x) / math.pi + 0.5


@dataclasses.dataclass(frozen=True)
class PiecewiseLinear(SpikeFunction):
    """Triangle (Esser et al. 2016; Bellec et al. 2018): ``grad = max(0, 1 - |x| / width) / width``.

    Args:
      width: half-width of the triangle, mV, > 0 (``grad`` is 0 for ``|x| >= width``, peak ``1 / width``).
    """

    width: float = 1.0
    _params = (("width", "mV"),)

    def grad(self, x):
        return jnp.maximum(0.0, 1.0 - jnp.abs(x) / self.width) / self.width

    def smooth(self, x):
        u = jnp.clip(x / self.width, -1.0, 1.0)
        return 0.5 + u - 0.5 * u * jnp.abs(u)


def _normal_pdf(x, mu, sigma):
    return jnp.exp(-0.5 * ((x - mu) / sigma) ** 2) / (math.sqrt(2.0 * math.pi) * sigma)


def _normal_cdf(x, mu, sigma):
    return 0.5 * (1.0 + erf((x - mu) / (math.sqrt(2.0) * sigma)))


@dataclasses.dataclass(frozen=True)
class Gaussian(SpikeFunction):
    """Gaussian: ``grad = exp(-x^2 / (2 sigma^2)) / (sqrt(2 pi) sigma)``, smooth step the normal CDF.

    Args:
      sigma: standard deviation, mV, > 0.
    """

    sigma: float = 0.5
    _params = (("sigma", "mV"),)

    def grad(self, x):
        return _normal_pdf(x, 0.0, self.sigma)

    def smooth(self, x):
        return _normal_cdf(x, 0.0, self.sigma)


@dataclasses.dataclass(frozen=True)
class MultiGaussian(SpikeFunction):
    """Multi-Gaussian (Yin, Corradi & Bohté 2021, after Wu et al. 2018's Gaussian):
    ``grad = (1 + h) N(x; 0, sigma) - h N(x; sigma, s sigma) - h N(x; -sigma, s sigma)``, with ``N``
    the normalised normal density; the two wide negative lobes push sub- and supra-threshold
    potentials apart. ``grad`` integrates to ``1 - h``.

    Args:
      sigma: width of the central Gaussian (and offset of the side lobes), mV, > 0 (paper: 0.5).
      h: weight of the negative side lobes, > 0 (paper: 0.15).
      s: width of the side lobes relative to ``sigma``, > 0 (paper: 6).
    """

    sigma: float = 0.5
    h: float = 0.15
    s: float = 6.0
    _params = (("sigma", "mV"), ("h", "dimensionless"), ("s", "dimensionless"))

    def grad(self, x):
        wide = self.s * self.sigma
        return (1.0 + self.h) * _normal_pdf(x, 0.0, self.sigma) - self.h * (
            _normal_pdf(x, self.sigma, wide) + _normal_pdf(x, -self.sigma, wide)
        )

    def smooth(self, x):
        wide = self.s * self.sigma
        return (1.0 + self.h) * _normal_cdf(x, 0.0, self.sigma) - self.h * (
            _normal_cdf(x, self.sigma, wide) + _normal_cdf(x, -self.sigma, wide)
        )
