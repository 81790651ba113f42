"""Learnable delays: gradients w.r.t. a connection's delays (ms) against central finite differences, the
interpolated first-spike time, and the delay-learning example (a Network with delay_interp="linear") reaching
<= 20% of its initial timing error."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj
from snnjax.connections import LinearDense, LinearDirect
from snnjax.delay_learning import clip_delays, crossing_times
from snnjax.examples import learn_delays as ex
from snnjax.synapses.inferno import SingleExponentialCurrent

DT = 0.1  # ms


def network(kind, mode="linear"):
    syn = SingleExponentialCurrent.partialconstructor(spike_charge=10.0, time_constant=5.0, current_interp_mode=mode)
    rng = np.random.default_rng(0)
    # delays off the 0.1 ms grid by >= 0.02 ms, so +-h (1e-4 ms) stays within one step of the record
    if kind == "dense":
        d = np.round(rng.uniform(0.5, 7.5, (2, 3)), 1) + 0.037
        conn = LinearDense.create(3, 2, DT, synapse=syn, weight=jnp.asarray([[1.0, 0.5, -0.7], [0.3, 1.2, 0.8]]),
                                  delay=8.0, delay_init=d)  # fmt: skip
    else:
        d = np.array([0.537, 2.263, 6.071])
        conn = LinearDirect.create(3, DT, synapse=syn, weight=jnp.asarray([1.0, -0.5, 0.8]), delay=8.0, delay_init=d)
    lif = sj.neurons.LIF(conn.outsize, v_rest=0.0, v_reset=0.0, v_th=1e30, tau=10.0)
    spikes = np.zeros((150, 1, 3))
    spikes[[5, 20, 37], 0, [0, 1, 2]] = 1.0
    spikes[60, 0, 0] = 1.0
    return conn, lif, jnp.asarray(spikes)


def membrane(conn, lif, spikes):
    def step(carry, x):
        syn, neu = carry
        syn, cur = conn.update(syn, x)
        neu = lif.update(neu, cur, dt=DT)
        return (syn, neu), neu.v

    return jax.lax.scan(step, (conn.init(), lif.init((1,))), spikes)[1]


def smooth_loss(delay, conn, lif, spikes):
    """Sub-threshold (no spikes) squared distance of the membrane to a ramp, mV^2."""
    v = membrane(conn.replace(delay=delay), lif, spikes)
    target = jnp.linspace(0.0, 2.0, v.shape[0])[:, None, None]
    return jnp.sum((v - target) ** 2) * DT


def central_differences(f, x, h):
    x = np.asarray(x, np.float64)
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        g[idx] = (float(f(jnp.asarray(x + e))) - float(f(jnp.asarray(x - e)))) / (2 * h)
    return g


@pytest.mark.parametrize("kind", ["dense", "direct"])
def test_grad_wrt_delays_matches_central_differences(kind):
    with jax.enable_x64(True):
        conn, lif, spikes = network(kind)
        conn = conn.replace(delay=jnp.asarray(conn.delay, jnp.float64), weight=jnp.asarray(conn.weight, jnp.float64))
        f = jax.jit(lambda d: smooth_loss(d, conn, lif, spikes))
        g = jax.grad(lambda d: smooth_loss(d, conn, lif, spikes))(conn.delay)
        g_jit = jax.jit(jax.grad(lambda d: smooth_loss(d, conn, lif, spikes)))(conn.delay)
        fd = central_differences(f, conn.delay, 1e-4)
    assert np.all(np.abs(fd) > 1e-3)  # every delay matters to the loss
    # With linear reads the loss is a polynomial of degree 2 in each delay within one step of the record,
    # so central differences are exact up to float64 rounding of a sum of ~10^3 terms (h = 1e-4 ms):
    # cancellation error ~ 1e-16 * |loss| / h ~ 1e-10, far below 1e-6 relative.
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(g_jit, g, rtol=1e-12)  # jit == eager in float64


def test_first_spike_time_gradient_sees_the_arrival_only_with_linear_reads():
    # one input, one readout: delaying the input by d delays the spike by d, so dt*/dd ~ 1 (not exactly:
    # the simulation is discrete and the interpolated crossing is not a perfect time shift)
    syn_args = dict(spike_charge=10.0, time_constant=5.0)
    grads = {}
    for mode in ("linear", "expdecay"):
        syn = SingleExponentialCurrent.partialconstructor(current_interp_mode=mode, **syn_args)
        conn = LinearDirect.create(1, DT, synapse=syn, weight=jnp.ones(1), delay=10.0, delay_init=3.037)
        lif = sj.neurons.LIF(1, v_rest=0.0, v_reset=0.0, v_th=1e30, tau=10.0)
        spikes = jnp.zeros((200, 1, 1)).at[10].set(1.0)

        def t_first(d, conn=conn, lif=lif, spikes=spikes):
            return crossing_times(membrane(conn.replace(delay=d), lif, spikes), 0.3, dt=DT, t0=DT)[0][0, 0]

        grads[mode] = float(jax.grad(t_first)(conn.delay)[0])
        if mode == "linear":
            d0 = np.asarray(conn.delay)
            fd = (float(t_first(jnp.asarray(d0 + 1e-3))) - float(t_first(jnp.asarray(d0 - 1e-3)))) / 2e-3
            # float32 times ~5 ms, h = 1e-3 ms: FD noise ~ 5e-7 / 1e-3 = 5e-4 relative... allow 1e-2
            np.testing.assert_allclose(grads[mode], fd, rtol=1e-2)
    assert 0.9 < grads["linear"] < 1.1
    # the exact exponential read only sees the decay of the current after the arrival: wrong sign
    assert grads["expdecay"] < 0


def test_crossing_times_by_hand():
    v = jnp.asarray([[0.0, 2.0, 0.0], [0.5, 0.0, 0.2], [1.5, 0.0, 0.4], [2.0, 0.0, 0.6]])
    t, crossed = crossing_times(v, 1.0, dt=0.1, t0=0.1)
    # column 0: first sample >= 1 is k = 2, between 0.5 and 1.5 halfway: t = 0.1 + (1 + 0.5) 0.1
    # column 1: already above at k = 0: t0; column 2: never: t0 + T dt = 0.5
    np.testing.assert_allclose(t, [0.25, 0.1, 0.5], rtol=1e-6)
    np.testing.assert_array_equal(crossed, [True, True, False])
    np.testing.assert_allclose(crossing_times(v, 1.0, dt=0.1, no_crossing=-1.0)[0][2], -1.0)
    with pytest.raises(ValueError, match="v"):
        crossing_times(jnp.zeros((0, 2)), 1.0, dt=0.1)


def test_crossing_is_the_first_spike_of_the_lif_with_that_threshold():
    setup = ex.build(0)
    t, fired = ex.first_spike_times(setup["delay"], setup["weight"])
    net = ex.network(setup["delay"], setup["weight"], v_th=ex.THRESHOLD)  # the same readouts, with a threshold
    _, rec = sj.simulate(net, net.init(dt=ex.DT), duration=ex.DURATION, dt=ex.DT, monitors=["out.spike"])
    spikes = np.asarray(rec["out.spike"])
    assert bool(fired.all()) and spikes.any(axis=0).all()
    first = np.argmax(spikes > 0, axis=0) * ex.DT  # the record of step k (stamped k DT) shows its spike
    # the interpolated crossing lies within the step the real LIF fires in
    assert np.all(first - ex.DT <= np.asarray(t) + 1e-5) and np.all(np.asarray(t) <= first + 1e-5)


def test_short_training_run_reaches_20_percent():
    out = ex.train(steps=80)
    assert out["final_error_ms"] <= 0.2 * out["initial_error_ms"], (out["initial_error_ms"], out["final_error_ms"])
    assert out["initial_error_ms"] > 0.5  # the task was not solved before training
    d = np.asarray(out["delay"])
    assert d.shape == (ex.N_OUT * ex.N_IN,)
    assert d.min() >= 0.0 and d.max() <= ex.MAX_DELAY  # clipped to the delay buffer after every step
    proj = out["net"].projections["syn"]
    np.testing.assert_array_equal(proj.delay, d)
    assert proj.delay_interp == "linear" and proj.max_delay == ex.MAX_DELAY
    np.testing.assert_array_equal(proj.weight, ex.build(0)["weight"])  # only delays are trained


def test_example_cli_prints_one_json_line(capsys):
    summary = ex.main(["--steps", "2"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    printed = json.loads(lines[0])
    assert printed == summary
    assert {"initial_error_ms", "final_error_ms"} <= set(printed)
    assert printed["steps"] == 2


def test_clip_delays():
    conn, _, _ = network("direct")
    clipped = clip_delays(conn.replace(delay=jnp.asarray([-1.0, 4.0, 9.5])))
    np.testing.assert_array_equal(clipped.delay, [0.0, 4.0, 8.0])
    with pytest.raises(ValueError, match="delay"):
        clip_delays(LinearDirect.create(3, DT, synapse=SingleExponentialCurrent.partialconstructor(
            spike_charge=1.0, time_constant=5.0), weight=jnp.ones(3)))  # fmt: skip


def test_current_interp_mode_is_checked():
    with pytest.raises(ValueError, match="current_interp_mode"):
        SingleExponentialCurrent(3, step_time=0.1, spike_charge=1.0, time_constant=5.0, current_interp_mode="cubic")
