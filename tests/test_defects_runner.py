"""Regression tests for the runner/monitor defects of the issues "Silent wrong results found by testing as an
adversary" (rNN, reproductions in the shared repros folder) and "Honest figures" (bNN).

Each test compares with an independent reference (closed form, NumPy, or the pure ``simulate``) and fails on
the code before the fix.
"""

from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj
from snnjax import monitors as mons


def _with_spikes(state, pop, value):
    s = state.neurons[pop]
    return state.replace(neurons={**state.neurons, pop: s.replace(spike=jnp.full_like(s.spike, value))})


# --- r02: reducers accumulate without drift ----------------------------------------------------------------
def test_r02_reducers_do_not_drift():
    # A LIF at rest without input keeps v = -65.3 mV exactly, so every reducer has a closed form.
    dt, n, tau = 0.01, 200_000, 20.0
    net = sj.Network(E=sj.neurons.LIF(1, v_rest=-65.3))
    monitors = [mons.Mean("vbar", path="E.v"), mons.ExpTrace("x", path="E.v", tau=tau)]
    mon = sj.Runner(net, dt=dt, monitors=monitors, every=n // 10, chunk=n * dt).run(n * dt)
    v = float(np.float32(-65.3))
    # a plain float32 sum of 2e5 terms of 65.3 is off by ~1e-3 relative; a compensated one by ~1e-7
    np.testing.assert_allclose(mon["vbar"], [v], rtol=1e-6)
    # ExpTrace after step i (recorded at i = 0, n/10, ...): v (1 - d^(i+1)) / (1 - d), d = exp(-dt / tau).
    # A float32 decay factor d puts eps / (1 - d) = 3e-5 relative on the steady state (old code: 1e-4);
    # the compensated x + (v - a x) form stays near float32 rounding: rtol 1e-6.
    i = np.arange(0, n, n // 10) + 1
    expected = v * np.expm1(i * -dt / tau) / np.expm1(-dt / tau)
    np.testing.assert_allclose(mon["x"][:, 0], expected, rtol=1e-6)


def test_r02_spike_count_exact_beyond_float32_integers():
    # One neuron spiking at every step, accumulated by the reducer itself for 2**24 + 100 steps: float32 stops
    # counting at 2**24 = 16777216 (1 + 2**24 rounds back); the compensated count is exact (tolerance 0).
    net = sj.Network(E=sj.neurons.LIF(1))
    state = _with_spikes(net.init(dt=0.1), "E", 1.0)
    r = mons.SpikeCount("n", population="E")
    n = 2**24 + 100
    acc = jax.jit(lambda s: jax.lax.fori_loop(0, n, lambda i, a: r.update(a, s, 0.1), r.init(s)))(state)
    assert float(r.result(acc, n, 0.1)[0]) == n


def test_r02_exp_trace_steady_state_with_long_tau():
    # tau / dt = 1e6 (r02's dt = 1e-4 ms, tau = 100 ms): 3e6 steps of the reducer alone against the closed
    # form v (1 - d^n) / (1 - d) in float64. Old code: -1.4% (float32 exp(-dt/tau) = 1 - 1.0e-6 (1 +- 6%)).
    net = sj.Network(E=sj.neurons.LIF(1, v_rest=-65.3))
    state = net.init(dt=1e-4)
    r = mons.ExpTrace("x", path="E.v", tau=100.0)
    n, dt = 3_000_000, 1e-4
    acc = jax.jit(lambda s: jax.lax.fori_loop(0, n, lambda i, a: r.update(a, s, dt), r.init(s)))(state)
    v = float(np.float32(-65.3))
    expected = v * np.expm1(n * -dt / 100.0) / np.expm1(-dt / 100.0)
    np.testing.assert_allclose(float(r.result(acc, n, dt)[0]), expected, rtol=1e-6)  # measured 4e-8


# --- r05: SpikeEvents.neuron is the flat index for N-D populations ----------------------------------------
def test_r05_spike_events_flat_index_nd():
    E = sj.neurons.LIF((2, 3), v_rest=0.0, v_reset=0.0, v_th=1.0, tau=10.0)
    net = sj.Network(E=E)
    drive = np.zeros((2, 2, 3), np.float32)
    drive[0, 1, 2] = 50.0  # copy 0: neuron (1, 2) = flat 5
    drive[1, 0, 1] = 50.0  # copy 1: neuron (0, 1) = flat 1
    drive[1, 1, 0] = 40.0  # copy 1: neuron (1, 0) = flat 3
    runner = sj.Runner(net, dt=0.1, inputs=[("E.input", drive)], monitors=["E.spike"], batch_shape=(2,), chunk=2.0)
    mon = runner.run(5.0)
    ev = mon.spikes("E.spike")
    _, rec = sj.simulate(
        net, net.init(batch_shape=(2,)), duration=5.0, dt=0.1, inputs=[("E.input", drive)], monitors=["E.spike"]
    )
    dense = np.asarray(rec["E.spike"]) > 0  # (T, 2, 2, 3), the reference
    t, b, i, j = np.nonzero(dense)
    assert len(t) > 3
    np.testing.assert_array_equal(ev.rec_index, t)
    np.testing.assert_array_equal(ev.index[0], b)
    np.testing.assert_array_equal(ev.neuron, np.ravel_multi_index((i, j), (2, 3)))
    assert set(ev.neuron[ev.index[0] == 0]) == {5} and set(ev.neuron[ev.index[0] == 1]) == {1, 3}
    np.testing.assert_array_equal(mon["E.spike"], dense)  # to_dense keeps the population's shape


# --- r06: only real spike states are cast to bool ---------------------------------------------------------
def test_r06_function_monitor_named_spike_is_not_cast():
    net = sj.Network(E=sj.neurons.LIF(50, v_rest=0.0, v_reset=0.0, v_th=1.0, tau=10.0))

    def count(s):
        return s.neurons["E"].spike.sum(-1)

    monitors = [("E_n.spike", count), ("alias", "E.spike")]
    mon = sj.Runner(net, dt=0.1, inputs=[("E.input", 50.0)], monitors=monitors).run(5.0)
    _, rec = sj.simulate(net, net.init(), duration=5.0, dt=0.1, inputs=[("E.input", 50.0)], monitors=monitors)
    # a count of up to 50 spikes per step, not True/False (exact: integers)
    assert mon["E_n.spike"].dtype != bool and mon["E_n.spike"].max() == 50
    np.testing.assert_array_equal(mon["E_n.spike"], np.asarray(rec["E_n.spike"]))
    # the real spike state under another name is still a compact bool spike monitor
    assert mon["alias"].dtype == bool and len(mon.spikes("alias")) == int(np.asarray(rec["alias"]).sum())


# --- r07: index subsets of presynaptic / per-synapse fields with a batch and an N-D post group -------------
def test_r07_index_subsets_of_presynaptic_fields_batched_nd():
    net = sj.Network(
        P=sj.inputs.PoissonGroup(6, rate=200.0),
        E=sj.neurons.LIF((2, 3)),
        PE=sj.Projection("P", "E", conn=sj.conn.All2All(), weight=0.1, synapse=sj.synapses.AMPA()),
        PS=sj.Projection(
            "P", "E", conn=sj.conn.FixedProb(0.5, seed=2), weight=0.1, stp=sj.synapses.STP(U=0.3, tau_f=50.0)
        ),
    )
    mon = sj.Runner(net, dt=0.1, batch_shape=(4,), monitors=["PE.g", "PE.g[0:2]", "PS.u", "PS.u[1,3,5]"]).run(20.0)
    g, u = mon["PE.g"], mon["PS.u"]
    assert g.shape == (200, 4, 6) and u.shape == (200, 4, 6)  # presynaptic: (T, batch, n_pre)
    assert np.ptp(g) > 0 and np.ptp(u) > 0
    # NumPy reference: the same axes, selected on the flattened last axis (exact: a copy)
    np.testing.assert_array_equal(mon["PE.g[0:2]"], g.reshape(200, 4, -1)[..., 0:2])
    np.testing.assert_array_equal(mon["PS.u[1,3,5]"], u.reshape(200, 4, -1)[..., [1, 3, 5]])


# --- r09: a state of another network is rejected before tracing -------------------------------------------
def _two_groups(n_i, syn=None):
    return sj.Network(
        E=sj.neurons.LIF(5),
        I=sj.neurons.LIF(n_i),
        EI=sj.Projection("E", "I", conn=sj.conn.All2All(), synapse=syn or sj.synapses.Exponential()),
    )


@pytest.mark.parametrize(
    "state_of,match",
    [
        (lambda: sj.Network(E=sj.neurons.LIF(7)).init(), r"state.neurons\['E'\].spike has shape \(7,\), expected"),
        (lambda: _two_groups(4).init(), r"state.neurons\['I'\]\.\w+ has shape \(4,\), expected \(3,\)"),
        (
            lambda: _two_groups(3, sj.synapses.AMPA()).init(),  # pre-aligned: g is (n_pre,) = (5,), not (3,)
            r"state.synapses\['EI'\].* has shape \(5,\), expected \(3,\)",
        ),
        (lambda: _two_groups(3).init(batch_shape=(2,)).replace(step=jnp.zeros((2,), jnp.int32)), "state.step"),
        (
            lambda: sj.Network(E=sj.neurons.LIF(5), I=sj.neurons.LIF(3), X=sj.neurons.LIF(1)).init(),
            r"state.neurons\['X'\].* is not in the network's state",
        ),
    ],
)
def test_r09_foreign_state_is_rejected(state_of, match):
    net = _two_groups(3)
    state = state_of()
    with pytest.raises(ValueError, match=match):
        sj.simulate(net, state, duration=1.0, dt=0.1, monitors=["E.v"])
    runner = sj.Runner(net, dt=0.1, monitors=["E.v"])
    runner.state = state
    with pytest.raises(ValueError, match="Runner.run: .*" + match):
        runner.run(1.0)


def test_r09_matching_states_still_accepted():
    # a batched state, a state made at a smaller dt (deeper delay buffer) and a state under vmap all pass
    net = sj.Network(E=sj.neurons.LIF(5), EE=sj.Projection("E", "E", conn=sj.conn.All2All(), delay=1.0))
    sj.simulate(net, net.init(batch_shape=(2,), dt=0.1), duration=1.0, dt=0.1)
    sj.simulate(net, net.init(dt=0.05), duration=1.0, dt=0.1)
    states = net.init(batch_shape=(3,), dt=0.1)
    ts = jax.vmap(lambda s: sj.simulate(net, s, duration=1.0, dt=0.1)[1]["ts"], in_axes=(_state_axes(states),))(states)
    assert ts.shape == (3, 10)


def _state_axes(state):  # vmap axes of a batched state: delay buffers carry the batch second
    return state.replace(
        neurons=jax.tree.map(lambda _: 0, state.neurons),
        synapses=jax.tree.map(lambda _: 0, state.synapses),
        delays=jax.tree.map(lambda x: 1 if x.ndim >= 2 else None, state.delays),
        step=None,
    )


# --- r11: simulate at top level compiles once per structure -----------------------------------------------
def test_r11_simulate_traces_once_for_the_same_spec():
    net = sj.Network(
        E=sj.neurons.LIF(30, v_rest=0.0, v_reset=0.0, v_th=20.0, tau=10.0),
        EE=sj.Projection("E", "E", conn=sj.conn.FixedProb(0.2, seed=1), weight=0.5, delay=1.0),
    )
    from snnjax.runner import _compiled_chunk

    kw = dict(
        duration=20.0, dt=0.1, inputs=[("E.input", 40.0)], monitors=["E.spike", sj.monitors.Mean("vbar", path="E.v")]
    )
    state = net.init(dt=0.1)
    before = _compiled_chunk.cache_info()
    _, a = sj.simulate(net, state, **kw)
    _, b = sj.simulate(net, state, **kw)
    after = _compiled_chunk.cache_info()
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)  # old code: compiled on every call
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])  # the same program on the same data: bit-equal
    assert np.asarray(a["E.spike"]).sum() > 0 and a["E.spike"].dtype != bool  # records in the state's dtype
    # inside jit it is traced into the enclosing program (and gives the same numbers)
    _, c = jax.jit(lambda s: sj.simulate(net, s, **kw))(state)
    np.testing.assert_array_equal(c["E.spike"], a["E.spike"])


