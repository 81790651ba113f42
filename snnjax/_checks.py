"""Argument checks shared by every model.

Two tiers (DESIGN.md, "The model contract"):

* ``__post_init__`` runs on construction *and* on every ``.replace``, ``jax.tree.map`` and unflatten
  inside ``jit`` -- including the cotangent trees of ``jax.grad``, whose leaves are gradients, not
  parameters (a negative gradient of ``tau`` is fine). There we only look at what users type -- Python
  floats and NumPy arrays -- and skip JAX arrays, tracers, ``None``, integers and anything else (vmap
  axis trees are made of those), never converting anything. Shapes are checked always.
* ``_validate()`` methods (``strict=True``) also check concrete JAX arrays; ``Network``, ``Runner`` and
  ``simulate`` run them once on the concrete tree, before tracing.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import jax
import numpy as np


def is_float_dtype(dtype: Any) -> bool:
    """True for a real floating-point dtype: NumPy's and the ``ml_dtypes`` ones JAX adds (``bfloat16``, float8
    types), which ``np.issubdtype(dtype, np.floating)`` does not recognise; False for complex."""
    return dtype is not None and jax.dtypes.issubdtype(dtype, np.floating)


def is_real_dtype(dtype: Any) -> bool:
    """True for a dtype of real numbers: a floating one (:func:`is_float_dtype`) or an integer one (not bool, not
    complex, not a PRNG key)."""
    if dtype is None or jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        return False
    return is_float_dtype(dtype) or (jax.dtypes.issubdtype(dtype, np.integer) and np.dtype(dtype) != np.bool_)


def is_concrete_float(x: Any, strict: bool = True) -> bool:
    """True for a concrete (non-traced) floating-point scalar or array; JAX arrays count only if ``strict``."""
    if isinstance(x, bool):
        return False
    if isinstance(x, float):
        return True
    if isinstance(x, jax.core.Tracer) or (not strict and isinstance(x, jax.Array)):
        return False
    if isinstance(x, (np.ndarray, np.generic, jax.Array)):
        return is_float_dtype(x.dtype)
    return False


def _describe(x: Any) -> str:
    arr = np.asarray(x)
    if arr.ndim == 0:
        return repr(float(arr))
    return f"an array of shape {arr.shape} (min {arr.min():g}, max {arr.max():g})"


def check_real(
    owner: str,
    name: str,
    value: Any,
    *,
    positive: bool = False,
    nonnegative: bool = False,
    shape: tuple[int, ...] | None = None,
    strict: bool = True,
) -> None:
    """Check one parameter if it is a concrete float; silently accept tracers and non-floats.

    Args:
      owner: the class or function the argument belongs to, for the message.
      name: the argument's name.
      value: the value to check.
      positive: require ``value > 0`` everywhere.
      nonnegative: require ``value >= 0`` everywhere.
      shape: population shape the value must broadcast to (scalar, or exactly this shape).
      strict: also check concrete JAX arrays (``_validate``); otherwise only Python/NumPy values.

    Raises:
      ValueError: naming ``owner``, ``name``, the value received and what is accepted.
    """
    if shape is not None and hasattr(value, "shape"):  # shapes are static, even for tracers
        check_shape(owner, name, tuple(value.shape), shape)
    if strict and value is not None and not isinstance(value, jax.core.Tracer):
        value = _as_real(owner, name, value)  # concrete values: ints count, non-numbers are refused
    if not is_concrete_float(value, strict):
        return
    arr = np.asarray(value)
    if arr.size and not np.all(np.isfinite(arr)):
        raise ValueError(f"{owner}: {name} must be finite, got {_describe(arr)} (contains NaN or inf)")
    if positive and arr.size and not np.all(arr > 0):
        raise ValueError(f"{owner}: {name} must be > 0, got {_describe(arr)}")
    if nonnegative and arr.size and not np.all(arr >= 0):
        raise ValueError(f"{owner}: {name} must be >= 0, got {_describe(arr)}")


def _as_real(owner: str, name: str, value: Any) -> Any:
    """A concrete value as a float scalar/array for the checks; TypeError for bools and non-real values."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be a real number or an array of real numbers, got {value!r}")
    if isinstance(value, (int, np.integer)):
        return float(value)
    dtype = getattr(value, "dtype", None)
    if (
        isinstance(value, (np.ndarray, jax.Array))
        and dtype is not None
        and not jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)
    ):
        if jax.dtypes.issubdtype(dtype, np.integer):
            return np.asarray(value, dtype=float)
        if is_float_dtype(dtype):  # bfloat16 included: a real floating type (ml_dtypes), like float16
            return value
    if isinstance(value, float) or (isinstance(value, np.generic) and is_float_dtype(value.dtype)):
        return value
    kind = f"an array of dtype {dtype}" if dtype is not None else type(value).__name__
    raise TypeError(f"{owner}: {name} must be a real number or an array of real numbers, got {kind}: {value!r}")


def check_fields(model: Any, fields: dict[str, str | None], *, strict: bool, shape=None) -> None:
    """``check_real`` on each named field; the spec value is ``"positive"``, ``"nonnegative"`` or None."""
    for name, rule in fields.items():
        check_real(
            type(model).__name__,
            name,
            getattr(model, name),
            positive=rule == "positive",
            nonnegative=rule == "nonnegative",
            shape=shape,
            strict=strict,
        )


def check_shape(owner: str, name: str, got: tuple[int, ...], shape: tuple[int, ...]) -> None:
    """Require a per-neuron parameter to be a scalar or exactly ``shape`` (the population's shape)."""
    if tuple(got) not in ((), tuple(shape)):
        raise ValueError(
            f"{owner}: {name} must be a scalar or have the population's shape {tuple(shape)}, got shape {tuple(got)}"
        )


def check_time(owner: str, name: str, value: Any) -> float:
    """A concrete, finite, positive Python time in ms (``dt``, ``duration``), returned as float."""
    if isinstance(value, jax.core.Tracer):
        raise TypeError(
            f"{owner}: {name} must be a concrete Python number (ms), not a traced value: it fixes the number of "
            "steps, which must be known before compilation"
        )
    real = isinstance(value, numbers.Real) or (
        isinstance(value, (np.ndarray, np.generic, jax.Array)) and np.ndim(value) == 0 and is_real_dtype(value.dtype)
    )
    if isinstance(value, (bool, np.bool_)) or not real:
        raise TypeError(f"{owner}: {name} must be a number in ms, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{owner}: {name} must be a finite number of ms > 0, got {value!r}")
    return v


def check_choice(owner: str, name: str, value: Any, allowed: Iterable[Any]) -> None:
    """Require ``value`` to be one of ``allowed``."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{owner}: {name} must be one of {allowed}, got {value!r}")


def normalize_shape(owner: str, size: Any) -> tuple[int, ...]:
    """``size`` (int or tuple of ints, each >= 1) as a tuple."""
    shape = (size,) if isinstance(size, (int, np.integer)) else size
    try:
        shape = tuple(int(s) for s in shape)
        ok = all(int(s) == s0 for s, s0 in zip(shape, (size,) if np.isscalar(size) else size))
        ok = ok and not any(isinstance(s, (bool, np.bool_)) for s in ((size,) if np.isscalar(size) else size))
    except TypeError:
        ok = False
    if not ok or not shape or any(s < 1 for s in shape):
        raise ValueError(f"{owner}: size must be a positive int or a non-empty tuple of positive ints, got {size!r}")
    return shape
