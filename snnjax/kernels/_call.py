"""How the kernels are called from JAX: one ``jax.ffi.ffi_call`` per step, batch axes handled by the C++ code.

Every operand is ``(*batch, *core)``; the C++ handlers broadcast the batch axes against the result's (numpy rules,
aligned on the right), so a batched network state (spikes, plastic weights and traces per batch element, tables and
shared weights once) is one call, and ``vmap`` adds one leading axis: ``vmap_method="expand_dims"`` gives the
unbatched operands a size-1 axis (a reshape; the tables are never copied).

A result aliased to an operand (the ring buffer, plastic weights: updated in place, no copy per step) must have
the operand's shape, so under ``vmap`` that operand must be batched too. :func:`aliased` wraps such a call in
:func:`jax.custom_batching.custom_vmap`: its rule broadcasts an unbatched aliased operand to the batch (the copy the
batched result needs anyway), leaves every other unbatched operand as it is (the C++ code broadcasts it), and calls
the kernel once with the leading axis added.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

FLOATS = (jnp.dtype(jnp.float32), jnp.dtype(jnp.float64))
"""The dtypes the kernels compute in (others take the XLA path)."""


def batch_shape(args: Sequence[jax.Array], cores: Sequence[int]) -> tuple[int, ...]:
    """The broadcast of the operands' batch shapes (each operand's axes before its ``core`` trailing ones)."""
    return jnp.broadcast_shapes(*(tuple(a.shape[: a.ndim - c]) for a, c in zip(args, cores)))


def call(
    target: str, results, args: Sequence[jax.Array], aliases: dict[int, int] | None = None, **attrs: int
) -> jax.Array | list[jax.Array]:
    """``jax.ffi.ffi_call(target, results)(*args, **attrs)`` (integer attributes as int64)."""
    fn = jax.ffi.ffi_call(target, results, vmap_method="expand_dims", input_output_aliases=aliases)
    return fn(*args, **{k: np.int64(v) for k, v in attrs.items()})


def aliased(fn: Callable, positions: Sequence[int]) -> Callable:
    """``fn(*arrays)`` (a kernel call whose operands at ``positions`` are aliased to its results), batched under
    ``vmap`` by one call of ``fn`` with a leading batch axis; ``fn`` must accept any leading batch axes."""
    positions = frozenset(positions)
    wrapped = jax.custom_batching.custom_vmap(fn)

    @wrapped.def_vmap
    def _rule(axis_size, in_batched, *args):
        if not any(in_batched):  # pragma: no cover - vmap calls the rule only with a batched operand
            out = wrapped(*args)
            return out, jax.tree.map(lambda _: False, out)
        args = [
            jnp.broadcast_to(a, (axis_size, *jnp.shape(a))) if i in positions and not b else a
            for i, (a, b) in enumerate(zip(args, in_batched))
        ]
        # unbatched operands have no leading axis: the kernel broadcasts them (batch axes align on the right)
        out = wrapped(*args)
        return out, jax.tree.map(lambda _: True, out)

    return wrapped
