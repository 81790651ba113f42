"""Issue 24 (silent wrong results, round two): q06, q10-q13, one rule from ms to steps, spike records with ``every``.

Each ``test_qNN_*`` is the reproduction ``../shared/repros2/qNN_*.py`` with its expected values asserted; the
last tests guard the two further items of the issue (one time-to-steps rule; exact rates from ``every=k``).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj
from snnjax import delays
from snnjax.neurons._base import refractory_steps

# -- q06: STDP checks the initial weights of a dense matrix at the connected pairs ------------------------------


def _stdp_net(weight, conn=None):
    rule = sj.plasticity.STDP(a_plus=0.01, a_minus=0.0, w_min=0.0, w_max=1.0)
    return sj.Network(
        A=sj.inputs.PoissonGroup(4, rate=200.0),
        B=sj.neurons.LIF(3, v_init=-60.0),
        AB=sj.Projection("A", "B", conn=conn or sj.conn.All2All(), weight=weight, method="sparse", plasticity=rule),
    )


def test_q06_stdp_dense_weight_bounds_checked():
    with pytest.raises(ValueError, match=r"initial weight must lie in \[w_min, w_max\] = \[0.0, 1.0\]"):
        _stdp_net(np.full(12, 5.0, np.float32))  # per synapse: refused before the fix too
    with pytest.raises(ValueError, match=r"initial weight must lie in .* got values in \[5.0, 5.0\]"):
        _stdp_net(np.full((4, 3), 5.0, np.float32))  # the same weights as a dense matrix
    # only the connected pairs are read (the values the rule starts from): 5.0 elsewhere is no error
    pre, post = np.array([0, 1, 3]), np.array([2, 0, 1])
    dense = np.full((4, 3), 5.0, np.float32)
    dense[pre, post] = [0.25, 0.5, 0.75]
    net = _stdp_net(dense, conn=sj.conn.FromIndices(pre, post))
    np.testing.assert_array_equal(np.asarray(net.init(jax.random.key(0)).synapses["AB"].w), [0.25, 0.5, 0.75])


# -- q10: SpikeArray.from_events accepts every time < duration ----------------------------------------------------


def test_q10_from_events_time_in_the_last_step_is_accepted():
    # 29.95 ms < 30 ms: accepted; it fires in step 300 (the first step starting at or after it), which starts when
    # the run ends, so it is not in the (300, 1) array -- as a SpikeTimeGroup run for 30 ms leaves it out
    a = sj.inputs.SpikeArray.from_events([29.95], [0], 1, duration=30.0, dt=0.1)
    assert a.shape == (300, 1) and float(jnp.sum(a)) == 0.0
    b = sj.inputs.SpikeArray.from_events([29.9, 29.95, 0.0], [0, 0, 0], 1, duration=30.0, dt=0.1)
    assert np.flatnonzero(np.asarray(b)[:, 0]).tolist() == [0, 299]
    net = sj.Network(S=sj.inputs.SpikeTimeGroup(1, indices=[0, 0, 0], times=[29.9, 29.95, 0.0]))
    _, rec = sj.simulate(net, net.init(), duration=30.0, dt=0.1, monitors=["S.spike"])
    np.testing.assert_array_equal(np.asarray(rec["S.spike"]), np.asarray(b))
    with pytest.raises(ValueError, match="must be < duration"):
        sj.inputs.SpikeArray.from_events([30.0], [0], 1, duration=30.0, dt=0.1)


# -- q11: bfloat16 is a real number, as float16 -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float16, jnp.bfloat16])
def test_q11_bfloat16_accepted_like_float16(dtype):
    w = jnp.ones(6, dtype)
    net = sj.Network(
        A=sj.neurons.LIF(2), B=sj.neurons.LIF(3), AB=sj.Projection("A", "B", conn=sj.conn.All2All(), weight=w)
    )
    _, rec = sj.simulate(net, net.init(), duration=1.0, dt=0.1, inputs=[("A.input", jnp.ones(2, dtype))])
    assert rec["ts"].shape == (10,)
    # checked as the real numbers they are: a bad value is named as such, not called "not a real number"
    with pytest.raises(ValueError, match="tau must be > 0"):
        sj.Network(A=sj.neurons.LIF(2, tau=jnp.asarray(-1.0, dtype)))._validate(0.1)
    with pytest.raises(ValueError, match="weight is a conductance and must be >= 0"):
        coba = sj.Projection("A", "B", conn=sj.conn.All2All(), weight=-w, output=sj.outputs.COBA(E=0.0))
        sj.Network(A=sj.neurons.LIF(2), B=sj.neurons.LIF(3), AB=coba)._validate(0.1)
    params, _ = sj.trainable(sj.neurons.LIF(2, tau=jnp.full(2, 10.0, dtype)))
    assert params.tau is not None  # a float leaf: trainable
    assert sj.inputs.SpikeArray(2).check(np.ones((3, 2), dtype), duration=0.3).shape == (3, 2)


# -- q12: exprel as accurate as its docstring says ----------------------------------------------------------------


def _ulps(x32):
    got = np.asarray(jax.jit(sj.integrators.exprel)(x32)).astype(np.float64)
    xd = x32.astype(np.float64)
    ref = np.divide(np.expm1(xd), xd, out=np.ones_like(xd), where=xd != 0)  # float64: exact to ~1e-16
    return np.abs(got - ref) / np.spacing(ref.astype(np.float32)).astype(np.float64)


def test_q12_exprel_accuracy_as_documented():
    x = np.linspace(-0.2, 0.2, 40001).astype(np.float32)
    ulp = _ulps(x)
    assert ulp[np.abs(x) <= 0.1].max() <= 0.6  # the reproduction's thresholds
    assert ulp[np.abs(x) > 0.1].max() <= 3.0
    # the docstring's float32 table (measured on XLA CPU), with 0.05 ulp of room for another CPU's rounding
    table = {(0.0, 0.1): 0.55, (0.1, 0.2): 0.61, (0.2, 0.5): 0.78, (0.5, 1.0): 1.18, (1.0, 2.0): 2.08,
             (2.0, 5.0): 1.65, (5.0, 20.0): 2.44, (20.0, 80.0): 1.67}  # fmt: skip
    for (lo, hi), claimed in table.items():
        x = np.concatenate([np.linspace(lo, hi, 20001), -np.linspace(lo, hi, 20001)]).astype(np.float32)
        x = x[np.abs(x) > lo] if lo else x
        assert _ulps(x).max() <= claimed + 0.05, (lo, hi)


# -- q13: a sweep equals a loop of jax.jit(fn) bit for bit ------------------------------------------------------


def _lif_mean(drive, tau, *, key):
    net = sj.Network(E=sj.neurons.LIF(10, tau=tau, v_init=sj.init.Normal(-60.0, 2.0)))
    state = net.init(key=key, dt=0.1)
    _, rec = sj.simulate(net, state, duration=20.0, dt=0.1, inputs=[("E.input", drive)], monitors=["E.v"])
    return {"trace": rec["E.v"], "mean": rec["E.v"].mean()}


def test_q13_sweep_bit_identical_to_a_loop():
    grid = {"drive": np.linspace(10.0, 20.0, 3), "tau": np.array([5.0, 10.0, 20.0])}
    res = sj.sweep(_lif_mean, grid, devices=jax.devices()[:1])
    key = jax.random.fold_in(jax.random.key(0), 0)  # seed value 0, as the docstring says
    loop = jax.jit(_lif_mean)
    want = {(i, j): loop(jnp.asarray(d), jnp.asarray(t), key=key) for i, d in enumerate(grid["drive"])
            for j, t in enumerate(grid["tau"])}  # fmt: skip
    for (i, j), out in want.items():
        np.testing.assert_array_equal(np.asarray(out["trace"]), res.data["trace"][i, j])
        np.testing.assert_array_equal(np.asarray(out["mean"]), res.data["mean"][i, j])  # the reduction too
    fast = sj.sweep(_lif_mean, grid, devices=jax.devices()[:1], vectorize=True)
    for (i, j), out in want.items():
        np.testing.assert_array_equal(fast.data["trace"][i, j], np.asarray(out["trace"]))  # element-wise: equal
        # vmap reorders the float32 sum of the mean's 2000 values of up to ~65 mV (measured up to 6e-6 mV apart);
        # bound: log2(2000) * eps32 * 65 mV = 4e-5 mV
        np.testing.assert_allclose(fast.data["mean"][i, j], np.asarray(out["mean"]), rtol=0, atol=4e-5)
    with pytest.raises(TypeError, match="vectorize must be True or False"):
        sj.sweep(_lif_mean, grid, vectorize="yes")


# -- one rule from ms to steps -----------------------------------------------------------------------------------


def test_one_rule_for_every_time_to_steps_conversion():
    dt = 0.1
    # run durations: 0.25 ms is 3 steps (Python's round(2.5) = 2 gave 2), in simulate, Runner and simulate_remat
    net = sj.Network(E=sj.neurons.LIF(2))
    _, rec = sj.simulate(net, net.init(), duration=0.25, dt=dt, monitors=["E.v"])
    assert rec["E.v"].shape == (3, 2)
    assert sj.Runner(net, dt=dt, monitors=["E.v"]).run(0.25)["E.v"].shape == (3, 2)
    _, rec = sj.training.simulate_remat(net, net.init(), duration=0.25, dt=dt, monitors=["E.v"], checkpoint_every=1)
    assert rec["E.v"].shape == (3, 2)
    # the rule: half steps round up, whole steps stay whole (0.35 / 0.1 = 3.4999999999999996)
    assert delays.time_steps([0.15, 0.25, 0.3, 0.35, 0.45, 0.0], dt).tolist() == [2, 3, 3, 4, 5, 0]
    assert delays.lag_steps([0.0, 0.25], dt).tolist() == [1, 3]  # a delay: the same, at least one step
    assert int(refractory_steps(0.35, dt)) == 4 and int(refractory_steps(0.25, dt)) == 3
    # a chunk of 0.25 ms is 3 steps: 7 steps run as chunks 3 + 3 + 1, the same record as one chunk
    full = sj.Runner(net, dt=dt, monitors=["E.v"], inputs=[("E.input", 30.0)]).run(0.7)["E.v"]
    chunked = sj.Runner(net, dt=dt, monitors=["E.v"], inputs=[("E.input", 30.0)], chunk=0.25).run(0.7)["E.v"]
    np.testing.assert_array_equal(chunked, full)
    # inputs: durations, section boundaries and step times by the same rule
    cur = np.asarray(sj.inputs.section_input([1.0, 2.0], [0.25, 0.25], dt=dt))
    assert cur.tolist() == [1.0, 1.0, 1.0, 2.0, 2.0]  # boundaries at steps(0.25) = 3 and steps(0.5) = 5
    assert np.asarray(sj.inputs.step_input([1.0], [0.25], duration=0.55, dt=dt)).tolist() == [0, 0, 0, 1, 1, 1]
    assert np.asarray(sj.inputs.ramp_input(0.0, 1.0, duration=0.25, dt=dt)).shape == (3,)
    assert sj.inputs.SpikeArray.from_events([0.1], [0], 1, duration=0.25, dt=dt).shape == (3, 1)
    assert sj.inputs.ou_process(0.0, 1.0, 5.0, duration=0.25, dt=dt, key=jax.random.key(0)).shape == (3, 1)
    # a refractory LIF (tau_ref 0.35 ms at dt 0.1: 4 steps) fires every 5th step under a strong drive
    lif = sj.Network(E=sj.neurons.LIF(1, tau_ref=0.35, v_init=-65.0))
    _, rec = sj.simulate(lif, lif.init(), duration=3.0, dt=dt, inputs=[("E.input", 1e4)], monitors=["E.spike"])
    assert np.diff(np.flatnonzero(np.asarray(rec["E.spike"])[:, 0])).tolist() == [5] * 5


# -- spike records with every = k: counts per window, exact rates ----------------------------------------------


def _busy_net():
    # no refractory period and a strong, varied drive: several spikes per 1 ms window for some neurons
    return sj.Network(
        P=sj.inputs.PoissonGroup(30, rate=300.0),
        E=sj.neurons.LIF(20, tau_ref=0.0, v_init=sj.init.Normal(-60.0, 5.0)),
        PE=sj.Projection("P", "E", conn=sj.conn.FixedProb(0.3, seed=1), weight=4.0),
    )


def test_every_k_spike_records_give_exact_rates():
    net, dt, k = _busy_net(), 0.1, 10
    inputs = [("E.input", np.geomspace(5.0, 3000.0, 20).astype(np.float32))]  # 0 to ~10 kHz
    mon1 = sj.Runner(net, dt=dt, inputs=inputs, monitors=["E.spike", "E.v"]).run(100.0)
    mon10 = sj.Runner(net, dt=dt, inputs=inputs, monitors=["E.spike", "E.v"], every=k).run(100.0)
    rate1 = sj.analysis.firing_rates(mon1.spikes("E.spike"))
    assert rate1.min() < 100.0 < 1000.0 < rate1.max()  # a range of rates, some above one spike per window
    np.testing.assert_allclose(sj.analysis.firing_rates(mon10.spikes("E.spike")), rate1, rtol=1e-12)
    np.testing.assert_allclose(sj.analysis.firing_rates(mon10["E.spike"], dt=k * dt), rate1, rtol=1e-12)
    # the count raster is the every-step raster summed over windows of k steps; other monitors are sampled
    dense1 = mon1["E.spike"]
    np.testing.assert_array_equal(mon10["E.spike"], dense1.reshape(-1, k, 20).sum(axis=1))
    assert mon10["E.spike"].max() > 1
    np.testing.assert_array_equal(mon10["E.v"], mon1["E.v"][::k])
    assert len(mon10.spikes("E.spike")) == int(dense1.sum())
    with pytest.raises(ValueError, match="every=10"):
        sj.analysis.isi(mon10.spikes("E.spike"))
    with pytest.raises(ValueError, match="every=10"):
        sj.analysis.cv(mon10.spikes("E.spike"))
    # simulate: the same counts (floats, in the state's dtype), and a subset monitor too
    state = net.init(jax.random.key(0), dt=dt)
    _, rec1 = sj.simulate(net, state, duration=100.0, dt=dt, inputs=inputs, monitors=["E.spike"])
    _, rec = sj.simulate(
        net, state, duration=100.0, dt=dt, inputs=inputs, monitors=["E.spike", "E.spike[0:5]"], every=k
    )
    np.testing.assert_array_equal(np.asarray(rec["E.spike"]), np.asarray(rec1["E.spike"]).reshape(-1, k, 20).sum(1))
    np.testing.assert_array_equal(np.asarray(rec["E.spike[0:5]"]), np.asarray(rec["E.spike"])[:, :5])
    np.testing.assert_allclose(
        sj.analysis.firing_rates(rec["E.spike"], dt=k * dt), sj.analysis.firing_rates(rec1["E.spike"], dt=dt)
    )
    np.testing.assert_allclose(sj.analysis.firing_rates(rec1["E.spike"], dt=dt), rate1, rtol=1e-12)
