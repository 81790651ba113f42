"""Chunked runs, monitor specs (index subsets, probes, reducers), compact spikes, NaN guard, compile-once."""

import os

import jax
import jax.monitoring
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj
from snnjax import monitors as mons

DT = 0.1
INPUTS = [("E.input", 12.0)]


def net(n=150):
    return sj.Network(
        E=sj.neurons.LIF(
            n, v_rest=-60.0, v_th=-50.0, v_reset=-60.0, tau=20.0, tau_ref=5.0, v_init=sj.init.Normal(-55.0, 2.0)
        ),
        EE=sj.Projection(
            "E",
            "E",
            conn=sj.conn.FixedProb(0.05, seed=1),
            weight=0.6,
            delay=0.5,
            method="event",
            synapse=sj.synapses.Exponential(tau=5.0),
            output=sj.outputs.COBA(E=0.0),
        ),
    )


def test_chunked_run_equals_one_scan():
    network = net()
    whole = sj.Runner(network, inputs=INPUTS, monitors=["E.v", "E.spike", "EE.g"], chunk=100.0).run(100.0)
    chunked = sj.Runner(network, inputs=INPUTS, monitors=["E.v", "E.spike", "EE.g"], chunk=7.0).run(100.0)
    for k in ("E.v", "E.spike", "EE.g"):
        np.testing.assert_array_equal(chunked[k], whole[k])
    np.testing.assert_array_equal(chunked.ts, whole.ts)
    # and simulate (the pure function) gives the same traces
    _, rec = sj.simulate(
        network, network.init(key=jax.random.key(0)), duration=100.0, dt=DT, inputs=INPUTS, monitors=["E.v"]
    )
    # (not bit-equal: op-by-op and jit-fused arithmetic round differently in the last float32 bit)
    np.testing.assert_allclose(rec["E.v"], whole["E.v"], atol=2e-4)


def test_iter_inputs_are_sliced_per_chunk():
    network = net(20)
    drive = np.linspace(10.0, 14.0, 500 * 20, dtype=np.float32).reshape(500, 20)
    a = sj.Runner(network, inputs=[("E.input", drive)], monitors=["E.v"], chunk=50.0).run(50.0)
    b = sj.Runner(network, inputs=[("E.input", drive)], monitors=["E.v"], chunk=3.3).run(50.0)
    np.testing.assert_array_equal(a["E.v"], b["E.v"])


def test_spikes_are_stored_compactly_and_convert_to_dense():
    network = net()
    mon = sj.Runner(network, inputs=INPUTS, monitors=["E.spike", "E.v"], chunk=13.0).run(60.0)
    ev = mon.spikes("E.spike")
    assert ev.rec_index.dtype == np.int32 and len(ev) > 50
    dense = mon["E.spike"]
    assert dense.dtype == bool and dense.shape == (600, 150) and dense.sum() == len(ev)
    np.testing.assert_array_equal(np.nonzero(dense)[1], ev.neuron)
    np.testing.assert_allclose(ev.times, mon.ts[np.nonzero(dense)[0]])
    assert list(mon) == ["E.spike", "E.v"]
    with pytest.raises(KeyError, match="not a spike monitor"):
        mon.spikes("E.v")


@pytest.mark.parametrize(
    "path,sel",
    [
        ("E.v[0:10]", np.s_[0:10]),
        ("E.v[::50]", np.s_[::50]),
        ("E.v[3]", [3]),
        ("E.v[1,7,149]", [1, 7, 149]),
        ("EE.g[5:8]", np.s_[5:8]),
    ],
)
def test_index_subsets(path, sel):
    network = net()
    mon = sj.Runner(network, inputs=INPUTS, monitors=[path, "E.v", "EE.g"]).run(20.0)
    full = mon[path.split("[")[0]]
    np.testing.assert_array_equal(mon[path], full[:, sel])


@pytest.mark.parametrize("path", ["E.v[200]", "E.v[5:5]", "E.v[a]", "E.v[1:2:3:4]"])
def test_bad_index_subsets(path):
    with pytest.raises(ValueError, match="monitors"):
        sj.Runner(net(), monitors=[path])


