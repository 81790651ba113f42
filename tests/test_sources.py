"""snnjax.inputs.SpikeArray: a population whose spikes are the array given at its input path.

Every test compares with the array itself (or with SpikeTimeGroup, an independent implementation of the same
time-to-step rule), exactly: spikes are 0/1 and pass through without arithmetic.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj
from snnjax.inputs import SpikeArray, SpikeTimeGroup

DT = 0.5  # ms
T = 40  # steps


def raster(shape, seed=0, p=0.2):
    return (np.random.default_rng(seed).random((T, *shape)) < p).astype(np.float32)


def relay_net(shape=(6,), n_post=3, weight=None):
    """inp (SpikeArray) -> post (non-spiking LIF, threshold unreachable) through a delta-like fast synapse."""
    n_in = int(np.prod(shape))
    w = np.linspace(0.5, 1.5, n_in * n_post, dtype=np.float32).reshape(n_in, n_post) if weight is None else weight
    return sj.Network(
        inp=SpikeArray(shape),
        post=sj.neurons.LIF(n_post, v_rest=0.0, v_reset=0.0, v_th=1e6, tau=10.0),
        syn=sj.Projection("inp", "post", conn=sj.conn.All2All(), weight=w, synapse=sj.synapses.Exponential(tau=2.0)),
    )


def test_population_contract():
    pop = SpikeArray((2, 3))
    assert pop.shape == (2, 3) and pop.count == 6
    s = pop.init((4,), key=None)
    assert s.spike.shape == (4, 2, 3) and not np.any(s.spike)
    s = pop.update(s, jnp.ones((2, 3)), dt=DT)
    np.testing.assert_array_equal(s.spike, np.ones((4, 2, 3)))
    assert jax.tree.map(lambda _: 0, pop) == pop  # no leaves: structure only
    with pytest.raises(ValueError, match="size"):
        SpikeArray(0)


@pytest.mark.parametrize("shape", [(5,), (2, 3)])
def test_unbatched_record_reproduces_the_array(shape):
    spikes = raster(shape)
    net = sj.Network(inp=SpikeArray(shape))
    _, rec = sj.simulate(
        net, net.init(), duration=T * DT, dt=DT, inputs=[("inp.input", spikes)], monitors=["inp.spike"]
    )
    np.testing.assert_array_equal(np.asarray(rec["inp.spike"]), spikes)
    assert spikes.sum() > 0


def test_runner_record_reproduces_the_array():
    spikes = raster((7,), seed=1)
    runner = sj.Runner(sj.Network(inp=SpikeArray(7)), dt=DT, inputs=[("inp.input", spikes)], monitors=["inp.spike"])
    runner.run(T * DT)
    np.testing.assert_array_equal(runner.mon["inp.spike"], spikes.astype(bool))
    ev = runner.mon.spikes("inp.spike")
    assert len(ev) == spikes.sum()


def test_batched_under_jit_reproduces_each_raster():
    spikes = np.stack([raster((4,), seed=s) for s in range(3)], axis=1)  # (T, B, 4)
    net = sj.Network(inp=SpikeArray(4))

    @jax.jit
    def go(x):
        _, rec = sj.simulate(
            net,
            net.init(batch_shape=(3,)),
            duration=T * DT,
            dt=DT,
            inputs=[("inp.input", x, "iter")],
            monitors=["inp.spike"],
        )
        return rec["inp.spike"]

    out = np.asarray(go(jnp.asarray(spikes)))
    np.testing.assert_array_equal(out, spikes)
    assert not np.array_equal(out[:, 0], out[:, 1])  # the batch elements really differ
    # one (T, *shape) array drives every batch element alike
    same = np.asarray(go(jnp.broadcast_to(spikes[:, :1], spikes.shape)))
    np.testing.assert_array_equal(same, np.broadcast_to(spikes[:, :1], spikes.shape))


def test_gradient_reaches_the_input_values():
    """post.v is linear in the input spikes (non-spiking post): the gradient of sum(v[-1]) with respect to the
    array equals the finite difference of flipping one spike on, for every entry of a few rows."""
    net = relay_net()
    state = net.init()

    def final_v(x):
        _, rec = sj.simulate(net, state, duration=T * DT, dt=DT, inputs=[("inp.input", x, "iter")], monitors=["post.v"])
        return jnp.sum(rec["post.v"][-1])

    x = jnp.asarray(raster((6,), seed=2))
    g = jax.jit(jax.grad(final_v))(x)
    assert g.shape == x.shape
    assert np.all(np.asarray(g[: T - 2]) > 0)  # every earlier spike raises the final voltage
    f = jax.jit(final_v)
    for i in (0, 10, T - 5):
        for j in (0, 5):
            e = jnp.zeros_like(x).at[i, j].set(1.0)
            fd = f(x + e) - f(x)  # exact for a linear function, up to float32 round-off
            np.testing.assert_allclose(g[i, j], fd, rtol=1e-3, atol=1e-5)


def test_graded_values_pass_through_to_projection():
    """A value 2 acts as two spikes at once on a lag-1 projection (graded spikes, documented)."""
    net = relay_net(shape=(1,), n_post=1, weight=np.ones((1, 1), np.float32))
    x1 = np.zeros((T, 1), np.float32)
    x1[3] = 1.0
    v = []
    for scale in (1.0, 2.0):
        _, rec = sj.simulate(
            net,
            net.init(),
            duration=T * DT,
            dt=DT,
            inputs=[("inp.input", x1 * scale)],
            monitors=["post.v", "inp.spike"],
        )
        v.append(np.asarray(rec["post.v"]))
        assert float(rec["inp.spike"][3, 0]) == scale
    assert v[0].max() > 0
    np.testing.assert_allclose(v[1], 2 * v[0], rtol=1e-6)


# -- from_events ----------------------------------------------------------------------------------------


def test_from_events_matches_spike_time_group():
    rng = np.random.default_rng(3)
    times = np.round(rng.uniform(0, T * DT - DT, 50), 2)
    times[:3] = [0.0, 1.5, 0.3 * 5]  # on the step grid, including a decimal that is not exact in binary
    idx = rng.integers(0, 6, 50)
    dense = np.asarray(SpikeArray.from_events(times, idx, 6, T * DT, DT))
    assert dense.shape == (T, 6)
    net = sj.Network(inp=SpikeTimeGroup(6, indices=idx, times=times))
    _, rec = sj.simulate(net, net.init(), duration=T * DT, dt=DT, monitors=["inp.spike"])
    np.testing.assert_array_equal(dense, np.asarray(rec["inp.spike"]))


def test_from_events_round_trip_through_a_runner():
    """events -> array -> SpikeArray -> Runner spike events give back the times (on the grid) and neurons."""
    times = np.array([0.0, 2.5, 2.5, 7.0, 19.5])
    idx = np.array([3, 0, 5, 3, 1])
    x = SpikeArray.from_events(times, idx, (2, 3), T * DT, DT)
    runner = sj.Runner(sj.Network(inp=SpikeArray((2, 3))), dt=DT, inputs=[("inp.input", x)], monitors=["inp.spike"])
    runner.run(T * DT)
    ev = runner.mon.spikes("inp.spike")
    got = sorted(zip(ev.times.tolist(), ev.neuron.tolist()))
    np.testing.assert_allclose([t for t, _ in got], sorted(times), atol=1e-9)
    assert sorted(zip(times.tolist(), idx.tolist())) == [(pytest.approx(t), n) for t, n in got]


def test_from_events_per_batch_element():
    times = [np.array([0.0, 1.0]), np.array([]), np.array([3.0])]
    idx = [np.array([0, 1]), np.array([], int), np.array([2])]
    x = np.asarray(SpikeArray.from_events(times, idx, 3, 5.0, 1.0))
    assert x.shape == (5, 3, 3)
    want = np.zeros((5, 3, 3))
    want[0, 0, 0] = want[1, 0, 1] = want[3, 2, 2] = 1
    np.testing.assert_array_equal(x, want)
    # duplicates at one step and neuron: one spike
    x = np.asarray(SpikeArray.from_events([1.0, 1.0], [2, 2], 3, 5.0, 1.0))
    assert x.sum() == 1


@pytest.mark.parametrize(
    "times, indices, match",
    [
        ([-1.0], [0], "times must be finite and >= 0"),
        ([np.nan], [0], "times must be finite"),
        ([1.0], [3], r"indices must be in \[0, 3\)"),
        ([1.0], [-1], r"indices must be in \[0, 3\)"),
        ([5.0], [0], "times must be < duration"),
        ([1.0, 2.0], [0], "same length"),
        ([[1.0], [2.0]], [[0]], "as many lists"),
        ([[1.0], [-2.0]], [[0], [0]], r"times\[1\] must be finite and >= 0"),
    ],
)
def test_from_events_bad_input(times, indices, match):
    with pytest.raises(ValueError, match=match):
        SpikeArray.from_events(times, indices, 3, 5.0, 1.0)


def test_from_events_bad_types():
    with pytest.raises(TypeError, match="indices must be integers"):
        SpikeArray.from_events([1.0], [0.5], 3, 5.0, 1.0)
    with pytest.raises(ValueError, match="dt"):
        SpikeArray.from_events([1.0], [0], 3, 5.0, -1.0)


def test_check_shape_and_steps():
    pop = SpikeArray(4)
    x = np.zeros((10, 4))
    assert pop.check(x, 10 * DT, DT).shape == (10, 4)
    assert pop.check(np.zeros((10, 2, 4), bool), 10 * DT, DT, batch_shape=(2,)).dtype == jnp.result_type(float)
    with pytest.raises(ValueError, match="must have 11 steps"):
        pop.check(x, 11 * DT, DT)
    with pytest.raises(ValueError, match="for this group of shape"):
        pop.check(np.zeros((10, 5)), 10 * DT, DT)
    with pytest.raises(ValueError, match="for this group of shape"):
        pop.check(np.zeros((10, 3, 4)), 10 * DT, DT, batch_shape=(2,))
    with pytest.raises(ValueError, match="finite"):
        pop.check(np.full((10, 4), np.inf), 10 * DT, DT)


def test_runner_rejects_wrong_steps_or_shape():
    net = sj.Network(inp=SpikeArray(4))
    with pytest.raises(ValueError, match="inp.input"):
        sj.simulate(net, net.init(), duration=10 * DT, dt=DT, inputs=[("inp.input", np.zeros((12, 4)))])
    with pytest.raises(ValueError, match="inp.input"):
        sj.simulate(net, net.init(), duration=10 * DT, dt=DT, inputs=[("inp.input", np.zeros((10, 5)))])


def test_bool_raster_is_an_input():
    """A bool ``(T, n)`` raster drives a SpikeArray as 0.0/1.0 (a bare bool is still refused as a current)."""
    raster = np.random.default_rng(5).random((20, 3)) < 0.3
    net = sj.Network(inp=sj.inputs.SpikeArray(3))
    for value in (raster, jnp.asarray(raster)):
        _, rec = sj.simulate(net, net.init(dt=0.1), duration=2.0, dt=0.1, inputs=[("inp.input", value)],
                             monitors=["inp.spike"])  # fmt: skip
        np.testing.assert_array_equal(np.asarray(rec["inp.spike"]) != 0, raster)
    with pytest.raises(TypeError, match="inp.input"):
        sj.simulate(net, net.init(dt=0.1), duration=2.0, dt=0.1, inputs=[("inp.input", True)])


def test_network_refuses_a_projection_onto_a_spike_array():
    with pytest.raises(ValueError, match="SpikeArray"):
        sj.Network(a=sj.neurons.LIF(2), b=SpikeArray(2), ab=sj.Projection("a", "b", conn=sj.conn.All2All()))
