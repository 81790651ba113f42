"""Helpers for gradient-based training."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np


def _is_float_leaf(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, float):
        return True
    dtype = getattr(x, "dtype", None)
    return dtype is not None and np.issubdtype(dtype, np.floating)


def trainable(tree: Any) -> tuple[Any, Callable[[Any], Any]]:
    """Split a model (e.g. a ``Network``) into its float leaves and a function that puts them back.

    Integer leaves (connectivity indices) cannot be differentiated, so ``jax.grad`` must take the float
    part only: ``params, rebuild = trainable(net)``; ``jax.grad(lambda p: loss(rebuild(p)))(params)``.

    Delays are float leaves too, but they act through whole steps (``round(delay / dt)``), so their
    gradient is zero. Make the initial state outside the differentiated function (``net.init`` sizes
    the delay buffers from concrete delays), or give projections ``max_delay``.

    Returns:
      ``(params, rebuild)``: ``params`` has the tree's structure with ``None`` in place of every
      non-float leaf; ``rebuild(params)`` returns the tree with those float leaves replaced.
    """
    params = jax.tree.map(lambda x: x if _is_float_leaf(x) else None, tree)

    def rebuild(new_params: Any) -> Any:
        return jax.tree.map(lambda p, x: x if p is None else p, new_params, tree, is_leaf=lambda x: x is None)

    return params, rebuild
