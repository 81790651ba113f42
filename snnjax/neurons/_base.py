"""Helpers shared by the neuron models: the Inferno group contract, checks, initial values, integrators."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from snnjax import _checks
from snnjax.delays import device_time_steps, time_steps
from snnjax.init import Initializer
from snnjax.population import Population
from snnjax.surrogate import SpikeFunction

RESET_MODES = ("value", "subtract")


class NeuronGroup(Population):
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


def refractory_steps(tau_ref: Any, dt: float) -> Any:
    """Whole steps a neuron is held after a spike, by the package's one rule from ms to steps
    (:func:`snnjax.delays.time_steps`: ``floor(q + 1/2)`` with ``q = tau_ref / dt`` first rounded to 9 significant
    digits, 6 when ``tau_ref`` is float32 or narrower); unlike a delay, no minimum (``tau_ref = 0`` is no
    refractoriness).

    So half steps round up and whole steps stay whole: at ``dt = 0.1`` ms, 0.15 ms holds 2 steps, 0.25 ms 3,
    0.35 ms 4 (``0.35 / 0.1 = 3.4999999999999996`` in float64), 0.75 ms 8. Concrete ``tau_ref`` (and ``dt``)
    are decided on the host in float64 and reach the device as ints; a traced ``tau_ref`` (a sweep under
    ``vmap``, a learned one) gets the same rule on the device in its own precision
    (:func:`snnjax.delays.device_time_steps`).
    """
    if not isinstance(tau_ref, jax.core.Tracer) and not isinstance(dt, jax.core.Tracer):
        return time_steps(tau_ref, dt).astype(np.int32)
    return device_time_steps(tau_ref, dt)


def _steps_left(refrac: jax.Array, dt: float) -> jax.Array:
    """Remaining refractory steps of a ``refrac`` state (ms, always a whole number of steps times ``dt``)."""
    return jnp.floor(refrac / dt + 0.5)


def refractory(refrac: jax.Array, dt: float) -> jax.Array:
    """True where a neuron is still refractory (at least one whole step left)."""
    return _steps_left(refrac, dt) >= 1


def next_refrac(spike: jax.Array, refrac: jax.Array, tau_ref: Any, dt: float, shape) -> jax.Array:
    """Remaining refractory time (ms) after a step: ``refractory_steps(tau_ref, dt) * dt`` on a spike, else one
    step less (never below 0).

    The state stays in ms but always holds a whole number ``k`` of steps times ``dt``, and ``k`` is recovered
    by rounding each step: the count is exact for any length (a float32 countdown ``refrac - dt`` instead
    drifts, so half-step periods held one step more or less depending on the rounding of ``tau_ref``).
    """
    steps = refractory_steps(tau_ref, dt)
    left = jnp.maximum(_steps_left(refrac, dt) - 1.0, 0.0)
    k = jnp.where(spike > 0, jnp.asarray(steps, refrac.dtype), left)
    return jnp.broadcast_to(k * dt, shape).astype(refrac.dtype)


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
