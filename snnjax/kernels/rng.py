"""Uniform numbers of the counter-based Philox4x32-10 generator (:mod:`snnjax.random`), in one kernel call.

``uniform(key, step, counter, index)`` gives ``(*batch, n)`` numbers ``(word >> 8) / 2**24`` with ``word`` the first
output word of Philox4x32-10 at the counters ``(index[i], step, counter, 0)`` under the key words ``key``: exactly
:func:`snnjax.random.uniform` (its reference and fallback, :func:`uniform_xla`), about 20 times faster on a CPU, where
XLA forms the rounds' 32-bit high products from 16-bit halves. :class:`snnjax.inputs.PoissonInput` draws with it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from snnjax import random as counter_rng
from snnjax.kernels import _build
from snnjax.kernels._call import FLOATS, batch_shape, call

__all__ = ["uniform", "uniform_xla"]


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
