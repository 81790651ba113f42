"""Inferno's SingleExponentialCurrent: the recurrence against its closed form, and every selection rule
(interpolation mode, tolerance, overbound) of current_at / spike_at on hand-built histories with known answers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from snnjax.synapses.inferno import (
    SingleExponentialCurrent,
    SingleExponentialCurrentState,
    interp_linear,
    record_length,
    select,
)

T, F = True, False


def make(shape=1, **kw):
    args = dict(step_time=1.0, spike_charge=2.0, time_constant=4.0, delay=4.0)
    args.update(kw)
    return SingleExponentialCurrent(shape, **args)


def history(spikes=None, currents=None, head=2):
    """A one-synapse, batch-1 state whose observation at delay k steps is ``spikes[k]`` / ``currents[k]``.

    The ring is rotated (newest entry at ``head``) so the reads must follow the ring, not the array order.
    """
    n = len(spikes if spikes is not None else currents)
    spikes = np.zeros(n, bool) if spikes is None else np.asarray(spikes, bool)
    currents = np.zeros(n, np.float32) if currents is None else np.asarray(currents, np.float32)
    pos = (head - np.arange(n)) % n  # array position of the observation at delay k
    ring_s, ring_c = np.zeros(n, bool), np.zeros(n, np.float32)
    ring_s[pos], ring_c[pos] = spikes, currents
    return SingleExponentialCurrentState(
        currents=jnp.asarray(ring_c)[None, None], spikes=jnp.asarray(ring_s)[None, None], head=jnp.int32(head)
    )


def at(fn, state, selectors):
    """Read one synapse at several delays (trailing selector dimension)."""
    return np.asarray(fn(state, jnp.asarray(selectors, jnp.float32)[None, None, :])[0, 0])


# ---------------------------------------------------------------- dynamics


def closed_form(spikes, q, tau, dt, t_query):
    """I(t) = sum over spikes at steps f with f dt <= t of (Q / tau) exp(-(t - f dt) / tau), in float64.

    spikes: (steps, *shape) 0/1, t_query: (K,) times in ms; returns (K, *shape)."""
    steps = np.arange(spikes.shape[0]) * dt
    lag = t_query[:, None] - steps[None, :]  # (K, steps)
    lag = lag.reshape(*lag.shape, *([1] * (spikes.ndim - 1)))
    kernel = np.where(lag >= -1e-9, (q / tau) * np.exp(-np.maximum(lag, 0) / tau), 0.0)
    return (kernel * spikes[None]).sum(1)


def run(model, spikes, state=None):
    state = model.init() if state is None else state

    def step(s, x):
        s = model.update(s, x)
        return s, (s.current, s.spike)

    return jax.lax.scan(step, state, spikes)


def test_recurrence_matches_closed_form_heterogeneous_batched():
    rng = np.random.default_rng(0)
    steps, dt = 200, 0.25
    q, tau = np.array([0.5, 1.0, 3.0]), np.array([2.0, 5.0, 0.7])
    model = make(3, step_time=dt, spike_charge=jnp.asarray(q), time_constant=jnp.asarray(tau), batch_size=2)
    spikes = rng.random((steps, 2, 3)) < 0.1
    _, (cur, spk) = run(model, jnp.asarray(spikes))
    expected = closed_form(spikes.astype(float), q, tau, dt, np.arange(steps) * dt)
    # float32 recurrence: one rounding per step, relative error grows at most ~steps * 6e-8 = 1.2e-5
    np.testing.assert_allclose(np.asarray(cur), expected, rtol=5e-5, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(spk), spikes)
    assert cur.shape == (steps, 2, 3) and spk.dtype == jnp.bool_


def test_one_spike_adds_q_over_tau_after_the_decay():
    model = make(2, spike_charge=3.0, time_constant=6.0)
    s = model.update(model.init(), jnp.array([[1.0, 0.0]]))
    np.testing.assert_allclose(s.current, [[0.5, 0.0]], rtol=1e-7)  # Q / tau = 3 / 6, exact in float32
    s = model.update(s, jnp.array([[1.0, 0.0]]))
    np.testing.assert_allclose(s.current, [[0.5 * np.exp(-1 / 6) + 0.5, 0.0]], rtol=1e-6)  # float32 rounding


def test_current_at_is_the_continuous_solution_between_steps():
    # exponential-decay interpolation is exact for this synapse: between two steps no spike arrives
    rng = np.random.default_rng(1)
    steps, dt, delay = 60, 0.5, 6.0
    q, tau = np.array([1.0, 2.0, 0.5, 1.5]), np.array([3.0, 1.0, 8.0, 2.0])
    model = make(4, step_time=dt, spike_charge=jnp.asarray(q), time_constant=jnp.asarray(tau), delay=delay)
    spikes = (rng.random((steps, 1, 4)) < 0.2).astype(np.float32)
    state, _ = run(model, jnp.asarray(spikes))
    k = rng.integers(0, int(delay / dt), (1, 4, 16))
    sel = ((k + rng.uniform(0.05, 0.95, k.shape)) * dt).astype(np.float32)  # strictly between steps
    sel[..., :3] = np.array([0.0, dt, delay])  # and exactly on steps, where the observation (spike included) is read
    got = np.asarray(model.current_at(state, jnp.asarray(sel)))
    t_now = (steps - 1) * dt
    for j in range(4):
        want = closed_form(spikes[:, 0, j : j + 1], q[j], tau[j], dt, t_now - sel[0, j].astype(np.float64))[:, 0]
        # float32: recurrence (~60 steps x 6e-8) plus selector rounding (|dI/ds| s eps / I = s eps / tau ~ 1e-6)
        np.testing.assert_allclose(got[0, j], want, rtol=2e-5, atol=1e-6)


def test_jit_equals_eager_and_ring_wraps():
    rng = np.random.default_rng(2)
    model = make(3, delay=2.0, spike_interp_mode="nearest")  # recordsz 3: 20 steps wrap the ring many times
    spikes = jnp.asarray(rng.random((20, 1, 3)) < 0.3)
    sel = jnp.asarray([[0.3, 1.6, 2.0]])

    def go(m, sp):
        s, _ = run(m, sp)
        return m.current_at(s, sel), m.spike_at(s, sel), s

    cur_j, spk_j, s_j = jax.jit(go)(model, spikes)
    s = model.init()
    for x in spikes:  # eager, one step at a time
        s = model.update(s, x)
    # same float32 ops; only XLA fusion inside jit may move the last ulp
    np.testing.assert_allclose(cur_j, model.current_at(s, sel), rtol=1e-6)
    np.testing.assert_array_equal(spk_j, model.spike_at(s, sel))
    np.testing.assert_array_equal(s_j.spikes, s.spikes)
    assert int(s_j.head) == 20 % 3


def test_batch_size_and_shared_or_batched_selectors():
    model = make((2, 3), batch_size=4, delay=3.0)
    s = model.init()
    assert s.currents.shape == (4, 2, 3, 4) and model.batchedshape == (4, 2, 3) and model.recordsz == 4
    assert model.init(batch_shape=()).currents.shape == (2, 3, 4)
    assert model.init(batch_shape=(2, 5)).current.shape == (2, 5, 2, 3)
    rng = np.random.default_rng(3)
    spikes = jnp.asarray(rng.random((9, 4, 2, 3)) < 0.4)
    s, _ = run(model, spikes)
    # batch elements are independent: each equals the same model run unbatched on its own spikes
    for b in range(4):
        sb, _ = run(model, spikes[:, b], model.init(()))
        np.testing.assert_allclose(s.current[b], sb.current, rtol=1e-7)
    shared = jnp.full((2, 3), 1.5)
    np.testing.assert_array_equal(model.current_at(s, shared), model.current_at(s, jnp.full((4, 2, 3), 1.5)))
    several = model.current_at(s, jnp.broadcast_to(jnp.array([0.0, 1.5, 3.0]), (2, 3, 3)))  # (*shape, D)
    assert several.shape == (4, 2, 3, 3)
    np.testing.assert_array_equal(several[..., 1], model.current_at(s, shared))
    assert model.spike_at(s, jnp.zeros((4, 2, 3, 2))).dtype == jnp.bool_


# ---------------------------------------------------------------- selection rules on hand-built histories

SPIKES = [T, F, T, F, T]  # observation at delays 0, 1, 2, 3, 4 ms (step_time 1 ms, delay 4 ms)
CURRENTS = [5.0, 4.0, 3.0, 2.0, 1.0]  # deliberately not a solution of the dynamics: reads are pure selection


@pytest.mark.parametrize(
    "mode,selectors,expected",
    [
        # 'previous' (the signature default): the older observation, i.e. the last state before that time
        ("previous", [0.0, 1.0, 2.0, 3.0, 4.0], SPIKES),
        ("previous", [0.5, 0.01, 0.99, 1.5, 2.2, 3.9], [F, F, F, T, F, T]),
        # 'nearest': the closer observation; exactly halfway goes to the older one (Inferno's `> 0.5`)
        ("nearest", [0.4, 0.6, 0.5, 1.4, 1.6, 2.2, 3.5, 3.6], [T, F, F, F, T, T, T, T]),
        ("nearest", [0.0, 1.0, 2.0, 3.0, 4.0], SPIKES),
    ],
)
def test_spike_interpolation_modes(mode, selectors, expected):
    model = make(spike_interp_mode=mode)
    np.testing.assert_array_equal(at(model.spike_at, history(SPIKES), selectors), expected)


def test_default_spike_mode_is_previous():
    assert make().spike_interp_mode == "previous"


def test_interp_tol_makes_nearby_selectors_co_occur():
    s = history(SPIKES, CURRENTS)
    sel = [1.2, 0.8, 0.2, 1.3, 2.7]
    tol = make(interp_tol=0.25)
    # within 0.25 ms of steps 1, 1, 0: the observation itself; 1.3 and 2.7 are farther: interpolated
    np.testing.assert_array_equal(at(tol.spike_at, s, sel), [F, F, T, T, F])
    np.testing.assert_array_equal(at(make().spike_at, s, sel), [T, F, F, T, F])  # tol 0: 'previous' everywhere
    tau = 4.0
    want = [4.0, 4.0, 5.0, 3.0 * np.exp(-0.7 / tau), 2.0 * np.exp(-0.3 / tau)]
    np.testing.assert_allclose(at(tol.current_at, s, sel), want, rtol=1e-6)  # float32 exp
    want0 = [3.0 * np.exp(-0.8 / tau), 4.0 * np.exp(-0.2 / tau), 4.0 * np.exp(-0.8 / tau)]
    np.testing.assert_allclose(at(make().current_at, s, sel[:3]), want0, rtol=1e-6)


def test_float_rounding_of_selectors_on_steps_counts_as_co_occurring():
    assert record_length(0.3, 0.1) == 4 and record_length(0.30000000000000004, 0.1) == 4  # 0.3 / 0.1 < 3 in float64
    acc = np.float32(0)
    for _ in range(7):
        acc = np.float32(acc + np.float32(0.1))  # 0.70000005 ms: 7 steps of 0.1 ms accumulated in float32
    assert acc / np.float32(0.1) > 7  # without the rounding slack 'previous' would read step 8, or be out of bounds
    spikes = [F] * 7 + [T] + [F] * 3
    currents = [0.0] * 7 + [7.0] + [0.0] * 3
    for delay in (1.0, 0.7):  # a selector a rounding error past `delay` is still in bounds (tol 0)
        model = make(step_time=0.1, delay=delay)
        s = history(spikes[: model.recordsz], currents[: model.recordsz])
        np.testing.assert_array_equal(at(model.spike_at, s, [acc]), [T])
        np.testing.assert_allclose(at(model.current_at, s, [acc]), [7.0], rtol=1e-6)


def test_current_between_steps_decays_from_the_older_observation():
    s = history(SPIKES, CURRENTS)
    sel = [0.0, 0.25, 1.5, 3.9, 4.0]
    tau = 4.0
    want = [5.0, 4.0 * np.exp(-0.75 / tau), 3.0 * np.exp(-0.5 / tau), 1.0 * np.exp(-0.1 / tau), 1.0]
    np.testing.assert_allclose(at(make().current_at, s, sel), want, rtol=1e-6)  # float32 exp


@pytest.mark.parametrize(
    "kw,selectors,currents,spikes",
    [
        # defaults: current_overbound 0.0, spike_overbound False
        ({}, [-0.5, 4.5, -1e-3, 4.001], [0.0] * 4, [F] * 4),
        # explicit values
        (dict(current_overbound=-7.0, spike_overbound=True), [-0.5, 4.5], [-7.0, -7.0], [T, T]),
        # None: the value at the observation limits (delay 0 and delay 4)
        (dict(current_overbound=None, spike_overbound=None), [-0.5, 4.5, 100.0], [5.0, 1.0, 1.0], [T, T, T]),
        # interp_tol widens the bounds: within 0.25 ms of a limit reads the limit, beyond is out of bounds
        (dict(interp_tol=0.25), [-0.2, 4.2, -0.3, 4.3], [5.0, 1.0, 0.0, 0.0], [T, T, F, F]),
    ],
)
def test_overbound(kw, selectors, currents, spikes):
    model = make(**kw)
    s = history(SPIKES, CURRENTS)
    np.testing.assert_allclose(at(model.current_at, s, selectors), currents, rtol=1e-7)
    np.testing.assert_array_equal(at(model.spike_at, s, selectors), spikes)


def test_overbound_none_with_delay_between_steps_clamps_to_the_delay():
    # delay 3.5 ms with 1 ms steps: 5 observations (0..4 ms) are kept, the supported range is [0, 3.5]
    model = make(delay=3.5, current_overbound=None)
    assert model.recordsz == 5
    s = history(SPIKES, CURRENTS)
    want = 1.0 * np.exp(-0.5 / 4.0)  # the value at 3.5 ms
    np.testing.assert_allclose(at(model.current_at, s, [3.5, 3.7, 9.0]), [want] * 3, rtol=1e-6)
    np.testing.assert_allclose(at(make(delay=3.5).current_at, s, [3.7]), [0.0])


def test_delay_zero_keeps_only_the_present():
    model = make(delay=0.0)
    s = model.update(model.init(), jnp.ones((1, 1)))
    assert s.currents.shape[-1] == 1
    np.testing.assert_allclose(at(model.current_at, s, [0.0, 0.5]), [0.5, 0.0])
    np.testing.assert_array_equal(at(model.spike_at, s, [0.0, 0.5]), [T, F])


def test_linear_interpolation_of_select():
    s = history(SPIKES, CURRENTS)
    got = select(s.currents, s.head, jnp.array([[0.25, 2.5, 3.0]]), shape=(1,), step_time=1.0, max_delay=4.0,
                 interp=interp_linear)  # fmt: skip
    np.testing.assert_allclose(got, [[[4.75, 2.5, 2.0]]], rtol=1e-7)  # (batch 1, synapse 1, D 3)


# ---------------------------------------------------------------- gradients with respect to the selector


def test_grad_wrt_selector_matches_finite_differences_and_analytic():
    rng = np.random.default_rng(4)
    dt, tau = 0.5, np.array([3.0, 1.5, 6.0])
    model = make(3, step_time=dt, time_constant=jnp.asarray(tau), delay=5.0)
    state, _ = run(model, jnp.asarray(rng.random((40, 1, 3)) < 0.3))
    k = rng.integers(0, 10, (1, 3, 8))
    sel = jnp.asarray((k + rng.uniform(0.1, 0.9, k.shape)) * dt, jnp.float32)

    def f(s):
        return model.current_at(state, s)

    g = jax.grad(lambda s: f(s).sum())(sel)
    assert np.all(np.isfinite(g))
    # analytic: I(s) = I_prev exp(-(t_prev - s)/tau) so dI/ds = I / tau (float32 products: rtol 1e-6)
    np.testing.assert_allclose(g, f(sel) / tau[None, :, None], rtol=1e-6, atol=1e-9)
    # central differences, h = 1e-2 ms stays inside each step interval (selectors are >= 0.05 ms from a step);
    # truncation ~ h^2 |I'''| / 6 ~ 2e-5 I / tau^3, rounding ~ 6e-8 I / h = 6e-6 I: rtol 1e-4
    h = 1e-2
    fd = (f(sel + h) - f(sel - h)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-4, atol=1e-6)


def test_grad_on_a_step_is_the_derivative_from_the_smaller_delay_side():
    # current 4 at delay 1 after a spike there; the older side is lower (the spike's jump), the newer side is
    # the decay of that same value: the gradient at the step is the newer side's, 4 / tau
    s = history([F, T, F, F, F], [3.0, 4.0, 3.0, 2.0, 1.0])
    model = make()
    g = jax.grad(lambda x: model.current_at(s, x).sum())(jnp.array([[1.0]]))
    h = 1e-3
    one_sided = (at(model.current_at, s, [1.0]) - at(model.current_at, s, [1.0 - h])) / h
    # one-sided difference: truncation h / (2 tau) relative = 1.25e-4, rounding 6e-8 * 4 / h = 2.4e-4 absolute
    np.testing.assert_allclose(np.asarray(g)[0, 0], one_sided[0], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(np.asarray(g)[0, 0], 4.0 / 4.0, rtol=1e-6)
    assert at(model.current_at, s, [1.0])[0] == 4.0  # the value is the observation itself


def test_grad_out_of_bounds_is_zero_and_finite():
    s = history(SPIKES, CURRENTS)
    for model in (make(), make(current_overbound=None)):
        g = jax.grad(lambda x, m=model: m.current_at(s, x).sum())(jnp.array([[-1.0, 9.0]]))
        np.testing.assert_array_equal(g, [[0.0, 0.0]])


def test_grad_flows_to_time_constant_and_spike_charge():
    model = make(spike_charge=2.0, time_constant=4.0)

    def loss(params):
        m = model.replace(spike_charge=params[0], time_constant=params[1])
        s = m.update(m.init(), jnp.ones((1, 1)))
        s = m.update(s, jnp.zeros((1, 1)))
        return m.current_at(s, jnp.array([[0.5]]))[0, 0]  # = Q / tau exp(-0.5 / tau)

    q, tau = 2.0, 4.0
    g = jax.grad(loss)(jnp.array([q, tau]))
    want = [np.exp(-0.5 / tau) / tau, q * np.exp(-0.5 / tau) * (0.5 - tau) / tau**3]
    np.testing.assert_allclose(g, want, rtol=1e-5)  # float32


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kw,exc,arg",
    [
        (dict(spike_interp_mode="linear"), ValueError, "spike_interp_mode"),
        (dict(spike_charge=-1.0), ValueError, "spike_charge"),
        (dict(time_constant=-2.0), ValueError, "time_constant"),
        (dict(time_constant=0.0), ValueError, "time_constant"),
        (dict(time_constant=np.array([1.0, -1.0, 2.0])), ValueError, "time_constant"),
        (dict(time_constant=np.ones(2)), ValueError, "time_constant"),
        (dict(step_time=0.0), ValueError, "step_time"),
        (dict(delay=-1.0), ValueError, "delay"),
        (dict(interp_tol=-0.1), ValueError, "interp_tol"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(current_overbound=np.float32(1.0) * np.ones(3)), TypeError, "current_overbound"),
        (dict(spike_overbound=1), TypeError, "spike_overbound"),
    ],
)
def test_bad_parameters_name_the_argument(kw, exc, arg):
    with pytest.raises(exc, match=arg):
        make(3, **kw)


def test_bad_jax_array_parameters_fail_at_init():
    model = make(spike_charge=jnp.asarray(-1.0))  # JAX arrays are checked by _validate (init), not per unflatten
    with pytest.raises(ValueError, match="spike_charge"):
        model.init()


@pytest.mark.parametrize("shape", [(1, 3), (2, 2), (3,), (2, 3, 4, 5)])
def test_selector_shape_mismatch(shape):
    model = make((2, 3), batch_size=1)
    s = model.init()
    for fn in (model.current_at, model.spike_at):
        with pytest.raises(ValueError, match="selector"):
            fn(s, jnp.zeros(shape))


def test_spikes_shape_mismatch():
    model = make(3)
    with pytest.raises(ValueError, match="spikes"):
        model.update(model.init(), jnp.zeros((1, 4)))


def test_tree_map_and_partialconstructor():
    model = make(3, time_constant=np.ones(3))
    zeros = jax.tree.map(lambda _: 0, model)  # __post_init__ accepts int leaves (vmap axis trees)
    assert jax.tree.structure(zeros) == jax.tree.structure(model)
    built = SingleExponentialCurrent.partialconstructor(2.0, 4.0, spike_interp_mode="nearest")((3,), 0.5, 2.0, 7)
    assert built.shape == (3,) and built.batch_size == 7 and built.recordsz == 5 and built.dt == 0.5
    assert make(4).shape == (4,) and make(4).count == 4
