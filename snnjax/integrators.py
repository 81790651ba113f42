"""One-step ODE/SDE integrators over pytrees, chosen by name (BrainPy's ``bp.odeint(method=...)``).

Every integrator advances ``dy/dt = f(y, t, *args)`` by one step of ``dt`` (ms, like everything in snnjax)
and is a pure function of pytrees: ``y`` is any pytree of arrays (a dict of state variables, a tuple, a
single array) and ``f`` returns a pytree of the same structure (the derivative of each leaf, per ms).
They work alone::

    import snnjax as sj
    f = lambda y, t, i: {"v": (-y["v"] + i) / 10.0}
    step = sj.integrators.odeint(f, method="rk4")
    y = step({"v": jnp.zeros(3)}, 0.0, 0.1, 5.0)     # y at t + dt

and behind :class:`snnjax.neurons.ODENeuron`, whose ``method`` names one of them.

========================  =====  ==========================================================================
name                      order  what it does
========================  =====  ==========================================================================
``euler``                 1      ``y + dt f(y)``
``heun`` (alias ``rk2``)  2      explicit trapezoid (Heun): the mean of the slopes at ``y`` and at the Euler guess
``rk4``                   4      classic Runge-Kutta
``exp_euler``             1 (*)  per-variable linearisation ``y + dt exprel(J dt) f(y)`` with ``J = df_i/dy_i``
                                 (BrainPy's ``exp_auto``; Brian2's ``exponential_euler`` when ``f`` is linear
                                 in each variable); exact for uncoupled linear equations
``exact``                 exact  for affine ``f`` (``dy/dt = A y + b``, ``A`` and ``b`` constant over the step):
                                 ``y + [expm(M dt)]`` via the augmented matrix ``M = [[A, f(y)], [0, 0]]``
``euler_maruyama``        1/2    ``y + dt f(y) + sqrt(dt) g(y) xi``, ``xi ~ N(0, 1)`` per element (Ito SDE
                                 ``dy = f dt + g dW``, ``W`` a Wiener process in ms^1/2)
========================  =====  ==========================================================================

"Order" is the global order: halving ``dt`` divides the error at a fixed time by about ``2^order``.
(*) ``exp_euler`` is first order when the variables are coupled (the off-diagonal terms of the Jacobian are
left out); for a single autonomous equation it is the exponential Rosenbrock-Euler method, second order.
With a time-dependent ``f`` every method here but ``rk4``/``heun`` holds ``t`` at the start of the step.

``exp_euler`` and ``exact`` need ``df/dy``; they take it from ``jax.linearize`` (one forward pass and one
linear pass per leaf), treating every array element as its own system: ``f`` must act elementwise across
the entries of an array (true for a group of independent neurons), and leaves are coupled only through
``f``'s structure. ``exp_euler`` accepts a declared diagonal ``jac`` instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

PyTree = Any
Derivative = Callable[..., PyTree]

__all__ = [
    "METHODS",
    "euler",
    "euler_maruyama",
    "exact",
    "exp_euler",
    "exprel",
    "get",
    "heun",
    "odeint",
    "rk2",
    "rk4",
]


def exprel(x: jax.Array) -> jax.Array:
    """``(exp(x) - 1) / x``, 1 at ``x = 0`` (elementwise; smooth, so gradients are finite everywhere).

    Where ``|x| <= 1`` it is the Taylor series ``sum_k x^k / (k+1)!``, up to ``k = 10`` in float32 and
    ``k = 18`` in float64 (truncation error below 0.04 ulp), evaluated by Horner's rule in multiplies and adds
    only; elsewhere ``expm1(x) / x``. The series keeps ``exprel`` from depending on how a backend evaluates
    ``expm1`` near 0 (XLA CPU's float32 ``expm1(x) / x`` is up to 5.5 ulp off there), where ``exp_euler``
    evaluates it most (``|J dt|`` is small for any usable ``dt``), so the same step rounds the same way, within
    an ulp, in every program.

    Accuracy measured on XLA CPU (jax 0.10.2) against ``expm1(x) / x`` in float64 (float32 inputs) or in
    60-digit decimals (float64 inputs), largest error over both signs, in ulp of the exact value
    (``tests/test_repros2_misc.py::test_q12_exprel_accuracy_as_documented`` re-measures the float32 figures)::

        |x| in        (0, 0.1]  (0.1, 0.2]  (0.2, 0.5]  (0.5, 1]  (1, 2]  (2, 5]  (5, 20]  (20, 80]
        float32         0.55       0.61        0.78       1.18     2.08    1.65    2.44     1.67
        float64         0.55       0.60        0.74       1.03     2.52    1.64    1.72     1.72

    (float32: 200,001 points per interval and sign; float64: 3,001.) Beyond ``x = 88.7`` (float32) ``exp``
    overflows and the result is ``inf``.
    """
    x = jnp.asarray(x)
    small = jnp.abs(x) <= 1.0
    xs = jnp.where(small, 1.0, x)
    order = 18 if jnp.finfo(jnp.result_type(x, float)).bits > 32 else 10
    series = 1.0 / math.factorial(order + 1)
    for k in range(order, 0, -1):  # series * x + 1/k!: the coefficients 1/(k+1)! from the top down
        series = series * x + 1.0 / math.factorial(k)
    return jnp.where(small, series, jnp.expm1(xs) / xs)


def _call(f: Derivative, y: PyTree, t: Any, args: tuple, what: str = "f") -> PyTree:
    """``f(y, t, *args)``, checked to have ``y``'s tree structure (at trace time, so before compilation)."""
    out = f(y, t, *args)
    if jax.tree.structure(out) != jax.tree.structure(y):
        raise ValueError(
            f"integrators: {what} must return the structure of the state y, {jax.tree.structure(y)}; "
            f"got {jax.tree.structure(out)}"
        )
    return out


def _axpy(y: PyTree, dt: Any, *ks: tuple[float, PyTree]) -> PyTree:
    """``y + dt * sum(c_i k_i)`` leafwise."""
    coefs = [c for c, _ in ks]
    return jax.tree.map(lambda yl, *kl: yl + dt * sum(c * k for c, k in zip(coefs, kl)), y, *(k for _, k in ks))


def euler(f: Derivative, y: PyTree, t: Any, dt: float, *args: Any) -> PyTree:
    """Forward Euler, first order: ``y + dt f(y, t, *args)``.

    Args:
      f: derivative ``f(y, t, *args)`` (per ms), a pytree with the structure of ``y``.
      y: state at ``t``, any pytree of arrays.
      t: time, ms.
      dt: step, ms.
      *args: passed to ``f`` unchanged (e.g. an input current held over the step).

    Returns:
      The state at ``t + dt``, with the structure of ``y``.
    """
    return _axpy(y, dt, (1.0, _call(f, y, t, args)))


def heun(f: Derivative, y: PyTree, t: Any, dt: float, *args: Any) -> PyTree:
    """Heun's method (explicit trapezoid, RK2), second order: the mean of ``f(y)`` and ``f(y + dt f(y))``.

    Arguments and result as :func:`euler`.
    """
    k1 = _call(f, y, t, args)
    k2 = _call(f, _axpy(y, dt, (1.0, k1)), t + dt, args)
    return _axpy(y, dt, (0.5, k1), (0.5, k2))


rk2 = heun


def rk4(f: Derivative, y: PyTree, t: Any, dt: float, *args: Any) -> PyTree:
    """Classic fourth-order Runge-Kutta. Arguments and result as :func:`euler`."""
    k1 = _call(f, y, t, args)
    k2 = _call(f, _axpy(y, dt, (0.5, k1)), t + 0.5 * dt, args)
    k3 = _call(f, _axpy(y, dt, (0.5, k2)), t + 0.5 * dt, args)
    k4 = _call(f, _axpy(y, dt, (1.0, k3)), t + dt, args)
    return _axpy(y, dt, (1 / 6, k1), (1 / 3, k2), (1 / 3, k3), (1 / 6, k4))


def _linearize(f: Derivative, y: PyTree, t: Any, args: tuple) -> tuple[PyTree, Callable[[PyTree], PyTree]]:
    """``f(y)`` and the linear map ``dy -> (df/dy) dy`` (structure checked)."""
    _call(f, y, t, args)  # checks the structure with a clear message before linearize does
    return jax.linearize(lambda x: f(x, t, *args), y)


def _unit(y: PyTree, i: int) -> PyTree:
    """A tangent of ones in leaf ``i`` and zeros elsewhere."""
    leaves, tree = jax.tree.flatten(y)
    return jax.tree.unflatten(tree, [(jnp.ones_like if j == i else jnp.zeros_like)(x) for j, x in enumerate(leaves)])


def jacobian_diagonal(f: Derivative, y: PyTree, t: Any, *args: Any) -> tuple[PyTree, PyTree]:
    """``(f(y), J)`` with ``J`` the per-variable diagonal ``df_i/dy_i`` (structure of ``y``), elementwise.

    Args:
      f, y, t, *args: as :func:`euler`; ``f`` must act elementwise across array entries.
    """
    f0, lin = _linearize(f, y, t, args)
    n = len(jax.tree.leaves(y))
    diag = [jax.tree.leaves(lin(_unit(y, i)))[i] for i in range(n)]
    return f0, jax.tree.unflatten(jax.tree.structure(y), diag)


def exp_euler(f: Derivative, y: PyTree, t: Any, dt: float, *args: Any, jac: PyTree | None = None) -> PyTree:
    """Exponential Euler per variable, first order: ``y_i + dt exprel(J_i dt) f_i(y)``, ``J_i = df_i/dy_i``.

    Each variable is linearised around the start of the step with the others held there (BrainPy's
    ``exp_auto``); exact when every ``f_i`` is linear in ``y_i`` and independent of the other variables, and
    Brian2's ``exponential_euler`` whenever ``f_i`` is linear in ``y_i``. Stable for stiff linear decays.

    Args:
      f, y, t, dt, *args: as :func:`euler`.
      jac: the diagonal ``df_i/dy_i`` (structure of ``y``, per ms), or ``None`` to take it from
        ``jax.linearize`` (then ``f`` must act elementwise across array entries).
    """
    if jac is None:
        f0, jac = jacobian_diagonal(f, y, t, *args)
    else:
        f0 = _call(f, y, t, args)
        if jax.tree.structure(jac) != jax.tree.structure(y):
            raise ValueError(f"integrators.exp_euler: jac must have the structure of y, {jax.tree.structure(y)}")
    return jax.tree.map(lambda yl, fl, jl: yl + dt * exprel(jl * dt) * fl, y, f0, jac)


def exact(f: Derivative, y: PyTree, t: Any, dt: float, *args: Any) -> PyTree:
    """Exact step of an affine system ``dy/dt = A y + b`` (``A``, ``b`` constant over the step), per element.

    With one variable: ``y + dt exprel(A dt) f(y)``. With ``n`` coupled variables: the top right column of
    ``expm(dt [[A, f(y)], [0, 0]])`` (an ``(n+1, n+1)`` matrix per array element, ``A`` from
    ``jax.linearize``) is added to ``y``. The result is only exact if ``f`` really is affine in ``y`` over the
    step; otherwise this is a first-order exponential integrator. Arguments and result as :func:`euler`.
    """
    f0, lin = _linearize(f, y, t, args)
    leaves, tree = jax.tree.flatten(y)
    n = len(leaves)
    if n == 1:
        a = jax.tree.leaves(lin(_unit(y, 0)))[0]
        return jax.tree.unflatten(tree, [leaves[0] + dt * exprel(a * dt) * jax.tree.leaves(f0)[0]])
    shape = jnp.broadcast_shapes(*(jnp.shape(x) for x in leaves))
    cols = [jnp.stack([jnp.broadcast_to(c, shape) for c in jax.tree.leaves(lin(_unit(y, j)))], -1) for j in range(n)]
    a = jnp.stack(cols, -1)  # (*shape, n, n): a[..., i, j] = df_i/dy_j
    b = jnp.stack([jnp.broadcast_to(x, shape) for x in jax.tree.leaves(f0)], -1)[..., None]
    top = jnp.concatenate([a, b], -1)
    m = jnp.concatenate([top, jnp.zeros((*shape, 1, n + 1), top.dtype)], -2) * dt
    delta = jax.scipy.linalg.expm(m)[..., :n, n]
    return jax.tree.unflatten(tree, [x + delta[..., i] for i, x in enumerate(leaves)])


def euler_maruyama(f: Derivative, g: Derivative, y: PyTree, t: Any, dt: float, key: jax.Array, *args: Any) -> PyTree:
    """Euler-Maruyama step of the Ito SDE ``dy = f(y, t) dt + g(y, t) dW`` (strong order 1/2, weak order 1).

    ``y + dt f + sqrt(dt) g xi`` with an independent standard normal ``xi`` per element of every leaf
    (diagonal noise; ``W`` in ms^1/2, so ``g`` is in the unit of ``y`` per sqrt(ms)).

    Args:
      f: drift ``f(y, t, *args)``, per ms, structure of ``y``.
      g: diffusion ``g(y, t, *args)``, structure of ``y`` (each leaf broadcastable to the leaf of ``y``).
      y, t, dt, *args: as :func:`euler`.
      key: a JAX random key (``jax.random.key``); the caller splits it between steps.
    """
    drift = _call(f, y, t, args)
    diff = _call(g, y, t, args, what="g (the noise term)")
    leaves, tree = jax.tree.flatten(y)
    keys = jax.random.split(key, len(leaves))
    xi = [jax.random.normal(k, jnp.shape(x), jnp.result_type(x)) for k, x in zip(keys, leaves)]
    sq = jnp.sqrt(dt)
    return jax.tree.map(lambda yl, fl, gl, z: yl + dt * fl + sq * gl * z, y, drift, diff, jax.tree.unflatten(tree, xi))


METHODS: dict[str, Callable[..., PyTree]] = {
    "euler": euler,
    "heun": heun,
    "rk2": heun,
    "rk4": rk4,
    "exp_euler": exp_euler,
    "exact": exact,
    "euler_maruyama": euler_maruyama,
}
"""Integrators by name (``rk2`` is ``heun``)."""


def get(method: str, owner: str = "integrators", arg: str = "method") -> Callable[..., PyTree]:
    """The integrator called ``method``; a ``ValueError`` naming ``owner``/``arg`` and the allowed names if unknown."""
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"{owner}: {arg} must be one of {sorted(METHODS)}, got {method!r}")
    return METHODS[method]


