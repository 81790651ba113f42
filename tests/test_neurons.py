"""LIF neurons against the analytic solution of tau dv/dt = -(v - v_rest) + r I."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj

DT = 0.1


def run_lif(lif, current, n_steps, batch_shape=()):
    state = lif.init(batch_shape)

    def body(s, _):
        s = lif.update(s, current, dt=DT)
        return s, (s.v, s.spike, s.refrac)

    _, (v, spike, refrac) = jax.lax.scan(body, state, None, length=n_steps)
    return np.asarray(v), np.asarray(spike), np.asarray(refrac)


def test_subthreshold_trace_is_exact():
    lif = sj.neurons.LIF(1, v_rest=-65.0, v_th=100.0, tau=20.0, r=10.0, v_init=-70.0)
    v, spike, _ = run_lif(lif, 1.2, 500)
    t = DT * np.arange(1, 501)
    v_inf = -65.0 + 10.0 * 1.2
    expected = v_inf + (-70.0 - v_inf) * np.exp(-t / 20.0)
    # exact integration: only float32 rounding accumulates (~1e-6 relative per step)
    np.testing.assert_allclose(v[:, 0], expected, rtol=0, atol=2e-4)
    assert spike.sum() == 0


@pytest.mark.parametrize("current,tau_ref", [(25.0, 2.0), (30.0, 0.0), (40.0, 5.0)])
def test_spike_times_and_isi_match_analytic(current, tau_ref):
    v_rest, v_reset, v_th, tau = 0.0, -5.0, 20.0, 10.0
    lif = sj.neurons.LIF(1, v_rest=v_rest, v_reset=v_reset, v_th=v_th, tau=tau, tau_ref=tau_ref)
    _, spike, _ = run_lif(lif, current, 3000)
    steps = np.nonzero(spike[:, 0])[0]
    # first spike: first grid step k (1-based) where v_k = I + (v0 - I) e^{-k dt/tau} >= v_th
    t_first = tau * np.log((current - v_rest) / (current - v_th))
    k_first = int(np.ceil(t_first / DT - 1e-6))
    assert steps[0] + 1 == k_first
    # continuous-time first passage within one step
    assert abs((steps[0] + 1) * DT - t_first) <= DT
    # inter-spike interval: refractory hold of round(tau_ref/dt) steps, then the climb from v_reset
    t_climb = tau * np.log((current - v_reset) / (current - v_th))
    isi_steps = round(tau_ref / DT) + int(np.ceil(t_climb / DT - 1e-6))
    np.testing.assert_array_equal(np.diff(steps), isi_steps)


def test_refractory_holds_voltage_for_rounded_steps():
    lif = sj.neurons.LIF(1, v_reset=-5.0, tau_ref=2.0)
    v, spike, refrac = run_lif(lif, 100.0, 200)
    s = int(np.nonzero(spike[:, 0])[0][0])
    held = v[s : s + 21, 0]
    np.testing.assert_array_equal(held, -5.0)  # spike step + 20 refractory steps
    assert v[s + 21, 0] > -5.0
    np.testing.assert_allclose(refrac[s, 0], 2.0)


def test_heterogeneous_parameters_match_per_neuron_runs():
    taus = np.array([5.0, 10.0, 20.0], np.float32)
    currents = np.array([22.0, 30.0, 45.0], np.float32)
    lif = sj.neurons.LIF(3, tau=jnp.asarray(taus), tau_ref=1.0)
    v, spike, _ = run_lif(lif, jnp.asarray(currents), 1000)
    for i in range(3):
        vi, si, _ = run_lif(sj.neurons.LIF(1, tau=float(taus[i]), tau_ref=1.0), float(currents[i]), 1000)
        np.testing.assert_allclose(v[:, i], vi[:, 0], rtol=1e-6, atol=1e-5)
        np.testing.assert_array_equal(spike[:, i], si[:, 0])


def test_batch_shape_gives_independent_copies():
    lif = sj.neurons.LIF(4, tau_ref=2.0)
    state = lif.init(batch_shape=(2, 3))
    assert state.v.shape == (2, 3, 4)
    current = jnp.arange(24.0).reshape(2, 3, 4) + 15.0
    v, _, _ = run_lif(lif, current, 300, batch_shape=(2, 3))
    vb, _, _ = run_lif(sj.neurons.LIF(4, tau_ref=2.0), current[1, 2], 300)
    np.testing.assert_allclose(v[:, 1, 2], vb, rtol=1e-6)


def test_inferno_contract():
    lif = sj.neurons.LIF((2, 3))
    assert lif.shape == (2, 3) and lif.count == 6
    state = lif.init()
    assert state.voltage is state.v and state.refrac.shape == (2, 3)


@pytest.mark.parametrize(
    "kwargs,arg",
    [
        (dict(tau=-1.0), "tau"),
        (dict(tau=0.0), "tau"),
        (dict(tau_ref=-2.0), "tau_ref"),
        (dict(v_th=float("nan")), "v_th"),
        (dict(r=0.0), "r"),
        (dict(tau=np.ones(5, np.float32)), "tau"),  # shape mismatch with size 4
    ],
)
def test_bad_parameters_name_the_argument(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        sj.neurons.LIF(4, **kwargs)


@pytest.mark.parametrize("size", [0, -3, (2, 0), "4", 2.5])
def test_bad_size(size):
    with pytest.raises(ValueError, match="size"):
        sj.neurons.LIF(size)


def test_random_init_needs_key():
    lif = sj.neurons.LIF(10, v_init=sj.init.Normal(-55.0, 2.0))
    with pytest.raises(ValueError, match="key"):
        lif.init()
    v = lif.init(key=jax.random.key(1)).v
    assert v.shape == (10,) and float(jnp.std(v)) > 0


def test_surrogate_forward_is_heaviside_and_gradient_is_smooth():
    fn = sj.surrogate.Sigmoid(alpha=4.0)
    x = jnp.array([-1.0, 0.0, 0.5])
    np.testing.assert_array_equal(fn(x), [0.0, 1.0, 1.0])
    g = jax.grad(lambda x: fn(x).sum())(x)
    s = jax.nn.sigmoid(4.0 * x)
    np.testing.assert_allclose(g, 4.0 * s * (1 - s), rtol=1e-6)
