"""Counter-based random numbers: Philox4x32-10 (Salmon et al. 2011, the generator of cuRAND and of numpy's
``Philox``), keyed by a seed and indexed by counters.

A counter-based generator gives the random number of any (neuron, step, batch element) directly, with no state
to carry or split: a run resumed from a checkpoint, the same network split over devices (each draws its own
neurons' numbers by their global index) and one batch element of a batched run all draw exactly the numbers of
the plain run. :class:`snnjax.inputs.PoissonInput` uses it; the compiled CPU kernels (:mod:`snnjax.kernels`)
compute the same function.

The 32-bit high products of the rounds are formed from 16-bit halves (``jax_enable_x64`` not needed); the known
answers of the reference implementation (Random123's ``kat_vectors``) are checked in ``tests/test_random.py``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["philox4x32", "poisson_by_inversion", "seed_words", "uniform"]

_M0, _M1 = 0xD2511F53, 0xCD9E8D57  # Philox4x32 multipliers
_W0, _W1 = 0x9E3779B9, 0xBB67AE85  # Weyl sequence of the key
_U = jnp.uint32


def _mulhilo(a: jax.Array, m: int) -> tuple[jax.Array, jax.Array]:
    """``(hi, lo)`` 32-bit words of the 64-bit product ``a * m`` (``a`` uint32, ``m`` a 32-bit constant)."""
    m0, m1 = m & 0xFFFF, m >> 16
    a0, a1 = a & _U(0xFFFF), a >> _U(16)
    p00, p01, p10, p11 = a0 * _U(m0), a0 * _U(m1), a1 * _U(m0), a1 * _U(m1)
    mid = (p00 >> _U(16)) + (p01 & _U(0xFFFF)) + (p10 & _U(0xFFFF))
    return p11 + (p01 >> _U(16)) + (p10 >> _U(16)) + (mid >> _U(16)), a * _U(m)


def philox4x32(counter: tuple, key: tuple, rounds: int = 10) -> tuple[jax.Array, ...]:
    """Philox4x32 of the counter words ``(c0, c1, c2, c3)`` (uint32 arrays or ints, broadcast together) under the
    key words ``(k0, k1)``: four uint32 arrays, the generator's output for those counters."""
    c0, c1, c2, c3 = (jnp.asarray(c, jnp.uint32) for c in counter)
    k0, k1 = (jnp.asarray(k, jnp.uint32) for k in key)
    c0, c1, c2, c3 = jnp.broadcast_arrays(c0, c1, c2, c3)
    for _ in range(rounds):
        hi0, lo0 = _mulhilo(c0, _M0)
        hi1, lo1 = _mulhilo(c2, _M1)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0, k1 = k0 + _U(_W0), k1 + _U(_W1)
    return c0, c1, c2, c3


def uniform(key: tuple, c0, c1, c2=0, dtype=jnp.float32) -> jax.Array:
    """Uniform numbers ``k / 2**24`` in ``[0, 1)``, shaped like the broadcast counters, in ``dtype`` (exact in float32
    and wider): number ``c0`` of the stream ``(c1, c2)`` is the top 24 bits of output word ``c0 % 4`` of
    :func:`philox4x32` at the counters ``(c0 // 4, c1, c2, 0)`` (four numbers per block of the generator)."""
    c0 = jnp.asarray(c0, jnp.uint32)
    words = philox4x32((c0 >> _U(2), c1, c2, 0), key)
    lane = c0 & _U(3)
    word = jnp.where(lane == 0, words[0], jnp.where(lane == 1, words[1], jnp.where(lane == 2, words[2], words[3])))
    return (word >> _U(8)).astype(dtype) * jnp.asarray(2.0**-24, dtype)


_INVERSE = np.float32(1.0) / np.arange(1, 401, dtype=np.float32)  # 1 / (j + 1): the same factors in both forms


def poisson_by_inversion(u: jax.Array, lam: jax.Array, p: jax.Array, terms: int | None) -> jax.Array:
    """``min{k : CDF(k) > u}`` of Poisson(``lam``) (``p = exp(-lam)``, computed once per run), as the sum of
    ``u >= CDF(j)`` over ``j``, the CDF accumulated in ``u``'s precision. ``terms`` given: that many terms, unrolled
    (one fused elementwise pass); None (``lam`` traced): terms until every ``u`` is below the CDF (a loop; the same
    counts, term for term)."""
    inverse = jnp.asarray(_INVERSE, u.dtype)
    count = jnp.zeros(jnp.broadcast_shapes(u.shape, jnp.shape(lam)), u.dtype)
    if terms is not None:
        cdf = p
        for j in range(terms):
            count = count + (u >= cdf).astype(u.dtype)
            p = p * lam * float(_INVERSE[j])  # a literal: an indexed constant array was read per element
            cdf = cdf + p
        return count

    def more(c):
        j, _, cdf, _ = c
        return jnp.any(u >= cdf) & (j < inverse.shape[0])

    def term(c):
        j, p, cdf, count = c
        count = count + (u >= cdf).astype(u.dtype)
        p = p * lam * inverse[j]
        return j + 1, p, cdf + p, count

    return jax.lax.while_loop(more, term, (jnp.int32(0), p, p, count))[3]


def seed_words(key: jax.Array) -> jax.Array:
    """Two uint32 key words for :func:`philox4x32` from a ``jax.random`` key (drawn from it, so any key type
    works): ``(2,)`` uint32."""
    return jax.random.bits(key, (2,), jnp.uint32)


def _reference(counter, key, rounds: int = 10) -> np.ndarray:
    """NumPy (uint64 arithmetic) Philox4x32, for tests."""
    c = [np.uint64(int(x)) for x in counter]
    k = [np.uint64(int(x)) for x in key]
    mask = np.uint64(0xFFFFFFFF)
    for _ in range(rounds):
        p0, p1 = np.uint64(_M0) * c[0], np.uint64(_M1) * c[2]
        c = [((p1 >> np.uint64(32)) ^ c[1] ^ k[0]) & mask, p1 & mask, ((p0 >> np.uint64(32)) ^ c[3] ^ k[1]) & mask,
             p0 & mask]  # fmt: skip
        k = [(k[0] + np.uint64(_W0)) & mask, (k[1] + np.uint64(_W1)) & mask]
    return np.array([int(x) for x in c], np.uint64)
