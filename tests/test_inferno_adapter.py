"""The Inferno view as an adapter over the engine: a connection's outputs equal the conductance of the
Projection it converts to (``to_projection``), step by step, with the documented one-step shift."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj
from snnjax.connections import Conv2D, LinearDense, LinearDirect
from snnjax.synapses.inferno import SingleExponentialCurrent

DT = 0.1
STEPS = 120


def _spike_source(shape, seed, rate=0.08):
    """A SpikeTimeGroup firing on the step grid with probability ``rate`` per step and neuron."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    steps, idx = np.nonzero(rng.random((STEPS, n)) < rate)
    return sj.inputs.SpikeTimeGroup(shape, indices=idx, times=steps * DT)


def _compare(conn, pre_shape, post_shape, seed=0):
    """Run the network with ``conn.to_projection`` and the connection by hand on the recorded pre spikes."""
    net = sj.Network(
        P=_spike_source(pre_shape, seed),
        Q=sj.neurons.LIF(post_shape, v_th=1e9),  # never fires: only its input matters
        PQ=conn.to_projection("P", "Q"),
    )
    _, rec = sj.simulate(
        net, net.init(key=jax.random.key(0), dt=DT), duration=STEPS * DT, dt=DT, monitors=["P.spike", "PQ.g"]
    )
    pre = jnp.asarray(rec["P.spike"])  # (T, *pre_shape): the spikes emitted at each step

    def body(state, s):
        state, out = conn.update(state, s[None])
        return state, out[0]

    _, out = jax.lax.scan(body, conn.init(), pre)  # (T, *post_shape)
    g = np.asarray(rec["PQ.g"]).reshape(STEPS, *post_shape)
    assert np.abs(np.asarray(out)).max() > 0  # the comparison is not between zeros
    # the network's conductance at step n is the connection's output at step n - 1
    np.testing.assert_allclose(g[1:], np.asarray(out)[:-1], rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(g[0], 0.0)


def _syn(**kw):
    return SingleExponentialCurrent.partialconstructor(spike_charge=1.5, time_constant=4.0, **kw)


def test_linear_dense_without_delays():
    conn = LinearDense.create(6, 4, DT, synapse=_syn(), key=jax.random.key(1))
    _compare(conn, (6,), (4,))


def test_linear_dense_with_per_synapse_delays_on_the_step_grid():
    rng = np.random.default_rng(3)
    delays = rng.integers(0, 8, (4, 6)) * DT  # 0 .. 0.7 ms, whole steps
    conn = LinearDense.create(6, 4, DT, synapse=_syn(), key=jax.random.key(2), delay=0.8, delay_init=delays)
    _compare(conn, (6,), (4,), seed=1)


def test_linear_direct_with_delays_and_per_input_charge():
    syn = SingleExponentialCurrent.partialconstructor(spike_charge=jnp.linspace(0.5, 2.0, 5), time_constant=3.0)
    conn = LinearDirect.create(5, DT, synapse=syn, weight=jnp.arange(1.0, 6.0), delay=0.5,
                               delay_init=jnp.array([0.0, 0.1, 0.2, 0.3, 0.5]))  # fmt: skip
    _compare(conn, (5,), (5,), seed=2)


def test_conv2d_connection_runs_as_a_projection():
    conn = Conv2D.create(5, 6, 2, 3, DT, kernel=3, padding=1, stride=(1, 2), synapse=_syn(), key=jax.random.key(4))
    _compare(conn, (2, 5, 6), conn.outshape, seed=3)


def test_linear_interpolation_maps_to_learnable_delays():
    conn = LinearDense.create(3, 2, DT, synapse=_syn(current_interp_mode="linear"), weight=jnp.ones((2, 3)),
                              delay=1.0, delay_init=0.3)  # fmt: skip
    proj = conn.to_projection("P", "Q")
    assert proj.delay_interp == "linear" and proj.max_delay == pytest.approx(1.1)
    np.testing.assert_allclose(proj.delay, 0.4)


def test_projection_plasticity_on_a_converted_connection():
    """A converted connection takes projection STDP: its weights (w Q / tau per synapse) live in the state."""
    conn = LinearDense.create(6, 4, DT, synapse=_syn(), weight=jnp.full((4, 6), 0.5))
    rule = sj.plasticity.STDP(a_plus=0.05, a_minus=0.05, w_min=0.0, w_max=1.0)
    net = sj.Network(P=_spike_source((6,), 0, 0.2), Q=sj.neurons.LIF(4, v_th=0.05, tau=2.0),
                     PQ=conn.to_projection("P", "Q", plasticity=rule, method="sparse"))  # fmt: skip
    state = net.init(key=jax.random.key(0), dt=DT)
    np.testing.assert_allclose(state.synapses["PQ"].w, 0.5 * 1.5 / 4.0)
    state, _ = sj.simulate(net, state, duration=STEPS * DT, dt=DT)
    w = np.asarray(state.synapses["PQ"].w)
    assert w.shape == (24,) and np.all((w >= 0) & (w <= 1)) and not np.allclose(w, 0.5 * 1.5 / 4.0)


def test_to_projection_refuses_what_a_projection_cannot_hold():
    conn = LinearDense.create(3, 2, DT, synapse=_syn(), weight=jnp.ones((2, 3)), bias=jnp.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="bias"):
        conn.to_projection("P", "Q")
    LinearDense.create(3, 2, DT, synapse=_syn(), weight=jnp.ones((2, 3)), bias=True).to_projection("P", "Q")
    syn = SingleExponentialCurrent.partialconstructor(spike_charge=1.0, time_constant=jnp.array([1.0, 2.0, 3.0]))
    conn = LinearDense.create(3, 2, DT, synapse=syn, weight=jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="time_constant"):
        conn.to_projection("P", "Q")


def test_ring_helpers_serve_both_layouts():
    """One ring mechanism: a write then reads k steps back, time first (DelayBuffer) and time last (record)."""
    data, head = jnp.zeros((4, 3)), jnp.int32(0)
    for t in range(6):
        data, head = sj.delays.ring_write(data, head, jnp.full((3,), float(t)), axis=0)
    got = sj.delays.ring_read(data, head, jnp.array([[0, 1, 3]]), axis=0)
    np.testing.assert_array_equal(got[0], [5, 4, 2])  # column j read steps[j] back
    data_t, head_t = jnp.zeros((3, 4)), jnp.int32(0)
    for t in range(6):
        data_t, head_t = sj.delays.ring_write(data_t, head_t, jnp.full((3,), float(t)), axis=-1)
    np.testing.assert_array_equal(sj.delays.ring_read(data_t, head_t, jnp.array([[0], [1], [3]]))[:, 0], [5, 4, 2])


def test_clip_delays_serves_projections_and_connections():
    proj = sj.Projection("P", "Q", conn=sj.conn.All2All(), delay=jnp.array([-0.2, 0.5, 3.0, 1.0]), max_delay=2.0,
                         delay_interp="linear")  # fmt: skip
    np.testing.assert_allclose(sj.delay_learning.clip_delays(proj).delay, [0.0, 0.5, 2.0, 1.0])
    with pytest.raises(ValueError, match="max_delay"):
        sj.delay_learning.clip_delays(sj.Projection("P", "Q", conn=sj.conn.All2All(), delay=1.0))
    conn = LinearDirect.create(2, DT, synapse=_syn(), weight=jnp.ones(2), delay=0.5, delay_init=0.2)
    conn = conn.replace(delay=jnp.array([-1.0, 9.0]))
    np.testing.assert_allclose(sj.delay_learning.clip_delays(conn).delay, [0.0, 0.5])