def test_reducers_and_probes_match_the_traces():
    network = net()
    monitors = [
        "E.spike",
        "E.v",
        mons.SpikeCount("count", population="E"),
        mons.Mean("vbar", path="E.v"),
        mons.ExpTrace("trace", path="E.spike", tau=20.0),
        mons.PopulationRate("rate", population="E"),
    ]
    mon = sj.Runner(network, inputs=INPUTS, monitors=monitors, chunk=30.0).run(100.0)
    spikes, v = mon["E.spike"], mon["E.v"]
    np.testing.assert_array_equal(mon["count"], spikes.sum(0))
    np.testing.assert_allclose(mon["vbar"], v.mean(0), rtol=1e-5)  # float32 sums of 1000 terms
    np.testing.assert_allclose(mon["rate"], spikes.mean(1) / (DT * 1e-3), rtol=1e-6)
    expected = np.zeros(150)
    trace = []
    for s in spikes:
        expected = expected * np.exp(-DT / 20.0) + s
        trace.append(expected)
    np.testing.assert_allclose(mon["trace"], np.array(trace), rtol=1e-4, atol=1e-5)
    # the same reducers through the pure simulate
    _, rec = sj.simulate(
        network, network.init(key=jax.random.key(0)), duration=100.0, dt=DT, inputs=INPUTS, monitors=monitors[2:4]
    )
    np.testing.assert_array_equal(rec["count"], mon["count"])


def test_reducers_reject_unknown_targets():
    with pytest.raises(ValueError, match="unknown population 'X'"):
        sj.Runner(net(), monitors=[mons.SpikeCount("c", population="X")])
    with pytest.raises(ValueError, match="unknown path 'E.w'"):
        sj.Runner(net(), monitors=[mons.Mean("m", path="E.w")])


def test_nan_guard_names_step_population_and_variable_and_keeps_completed_chunks():
    network = net(10)
    bad_input = ("E.input", lambda t: jnp.where(t >= 25.0, jnp.nan, 12.0))
    runner = sj.Runner(network, inputs=[bad_input], monitors=["E.v"], chunk=10.0, check_finite=True)
    with pytest.raises(FloatingPointError, match=r"first at step 250 \(t = 25 ms\) in E.v"):
        runner.run(100.0)
    assert runner.mon["E.v"].shape == (200, 10)  # the two chunks completed before the failing one
    assert np.all(np.isfinite(runner.mon["E.v"]))


def test_progress_bar_runs(capsys):
    mon = sj.Runner(net(20), inputs=INPUTS, monitors=["E.v"], chunk=10.0, progress=True).run(30.0)
    assert mon["E.v"].shape == (300, 20)
    assert "simulated" in capsys.readouterr().err


def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_repeated_runs_compile_once_and_memory_stays_flat():
    compiles = []

    def listener(name, *a, **k):
        if name == "/jax/core/compile/backend_compile_duration":
            compiles.append(name)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        network = net()
        runner = sj.Runner(network, inputs=INPUTS, monitors=["E.v", "E.spike"], chunk=20.0)
        for _ in range(3):  # warm up: the chunk program and the small host-side helpers
            runner.run(20.0)
            sj.Runner(network, inputs=INPUTS, monitors=["E.v", "E.spike"], chunk=20.0).run(20.0)
        start, rss0 = len(compiles), _rss_mb()
        for _ in range(100):
            runner.run(20.0)
        sj.Runner(network, inputs=INPUTS, monitors=["E.v", "E.spike"], chunk=20.0).run(20.0)  # a new Runner too
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert start > 0  # the listener does see compilations
    assert len(compiles) == start  # 101 more runs, no compilation
    assert _rss_mb() - rss0 < 50  # each run's monitors are ~0.5 MB; 100 leaked runs would show


def test_interrupted_run_keeps_the_completed_chunks(monkeypatch):
    network = net(20)
    whole = sj.Runner(network, inputs=INPUTS, monitors=["E.v", "E.spike"], chunk=10.0).run(50.0)
    runner = sj.Runner(network, inputs=INPUTS, monitors=["E.v", "E.spike"], chunk=10.0)
    calls = []
    real = jax.device_get

    def interrupted(x):  # Ctrl-C while the third chunk's records come back
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(x)

    monkeypatch.setattr(jax, "device_get", interrupted)
    with pytest.raises(KeyboardInterrupt):
        runner.run(50.0)
    assert runner.mon["E.v"].shape == (200, 20) and runner.mon.ts.shape == (200,)
    np.testing.assert_array_equal(runner.mon["E.v"], whole["E.v"][:200])
    np.testing.assert_array_equal(runner.mon["E.spike"], whole["E.spike"][:200])
    np.testing.assert_array_equal(runner.mon.ts, whole.ts[:200])
    assert int(runner.state.step) == 200  # the state matches the monitors: run(30.) continues from there
    rest = runner.run(30.0)
    np.testing.assert_array_equal(rest["E.v"], whole["E.v"][200:])
