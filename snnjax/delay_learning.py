"""Helpers to learn synaptic delays (Inferno's ``Connection.delay``, ms) with ``jax.grad`` and optax.

The same helpers serve a :class:`snnjax.Projection` with ``delay_interp="linear"`` inside a Network (the
engine's learnable delays; ``python -m snnjax.examples.learn_delays``) and the Inferno view.

A connection built with ``delay=D`` (:mod:`snnjax.connections`) reads each synapse's current at its own
delay through the synapse's :meth:`~snnjax.synapses.inferno.SingleExponentialCurrent.current_at`, which
interpolates the stored history and is differentiable in the delay, so ``jax.grad`` of any loss of the
outputs reaches ``connection.delay``. Two things make that gradient useful:

* Build the synapse with ``current_interp_mode="linear"``. The default exponential read is exact but is
  zero before a spike arrives and jumps at the arrival, so its derivative w.r.t. the delay contains only the
  decay of the current (positive: a later arrival leaves more current at a fixed time) and misses the
  arrival itself; for a timing loss it points the wrong way. The linear read spreads the arrival over one
  step, is continuous in the delay, and its gradient is the true derivative of what is simulated.
* After each optimiser step, clip the delays back to the record, ``[0, D]`` ms (:func:`clip_delays`):
  beyond it the synapse returns its overbound current, whose gradient is zero.

Timing losses need a spike time that depends smoothly on the delays: :func:`crossing_times` gives the first
upward threshold crossing of a membrane trace, linearly interpolated between steps. A LIF neuron's first spike
is the first crossing of its membrane before any reset, so it is exactly that neuron's first spike time, with
sub-step resolution, and its gradient needs no surrogate.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from snnjax.projection import Projection


def clip_delays(connection: Any) -> Any:
    """The connection with its delays clipped to the synapse record, ``[0, connection.delayedby]`` ms.

    Call it after every optimiser step on the delays (``optax.apply_updates`` knows nothing of the record).
    A :class:`snnjax.Projection` with learnable delays (``delay_interp="linear"``) is clipped the same way, to
    ``[0, max_delay]`` ms, the buffer its ``max_delay`` asks for (a delay beyond it is an error at run time).

    Args:
      connection: an :mod:`snnjax.connections` connection with delays (``delay`` not None), or a
        :class:`snnjax.Projection` with ``max_delay``.

    Raises:
      ValueError: if the connection has no delays (a projection: no ``max_delay``).
    """
    if isinstance(connection, Projection):
        if connection.max_delay is None:
            raise ValueError("clip_delays: the Projection has no max_delay, so there is no bound to clip its delays to")
        return connection.replace(delay=jnp.clip(connection.delay, 0.0, float(connection.max_delay)))
    if getattr(connection, "delay", None) is None:
        raise ValueError(
            f"clip_delays: connection must have delays (built with delay=...), got {type(connection).__name__} "
            "with delay=None"
        )
    return connection.replace(delay=jnp.clip(connection.delay, 0.0, connection.delayedby))


def crossing_times(
    v: ArrayLike, threshold: ArrayLike, *, dt: float, t0: float = 0.0, no_crossing: float | None = None
) -> tuple[jax.Array, jax.Array]:
    """First upward crossing of ``threshold`` by each trace, linearly interpolated between samples.

    If sample ``k`` is the first with ``v[k] >= threshold``, the time is
    ``t0 + (k - 1 + (threshold - v[k-1]) / (v[k] - v[k-1])) dt`` (``k = 0`` gives ``t0``). Differentiable in
    ``v`` (the index ``k`` is not: it is piecewise constant).

    Args:
      v: membrane potentials, mV, shape ``(T, ...)``; ``v[k]`` is sampled at ``t0 + k dt``.
      threshold: mV, broadcastable to ``v.shape[1:]``.
      dt: sampling step, ms.
      t0: time of ``v[0]``, ms.
      no_crossing: time given to traces that never reach the threshold, ms; None means
        ``t0 + T dt`` (one step after the end).

    Returns:
      ``(times, crossed)``: times in ms and a bool mask, both shaped ``v.shape[1:]``.
    """
    v = jnp.asarray(v)
    if v.ndim < 1 or v.shape[0] < 1:
        raise ValueError(f"crossing_times: v must have shape (T, ...) with T >= 1, got {v.shape}")
    above = v >= threshold
    crossed = above.any(axis=0)
    k = jnp.argmax(above, axis=0)
    vk = jnp.take_along_axis(v, k[None], axis=0)[0]
    vkm1 = jnp.take_along_axis(v, jnp.maximum(k - 1, 0)[None], axis=0)[0]
    rise = jnp.where(k > 0, vk - vkm1, 1.0)
    frac = jnp.where(k > 0, (threshold - vkm1) / jnp.where(rise > 0, rise, 1.0), 1.0)
    t = t0 + (k - 1 + frac) * dt
    late = t0 + v.shape[0] * dt if no_crossing is None else no_crossing
    return jnp.where(crossed, t, late), crossed
