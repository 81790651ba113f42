"""Helpers shared by the neuron models: the Inferno group contract, checks, initial values, integrators."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from snnjax import _checks
from snnjax.init import Initializer
from snnjax.surrogate import SpikeFunction

RESET_MODES = ("value", "subtract")


class NeuronGroup:
    """Mixin (no fields) for neuron dataclasses with a static ``size``, a ``_FIELDS`` spec and ``spike_fn``.

    Gives ``shape``, ``count``, the two check tiers and ``_initial`` for initial values.
    """

    _FIELDS: dict[str, str | None] = {}
    _INITS: tuple[str, ...] = ("v_init",)  # static fields that are initial values (None, float or Initializer)

    def __post_init__(self):
        _checks.check_fields(self, self._FIELDS, strict=False, shape=self.shape)
        self._check_static()

    def _validate(self) -> None:
        """Complete checks on concrete values (run by ``Network``, ``Runner`` and ``simulate``)."""
        _checks.check_fields(self, self._FIELDS, strict=True, shape=self.shape)
        self._check_static()

    def _check_static(self) -> None:
        name = type(self).__name__
        for f in self._INITS:
            val = getattr(self, f)
            if isinstance(val, bool) or not (val is None or isinstance(val, (int, float, Initializer))):
                raise TypeError(f"{name}: {f} must be None, a float (mV) or an snnjax.init spec, got {val!r}")
            if isinstance(val, (int, float)) and not math.isfinite(val):
                raise ValueError(f"{name}: {f} must be a finite number, got {val!r}")
        if not isinstance(self.spike_fn, SpikeFunction):
            raise TypeError(f"{name}: spike_fn must be an snnjax.surrogate.SpikeFunction, got {self.spike_fn!r}")
        if hasattr(self, "reset_mode"):
            _checks.check_choice(name, "reset_mode", self.reset_mode, RESET_MODES)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the group (without batch dimensions)."""
        return _checks.normalize_shape(type(self).__name__, self.size)

    @property
    def count(self) -> int:
        """Number of neurons in the group."""
        n = 1
        for s in self.shape:
            n *= s
        return n

    def _initial(self, spec: Any, default: Any, shape: tuple[int, ...], key: jax.Array | None, what: str) -> jax.Array:
        """Initial array of ``shape`` from ``spec`` (None -> ``default``, float, or Initializer)."""
        dtype = jnp.result_type(float)
        if spec is None:
            return jnp.broadcast_to(jnp.asarray(default, dtype), shape)
        if isinstance(spec, Initializer):
            if spec.needs_key and key is None:
                raise ValueError(
                    f"{type(self).__name__}.init: {what}={spec!r} is random, so init needs key=jax.random.key(...)"
                )
            return spec(key, shape, dtype)
        return jnp.full(shape, spec, dtype)


def exprel(x: jax.Array) -> jax.Array:
    """``(exp(x) - 1) / x``, 1 at ``x = 0`` (safe for gradients)."""
    small = jnp.abs(x) < 1e-6
    xs = jnp.where(small, 1.0, x)
    return jnp.where(small, 1.0 + 0.5 * x, jnp.expm1(xs) / xs)


def exp_euler(x: jax.Array, f: jax.Array, jac: jax.Array, dt: float) -> jax.Array:
    """Exponential Euler step ``x + dt * exprel(J dt) * f`` (BrainPy's ``exp_auto``; Brian2's
    ``exponential_euler`` when ``f`` is linear in ``x``): exact for ``dx/dt = J x + const``."""
    return x + dt * exprel(jac * dt) * f


def refractory(refrac: jax.Array, dt: float) -> jax.Array:
    """True where a neuron is still refractory: counts whole steps, ``round(tau_ref / dt)`` held steps."""
    return refrac > 0.5 * dt


def next_refrac(spike: jax.Array, refrac: jax.Array, tau_ref: Any, dt: float, shape) -> jax.Array:
    """Remaining refractory time (ms) after a step: ``tau_ref`` on a spike, else counted down by ``dt``."""
    return jnp.broadcast_to(jnp.where(spike > 0, tau_ref, jnp.maximum(refrac - dt, 0.0)), shape)


def reset_v(v: jax.Array, spike: jax.Array, v_th: Any, v_reset: Any, mode: str) -> jax.Array:
    """Reset after a spike with the spike detached: ``'value'``: ``v = v_reset``; ``'subtract'``:
    ``v -= v_th - v_reset`` (BrainPy's ``spk_reset='soft'``, snnTorch's ``reset_mechanism='subtract'``)."""
    s = jax.lax.stop_gradient(spike)
    if mode == "subtract":
        return v - s * (v_th - v_reset)
    return jnp.where(s > 0, v_reset, v)  # same gradient as v + s (v_reset - v), and no inf - inf


def fire(spike_fn: SpikeFunction, x: jax.Array, refr: jax.Array) -> jax.Array:
    """``spike_fn(x)`` (``x = v - threshold``, mV), but never while refractory (as Brian2's ``not_refractory``)."""
    return spike_fn(x) * jax.lax.stop_gradient(jnp.logical_not(refr).astype(x.dtype))
