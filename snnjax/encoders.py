"""Encoders: analogue values -> spike trains, time on axis 0.

Every encoder returns a float array of 0.0/1.0 spikes of shape ``(n_steps, *batch, n)`` for an input
``x`` of shape ``(*batch, n)`` (any shape works: the time axis is prepended), ready to be passed as an
``'iter'`` input to :func:`snnjax.simulate`. Step ``i`` of the train is the simulation step ``i``
(time stamp ``i * dt`` ms). All are pure and jit/vmap-compatible; random ones take a JAX key, so the
same key gives the same train.

Concrete inputs are checked (probabilities in [0, 1], rates >= 0, ...); traced inputs (inside ``jit``
or ``vmap``) cannot be, so check data before tracing.
"""

from __future__ import annotations

import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike


def _n_steps(owner: str, n_steps) -> int:
    if isinstance(n_steps, bool) or not isinstance(n_steps, numbers.Integral) or n_steps < 1:
        raise ValueError(f"{owner}: n_steps must be an int >= 1, got {n_steps!r}")
    return int(n_steps)


def _float(x: ArrayLike) -> jax.Array:
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.result_type(float))


def _check_range(owner: str, name: str, x, low: float, high: float) -> None:
    """Check a concrete array lies in [low, high] (finite); tracers are skipped."""
    if isinstance(x, jax.core.Tracer):
        return
    arr = np.asarray(x, dtype=float)
    if arr.size and not (np.all(np.isfinite(arr)) and arr.min() >= low and arr.max() <= high):
        note = "" if np.all(np.isfinite(arr)) else " (contains NaN or inf)"
        raise ValueError(
            f"{owner}: {name} must be finite and in [{low:g}, {high:g}], got values in "
            f"[{np.nanmin(arr):g}, {np.nanmax(arr):g}]{note}"
        )


def rate(key: jax.Array, x: ArrayLike, n_steps: int) -> jax.Array:
    """Bernoulli rate code: at every step each unit spikes independently with probability ``x``.

    The spike count of a unit over ``n_steps`` is Binomial(``n_steps``, ``x``): mean ``n_steps x``.

    Args:
      key: JAX random key.
      x: spike probability per step, dimensionless, in [0, 1]; shape ``(*batch, n)``.
      n_steps: number of steps, >= 1.

    Returns:
      ``(n_steps, *batch, n)`` spikes (0.0/1.0, ``x``'s float dtype).
    """
    n_steps = _n_steps("rate", n_steps)
    _check_range("rate", "x (spike probability per step)", x, 0.0, 1.0)
    x = _float(x)
    return jax.random.bernoulli(key, x, (n_steps, *x.shape)).astype(x.dtype)


def poisson(key: jax.Array, rate_hz: ArrayLike, n_steps: int, dt: float) -> jax.Array:
    """Poisson spike trains at ``rate_hz``, binned in steps of ``dt`` ms (at most one spike per step).

    A step holds a spike with probability ``1 - exp(-rate_hz * dt / 1000)``, the probability that a
    Poisson process has at least one event in the bin; so the train is the exact binning of a Poisson
    process (several events in one bin count as one spike), as :class:`snnjax.inputs.PoissonGroup`'s.
    The mean rate is therefore ``(1 - exp(-rate_hz dt / 1000)) 1000 / dt`` Hz, slightly below ``rate_hz``
    (by about ``rate_hz dt / 2000`` relative); Brian2's and BrainPy's ``rate dt / 1000`` is its first order.

    Args:
      key: JAX random key.
      rate_hz: firing rate, Hz (spikes/s), >= 0; shape ``(*batch, n)``.
      n_steps: number of steps, >= 1.
      dt: step, ms, > 0.

    Returns:
      ``(n_steps, *batch, n)`` spikes (0.0/1.0).
    """
    n_steps = _n_steps("poisson", n_steps)
    if isinstance(dt, bool) or not isinstance(dt, numbers.Real) or not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"poisson: dt must be a finite number of ms > 0, got {dt!r}")
    _check_range("poisson", "rate_hz", rate_hz, 0.0, math.inf)
    r = _float(rate_hz)
    p = -jnp.expm1(-r * (dt / 1000.0))
    return jax.random.bernoulli(key, p, (n_steps, *r.shape)).astype(r.dtype)


