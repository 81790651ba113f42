"""Local plasticity rules (snnjax.plasticity): the pair window against its analytic curve, one rule against
hand loops for dense / delayed dense / direct / conv connections, triplet STDP and MSTDPET against hand
computations, weight bounds, jit == eager, and online (inside the scan) == offline (accumulate)."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from snnjax import plasticity as pl
from snnjax.connections import Conv2D, LinearDense, LinearDirect
from snnjax.examples.stdp import PARAMS, measure_window
from snnjax.synapses.inferno import SingleExponentialCurrent

SYN = SingleExponentialCurrent.partialconstructor(spike_charge=2.0, time_constant=4.0)
DT = 1.0  # ms
B = 2


def dense(delay=None):
    d = None if delay is None else np.full((3, 4), 1.0, np.float32)
    return LinearDense.create(4, 3, DT, synapse=SYN, weight=jnp.full((3, 4), 0.5), delay=delay, delay_init=d,
                              batch_size=B)  # fmt: skip


def direct():
    return LinearDirect.create((2, 3), DT, synapse=SYN, weight=jnp.full(6, 0.5), batch_size=B)


def conv():
    return Conv2D.create(4, 5, 2, 2, DT, kernel=(2, 3), stride=(1, 2), padding=1, synapse=SYN,
                         weight=jnp.full((2, 2, 2, 3), 0.5), batch_size=B)  # fmt: skip


# ------------------------------------------------------------------------ the pair window (must-show)


@pytest.mark.parametrize("pairing", ["all-to-all", "nearest"])
def test_pair_window_matches_analytic_curve(pairing):
    res = measure_window(pairing=pairing)  # one isolated pair: both pairings give the same window
    rel = np.abs(res["measured"] - res["analytic"]) / np.abs(res["analytic"])
    assert res["delta_t"].min() == -50.0 and res["delta_t"].max() == 50.0 and rel.size == 101
    # The rule is exact up to float32 rounding: a trace after k steps is the product of k rounded decays
    # exp(-dt/tau) (relative error <= k * 2^-24 ~ 3e-5 for k = 500 steps of 0.1 ms). 1e-4 is far inside the
    # 1% the issue asks for, and a wrong time constant or an off-by-one step (0.1 ms, >= 0.3%) fails it.
    assert rel.max() < 1e-4, rel.max()
    # the sign convention: dt = t_post - t_pre >= 0 potentiates (including simultaneous spikes)
    assert np.all(res["measured"][res["delta_t"] >= 0] > 0) and np.all(res["measured"][res["delta_t"] < 0] < 0)
    np.testing.assert_allclose(res["measured"][res["delta_t"] == 0], PARAMS["a_plus"], rtol=1e-6)


def test_nearest_pairing_differs_from_all_to_all_as_computed_by_hand():
    # pre at steps 0 and 2, post at step 5 (dt = 1 ms): all-to-all pairs both pre spikes, nearest only the last
    conn = LinearDirect.create(1, DT, synapse=SYN, weight=jnp.zeros(1))
    pre, post = np.zeros((7, 1, 1)), np.zeros((7, 1, 1))
    pre[[0, 2], 0, 0], post[5, 0, 0] = 1, 1
    kw = dict(a_plus=1.0, a_minus=0.5, tau_plus=10.0, tau_minus=10.0)
    w_all, _ = pl.accumulate(pl.pair_stdp(conn, **kw), pre, post, jnp.zeros(1), dt=DT)
    w_near, _ = pl.accumulate(pl.pair_stdp(conn, pairing="nearest", **kw), pre, post, jnp.zeros(1), dt=DT)
    np.testing.assert_allclose(w_all, [math.exp(-0.5) + math.exp(-0.3)], rtol=1e-6)  # float32, 5 decays
    np.testing.assert_allclose(w_near, [math.exp(-0.3)], rtol=1e-6)


# ------------------------------------------------------------------------ one rule, every connection


def hand_pair_stdp(kind, conn, pre_train, post_train, w0, a_plus, a_minus, tau_plus, tau_minus):
    """Pair STDP by explicit loops over synapses (float64): traces per presynaptic source / postsynaptic neuron."""
    x = np.zeros(pre_train.shape[1:])
    y = np.zeros(post_train.shape[1:])
    w = np.array(w0, np.float64)
    for pre, post in zip(pre_train.astype(np.float64), post_train.astype(np.float64)):
        x *= math.exp(-DT / tau_plus)
        y *= math.exp(-DT / tau_minus)
        dw = np.zeros_like(w)
        x_new = x + pre

        def pairs():
            """(weight index, batch, pre index, post index) for every pre-post contact of the connection."""
            if kind == "dense":
                for b, o, i in itertools.product(range(B), range(3), range(4)):
                    yield (o, i), b, (i,), (o,)
            elif kind == "dense_delay":
                for b, o, i in itertools.product(range(B), range(3), range(4)):
                    yield (o, i), b, (i, o), (o,)
            elif kind == "direct":
                for b, n in itertools.product(range(B), range(6)):
                    yield (n,), b, (n,), np.unravel_index(n, (2, 3))
            else:  # conv: output (f, yo, xo) sees input (c, yo s0 + i - p0, xo s1 + j - p1) through w[f, c, i, j]
                f_, c_, kh, kw = np.shape(w0)
                _, ho, wo = conn.outshape
                for b, f, c, i, j, yo, xo in itertools.product(
                    range(B), range(f_), range(c_), range(kh), range(kw), range(ho), range(wo)
                ):
                    yi, xi = yo * conn.stride[0] + i - conn.padding[0], xo * conn.stride[1] + j - conn.padding[1]
                    if 0 <= yi < conn.inshape[1] and 0 <= xi < conn.inshape[2]:  # zero padding: no synapse
                        yield (f, c, i, j), b, (c, yi, xi), (f, yo, xo)

        for widx, b, pidx, oidx in pairs():
            dw[widx] += (a_plus * post[(b, *oidx)] * x_new[(b, *pidx)] - a_minus * y[(b, *oidx)] * pre[(b, *pidx)]) / B
        x = x_new
        y = y + post
        w = w + dw
    return w


@pytest.mark.parametrize("kind", ["dense", "dense_delay", "direct", "conv"])
def test_same_rule_matches_hand_loops_for_every_connection(kind):
    conn = {"dense": dense, "dense_delay": lambda: dense(delay=2.0), "direct": direct, "conv": conv}[kind]()
    pre_shape = {"dense": (4,), "dense_delay": (4, 3), "direct": (6,), "conv": conn.inshape}[kind]
    rng = np.random.default_rng(0)
    steps = 6
    pre = (rng.random((steps, B, *pre_shape)) < 0.4).astype(np.float32)
    post = (rng.random((steps, B, *conn.outshape)) < 0.4).astype(np.float32)
    kw = dict(a_plus=0.02, a_minus=0.015, tau_plus=7.0, tau_minus=11.0)
    rule = pl.pair_stdp(conn, **kw)
    state = rule.init()
    assert state.pre_trace.shape == (B, *pre_shape) and state.post_trace.shape == (B, *conn.outshape)
    w = conn.weight
    for t in range(steps):
        w, state = rule.update(state, pre[t], post[t], w, dt=DT)
    want = hand_pair_stdp(kind, conn, pre, post, conn.weight, **kw)
    assert w.shape == conn.weight.shape
    # float32 traces over 6 steps and sums of <= 2 x 30 products of numbers <= 3: a few ulps of 0.5
    np.testing.assert_allclose(w, want, rtol=1e-6, atol=1e-7)
    assert not np.allclose(want, np.asarray(conn.weight))  # the spikes did change the weights


def test_pre_spikes_in_input_shape_are_reshaped():
    conn = direct()
    rule = pl.pair_stdp(conn, a_plus=0.1, a_minus=0.1)
    pre = jnp.ones((B, 2, 3))  # B x inshape, not the synaptic B x 6
    post = jnp.ones((B, 2, 3))
    w1, _ = rule.update(rule.init(), pre, post, conn.weight, dt=DT)
    w2, _ = rule.update(rule.init(), pre.reshape(B, 6), post, conn.weight, dt=DT)
    np.testing.assert_array_equal(w1, w2)


# ------------------------------------------------------------------------ triplet STDP


def test_triplet_matches_event_driven_hand_computation():
    # one synapse; continuous-time Pfister & Gerstner sums over the spikes (all-to-all): at a post spike t,
    # dw = r1(t) (A2+ + A3+ o2(t-)); at a pre spike t, dw = -o1(t) (A2- + A3- r2(t-)); a pre and a post
    # spike at the same time: the pre spike is counted first (its r1 includes itself, its o1 excludes the post)
    p = dict(a2_plus=5e-3, a3_plus=6e-3, a2_minus=7e-3, a3_minus=2e-3, tau_plus=16.8, tau_minus=33.7,
             tau_x=101.0, tau_y=125.0)  # fmt: skip
    pre_t = np.array([2.0, 10.0, 11.0, 30.0, 41.0])
    post_t = np.array([5.0, 12.0, 13.0, 30.0, 35.0])
    steps = 50
    pre, post = np.zeros((steps, 1, 1)), np.zeros((steps, 1, 1))
    pre[pre_t.astype(int), 0, 0] = 1
    post[post_t.astype(int), 0, 0] = 1

    def trace(times, t, tau, inclusive):
        sel = times <= t if inclusive else times < t
        return np.exp(-(t - times[sel]) / tau).sum()

    want = 0.0
    for t in pre_t:
        r2 = trace(pre_t, t, p["tau_x"], False)
        want -= trace(post_t, t, p["tau_minus"], False) * (p["a2_minus"] + p["a3_minus"] * r2)
    for t in post_t:
        o2 = trace(post_t, t, p["tau_y"], False)
        want += trace(pre_t, t, p["tau_plus"], True) * (p["a2_plus"] + p["a3_plus"] * o2)
    conn = LinearDirect.create(1, DT, synapse=SYN, weight=jnp.zeros(1))
    w, state = pl.accumulate(pl.triplet_stdp(conn, **p), pre, post, jnp.zeros(1), dt=DT)
    # float32 traces over 50 steps; the result (2e-4) is a sum of +-1e-2 terms, so also an absolute 1e-8
    np.testing.assert_allclose(w, [want], rtol=1e-5, atol=1e-8)
    # the trace r2 after the run is the sum of the decayed pre spikes (t = 49 ms)
    np.testing.assert_allclose(state.r2[0, 0], trace(pre_t, 49.0, p["tau_x"], True), rtol=1e-5)
    # with no triplet terms it is the pair rule
    pair = pl.pair_stdp(conn, a_plus=p["a2_plus"], a_minus=p["a2_minus"], tau_plus=16.8, tau_minus=33.7)
    trip0 = pl.triplet_stdp(conn, **{**p, "a3_plus": 0.0, "a3_minus": 0.0})
    w_trip0, w_pair = (pl.accumulate(r, pre, post, jnp.zeros(1), dt=DT)[0] for r in (trip0, pair))
    np.testing.assert_allclose(w_trip0, w_pair, rtol=1e-6, atol=1e-9)


# ------------------------------------------------------------------------ MSTDPET


def mstdpet_hand(pre, post, w0, reward, lr, a_plus, a_minus, tau_plus, tau_minus, tau_z):
    """Florian (2007) MSTDPET for one-to-one synapses, scalar loops in float64: pre/post (T, B, N), reward (T, B)."""
    steps, b, n = pre.shape
    w = np.array(w0, np.float64)
    for k in range(n):
        P_plus, P_minus, z = np.zeros(b), np.zeros(b), np.zeros(b)
        for t in range(steps):
            P_plus *= math.exp(-DT / tau_plus)
            P_minus *= math.exp(-DT / tau_minus)
            zeta = P_minus * pre[t, :, k]  # post trace before this step's post spikes
            P_plus += a_plus * pre[t, :, k]
            zeta = zeta + P_plus * post[t, :, k]
            P_minus -= a_minus * post[t, :, k]
            z = z * math.exp(-DT / tau_z) + zeta / tau_z
            w[k] += np.mean(lr * reward[t] * z * DT)
    return w


def test_mstdpet_zero_reward_no_change_and_reward_matches_hand():
    rng = np.random.default_rng(3)
    conn = LinearDirect.create(3, DT, synapse=SYN, weight=jnp.full(3, 0.5), batch_size=B)
    kw = dict(lr=0.8, a_plus=0.1, a_minus=0.12, tau_plus=10.0, tau_minus=15.0, tau_z=25.0)
    steps = 40
    pre = (rng.random((steps, B, 3)) < 0.2).astype(np.float32)
    post = (rng.random((steps, B, 3)) < 0.2).astype(np.float32)
    rule = pl.mstdpet(conn, **kw)
    w0, s0 = pl.accumulate(rule, pre, post, conn.weight, dt=DT, reward=np.zeros(steps))
    np.testing.assert_array_equal(w0, conn.weight)  # exactly: 0 reward x anything = 0
    assert np.abs(np.asarray(s0.eligibility)).max() > 0  # ... although the eligibility did build up
    reward = rng.normal(size=(steps, B)).astype(np.float32)
    w, _ = pl.accumulate(rule, pre, post, conn.weight, dt=DT, reward=reward)
    want = mstdpet_hand(pre, post, conn.weight, reward, **kw)
    np.testing.assert_allclose(w, want, rtol=1e-5, atol=1e-7)  # float32 recurrences over 40 steps
    assert not np.allclose(want, 0.5)


# ------------------------------------------------------------------------ bounds


@pytest.mark.parametrize("bounds", [pl.HardBounds(0.0, 1.0), pl.SoftBounds(0.0, 1.0)])
def test_bounds_keep_weights_in_range(bounds):
    rng = np.random.default_rng(4)
    conn = dense()
    amp = 3.0 if isinstance(bounds, pl.HardBounds) else 0.5  # soft bounds need pot, dep <= 1 per step
    rule = pl.pair_stdp(conn, a_plus=amp, a_minus=amp, tau_plus=5.0, tau_minus=5.0, pairing="nearest",
                        bounds=bounds)  # fmt: skip
    pre = (rng.random((200, B, 4)) < 0.3).astype(np.float32)
    post = (rng.random((200, B, 3)) < 0.3).astype(np.float32)
    w_unbounded, _ = pl.accumulate(pl.pair_stdp(conn, a_plus=amp, a_minus=amp, tau_plus=5.0, tau_minus=5.0,
                                                pairing="nearest"), pre, post, conn.weight, dt=DT)  # fmt: skip
    assert w_unbounded.min() < 0 or w_unbounded.max() > 1  # the test would catch a missing bound

    state, w, ws = rule.init(), conn.weight, []
    for t in range(200):
        w, state = rule.update(state, pre[t], post[t], w, dt=DT)
        ws.append(np.asarray(w))
    ws = np.stack(ws)
    assert ws.min() >= 0.0 and ws.max() <= 1.0
    assert ws.min() < 0.2 and ws.max() > 0.8  # and the weights did move across the range


def test_bounds_formulas_by_hand():
    w, pot, dep = jnp.array([0.2, 0.9]), jnp.array([0.5, 0.5]), jnp.array([0.25, 0.0])
    np.testing.assert_allclose(pl.HardBounds(0.0, 1.0)(w, pot, dep), [0.45, 1.0], rtol=1e-6)
    # soft: 0.2 + 0.8 * 0.5 - 0.2 * 0.25 = 0.55 ; 0.9 + 0.1 * 0.5 = 0.95
    np.testing.assert_allclose(pl.SoftBounds(0.0, 1.0)(w, pot, dep), [0.55, 0.95], rtol=1e-6)
    # MSTDPET with a negative reward depresses, multiplicatively under soft bounds: w -> w - (w - w_min) |dw|
    conn = LinearDirect.create(1, DT, synapse=SYN, weight=jnp.array([0.6]))
    rule = pl.mstdpet(conn, lr=1.0, a_plus=1.0, a_minus=0.0, tau_plus=10.0, tau_minus=10.0, tau_z=2.0,
                      bounds=pl.SoftBounds(0.0, 1.0))  # fmt: skip
    w1, _ = rule.update(rule.init(), jnp.ones((1, 1)), jnp.ones((1, 1)), conn.weight, dt=DT, reward=-0.5)
    dw = -0.5 * 1.0 * DT * (1.0 / 2.0)  # z = zeta / tau_z = 1 / 2 (a pre and a post spike in the same step)
    np.testing.assert_allclose(w1, [0.6 + 0.6 * dw], rtol=1e-6)


# ------------------------------------------------------------------------ jit, online == offline


def test_jit_equals_eager_for_every_rule():
    rng = np.random.default_rng(5)
    conn = conv()
    pre = (rng.random((B, *conn.inshape)) < 0.5).astype(np.float32)
    post = (rng.random((B, *conn.outshape)) < 0.5).astype(np.float32)
    rules = [
        (pl.pair_stdp(conn, a_plus=0.1, a_minus=0.1, bounds=pl.SoftBounds(0.0, 1.0)), {}),
        (pl.triplet_stdp(conn, a2_plus=0.1, a3_plus=0.1, a2_minus=0.1, a3_minus=0.1), {}),
        (pl.mstdpet(conn, lr=1.0, a_plus=0.1, a_minus=0.1, bounds=pl.HardBounds(0.0, 1.0)), {"reward": 0.7}),
    ]
    for rule, extra in rules:
        s = rule.init()
        w, s = rule.update(s, pre, post, conn.weight, dt=DT, **extra)  # traces nonzero for the second step
        eager = rule.update(s, pre, post, w, dt=DT, **extra)
        jitted = jax.jit(lambda s, a, b, w: rule.update(s, a, b, w, dt=DT, **extra))(s, pre, post, w)  # noqa: B023
        for x, y in zip(jax.tree.leaves(eager), jax.tree.leaves(jitted)):
            np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)  # same float32 ops, up to XLA fusion


def test_online_in_scan_equals_offline_accumulate():
    # a LIF layer driven by a dense connection, STDP applied inside the same scan; then the recorded spikes
    # replayed through accumulate give the same final weights (learning between runs == online when the
    # weight change does not feed back, here: a frozen forward weight)
    import snnjax as sj

    rng = np.random.default_rng(6)
    conn = dense()
    lif = sj.neurons.LIF(3, v_rest=0.0, v_reset=0.0, v_th=0.3, tau=5.0)
    rule = pl.pair_stdp(conn, a_plus=0.01, a_minus=0.012, tau_plus=10.0, tau_minus=10.0)
    inputs = jnp.asarray(rng.random((60, B, 4)) < 0.3, jnp.float32)

    def step(carry, x):
        syn, neu, w, tr = carry
        syn, cur = conn.update(syn, x)
        neu = lif.update(neu, cur, dt=DT)
        w, tr = rule.update(tr, x, neu.spike, w, dt=DT)
        return (syn, neu, w, tr), neu.spike

    (_, _, w_online, _), post = jax.jit(lambda c: jax.lax.scan(step, c, inputs))(
        (conn.init(), lif.init((B,)), conn.weight, rule.init())
    )
    assert 0 < float(post.sum()) < post.size  # some, not all, steps spiked
    w_offline, _ = pl.accumulate(rule, inputs, post, conn.weight, dt=DT)
    np.testing.assert_allclose(w_online, w_offline, rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "make,exc,arg",
    [
        (lambda: pl.pair_stdp(direct(), a_plus=0.1, a_minus=0.1, tau_plus=-1.0), ValueError, "tau_plus"),
        (lambda: pl.pair_stdp(direct(), a_plus=-0.1, a_minus=0.1), ValueError, "a_plus"),
        (lambda: pl.pair_stdp(direct(), a_plus=0.1, a_minus=0.1, pairing="first"), ValueError, "pairing"),
        (lambda: pl.pair_stdp(direct(), a_plus=0.1, a_minus=0.1, bounds=(0, 1)), TypeError, "bounds"),
        (lambda: pl.pair_stdp(np.zeros(3), a_plus=0.1, a_minus=0.1), TypeError, "connection"),
        (lambda: pl.HardBounds(1.0, 0.0), ValueError, "w_min"),
        (lambda: pl.SoftBounds(0.0, float("nan")), ValueError, "w_max"),
        (lambda: pl.triplet_stdp(direct(), a2_plus=0.1, a3_plus=0.1, a2_minus=0.1, a3_minus=0.1, tau_y=0.0),
         ValueError, "tau_y"),
        (lambda: pl.mstdpet(direct(), lr=0.1, a_plus=0.1, a_minus=0.1, tau_z=0.0), ValueError, "tau_z"),
    ],
)  # fmt: skip
def test_bad_construction_names_the_argument(make, exc, arg):
    with pytest.raises(exc, match=arg):
        make()


def test_bad_update_data_names_the_argument():
    conn = dense()
    rule = pl.pair_stdp(conn, a_plus=0.1, a_minus=0.1)
    s = rule.init()
    with pytest.raises(ValueError, match="pre_spikes"):
        rule.update(s, jnp.ones((B, 5)), jnp.ones((B, 3)), conn.weight, dt=DT)
    with pytest.raises(ValueError, match="post_spikes"):
        rule.update(s, jnp.ones((B, 4)), jnp.ones((B, 4)), conn.weight, dt=DT)
    with pytest.raises(ValueError, match="weight"):
        rule.update(s, jnp.ones((B, 4)), jnp.ones((B, 3)), conn.weight.T, dt=DT)
    with pytest.raises(ValueError, match="dt"):
        rule.update(s, jnp.ones((B, 4)), jnp.ones((B, 3)), conn.weight, dt=0.0)
    with pytest.raises(ValueError, match="batch_size"):
        rule.init(0)
    m = pl.mstdpet(conn, lr=0.1, a_plus=0.1, a_minus=0.1)
    with pytest.raises(ValueError, match="reward"):
        m.update(m.init(), jnp.ones((B, 4)), jnp.ones((B, 3)), conn.weight, dt=DT, reward=jnp.ones(3))
    with pytest.raises(ValueError, match="reward"):
        pl.accumulate(m, jnp.ones((5, B, 4)), jnp.ones((5, B, 3)), conn.weight, dt=DT, reward=jnp.ones(4))


def test_weight_shaped_amplitudes_scale_each_synapse():
    rng = np.random.default_rng(7)
    conn = dense()
    scale = jnp.asarray(rng.uniform(0.0, 2.0, conn.weight.shape), jnp.float32)
    pre = (rng.random((20, B, 4)) < 0.4).astype(np.float32)
    post = (rng.random((20, B, 3)) < 0.4).astype(np.float32)
    kw = dict(tau_plus=7.0, tau_minus=11.0)
    zero = jnp.zeros(conn.weight.shape)
    ltp, _ = pl.accumulate(pl.pair_stdp(conn, a_plus=0.1, a_minus=0.0, **kw), pre, post, zero, dt=DT)
    ltd, _ = pl.accumulate(pl.pair_stdp(conn, a_plus=0.0, a_minus=0.1, **kw), pre, post, zero, dt=DT)
    both, _ = pl.accumulate(pl.pair_stdp(conn, a_plus=0.1 * scale, a_minus=0.1 * scale[::-1], **kw), pre, post,
                            zero, dt=DT)  # fmt: skip
    # unbounded pair STDP is linear in its amplitudes, synapse by synapse (float32 sums: rtol 1e-5)
    np.testing.assert_allclose(both, scale * ltp + scale[::-1] * ltd, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="a_plus"):
        pl.pair_stdp(conn, a_plus=jnp.ones(4), a_minus=0.1)
    with pytest.raises(ValueError, match="tau_plus"):
        pl.pair_stdp(conn, a_plus=0.1, a_minus=0.1, tau_plus=jnp.full(conn.weight.shape, 5.0))


def test_bounds_are_pytrees():
    for b in (pl.HardBounds(0.0, 1.0), pl.SoftBounds(-1.0, jnp.ones(3))):
        zeros = jax.tree.map(lambda _: 0, b)  # vmap axis trees / tree maps: no check may fire on ints
        assert jax.tree.structure(zeros) == jax.tree.structure(b)
