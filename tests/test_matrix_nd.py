"""Test matrix (issue "Honest figures"): 2-D populations with index monitors, probes and reducers, batched and
unbatched, in simulate and Runner, against NumPy reductions of the full records."""

import jax
import numpy as np
import pytest

import snnjax as sj
from snnjax import monitors as mons

DT = 0.1
STEPS = 300


def network():
    lif = dict(v_rest=0.0, v_reset=0.0, v_th=10.0, tau=10.0, tau_ref=1.0, v_init=sj.init.Uniform(0.0, 10.0))
    return sj.Network(
        A=sj.neurons.LIF((3, 4), **lif),
        B=sj.neurons.LIF((2, 3), **lif),
        AB=sj.Projection(
            "A",
            "B",
            conn=sj.conn.FixedProb(0.5, seed=2),
            weight=0.8,
            delay=0.5,
            synapse=sj.synapses.Exponential(tau=3.0),
            stp=sj.synapses.STP(U=0.3),
        ),  # fmt: skip
        BA=sj.Projection("B", "A", conn=sj.conn.All2All(), weight=0.2, synapse=sj.synapses.AMPA()),
    )


MONITORS = [
    "A.v", "A.spike", "B.v", "B.spike", "AB.g", "AB.u", "BA.g",
    "A.v[0:5]", "B.spike[1:4]", "AB.u[2:7]", "BA.g[0:3]", "AB.g[4]",
    mons.PopulationRate("rateA", population="A"),
    mons.SpikeCount("nB", population="B"),
    mons.Mean("vbarA", path="A.v"),
]  # fmt: skip


def run(batch_shape, runner):
    net = network()
    inputs = [("A.input", 13.0), ("B.input", 11.0)]  # mV with r = 1: above the 10 mV threshold
    if runner:
        r = sj.Runner(net, dt=DT, inputs=inputs, monitors=MONITORS, batch_shape=batch_shape, key=jax.random.key(1))
        mon = r.run(STEPS * DT)
        return {k: np.asarray(mon[k]) for k in mon}
    state = net.init(jax.random.key(1), batch_shape=batch_shape, dt=DT)
    _, rec = sj.simulate(net, state, duration=STEPS * DT, dt=DT, inputs=inputs, monitors=MONITORS)
    return {k: np.asarray(v) for k, v in rec.items()}


@pytest.mark.parametrize("runner", [False, True], ids=["simulate", "Runner"])
@pytest.mark.parametrize("batch_shape", [(), (2,)])
def test_nd_monitors_probes_and_reducers_agree_with_numpy(batch_shape, runner):
    rec = run(batch_shape, runner)
    b = batch_shape
    assert rec["A.v"].shape == (STEPS, *b, 3, 4) and rec["AB.g"].shape == (STEPS, *b, 2, 3)
    n_pre_a = 12
    assert rec["AB.u"].shape == (STEPS, *b, n_pre_a)  # per presynaptic neuron: flat
    assert rec["BA.g"].shape == (STEPS, *b, 6)  # pre-aligned kinetics: one per presynaptic neuron of B
    flat = lambda x, nd: x.reshape(*x.shape[: x.ndim - nd], -1)  # noqa: E731
    np.testing.assert_array_equal(rec["A.v[0:5]"], flat(rec["A.v"], 2)[..., 0:5])
    np.testing.assert_array_equal(rec["B.spike[1:4]"], flat(rec["B.spike"], 2)[..., 1:4])
    np.testing.assert_array_equal(rec["AB.u[2:7]"], rec["AB.u"][..., 2:7])
    np.testing.assert_array_equal(rec["BA.g[0:3]"], rec["BA.g"][..., 0:3])
    np.testing.assert_array_equal(rec["AB.g[4]"], flat(rec["AB.g"], 2)[..., 4:5])
    spikes_a = rec["A.spike"].astype(np.float64)
    assert spikes_a.sum() > 0
    np.testing.assert_allclose(rec["rateA"], spikes_a.mean(axis=(-2, -1)) / (DT / 1000.0), rtol=1e-5)
    assert rec["rateA"].shape == (STEPS, *b)
    np.testing.assert_allclose(rec["vbarA"], rec["A.v"].astype(np.float64).mean(axis=0), rtol=1e-5, atol=1e-5)
    assert rec["nB"].shape == (*b, 2, 3)
    np.testing.assert_allclose(rec["nB"], rec["B.spike"].astype(np.float64).sum(axis=0))