def latency(
    x: ArrayLike,
    n_steps: int,
    *,
    method: str = "linear",
    threshold: float = 0.0,
    tau: float = 1.0,
) -> jax.Array:
    """Latency (time-to-first-spike) code: one spike per unit, earlier for larger ``x``; none at or below ``threshold``.

    * ``'linear'``: ``x`` in [0, 1]; the spike is at step ``round((1 - x) * (n_steps - 1))`` (``x = 1``
      at step 0, ``x -> 0`` at the last step) for ``x > threshold``.
    * ``'rc'``: the time an RC membrane (time constant ``tau`` steps) charged by a constant input ``x``
      from 0 takes to reach ``threshold`` (> 0): step ``floor(tau * ln(x / (x - threshold)))`` for
      ``x > threshold``, no spike if that is ``>= n_steps``; ``x >= 0``, any magnitude.

    Args:
      x: intensities, shape ``(*batch, n)`` (dimensionless).
      n_steps: number of steps, >= 1.
      method: ``'linear'`` or ``'rc'``.
      threshold: ``x`` at or below which a unit stays silent (``'rc'``: the membrane threshold, > 0).
      tau: ``'rc'`` only: membrane time constant in steps, > 0.

    Returns:
      ``(n_steps, *batch, n)`` spikes (0.0/1.0), at most one per unit.
    """
    n_steps = _n_steps("latency", n_steps)
    x = _float(x)
    if method == "linear":
        _check_range("latency", "x", x, 0.0, 1.0)
        index = jnp.round((1.0 - x) * (n_steps - 1))
    elif method == "rc":
        if not (isinstance(threshold, numbers.Real) and threshold > 0):
            raise ValueError(f"latency: with method='rc', threshold must be > 0, got {threshold!r}")
        if not (isinstance(tau, numbers.Real) and math.isfinite(tau) and tau > 0):
            raise ValueError(f"latency: tau must be a finite number of steps > 0, got {tau!r}")
        _check_range("latency", "x", x, 0.0, math.inf)
        above = x > threshold
        safe = jnp.where(above, x, 2.0 * threshold)  # keeps the log finite where the unit is silent anyway
        index = jnp.floor(tau * jnp.log(safe / (safe - threshold)))
    else:
        raise ValueError(f"latency: method must be one of ('linear', 'rc'), got {method!r}")
    fires = (x > threshold) & (index < n_steps)
    steps = jnp.arange(n_steps, dtype=x.dtype).reshape((n_steps,) + (1,) * x.ndim)
    return ((steps == index) & fires).astype(x.dtype)


def delta(x: ArrayLike, threshold: float, *, off: bool = False) -> jax.Array:
    """Delta (change) code of an analogue signal over time: a spike where it rose by ``threshold`` or more
    since the previous step.

    Step 0 has no previous value and never spikes. With ``off``, falls by ``threshold`` or more give
    spikes on a second set of channels.

    Args:
      x: signal, shape ``(n_steps, *batch, n)`` (time on axis 0, any unit).
      threshold: change that triggers a spike, same unit as ``x``, > 0.
      off: also emit spikes for decreases.

    Returns:
      ``(n_steps, *batch, n)`` spikes, or ``(n_steps, *batch, 2 n)`` with ``off`` (increases in the
      first ``n`` channels, decreases in the last ``n``).
    """
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not threshold > 0:
        raise ValueError(f"delta: threshold must be a number > 0 (the unit of x), got {threshold!r}")
    x = _float(x)
    if x.ndim < 1:
        raise ValueError(f"delta: x must have a time axis first, shape (n_steps, ...), got shape {x.shape}")
    change = jnp.concatenate([jnp.zeros_like(x[:1]), jnp.diff(x, axis=0)], axis=0)
    on = (change >= threshold).astype(x.dtype)
    if not off:
        return on
    return jnp.concatenate([on, (change <= -threshold).astype(x.dtype)], axis=-1)
