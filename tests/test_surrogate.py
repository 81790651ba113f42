"""Spike functions: exact Heaviside forward, surrogate gradients equal to their analytic derivatives."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj
from snnjax import surrogate as sg

X = np.concatenate([np.linspace(-4.0, 4.0, 161), [0.0, -1e-7, 1e-7, -1e-30, 1e-30, -50.0, 50.0]]).astype(np.float32)


def _npdf(x, mu, s):
    return np.exp(-0.5 * ((x - mu) / s) ** 2) / (math.sqrt(2 * math.pi) * s)


# the analytic derivatives, written out again in float64 NumPy from the papers' formulas (independent of the module)
ANALYTIC = [
    (sg.Sigmoid(alpha=4.0), lambda x: 4.0 * np.exp(-4.0 * x) / (1 + np.exp(-4.0 * x)) ** 2),
    (sg.Sigmoid(alpha=0.7), lambda x: 0.7 * np.exp(-0.7 * x) / (1 + np.exp(-0.7 * x)) ** 2),
    (sg.FastSigmoid(alpha=10.0), lambda x: 1 / (1 + 10 * np.abs(x)) ** 2),
    (sg.FastSigmoid(alpha=2.5), lambda x: 1 / (1 + 2.5 * np.abs(x)) ** 2),
    (sg.Arctan(alpha=2.0), lambda x: 1.0 / (1 + (math.pi * x) ** 2)),
    (sg.Arctan(alpha=5.0), lambda x: 2.5 / (1 + (2.5 * math.pi * x) ** 2)),
    (sg.PiecewiseLinear(width=1.0), lambda x: np.maximum(0, 1 - np.abs(x))),
    (sg.PiecewiseLinear(width=0.3), lambda x: np.maximum(0, 1 - np.abs(x) / 0.3) / 0.3),
    (sg.Gaussian(sigma=0.5), lambda x: np.exp(-2 * x**2) / math.sqrt(0.5 * math.pi)),
    (sg.Gaussian(sigma=2.0), lambda x: _npdf(x, 0, 2.0)),
    # Yin et al. 2021, eq. (8): (1+h) G(0, s) - h G(s, 6s) - h G(-s, 6s) with h = 0.15, s = 0.5
    (sg.MultiGaussian(), lambda x: 1.15 * _npdf(x, 0, 0.5) - 0.15 * _npdf(x, 0.5, 3.0) - 0.15 * _npdf(x, -0.5, 3.0)),
    (
        sg.MultiGaussian(sigma=1.0, h=0.3, s=2.0),
        lambda x: 1.3 * _npdf(x, 0, 1) - 0.3 * (_npdf(x, 1, 2) + _npdf(x, -1, 2)),
    ),
]
IDS = [repr(f) for f, _ in ANALYTIC]
ALL = [f for f, _ in ANALYTIC]


@pytest.mark.parametrize("fn", ALL, ids=IDS)
def test_forward_is_exactly_the_heaviside_step(fn):
    y = fn(jnp.asarray(X))
    np.testing.assert_array_equal(np.asarray(y), (X >= 0).astype(np.float32))  # exact: 0 or 1, x == 0 spikes
    assert y.dtype == jnp.float32
    # integer input is promoted to float; the step is the same
    np.testing.assert_array_equal(np.asarray(fn(jnp.arange(-2, 3))), [0, 0, 1, 1, 1])
    # and the value under jit and vmap is the same step
    np.testing.assert_array_equal(np.asarray(jax.jit(jax.vmap(fn))(jnp.asarray(X))), np.asarray(y))


@pytest.mark.parametrize("fn,analytic", ANALYTIC, ids=IDS)
def test_gradient_equals_the_analytic_derivative(fn, analytic):
    g = jax.vmap(jax.grad(fn))(jnp.asarray(X))
    expected = analytic(X.astype(np.float64))
    # float32 evaluation of exp/arctan/erf-free closed forms: relative error a few ulp (~1e-6); atol covers the
    # tails, where the derivative underflows (< 1e-30) in float32 but not float64
    np.testing.assert_allclose(np.asarray(g), expected, rtol=1e-5, atol=1e-7)
    # the .grad method is what the custom JVP uses, also for jit(grad) and for the tangent of a whole array; XLA may
    # fuse differently, so a few ulp of relative difference, plus 1e-7 absolute for the cancellation of the
    # MultiGaussian's lobes near its zero crossings (values ~1e-3 computed as differences of ~0.1 terms)
    jit_g = jax.jit(jax.grad(lambda x: fn(x).sum()))(jnp.asarray(X))
    np.testing.assert_allclose(np.asarray(jit_g), np.asarray(g), rtol=1e-6, atol=1e-7)
    _, tangent = jax.jvp(fn, (jnp.asarray(X),), (jnp.full(X.shape, 2.0, jnp.float32),))
    np.testing.assert_allclose(np.asarray(tangent), 2.0 * np.asarray(g), rtol=1e-6, atol=2e-7)


@pytest.mark.parametrize("fn", ALL, ids=IDS)
def test_smooth_step_is_the_primitive_of_the_gradient(fn):
    with jax.enable_x64(True):
        x = jnp.linspace(-60.0, 60.0, 240001, dtype=jnp.float64)
        g = fn.grad(x)
        # derivative of smooth == grad (autodiff of an independent closed form), in float64: round-off only
        np.testing.assert_allclose(np.asarray(jax.vmap(jax.grad(fn.smooth))(x)), np.asarray(g), rtol=1e-9, atol=1e-12)
        # trapezoid integral of grad from -60 equals smooth(x) - smooth(-60); step 5e-4 mV makes the trapezoid error
        # (h^2/12 |g''| per unit length, |g''| <= 4/sigma^3 ~ 500 for the narrowest here) below 1e-5, except at the
        # kinks of PiecewiseLinear and FastSigmoid where it is of the same order
        integral = np.concatenate([[0.0], np.cumsum(0.5 * (np.asarray(g)[1:] + np.asarray(g)[:-1]) * 5e-4)])
        s = np.asarray(fn.smooth(x))
        np.testing.assert_allclose(integral, s - s[0], atol=2e-5)
    if isinstance(fn, sg.FastSigmoid):
        assert math.isclose(float(s[-1] - s[0]), 2 / fn.alpha, rel_tol=0.01)  # tails decay like 1/x: 1% at |x|=60
    elif isinstance(fn, sg.MultiGaussian):
        # (1 + h) - 2 h: the negative lobes take away 2 h of the central Gaussian's unit area
        assert math.isclose(float(s[-1] - s[0]), 1.0 - fn.h, rel_tol=1e-6)
    elif isinstance(fn, sg.Arctan):
        assert math.isclose(float(s[-1] - s[0]), 1.0, rel_tol=0.02)  # arctan tails also ~1/x
    else:
        assert math.isclose(float(s[-1] - s[0]), 1.0, rel_tol=1e-6)  # normalised: the derivative integrates to 1


def test_spike_functions_are_hashable_static_values():
    assert hash(sg.Arctan(2)) == hash(sg.Arctan(2.0)) and sg.Arctan(2) == sg.Arctan(2.0)
    assert sg.Gaussian(0.5) != sg.Gaussian(0.6) and sg.Gaussian(0.5) != sg.MultiGaussian()
    assert isinstance(sg.Arctan(2).alpha, float)
    with pytest.raises(AttributeError):
        sg.Gaussian().sigma = 1.0  # frozen
    # as a static field of a neuron model: jit compiles one program per spike function and gets its gradient
    traces = 0

    def dv(lif):
        def f(v):
            nonlocal traces
            traces += 1
            state = lif.init().replace(v=v)
            return lif.update(state, 0.0, dt=0.1).spike.sum()

        return jax.jit(jax.grad(f))

    v = jnp.array([19.0, 20.5])
    for fn, analytic in ANALYTIC[::3]:
        lif = sj.neurons.LIF(2, tau=10.0, v_th=20.0, spike_fn=fn)
        # v decays for one step towards 0: x = v exp(-0.01) - 20, dspike/dv = grad(x) exp(-0.01)
        x = np.asarray(v, np.float64) * math.exp(-0.01) - 20.0
        np.testing.assert_allclose(np.asarray(dv(lif)(v)), analytic(x) * math.exp(-0.01), rtol=1e-5, atol=1e-7)
    assert traces == len(ANALYTIC[::3])


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: sg.Sigmoid(alpha=0.0), r"Sigmoid: alpha must be a finite number > 0 \(1/mV\), got 0"),
        (lambda: sg.FastSigmoid(alpha=-1), "FastSigmoid: alpha must be a finite number > 0"),
        (lambda: sg.Arctan(alpha=float("nan")), "Arctan: alpha must be a finite number > 0"),
        (lambda: sg.PiecewiseLinear(width=float("inf")), r"PiecewiseLinear: width must be a finite number > 0 \(mV\)"),
        (lambda: sg.Gaussian(sigma=-0.5), r"Gaussian: sigma must be a finite number > 0 \(mV\), got -0.5"),
        (lambda: sg.MultiGaussian(h=0.0), "MultiGaussian: h must be a finite number > 0"),
        (lambda: sg.MultiGaussian(s=-6.0), "MultiGaussian: s must be a finite number > 0"),
    ],
)
def test_bad_parameters_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("bad", [True, "2", jnp.array(2.0), None])
def test_non_numbers_raise_type_error(bad):
    with pytest.raises(TypeError, match="Arctan: alpha must be a Python number"):
        sg.Arctan(alpha=bad)