def test_r11_cached_simulate_composes_with_grad_of_a_closure():
    # outside jit but under grad, a callable input closes over a traced amplitude: still differentiable
    net = sj.Network(E=sj.neurons.LIF(1, v_th=1e9, tau=10.0))
    state = net.init()

    def loss(amp):
        _, rec = sj.simulate(net, state, duration=5.0, dt=0.1, inputs=[("E.input", lambda t: amp)], monitors=["E.v"])
        return rec["E.v"][-1, 0]

    g = jax.grad(loss)(2.0)
    eps = 0.01  # v is linear in the input while subthreshold: a central difference is exact up to rounding
    fd = (loss(2.0 + eps) - loss(2.0 - eps)) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=1e-3)
    assert g > 0


# --- r12: every > 1 traces the step once ------------------------------------------------------------------
@pytest.mark.parametrize("every", [1, 5])
def test_r12_every_traces_the_step_once(every):
    net = sj.Network(E=sj.neurons.LIF(10, v_rest=0.0, v_reset=0.0, v_th=20.0, tau=10.0))
    traces = []

    def drive(t):  # an input function: its Python body runs once per trace of the step (+ one shape check)
        traces.append(1)
        return 25.0 + 0.0 * t

    _, rec = sj.simulate(
        net, net.init(), duration=20.0, dt=0.1, inputs=[("E.input", drive)], monitors=["E.v"], every=every
    )
    assert len(traces) == 2  # the input check (eval_shape) and one trace of the step; old code: 3 for every=5
    _, full = sj.simulate(net, net.init(), duration=20.0, dt=0.1, inputs=[("E.input", 25.0)], monitors=["E.v"])
    np.testing.assert_array_equal(rec["E.v"], full["E.v"][::every])  # the state after steps 0, every, ...
    np.testing.assert_array_equal(rec["ts"], full["ts"][::every])


