"""Uniform numbers of the counter-based Philox4x32-10 generator (:mod:`snnjax.random`), in one kernel call.

``uniform(key, step, counter, index)`` gives ``(*batch, n)`` numbers ``(word >> 8) / 2**24`` with ``word`` output word
``index[i] % 4`` of Philox4x32-10 at the counters ``(index[i] // 4, step, counter, 0)`` under the key words ``key``:
exactly :func:`snnjax.random.uniform` (its reference and fallback, :func:`uniform_xla`), one block of the generator per
four consecutive indices (XLA computes each number's whole block, and forms the rounds' 32-bit high products from
16-bit halves). :class:`snnjax.inputs.PoissonInput` draws with it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from snnjax import random as counter_rng
from snnjax.kernels import _build
from snnjax.kernels._call import FLOATS, batch_shape, call

__all__ = ["poisson", "poisson_xla", "uniform", "uniform_xla"]


def uniform_xla(key: jax.Array, step: jax.Array, counter: jax.Array, index: jax.Array, dtype=jnp.float32) -> jax.Array:
    """The XLA path: :func:`snnjax.random.uniform` at the counters ``(index, step, counter)`` (shapes as
    :func:`uniform`)."""
    step = jnp.asarray(step, jnp.uint32)[..., None]
    counter = jnp.asarray(counter, jnp.uint32)[..., None]
    return counter_rng.uniform((key[..., 0, None], key[..., 1, None]), index, step, counter, dtype=dtype)


def uniform(key: jax.Array, step: jax.Array, counter: jax.Array, index: jax.Array, dtype=jnp.float32) -> jax.Array:
    """Uniform numbers in ``[0, 1)`` (24 random bits) by the compiled kernel when :func:`~snnjax.kernels.active`,
    else :func:`uniform_xla`.

    Args:
      key: uint32 ``(*batch, 2)``, the generator's key words.
      step: uint32 ``()`` or ``(*batch,)``, the second counter word (the step number).
      counter: uint32 ``()`` or ``(*batch,)``, the third counter word (a batch element's number).
      index: uint32 ``(n,)``, the first counter word of each output (a neuron's number).
      dtype: float32 or float64.

    Returns:
      ``(*batch, n)`` in ``dtype``. Not differentiable (integers in, no tangent).
    """
    key = jnp.asarray(key, jnp.uint32)
    step, counter, index = (jnp.asarray(a, jnp.uint32) for a in (step, counter, index))
    if not _build.active() or jnp.dtype(dtype) not in FLOATS:
        return uniform_xla(key, step, counter, index, dtype)
    batch = batch_shape((key, step, counter), (1, 0, 0))
    out = jax.ShapeDtypeStruct((*batch, index.shape[-1]), jnp.dtype(dtype))
    return call("snnjax_uniform", out, (key, step, counter, index))


def poisson_xla(key, step, counter, index, lam, p0, terms: int, dtype=jnp.float32) -> jax.Array:
    """The XLA path of :func:`poisson`: :func:`uniform_xla`, then :func:`snnjax.random.poisson_by_inversion`."""
    return counter_rng.poisson_by_inversion(uniform_xla(key, step, counter, index, dtype), lam, p0, terms)


def poisson(key, step, counter, index, lam, p0, terms: int, dtype=jnp.float32) -> jax.Array:
    """Poisson counts of means ``lam`` (``p0 = exp(-lam)``) by inversion of :func:`uniform`'s numbers with ``terms``
    terms (:func:`snnjax.random.poisson_by_inversion`), in one compiled call when :func:`~snnjax.kernels.active`,
    else :func:`poisson_xla`: the same counts. ``lam`` and ``p0``: ``(n,)`` or ``(*batch, n)``; other arguments as
    :func:`uniform`; returns float ``(*batch, n)``."""
    key = jnp.asarray(key, jnp.uint32)
    step, counter, index = (jnp.asarray(a, jnp.uint32) for a in (step, counter, index))
    lam, p0 = jnp.asarray(lam, dtype), jnp.asarray(p0, dtype)
    if not _build.active() or jnp.dtype(dtype) not in FLOATS or not 0 <= terms <= 512:
        return poisson_xla(key, step, counter, index, lam, p0, terms, dtype)
    batch = batch_shape((key, step, counter, lam, p0), (1, 0, 0, 1, 1))
    out = jax.ShapeDtypeStruct((*batch, index.shape[-1]), jnp.dtype(dtype))
    return call("snnjax_poisson", out, (key, step, counter, index, lam, p0), terms=int(terms))
