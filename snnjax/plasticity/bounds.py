"""Weight bounds shared by the projection rules and the Inferno view's local rules: hard (clip) and soft
(multiplicative)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.typing import ArrayLike

from snnjax import _checks

__all__ = ["HardBounds", "SoftBounds", "bounded"]
BOUNDS = ("hard", "soft")


def bounded(kind: str, weight, potentiation, depression, w_min, w_max) -> jax.Array:
    """One bounded weight update: ``clip(w + pot - dep, w_min, w_max)`` (``kind="hard"``) or ``w + (w_max - w) pot -
    (w - w_min) dep`` (``"soft"``), the arithmetic of :class:`HardBounds` / :class:`SoftBounds` (infinite bounds are
    fine here: no dataclass is built)."""
    if kind == "soft":
        return weight + (w_max - weight) * potentiation - (weight - w_min) * depression
    return jnp.clip(weight + potentiation - depression, w_min, w_max)


@struct.dataclass
class _Bounds:
    """Weight bounds ``w_min < w_max`` (weight units), scalars or broadcastable to the weights."""

    w_min: ArrayLike = 0.0
    w_max: ArrayLike = 1.0

    def __post_init__(self):
        """Python/NumPy float bounds (what users type) must be finite with ``w_min < w_max``; others pass."""
        owner = type(self).__name__
        for name in ("w_min", "w_max"):
            _checks.check_real(owner, name, getattr(self, name), strict=False)
        # ints are skipped, as in every __post_init__: jax.tree.map(lambda _: 0, bounds) must not raise
        if all(_checks.is_concrete_float(v, strict=False) for v in (self.w_min, self.w_max)) and not np.all(
            np.asarray(self.w_min) < np.asarray(self.w_max)
        ):
            raise ValueError(f"{owner}: w_min must be < w_max, got w_min={self.w_min!r}, w_max={self.w_max!r}")


@struct.dataclass
class HardBounds(_Bounds):
    """Hard weight bounds: ``clip(w + pot - dep, w_min, w_max)``.

    Args:
      w_min: smallest weight (weight units), scalar or broadcastable to the weights.
      w_max: largest weight (weight units), ``> w_min``.
    """

    def __call__(self, weight: jax.Array, potentiation: jax.Array, depression: jax.Array) -> jax.Array:
        """New weights from the weights and the (nonnegative) potentiation and depression, all weight-shaped."""
        return bounded("hard", weight, potentiation, depression, self.w_min, self.w_max)


@struct.dataclass
class SoftBounds(_Bounds):
    """Soft (multiplicative) weight bounds: ``w + (w_max - w) pot - (w - w_min) dep``.

    Potentiation shrinks as ``w`` approaches ``w_max`` and depression as it approaches ``w_min``; weights in
    ``[w_min, w_max]`` stay there as long as ``pot, dep <= 1`` per update (then the new weight is a convex
    combination of ``w`` and a bound), which holds for amplitudes ``<= 1`` and sparse spikes.

    Args:
      w_min: smallest weight (weight units), scalar or broadcastable to the weights.
      w_max: largest weight (weight units), ``> w_min``.
    """

    def __call__(self, weight: jax.Array, potentiation: jax.Array, depression: jax.Array) -> jax.Array:
        """New weights from the weights and the (nonnegative) potentiation and depression, all weight-shaped."""
        return bounded("soft", weight, potentiation, depression, self.w_min, self.w_max)