# --- Honest figures, bug 1: PopulationRate of an N-D population ---------------------------------------------
def test_b01_population_rate_nd():
    net = sj.Network(E=sj.neurons.LIF((10, 10), v_rest=0.0, v_reset=0.0, v_th=1.0, tau=10.0))
    drive = np.zeros((2, 10, 10), np.float32)
    drive[0, :3] = 50.0  # 30 neurons driven in copy 0
    drive[1, :, :7] = 30.0  # 70 neurons in copy 1
    monitors = [mons.PopulationRate("rate", population="E"), "E.spike"]
    mon = sj.Runner(net, dt=0.1, inputs=[("E.input", drive)], monitors=monitors, batch_shape=(2,)).run(10.0)
    spikes = mon["E.spike"]  # (T, 2, 10, 10)
    # reference: fraction of all 100 neurons spiking per step, over dt in s (float32 arithmetic: rtol 1e-6)
    expected = spikes.reshape(100, 2, 100).mean(-1) / (0.1 * 1e-3)
    assert mon["rate"].shape == (100, 2) and expected.max() > 0
    np.testing.assert_allclose(mon["rate"], expected, rtol=1e-6)


# --- Honest figures, bug 6: with check_finite, runner.state matches runner.mon --------------------------------
def test_b06_check_finite_state():
    net = sj.Network(E=sj.neurons.LIF(10, v_rest=-60.0, v_th=-50.0, v_reset=-60.0, tau=20.0))
    bad = ("E.input", lambda t: jnp.where(t >= 25.0, jnp.nan, 12.0))
    good = ("E.input", lambda t: jnp.where(t >= 1e9, jnp.nan, 12.0))  # the same program, never NaN
    monitors = ["E.v", mons.Mean("vbar", path="E.v")]
    runner = sj.Runner(net, inputs=[bad], monitors=monitors, chunk=10.0, check_finite=True)
    with pytest.raises(FloatingPointError, match=r"first at step 250 \(t = 25 ms\) in E.v") as err:
        runner.run(100.0)
    clean = sj.Runner(net, inputs=[good], monitors=monitors, chunk=10.0, check_finite=True)
    ref = clean.run(20.0)
    # the state is at the end of the completed chunks (old code: step 300, past the NaN)
    assert int(runner.state.step) == 200 == runner.mon["E.v"].shape[0]
    assert "runner.state the state at their end (step 200" in str(err.value)
    jax.tree.map(np.testing.assert_array_equal, runner.state, clean.state)  # same program, same steps: bit-equal
    # the reducers too stop at the completed chunks (old code: the failing chunk's NaN was in the mean)
    np.testing.assert_allclose(runner.mon["vbar"], ref["E.v"].mean(0), rtol=1e-6)
    # and run(rest) continues from there, as if it had never stopped
    runner.inputs = [good]
    clean_rest = clean.run(30.0)
    np.testing.assert_array_equal(runner.run(30.0)["E.v"], clean_rest["E.v"])


