"""snnjax.integrators: convergence orders on problems with known solutions, the exact step on linear
systems, Euler-Maruyama moments of an Ornstein-Uhlenbeck process, and the bad-input errors.

Independent references: closed-form solutions (logistic equation, damped forced oscillator via the
eigen-decomposition in NumPy, OU mean and variance), not the integrators themselves.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj
from snnjax import integrators as ig

# a nonlinear, coupled system with a closed form: dx/dt = x y, dy/dt = -y^2, so y(t) = y0 / (1 + y0 t) and
# x(t) = x0 (1 + y0 t). Its Jacobian has an off-diagonal term (d(x y)/dy = x), which exp_euler's per-variable
# linearisation leaves out: that is what makes it first order (on a single autonomous equation it is the
# exponential Rosenbrock-Euler method, second order; see the logistic test below). Three initial values at
# once in a dict pytree.
T_END = 2.0
X0, Y0 = np.array([1.0, 0.5, 2.0]), np.array([0.5, 1.0, 0.2])


def coupled(s, t):
    return {"x": s["x"] * s["y"], "y": -(s["y"] ** 2)}


def coupled_exact(t):
    return {"x": X0 * (1.0 + Y0 * t), "y": Y0 / (1.0 + Y0 * t)}


def logistic(s, t):
    return {"y": s["y"] * (1.0 - s["y"] / 2.0)}


def logistic_exact(t):
    return {"y": 2.0 / (1.0 + (2.0 / Y0 - 1.0) * np.exp(-t))}


def final_error(method, n, f=coupled, exact=coupled_exact):
    """Max error at T_END after n steps of T_END / n (float64, so rk4's error stays far above rounding)."""
    with jax.enable_x64(True):
        step = jax.jit(sj.integrators.odeint(f, method), static_argnums=2)
        dt = T_END / n
        y0 = {k: jnp.asarray(v) for k, v in {"x": X0, "y": Y0}.items() if k in exact(0.0)}
        y = jax.lax.fori_loop(0, n, lambda i, y: step(y, i * dt, dt), y0)
        ref = exact(T_END)
        return max(float(np.max(np.abs(np.asarray(y[k]) - ref[k]))) for k in ref)


# expected ratio err(dt) / err(dt/2) = 2^order; measured (n = 40 -> 80 -> 160): euler 1.99, 1.99; heun 4.07,
# 4.04; rk4 16.4, 16.2; exp_euler 2.03, 2.02 (within 3 % of the asymptote). The band [0.8, 1.25] x 2^order is
# wide enough for the O(dt) correction to the ratio at these steps and narrow enough to tell neighbouring orders apart
# (a first-order method would give 2, i.e. outside [3.2, 5] for heun).
ORDERS = {"euler": 1, "heun": 2, "rk2": 2, "rk4": 4, "exp_euler": 1}


@pytest.mark.parametrize("method", list(ORDERS))
def test_convergence_order_on_nonlinear_problem(method):
    errors = [final_error(method, n) for n in (40, 80, 160)]
    expected = 2.0 ** ORDERS[method]
    for coarse, fine in zip(errors, errors[1:]):
        assert 0.8 * expected < coarse / fine < 1.25 * expected, (method, errors)


def test_exp_euler_is_second_order_on_a_single_autonomous_equation():
    """The logistic equation: exp_euler's linearisation is then the full Jacobian (Rosenbrock-Euler), ratio 4."""
    errors = [final_error("exp_euler", n, logistic, logistic_exact) for n in (40, 80, 160)]
    for coarse, fine in zip(errors, errors[1:]):
        assert 3.2 < coarse / fine < 5.0, errors


def test_exp_euler_is_exact_for_uncoupled_linear_equations():
    """dv/dt = (v_inf - v) / tau: one exponential-Euler step of any size is the closed form."""
    tau, v_inf, v0 = 10.0, 15.0, -3.0
    for dt in (0.1, 5.0, 50.0):
        out = ig.exp_euler(lambda y, t: (v_inf - y) / tau, jnp.float32(v0), 0.0, dt)
        # float32: a few ulps of ~15 mV
        np.testing.assert_allclose(out, v_inf + (v0 - v_inf) * np.exp(-dt / tau), rtol=0, atol=1e-5)


def test_exprel_within_an_ulp_or_three_of_float64():
    # (e^x - 1) / x against numpy's float64 expm1 at the float32 inputs themselves: the series branch
    # (|x| <= 0.1, where exp_euler's J dt lives) within 1 ulp, expm1(x) / x beyond within 4 ulp; 1 at 0
    x = np.concatenate([-np.geomspace(1e-12, 5.0, 4000), [0.0], np.geomspace(1e-12, 5.0, 4000)]).astype(np.float32)
    x64 = x.astype(np.float64)
    ref = np.divide(np.expm1(x64), x64, out=np.ones_like(x64), where=x64 != 0)
    rel = np.abs(np.asarray(jax.jit(ig.exprel)(x), np.float64) - ref) / ref
    eps = np.finfo(np.float32).eps
    assert rel[np.abs(x) <= 0.1].max() <= eps and rel.max() <= 4 * eps
    with jax.enable_x64(True):
        rel64 = np.abs(np.asarray(ig.exprel(jnp.asarray(x64))) - ref) / ref
        assert rel64.max() <= 4 * np.finfo(np.float64).eps
        assert float(jax.grad(ig.exprel)(0.0)) == 0.5  # d/dx of 1 + x/2 + ...: finite and exact at 0


def test_exp_euler_declared_jacobian_equals_derived():
    def f(y, t, i):
        return {"v": 0.04 * y["v"] ** 2 + 5 * y["v"] + 140 - y["u"] + i, "u": 0.02 * (0.2 * y["v"] - y["u"])}

    y = {"v": jnp.array([-70.0, -50.0]), "u": jnp.array([-14.0, -10.0])}
    derived = ig.exp_euler(f, y, 0.0, 0.1, 10.0)
    declared = ig.exp_euler(f, y, 0.0, 0.1, 10.0, jac={"v": 0.08 * y["v"] + 5, "u": jnp.full(2, -0.02)})
    for k in y:
        np.testing.assert_allclose(derived[k], declared[k], rtol=1e-6)  # float32 rounding only


def oscillator(y, t, force):
    """Damped forced oscillator, affine and coupled: dx/dt = p, dp/dt = -w2 x - g p + force."""
    return {"x": y["p"], "p": -4.0 * y["x"] - 0.5 * y["p"] + force}


def oscillator_exact(x0, p0, force, t):
    """Closed form through NumPy's eigen-decomposition of A = [[0, 1], [-4, -0.5]] (float64)."""
    a = np.array([[0.0, 1.0], [-4.0, -0.5]])
    x_star = np.array([force / 4.0, 0.0])  # fixed point A x* + b = 0
    w, v = np.linalg.eig(a)
    z = np.linalg.solve(v, np.array([x0, p0]) - x_star)
    return np.real(v @ (np.exp(w * t) * z)) + x_star


@pytest.mark.parametrize("dt", [0.05, 0.7, 3.0])
def test_exact_on_coupled_linear_system(dt):
    x0, p0, force = np.array([1.0, -2.0]), np.array([0.0, 3.0]), 2.0
    with jax.enable_x64(True):
        y = ig.exact(oscillator, {"x": jnp.asarray(x0), "p": jnp.asarray(p0)}, 0.0, dt, force)
        for i in range(2):
            ref = oscillator_exact(x0[i], p0[i], force, dt)
            # one step of any size: only expm's float64 rounding (~1e-15 relative) separates the two
            np.testing.assert_allclose([y["x"][i], y["p"][i]], ref, rtol=1e-10, atol=1e-12)
        # the same at a large step is far from what euler/rk4 give, so the test can fail
        if dt == 3.0:
            rk = ig.rk4(oscillator, {"x": jnp.asarray(x0), "p": jnp.asarray(p0)}, 0.0, dt, force)
            assert abs(float(rk["x"][0]) - oscillator_exact(x0[0], p0[0], force, dt)[0]) > 1e-2


def test_exact_single_variable_matches_closed_form():
    with jax.enable_x64(True):
        out = ig.exact(lambda y, t, i: (-(y + 65.0) + i) / 20.0, jnp.array([-65.0, -40.0]), 0.0, 7.0, 30.0)
        v_inf = -65.0 + 30.0
        np.testing.assert_allclose(out, v_inf + (np.array([-65.0, -40.0]) - v_inf) * np.exp(-7.0 / 20.0), rtol=1e-12)


def test_euler_maruyama_ou_mean_and_variance():
    """dx = theta (mu - x) dt + sigma dW from x0, batch of N paths.

    Theory (continuous OU): mean mu + (x0 - mu) e^{-theta t}, variance sigma^2 / (2 theta) (1 - e^{-2 theta t}).
    Euler-Maruyama's weak error is O(dt): its own moments are mu + (x0 - mu)(1 - theta dt)^n and
    sigma^2 dt (1 - q^n) / (1 - q), q = (1 - theta dt)^2 -- relative bias of the variance ~theta dt / 2 = 0.5 %
    here. Tolerances: the bias of the scheme plus 5 standard errors of the sample estimates (SE of the mean
    sqrt(var / N), of the variance var sqrt(2 / (N - 1)) for Gaussian samples): a false failure has probability
    < 1e-6, while a wrong sqrt(dt) scaling (variance x 10) or a missing drift fails by far.
    """
    theta, mu, sigma, x0, dt, n, paths = 0.1, -60.0, 2.0, -70.0, 0.1, 500, 20000
    step = sj.integrators.odeint(
        lambda x, t: theta * (mu - x), "euler_maruyama", noise=lambda x, t: sigma * jnp.ones_like(x)
    )

    def body(carry, i):
        x, key = carry
        key, sub = jax.random.split(key)
        return (step(x, i * dt, dt, key=sub), key), None

    (x, _), _ = jax.jit(lambda c: jax.lax.scan(body, c, jnp.arange(n)))((jnp.full(paths, x0), jax.random.key(1)))
    x = np.asarray(x, np.float64)
    t = n * dt
    mean_th = mu + (x0 - mu) * np.exp(-theta * t)
    var_th = sigma**2 / (2 * theta) * (1 - np.exp(-2 * theta * t))
    q = (1 - theta * dt) ** 2
    mean_em = mu + (x0 - mu) * (1 - theta * dt) ** n
    var_em = sigma**2 * dt * (1 - q**n) / (1 - q)
    se_mean, se_var = np.sqrt(var_th / paths), var_th * np.sqrt(2 / (paths - 1))
    assert abs(x.mean() - mean_th) < abs(mean_em - mean_th) + 5 * se_mean
    assert abs(x.var(ddof=1) - var_th) < abs(var_em - var_th) + 5 * se_var
    assert abs(x.var(ddof=1) - var_em) < 5 * se_var  # the scheme's own variance, tighter


def test_bad_inputs_name_the_argument():
    y = {"v": jnp.zeros(3)}
    with pytest.raises(ValueError, match="method must be one of .*euler.*rk4"):
        sj.integrators.odeint(lambda y, t: y, "rk5")
    with pytest.raises(ValueError, match="f must return the structure of the state y"):
        ig.rk4(lambda y, t: (y["v"],), y, 0.0, 0.1)
    with pytest.raises(ValueError, match="f must return the structure"):
        ig.exp_euler(lambda y, t: {"w": y["v"]}, y, 0.0, 0.1)
    with pytest.raises(ValueError, match="noise"):
        sj.integrators.odeint(lambda y, t: y, "euler_maruyama")
    with pytest.raises(ValueError, match="noise"):
        sj.integrators.odeint(lambda y, t: y, "rk4", noise=lambda y, t: y)
    with pytest.raises(ValueError, match="key"):
        sj.integrators.odeint(lambda y, t: y, "euler_maruyama", noise=lambda y, t: y)(y, 0.0, 0.1)
    with pytest.raises(ValueError, match="jac must have the structure"):
        ig.exp_euler(lambda y, t: y, y, 0.0, 0.1, jac=jnp.ones(3))