def odeint(f: Derivative, method: str = "rk4", *, noise: Derivative | None = None) -> Callable[..., PyTree]:
    """A one-step integrator for ``f`` (BrainPy's ``bp.odeint``): ``step(y, t, dt, *args, key=None) -> y``.

    Args:
      f: derivative ``f(y, t, *args)`` (per ms), a pytree with the structure of ``y``.
      method: one of :data:`METHODS` (``euler``, ``heun``/``rk2``, ``rk4``, ``exp_euler``, ``exact``,
        ``euler_maruyama``).
      noise: diffusion ``g(y, t, *args)``, required by (and only used with) ``euler_maruyama``; then
        ``step`` needs ``key=``.

    Raises:
      ValueError: unknown ``method``, or ``noise`` missing for ``euler_maruyama`` / given for another method.
    """
    fn = get(method, "odeint")
    if not callable(f):
        raise TypeError(f"odeint: f must be callable f(y, t, *args), got {f!r}")
    if (method == "euler_maruyama") != (noise is not None):
        raise ValueError(f"odeint: noise= is required by method='euler_maruyama' and only by it (method={method!r})")

    def step(y: PyTree, t: Any, dt: float, *args: Any, key: jax.Array | None = None) -> PyTree:
        if noise is not None:
            if key is None:
                raise ValueError("odeint: method='euler_maruyama' needs key=jax.random.key(...)")
            return fn(f, noise, y, t, dt, key, *args)
        return fn(f, y, t, dt, *args)

    return step