# --- Honest figures, bug 9: time stamps and f(t) keep their resolution on long runs ----------------------------
def _nearest_float32(steps, dt):
    """The float32 nearest to step * dt, dt read as the decimal it was written as (exact rational)."""
    d = Fraction(repr(dt))
    out = []
    for s in steps:
        exact = Fraction(int(s)) * d
        lo = np.float32(float(exact))
        cands = [np.nextafter(lo, np.float32(-np.inf)), lo, np.nextafter(lo, np.float32(np.inf))]
        out.append(min(cands, key=lambda c: abs(Fraction(float(c)) - exact)))
    return np.array(out, np.float32)


@pytest.mark.parametrize("dt,step0", [(0.1, 2**24), (0.1, 2**23), (0.025, 10_000_000), (0.1, 0)])
def test_b09_time_resolution(dt, step0):
    n = 40
    net = sj.Network(E=sj.neurons.LIF(1))
    seen = []

    def drive(t):  # records the t each step sees
        jax.debug.callback(lambda x: seen.append(np.float32(x)), t, ordered=True)
        return 0.0 * t

    state = net.init(dt=dt).replace(step=jnp.int32(step0))
    _, rec = sj.simulate(net, state, duration=n * dt, dt=dt, inputs=[("E.input", drive)], monitors=["E.v"])
    steps = step0 + np.arange(n)
    expected = _nearest_float32(steps, dt)
    # exact: the nearest float32 (old code, float32(step) * float32(dt): 5 of 8 off by one ulp at 2**24 steps)
    assert rec["ts"].dtype == jnp.result_type(float)
    np.testing.assert_array_equal(np.asarray(rec["ts"]), expected)
    np.testing.assert_array_equal(np.array(seen), expected)  # f(t) sees the same stamps
    if np.spacing(np.float32((step0 + n) * dt)) <= dt:  # float32 spacing below dt: consecutive steps distinct
        assert np.all(np.diff(np.asarray(rec["ts"])) > 0)
    # Runner: float64 stamps computed on the host, and the same float32 t for callables
    seen.clear()
    runner = sj.Runner(net, dt=dt, inputs=[("E.input", drive)], monitors=["E.v"])
    runner.state = runner.state.replace(step=jnp.int32(step0))
    mon = runner.run(n * dt)
    assert mon.ts.dtype == np.float64
    np.testing.assert_allclose(mon.ts, steps * dt, rtol=1e-15)  # float64 product: one rounding
    np.testing.assert_array_equal(np.array(seen), expected)


def test_b09_device_time_is_the_nearest_float_over_long_ranges():
    # the device formula against exact rationals over ~1e6 steps at several dt (exact: tolerance 0)
    from snnjax.runner import _time

    steps = np.r_[np.arange(0, 300_000), np.arange(2**24 - 50_000, 2**24 + 50_000), 10**8 + np.arange(50_000)]
    steps = steps.astype(np.int32)
    for dt in (0.1, 0.025, 0.01, 0.0001, 0.5, 0.3):
        out = np.asarray(jax.jit(lambda s, dt=dt: _time(s, dt))(jnp.asarray(steps)))
        d = Fraction(repr(dt))
        approx = np.float32(steps.astype(np.float64) * d.numerator / d.denominator)  # float64 then float32
        differ = np.nonzero(out != approx)[0]  # only double-rounding cases of the float64 path may differ
        np.testing.assert_array_equal(out[differ], _nearest_float32(steps[differ], dt), err_msg=str(dt))
