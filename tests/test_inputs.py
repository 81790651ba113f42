"""snnjax.inputs: Poisson and spike-time sources, section/step/ramp currents, Ornstein-Uhlenbeck noise.

Statistical tests use fixed seeds (so they are deterministic) and bounds of 5 standard deviations of the
estimator, computed from the analytic variance: a correct implementation passes with any seed except with
probability ~1e-6, while a wrong rate, variance or correlation time misses the bound by many deviations.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import snnjax as sj
from snnjax import inputs as si

DT = 0.1  # ms


def one_pop_net(pop):
    return sj.Network(P=pop)


@functools.cache
def _jitted(duration, monitors):
    # one compiled program per (network structure, duration, monitors), shared by the tests
    return jax.jit(lambda net, state: sj.simulate(net, state, duration=duration, dt=DT, monitors=list(monitors)))


def run(net, duration, key=0, monitors=("P.spike",), batch_shape=()):
    state = net.init(key=jax.random.key(key), dt=DT, batch_shape=batch_shape)
    return _jitted(duration, tuple(monitors))(net, state)


# -- PoissonGroup -------------------------------------------------------------------------------------------


def test_poisson_counts_match_the_rate_per_neuron():
    # four rate classes of 250 neurons each, 500 ms: the count of a class is Binomial(250 * 5000, p),
    # p = 1 - exp(-rate dt / 1000), the probability of at least one Poisson event in a step
    rates = np.repeat([0.0, 5.0, 50.0, 200.0], 250)
    _, rec = run(one_pop_net(si.PoissonGroup(1000, rate=rates)), 500.0)
    counts = np.asarray(rec["P.spike"]).sum(axis=0)  # per neuron
    n_steps = 5000
    assert counts[:250].sum() == 0  # rate 0 never fires
    for k, rate in enumerate([5.0, 50.0, 200.0]):
        p = -math.expm1(-rate * DT / 1000.0)
        trials = 250 * n_steps
        mean, sd = trials * p, math.sqrt(trials * p * (1 - p))
        got = counts[250 * (k + 1) : 250 * (k + 2)]
        assert abs(got.sum() - mean) < 5 * sd, (rate, got.sum(), mean, sd)
        # independence across neurons: the per-neuron counts have the binomial variance n p (1 - p); the sample
        # variance of 250 draws has a relative standard deviation of about sqrt(2 / 249) = 0.09 -> 5 sd = 0.45
        var = n_steps * p * (1 - p)
        assert abs(got.var(ddof=1) / var - 1.0) < 5 * math.sqrt(2 / 249), (rate, got.var(ddof=1), var)


def test_poisson_interspike_intervals_are_geometric():
    # Bernoulli trials: P(ISI = k steps) = (1 - p)^(k - 1) p, so the mean ISI is 1 / p steps and the ISI
    # coefficient of variation is sqrt(1 - p) (~1: Poisson), both checked within 5 sd of their estimators
    p = -math.expm1(-100.0 * DT / 1000.0)
    _, rec = run(one_pop_net(si.PoissonGroup(200, rate=100.0)), 1000.0)
    spikes = np.asarray(rec["P.spike"]).T
    isis = np.concatenate([np.diff(np.flatnonzero(row)) for row in spikes])
    n = isis.size  # ~ 200 neurons x 100 spikes
    mean, sd = 1 / p, math.sqrt(1 - p) / p
    assert abs(isis.mean() - mean) < 5 * sd / math.sqrt(n)
    assert abs(isis.std() / isis.mean() - math.sqrt(1 - p)) < 0.05  # CV; its estimator's sd is ~0.01 here


def test_poisson_same_key_same_trains_and_other_key_other_trains():
    net = one_pop_net(si.PoissonGroup(50, rate=40.0))
    a = run(net, 50.0, key=3)[1]["P.spike"]
    b = run(net, 50.0, key=3)[1]["P.spike"]
    c = run(net, 50.0, key=4)[1]["P.spike"]
    np.testing.assert_array_equal(a, b)
    assert np.any(np.asarray(a) != np.asarray(c))
    assert np.asarray(a).sum() > 0  # 50 x 500 x 0.004 = 100 spikes expected: the comparison is not vacuous


def test_poisson_resumed_run_is_bit_identical(tmp_path):
    net = one_pop_net(si.PoissonGroup(30, rate=80.0))
    state = net.init(key=jax.random.key(7), dt=DT)
    whole_state, whole = _jitted(100.0, ("P.spike",))(net, state)  # sj.simulate under jit
    mid, first = _jitted(50.0, ("P.spike",))(net, state)
    end, second = _jitted(50.0, ("P.spike",))(net, mid)
    np.testing.assert_array_equal(whole["P.spike"], np.concatenate([first["P.spike"], second["P.spike"]]))
    # the same through a checkpoint: the key is part of the saved state
    sj.save_state(tmp_path / "mid.npz", mid)
    _, again = _jitted(50.0, ("P.spike",))(net, sj.load_state(tmp_path / "mid.npz", state))
    np.testing.assert_array_equal(second["P.spike"], again["P.spike"])
    assert np.asarray(second["P.spike"]).sum() > 0  # 30 x 500 x 0.008 = 120 spikes expected
    np.testing.assert_array_equal(
        jax.random.key_data(whole_state.neurons["P"].key), jax.random.key_data(end.neurons["P"].key)
    )


def test_poisson_populations_and_batch_copies_draw_independent_trains():
    net = sj.Network(P=si.PoissonGroup(40, rate=100.0), Q=si.PoissonGroup(40, rate=100.0))
    _, rec = run(net, 50.0, monitors=("P.spike", "Q.spike"), batch_shape=(2,))
    p, q = np.asarray(rec["P.spike"]), np.asarray(rec["Q.spike"])
    assert p.shape == (500, 2, 40)
    assert np.any(p != q)  # distinct keys per population (Network.init splits its key)
    assert np.any(p[:, 0] != p[:, 1])  # distinct trains per batch copy


def test_poisson_rate_is_a_leaf_vmap_equals_loop():
    rates = jnp.array([10.0, 60.0, 150.0])

    def count(rate):
        net = one_pop_net(si.PoissonGroup(20, rate=rate))
        _, rec = run(net, 20.0)
        return rec["P.spike"].sum()

    batched = jax.vmap(count)(rates)
    looped = jnp.stack([count(r) for r in rates])
    np.testing.assert_array_equal(batched, looped)  # same key, same uniforms: the same counts bit for bit
    assert batched[0] < batched[1] < batched[2]


def test_poisson_drives_a_lif_with_the_campbell_mean():
    # 100 Poisson inputs (20 Hz) -> All2All CUBA exponential synapse (tau_s 5 ms, w 0.1 nA) -> one LIF neuron
    # that never fires (v_th far away). The synapse adds w per input spike and decays by a = exp(-dt / tau_s)
    # per step, so its stationary mean is w N p / (1 - a) with p = 1 - exp(-rate dt / 1000); the LIF's exact
    # exponential update has unit DC gain, so <v> = v_rest + r <g> (Campbell's theorem).
    n_in, rate, w, tau_s = 100, 20.0, 0.1, 5.0
    net = sj.Network(
        P=si.PoissonGroup(n_in, rate=rate),
        E=sj.neurons.LIF(1, v_rest=-60.0, v_th=1e6, v_reset=-60.0, tau=20.0, r=1.0),
        PE=sj.Projection(
            "P",
            "E",
            conn=sj.conn.All2All(),
            weight=w,
            synapse=sj.synapses.Exponential(tau=tau_s),
            output=sj.outputs.CUBA(),
        ),
    )
    _, rec = run(net, 1000.0, monitors=("E.v",), batch_shape=(40,))
    v = np.asarray(rec["E.v"])[2000:, :, 0]  # drop 200 ms (10 membrane time constants) of transient
    expected = -60.0 + w * n_in * -math.expm1(-rate * DT / 1000.0) / (1.0 - math.exp(-DT / tau_s))
    copy_means = v.mean(axis=0)  # 40 independent copies (independent trains): iid estimates
    sem = copy_means.std(ddof=1) / math.sqrt(copy_means.size)
    assert abs(copy_means.mean() - expected) < 5 * sem, (copy_means.mean(), expected, sem)
    assert sem < 0.02  # the bound is tight: 1% of the 1 mV mean depolarisation


def test_a_replay_of_the_poisson_trains_drives_the_network_identically():
    # the same spikes from a SpikeTimeGroup (times from the Poisson record) give the same LIF trace bit for bit:
    # the network sees only spikes, and both sources deliver them at the same steps
    lif = dict(v_rest=-60.0, v_th=-50.0, v_reset=-60.0, tau=20.0, tau_ref=5.0)
    proj = dict(
        conn=sj.conn.FixedProb(0.3, seed=1),
        weight=0.5,
        synapse=sj.synapses.Exponential(tau=5.0),
        output=sj.outputs.COBA(E=0.0),
    )
    poisson = sj.Network(
        P=si.PoissonGroup(60, rate=50.0), E=sj.neurons.LIF(10, **lif), PE=sj.Projection("P", "E", **proj)
    )
    runner = sj.Runner(poisson, dt=DT, monitors=["P.spike", "E.v", "E.spike"], key=jax.random.key(1))
    runner.run(100.0)
    events = runner.mon.spikes("P.spike")
    assert len(events.times) > 100
    replay = si.SpikeTimeGroup(60, indices=np.asarray(events.index[0]), times=np.asarray(events.times))
    net2 = sj.Network(P=replay, E=sj.neurons.LIF(10, **lif), PE=sj.Projection("P", "E", **proj))
    runner2 = sj.Runner(net2, dt=DT, monitors=["P.spike", "E.v", "E.spike"])
    runner2.run(100.0)
    np.testing.assert_array_equal(runner.mon["P.spike"], runner2.mon["P.spike"])
    np.testing.assert_array_equal(runner.mon["E.v"], runner2.mon["E.v"])
    assert runner.mon["E.spike"].sum() > 0  # the drive makes E fire, so the comparison covers resets too


# -- SpikeTimeGroup -----------------------------------------------------------------------------------------


def test_spike_time_group_fires_at_exactly_the_given_steps():
    # on-grid times fire in their own step (monitor stamp == time); 0.55 ms fires in the first step starting at
    # or after it (t = 0.6 ms, BrainPy's rule); a duplicate event gives one spike; neuron 1 never fires
    group = si.SpikeTimeGroup(3, indices=[0, 2, 0, 2, 2, 0], times=[0.0, 0.3, 1.2, 0.55, 0.3, 9.9])
    runner = sj.Runner(sj.Network(S=group), dt=DT, monitors=["S.spike"])
    runner.run(10.0)
    ev = runner.mon.spikes("S.spike")
    got = sorted(zip(np.round(ev.times, 6).tolist(), np.asarray(ev.index[0]).tolist()))
    assert got == [(0.0, 0), (0.3, 2), (0.6, 2), (1.2, 0), (9.9, 0)]


def test_spike_time_group_long_times_land_on_their_step():
    # float32 times / dt near 1e6 are off by up to ~0.06 step; the tolerance keeps them on their own step
    group = si.SpikeTimeGroup(2, indices=[0, 1], times=[99999.9, 99999.95])
    state = group.init().replace(step=jnp.int32(999_999))
    state = group.update(state, 0.0, dt=DT)
    np.testing.assert_array_equal(state.spike, [1.0, 0.0])  # 99999.95 is half a step later: the next step
    state = group.update(state, 0.0, dt=DT)
    np.testing.assert_array_equal(state.spike, [0.0, 1.0])


def test_spike_time_group_batch_and_2d_shape():
    group = si.SpikeTimeGroup((2, 3), indices=[4], times=[0.2])
    state = group.init(batch_shape=(2,))
    for _ in range(3):
        state = group.update(state, 0.0, dt=DT)
    expected = np.zeros((2, 2, 3))
    expected[:, 1, 1] = 1.0  # flat index 4 of a (2, 3) group
    np.testing.assert_array_equal(state.spike, expected)


# -- currents -----------------------------------------------------------------------------------------------


def test_section_input_values_are_exact():
    cur = si.section_input([0.0, 1.5, -2.0], [0.2, 0.3, 0.1], dt=DT)
    np.testing.assert_array_equal(cur, np.array([0.0, 0.0, 1.5, 1.5, 1.5, -2.0], np.float32))
    per_neuron, total = si.section_input([np.array([1.0, 2.0]), 0.0], [0.1, 0.2], dt=DT, return_length=True)
    np.testing.assert_array_equal(per_neuron, [[1.0, 2.0], [0.0, 0.0], [0.0, 0.0]])
    assert total == pytest.approx(0.3)
    # boundaries from cumulative sums: 7 sections of 0.1 ms give 7 steps, not more (no accumulated rounding)
    assert si.section_input(list(range(7)), [0.1] * 7, dt=DT).shape == (7,)


def test_step_and_ramp_inputs_are_exact():
    np.testing.assert_array_equal(si.step_input([1.0, 2.0], [0.1, 0.3], 0.5, dt=DT), [0.0, 1.0, 1.0, 2.0, 2.0])
    np.testing.assert_array_equal(
        si.ramp_input(0.0, 1.0, 1.0, t_start=0.2, t_end=0.7, dt=DT),
        np.array([0.0, 0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 0.0, 0.0, 0.0], np.float32),
    )
    np.testing.assert_array_equal(si.ramp_input(2.0, 0.0, 0.3, dt=DT), np.array([2.0, 1.0, 0.0], np.float32))


def test_section_input_drives_a_runner_step_by_step():
    # the current array is read one row per step: a LIF (r = 1, tau = 10 ms) integrates it exactly, so after
    # the 10 steps at 0 nA it follows v = 10 (1 - a^(j + 1)), a = exp(-dt / tau) (float32: rtol 1e-5)
    cur = si.section_input([0.0, 10.0], [1.0, 1.0], dt=DT)
    net = sj.Network(E=sj.neurons.LIF(1, v_rest=0.0, v_th=1e9, tau=10.0))
    runner = sj.Runner(net, dt=DT, inputs=[("E.input", cur)], monitors=["E.v"])
    runner.run(2.0)
    v = runner.mon["E.v"][:, 0]
    np.testing.assert_array_equal(v[:10], 0.0)
    np.testing.assert_allclose(v[10:], 10.0 * (1.0 - np.exp(-DT / 10.0) ** np.arange(1, 11)), rtol=1e-5)


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.floats(-100, 100), min_size=1, max_size=6),
    steps=st.lists(st.integers(1, 20), min_size=6, max_size=6),
)
def test_section_input_lengths_and_values_property(values, steps):
    durations = [k * DT for k in steps[: len(values)]]
    cur = np.asarray(si.section_input(values, durations, dt=DT))
    assert cur.shape == (sum(steps[: len(values)]),)
    np.testing.assert_array_equal(cur, np.repeat(np.asarray(values, np.float32), steps[: len(values)]))


def test_ou_process_mean_variance_and_autocorrelation():
    mean, sigma, tau, dt = 0.5, 0.2, 10.0, 0.5
    n_proc, n = 200, 4000
    x = np.asarray(si.ou_process(mean, sigma, tau, n * dt, dt=dt, size=n_proc, key=jax.random.key(0)), np.float64)
    assert x.shape == (n, n_proc)
    a = math.exp(-dt / tau)
    m = n * n_proc
    # the estimators' variances for an AR(1) sequence (independent processes, stationary from the start):
    # mean: sigma^2 (1 + a) / (1 - a) / m; variance: 2 sigma^4 (1 + a^2) / (1 - a^2) / m;
    # lag-k autocorrelation (Bartlett): ((1 + a^2)(1 - a^2k) / (1 - a^2) - 2 k a^2k) / m
    assert abs(x.mean() - mean) < 5 * math.sqrt(sigma**2 * (1 + a) / (1 - a) / m)
    assert abs(x.var() - sigma**2) < 5 * math.sqrt(2 * sigma**4 * (1 + a**2) / (1 - a**2) / m)
    d = x - x.mean()
    for k in (1, 10, 20, 40):
        r = (d[k:] * d[:-k]).mean() / (d * d).mean()
        sd = math.sqrt(((1 + a**2) * (1 - a ** (2 * k)) / (1 - a**2) - 2 * k * a ** (2 * k)) / m)
        assert abs(r - a**k) < 5 * sd + 1e-3, (k, r, a**k, sd)  # + 1e-3: bias of the estimator, O(1 / n (1 - a))


def test_ou_process_from_x0_relaxes_to_the_mean():
    # E[x_i] = mean + (x0 - mean) a^i exactly; 2000 processes: sd of the average at step i <= sigma / sqrt(2000)
    x = np.asarray(si.ou_process(0.0, 1.0, 5.0, 10.0, dt=1.0, size=2000, key=jax.random.key(2), x0=3.0))
    np.testing.assert_array_equal(x[0], 3.0)
    expected = 3.0 * np.exp(-np.arange(10) / 5.0)
    np.testing.assert_allclose(x.mean(axis=1), expected, atol=5 / math.sqrt(2000))


def test_ou_process_reproducible_and_drives_a_runner():
    a = si.ou_process(0.0, 1.0, 5.0, 10.0, dt=DT, size=3, key=jax.random.key(5))
    b = si.ou_process(0.0, 1.0, 5.0, 10.0, dt=DT, size=3, key=jax.random.key(5))
    np.testing.assert_array_equal(a, b)
    net = sj.Network(E=sj.neurons.LIF(3, v_th=1e9))
    runner = sj.Runner(net, dt=DT, inputs=[("E.input", a)], monitors=["E.v"])
    runner.run(10.0)
    assert runner.mon["E.v"].shape == (100, 3) and np.all(np.isfinite(runner.mon["E.v"]))


# -- models as pytrees and bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model", [si.PoissonGroup(4, rate=np.arange(4.0)), si.SpikeTimeGroup(4, indices=[1, 3], times=[0.5, 1.0])]
)
def test_tree_map_and_jit_accept_the_models(model):
    jax.tree.map(lambda _: 0, model)  # vmap axis trees: __post_init__ must not reject them
    state = model.init(key=jax.random.key(0))
    jitted = jax.jit(lambda m, s: m.update(s, 0.0, dt=DT))(model, state)
    plain = model.update(state, 0.0, dt=DT)
    as_numbers = lambda tree: jax.tree.map(  # noqa: E731 - typed keys compared through their data
        lambda x: jax.random.key_data(x) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else x, tree
    )
    jax.tree.map(np.testing.assert_array_equal, as_numbers(jitted), as_numbers(plain))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: si.PoissonGroup(3, rate=-1.0), "rate must be >= 0"),
        (
            lambda: si.PoissonGroup(3, rate=np.array([1.0, 2.0])),
            r"rate must be a scalar or have the population's shape",
        ),
        (lambda: si.PoissonGroup(3, rate=-2)._validate(), "rate must be >= 0"),
        (lambda: si.PoissonGroup(3, rate=float("nan")), "rate must be finite"),
        (lambda: si.PoissonGroup(3, rate=20000.0).check_dt(0.1), r"rate must be <= 1000 / dt"),
        (lambda: si.PoissonGroup(0, rate=1.0), "size must be"),
        (lambda: si.PoissonGroup(3).init(), "key is required"),
        (lambda: si.SpikeTimeGroup(3, indices=[0, 1], times=[1.0]), "same length"),
        (lambda: si.SpikeTimeGroup(3, indices=[3], times=[1.0]), r"indices must be in \[0, 3\)"),
        (lambda: si.SpikeTimeGroup(3, indices=[0], times=[-1.0]), "times must be >= 0"),
        (lambda: si.section_input([1.0, 2.0], [1.0], dt=DT), "same length"),
        (lambda: si.section_input([1.0, 2.0], [1.0, 0.0], dt=DT), r"durations\[1\] must be a finite time"),
        (lambda: si.section_input([1.0, 2.0], [1.0, 0.01], dt=DT), "shorter than one step"),
        (lambda: si.section_input([np.ones(2), np.ones(3)], [1.0, 1.0], dt=DT), "common shape"),
        (lambda: si.section_input([1.0], [1.0], dt=0.0), "dt must be"),
        (lambda: si.step_input([1.0, 2.0], [0.3, 0.1], 1.0, dt=DT), "strictly increasing"),
        (lambda: si.ramp_input(0.0, 1.0, 1.0, t_start=0.5, t_end=2.0, dt=DT), "t_start < t_end <= duration"),
        (lambda: si.ou_process(0.0, -1.0, 5.0, 10.0, dt=DT, key=jax.random.key(0)), "sigma must be >= 0"),
        (lambda: si.ou_process(0.0, 1.0, 0.0, 10.0, dt=DT, key=jax.random.key(0)), "tau must be > 0"),
        (lambda: si.ou_process(0.0, 1.0, 5.0, 10.0, dt=DT), "key is required"),
        (lambda: si.ou_process(np.zeros(3), 1.0, 5.0, 10.0, dt=DT, size=4, key=jax.random.key(0)), "broadcast"),
    ],
)
def test_bad_input_raises_a_clear_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_poisson_rate_too_high_for_dt_is_caught_in_a_run():
    # simulate outside jit sees the concrete rate when it traces the step (inside jit, the network's
    # dt-aware validation must call PoissonGroup.check_dt: see the module docstring)
    net = one_pop_net(si.PoissonGroup(3, rate=20000.0))
    state = net.init(key=jax.random.key(0), dt=DT)
    with pytest.raises(ValueError, match=r"rate must be <= 1000 / dt"):
        sj.simulate(net, state, duration=1.0, dt=DT)


def test_a_current_into_a_spike_source_is_refused():
    net = one_pop_net(si.PoissonGroup(3, rate=10.0))
    state = net.init(key=jax.random.key(0), dt=DT)
    with pytest.raises(TypeError, match="takes no input current"):
        sj.simulate(net, state, duration=1.0, dt=DT, inputs=[("P.input", 1.0)])


def test_runner_refuses_a_poisson_rate_above_one_spike_per_step():
    # 20 kHz at dt = 0.1 ms is 2 spikes per step: refused when the Runner is built (before any trace)
    net = sj.Network(P=sj.inputs.PoissonGroup(5, rate=20_000.0))
    with pytest.raises(ValueError, match="rate must be <= 1000 / dt"):
        sj.Runner(net, dt=0.1)
    sj.Runner(net, dt=0.01)  # 0.2 spikes per step: fine
