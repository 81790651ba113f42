"""Delay buffers and arrival times."""

import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj

DT = 0.1


def pulse_net(delay, n_post=1, weight=1.0):
    # `pre` fires exactly once: a huge input during step 0 only; post voltage jumps on arrival
    return sj.Network(
        pre=sj.neurons.LIF(1, v_th=1.0, tau_ref=1000.0),
        post=sj.neurons.LIF(n_post, v_th=1e9, tau=1e9),
        syn=sj.Projection(
            "pre",
            "post",
            conn=sj.conn.All2All(),
            weight=weight,
            delay=delay,
            synapse=sj.synapses.Delta(),
            output=sj.outputs.CUBA(target="v"),
            method="sparse",
        ),
    )


def run(net, n_steps=40):
    state = net.init(dt=DT)
    pulse = np.zeros((n_steps, 1), np.float32)
    pulse[0] = 1e4
    _, rec = sj.simulate(
        net,
        state,
        duration=n_steps * DT,
        dt=DT,
        inputs=[("pre.input", pulse, "iter")],
        monitors=["pre.spike", "post.v"],
    )
    return np.asarray(rec["pre.spike"][:, 0]), np.asarray(rec["post.v"])


@pytest.mark.parametrize("delay,lag", [(0.0, 1), (0.1, 1), (0.2, 2), (0.5, 5), (1.0, 10), (2.04, 20)])
def test_arrival_step_is_emission_plus_lag(delay, lag):
    spike, v = run(pulse_net(delay))
    s = int(np.nonzero(spike)[0][0])
    arrival = int(np.nonzero(v[:, 0] > 0.5)[0][0])
    assert arrival == s + lag


def test_per_synapse_delays_arrive_separately():
    delays = np.array([0.3, 1.2, 0.7], np.float32)
    net = pulse_net(jnp.asarray(delays), n_post=3)
    assert net.projections["syn"].method == "sparse"
    spike, v = run(net)
    s = int(np.nonzero(spike)[0][0])
    arrivals = [int(np.nonzero(v[:, j] > 0.5)[0][0]) for j in range(3)]
    assert arrivals == [s + 3, s + 12, s + 7]


def test_ring_buffer_matches_a_python_history():
    # the buffer holds whether each neuron spiked (bool), whatever the spikes' dtype
    rng = np.random.default_rng(0)
    buf = sj.DelayBuffer.create(5, jnp.zeros(3))
    history = []
    for _ in range(12):
        x = rng.random(3) < 0.5
        buf = buf.write(jnp.asarray(x, jnp.float32))
        history.append(x)
        assert buf.data.dtype == jnp.bool_
        for lag in range(1, min(len(history), 5) + 1):
            np.testing.assert_array_equal(buf.read(lag), history[-lag])
    got = buf.read_at(jnp.array([1, 5, 3]), jnp.array([0, 2, 1]))
    np.testing.assert_array_equal(got, [history[-1][0], history[-5][2], history[-3][1]])


def test_delay_beyond_buffer_is_an_error():
    net = pulse_net(1.0)
    state = net.init(dt=0.1)  # buffer for 10 steps
    with pytest.raises(ValueError, match="delay buffer holds 10"):
        sj.simulate(net, state, duration=1.0, dt=0.05)  # 1 ms is 20 steps of 0.05 ms


@pytest.mark.parametrize("delay", [-1.0, float("nan"), np.array([0.1, -0.2])])
def test_bad_delays(delay):
    with pytest.raises(ValueError, match="delay"):
        pulse_net(delay, n_post=2)


def test_per_synapse_delay_shape_and_kernel_are_checked():
    with pytest.raises(ValueError, match=r"delay must be a scalar or one per synapse \(2,\)"):
        pulse_net(np.array([0.1, 0.2, 0.3]), n_post=2)
    with pytest.raises(ValueError, match="per-synapse delay values need"):
        sj.Network(
            a=sj.neurons.LIF(2),
            b=sj.neurons.LIF(2),
            p=sj.Projection("a", "b", conn=sj.conn.One2One(), delay=np.array([0.1, 0.2]), method="dense"),
        )
