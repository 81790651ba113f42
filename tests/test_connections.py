"""Connections with Inferno's shape contract: forward passes and one STDP rule, written once against
presyn_receptive / postsyn_receptive, checked against hand-written loops for dense, direct and conv."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from snnjax.connections import Conv2D, LinearDense, LinearDirect
from snnjax.synapses.inferno import SingleExponentialCurrent

Q, TAU, DT = 2.0, 4.0, 1.0
SYN = SingleExponentialCurrent.partialconstructor(spike_charge=Q, time_constant=TAU)
B = 2


def stdp(conn, pre_trace, post_trace, pre_spike, post_spike, a_plus=0.7, a_minus=0.3):
    """Pair-based STDP, written once for every connection: potentiation where a post spike meets a pre
    trace, depression where a pre spike meets a post trace; summed over the receptive dimension, mean over batch."""
    ltp = conn.postsyn_receptive(post_spike) * conn.presyn_receptive(pre_trace)
    ltd = conn.postsyn_receptive(post_trace) * conn.presyn_receptive(pre_spike)
    return (a_plus * ltp - a_minus * ltd).sum(-1).mean(0)


def rand(rng, *shape):
    return jnp.asarray(rng.random(shape), jnp.float32)


def dense(delay=None, bias=True):
    rng = np.random.default_rng(0)
    # whole and half steps in [0, delay]
    d = None if delay is None else np.minimum(rng.integers(0, 8, (4, 6)) * 0.5, delay).astype(np.float32)
    return LinearDense.create((2, 3), 4, DT, synapse=SYN, weight=rand(rng, 4, 6), bias=bias, delay=delay,
                              delay_init=d, batch_size=B)  # fmt: skip


def direct(bias=True):
    rng = np.random.default_rng(1)
    return LinearDirect.create((2, 3), DT, synapse=SYN, weight=rand(rng, 6), bias=rand(rng, 6), batch_size=B)


def conv(stride=1, padding=0, dilation=1, bias=True):
    rng = np.random.default_rng(2)
    return Conv2D.create(6, 7, 2, 3, DT, kernel=(3, 2), stride=stride, padding=padding, dilation=dilation,
                         synapse=SYN, weight=rand(rng, 3, 2, 3, 2), bias=rand(rng, 3) if bias else False,
                         batch_size=B)  # fmt: skip


def test_shapes():
    d = dense(delay=4.0)
    assert (d.inshape, d.outshape, d.batched_inshape, d.batched_outshape) == ((2, 3), (4,), (B, 2, 3), (B, 4))
    assert (d.insize, d.outsize, d.weight.shape, d.bias.shape, d.delay.shape) == (6, 4, (4, 6), (4,), (4, 6))
    assert d.biased and d.delayedby == 4.0 and d.selector.shape == (6, 4) and d.synapse.shape == (6,)
    assert dense(bias=False).bias is None and dense().delay is None and dense().delayedby is None
    r = direct()
    assert (r.inshape, r.outshape, r.weight.shape, r.batched_outshape) == ((2, 3), (2, 3), (6,), (B, 2, 3))
    c = conv(stride=2, padding=1, dilation=(2, 1))
    # Ho = (6 + 2 - 2 * 2 - 1) // 2 + 1 = 2, Wo = (7 + 2 - 1 * 1 - 1) // 2 + 1 = 4
    assert (c.inshape, c.outshape, c.weight.shape, c.batched_inshape) == (
        (2, 6, 7),
        (3, 2, 4),
        (3, 2, 3, 2),
        (B, 2, 6, 7),
    )
    assert c.delay is None and c.delayedby is None and c.batchsz == B
    x = rand(np.random.default_rng(3), B, 2, 3)
    for conn in (d, r):
        assert conn.like_synaptic(x).shape == (B, 6)
        np.testing.assert_array_equal(conn.like_input(conn.like_synaptic(x)), x)


def conv_reference(x, w, b, stride, padding, dilation):
    """Hand loop: out[b, f, y, v] = sum_{c,i,j} w[f,c,i,j] xpad[b, c, y s0 + i d0, v s1 + j d1] + b[f]."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    f, c, kh, kw = w.shape
    ho = (xp.shape[2] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (xp.shape[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((x.shape[0], f, ho, wo))
    for y, v, i, j in itertools.product(range(ho), range(wo), range(kh), range(kw)):
        patch = xp[:, :, y * stride[0] + i * dilation[0], v * stride[1] + j * dilation[1]]  # (B, C)
        out[:, :, y, v] += patch @ w[:, :, i, j].T
    return out + (0 if b is None else np.asarray(b)[None, :, None, None]), xp


def test_dense_and_direct_forward():
    rng = np.random.default_rng(4)
    syn = rand(rng, B, 6)
    d, r = dense(), direct()
    want = np.einsum("bi,oi->bo", np.asarray(syn, np.float64), np.asarray(d.weight)) + np.asarray(d.bias)
    np.testing.assert_allclose(d(syn), want, rtol=1e-5)  # float32 sums of 6 terms
    want = (np.asarray(syn) * np.asarray(r.weight) + np.asarray(r.bias)).reshape(B, 2, 3)
    np.testing.assert_allclose(r(syn), want, rtol=1e-6)


@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, 1, (2, 1)), ((1, 2), (0, 2), 1)])
def test_conv_forward_matches_hand_loop(stride, padding, dilation):
    c = conv(stride, padding, dilation)
    x = rand(np.random.default_rng(5), B, 2, 6, 7)
    want, _ = conv_reference(x, c.weight, c.bias, c.stride, c.padding, c.dilation)
    np.testing.assert_allclose(c(x), want, rtol=1e-5, atol=1e-6)  # float32 sums of 12 terms


def test_update_runs_the_synapse_then_the_weights():
    rng = np.random.default_rng(6)
    d = dense()
    spikes = jnp.asarray(rng.random((5, B, 2, 3)) < 0.5)
    s = d.init()
    for x in spikes:
        s, out = d.update(s, x)
    # the synapse is a SingleExponentialCurrent: closed form of its current, then the weights
    k = np.arange(5)[::-1]
    cur = (Q / TAU) * np.einsum("t,tbi->bi", np.exp(-k * DT / TAU), np.asarray(spikes, float).reshape(5, B, 6))
    want = cur @ np.asarray(d.weight, np.float64).T + np.asarray(d.bias)
    np.testing.assert_allclose(out, want, rtol=1e-5)  # float32 recurrence over 5 steps and a 6-term sum
    out_jit = jax.jit(lambda m, st, x: m.update(st, x)[1])(d, s, spikes[0])
    np.testing.assert_allclose(out_jit, d.update(s, spikes[0])[1], rtol=1e-6)  # jit == eager up to fusion


def test_delayed_dense_reads_each_connection_at_its_delay():
    rng = np.random.default_rng(7)
    d = dense(delay=4.0)
    steps = 9
    spikes = (rng.random((steps, B, 6)) < 0.4).astype(np.float32)
    s = d.init()
    for x in spikes:
        s, out = d.update(s, jnp.asarray(x).reshape(B, 2, 3))
    t_now = (steps - 1) * DT
    delay = np.asarray(d.delay, np.float64)  # (O, I), whole and half steps
    lag = t_now - delay[None, :, :, None] - np.arange(steps)[None, None, None, :] * DT  # (1, O, I, steps)
    kern = np.where(lag >= 0, (Q / TAU) * np.exp(-np.maximum(lag, 0) / TAU), 0.0)
    cur = np.einsum("oit,tbi->boi", kern[0], spikes)  # current of input i seen by output o
    syn = np.asarray(d.syncurrent(s))
    np.testing.assert_allclose(syn, cur.transpose(0, 2, 1), rtol=1e-5, atol=1e-7)  # float32, 9 steps
    want = np.einsum("boi,oi->bo", cur, np.asarray(d.weight)) + np.asarray(d.bias)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)
    spk = np.asarray(d.synspike(s))  # 'previous': the spike of the step at or before t_now - delay
    idx = (steps - 1) - np.ceil(delay).astype(int)  # (O, I)
    np.testing.assert_array_equal(spk, spikes[idx, :, np.arange(6)[None, :]].transpose(2, 1, 0) > 0)


# ------------------------------------------------------------------------ STDP written once


def traces(rng, pre_shape, post_shape):
    return (
        rand(rng, B, *pre_shape),
        rand(rng, B, *post_shape),
        (rand(rng, B, *pre_shape) < 0.5) * 1.0,
        (rand(rng, B, *post_shape) < 0.5) * 1.0,
    )


def test_stdp_dense():
    rng = np.random.default_rng(8)
    d = dense()
    xt, yt, xs, ys = (np.asarray(a, np.float64) for a in traces(rng, (6,), (4,)))
    got = stdp(d, *(jnp.asarray(a, jnp.float32) for a in (xt, yt, xs, ys)))
    want = np.zeros((4, 6))
    for b, o, i in itertools.product(range(B), range(4), range(6)):
        want[o, i] += (0.7 * ys[b, o] * xt[b, i] - 0.3 * yt[b, o] * xs[b, i]) / B
    assert got.shape == d.weight.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)  # float32 products of numbers in [0, 1]


def test_stdp_dense_with_delays_uses_each_connection_own_pre_data():
    rng = np.random.default_rng(9)
    d = dense(delay=4.0)
    xt, xs = rand(rng, B, 6, 4), (rand(rng, B, 6, 4) < 0.5) * 1.0  # like syncurrent / synspike: B x I x O
    yt, ys = rand(rng, B, 4), (rand(rng, B, 4) < 0.5) * 1.0
    got = stdp(d, xt, yt, xs, ys)
    xt, yt, xs, ys = (np.asarray(a, np.float64) for a in (xt, yt, xs, ys))
    want = np.zeros((4, 6))
    for b, o, i in itertools.product(range(B), range(4), range(6)):
        want[o, i] += (0.7 * ys[b, o] * xt[b, i, o] - 0.3 * yt[b, o] * xs[b, i, o]) / B
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def test_stdp_direct():
    rng = np.random.default_rng(10)
    r = direct()
    xt, yt, xs, ys = traces(rng, (6,), (2, 3))
    got = stdp(r, xt, yt, xs, ys)
    xt, yt, xs, ys = (np.asarray(a, np.float64).reshape(B, 6) for a in (xt, yt, xs, ys))
    want = np.zeros(6)
    for b, n in itertools.product(range(B), range(6)):
        want[n] += (0.7 * ys[b, n] * xt[b, n] - 0.3 * yt[b, n] * xs[b, n]) / B
    assert got.shape == r.weight.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, 1, (2, 1))])
def test_stdp_conv(stride, padding, dilation):
    rng = np.random.default_rng(11)
    c = conv(stride, padding, dilation)
    xt, yt, xs, ys = traces(rng, c.inshape, c.outshape)
    got = stdp(c, xt, yt, xs, ys)
    _, xtp = conv_reference(xt, c.weight, None, c.stride, c.padding, c.dilation)
    _, xsp = conv_reference(xs, c.weight, None, c.stride, c.padding, c.dilation)
    yt, ys = np.asarray(yt, np.float64), np.asarray(ys, np.float64)
    f, ch, kh, kw = c.weight.shape
    _, ho, wo = c.outshape
    want = np.zeros(c.weight.shape)
    for b, o, k, i, j, y, v in itertools.product(
        range(B), range(f), range(ch), range(kh), range(kw), range(ho), range(wo)
    ):
        py, pv = y * c.stride[0] + i * c.dilation[0], v * c.stride[1] + j * c.dilation[1]
        want[o, k, i, j] += (0.7 * ys[b, o, y, v] * xtp[b, k, py, pv] - 0.3 * yt[b, o, y, v] * xsp[b, k, py, pv]) / B
    assert got.shape == c.weight.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)  # float32 sums of Ho Wo <= 42 products
    # the bias rule of the same receptive data: the post term reduced over batch and L, shaped like the bias
    assert c.like_bias(c.postsyn_receptive(ys).sum(-1).mean(0)).shape == c.bias.shape


def test_presyn_times_postsyn_broadcasts_like_the_weight():
    rng = np.random.default_rng(12)
    for conn, pre, post in [
        (dense(), (6,), (4,)),
        (dense(delay=2.0), (6, 4), (4,)),
        (direct(), (6,), (2, 3)),
        (conv(2, 1), (2, 6, 7), conv(2, 1).outshape),
    ]:
        prod = conn.presyn_receptive(rand(rng, B, *pre)) * conn.postsyn_receptive(rand(rng, B, *post))
        assert prod.shape[0] == B and prod.shape[1:-1] == conn.weight.shape


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "make,exc,arg",
    [
        (lambda: LinearDense.create(6, 4, DT, synapse=SYN, weight=jnp.ones((6, 4))), ValueError, "weight"),
        (
            lambda: LinearDense.create(6, 4, DT, synapse=SYN, weight=jnp.ones((4, 6)), bias=jnp.ones(6)),
            ValueError,
            "bias",
        ),
        (lambda: LinearDense.create(6, 4, DT, synapse=SYN), ValueError, "key"),
        (lambda: LinearDense.create(0, 4, DT, synapse=SYN, weight=jnp.ones((4, 0))), ValueError, "in_shape"),
        (
            lambda: LinearDense.create(
                6, 4, DT, synapse=SYN, weight=jnp.ones((4, 6)), delay=2.0, delay_init=-np.ones((4, 6))
            ),
            ValueError,
            "delay",
        ),
        (lambda: LinearDirect.create(6, DT, synapse=SYN, weight=jnp.ones(5)), ValueError, "weight"),
        (
            lambda: Conv2D.create(5, 5, 1, 2, DT, kernel=3, synapse=SYN, weight=jnp.ones((2, 1, 3, 3)), delay=1.0),
            ValueError,
            "delay",
        ),
        (
            lambda: Conv2D.create(2, 5, 1, 2, DT, kernel=3, synapse=SYN, weight=jnp.ones((2, 1, 3, 3))),
            ValueError,
            "kernel",
        ),
        (
            lambda: Conv2D.create(5, 5, 1, 2, DT, kernel=0, synapse=SYN, weight=jnp.ones((2, 1, 3, 3))),
            ValueError,
            "kernel",
        ),
        (
            lambda: Conv2D.create(5, 5, 1, 2, DT, kernel=3, synapse=SYN, weight=jnp.ones((2, 2, 3, 3))),
            ValueError,
            "weight",
        ),
    ],
)
def test_bad_construction(make, exc, arg):
    with pytest.raises(exc, match=arg):
        make()


def test_bad_data_shapes_name_the_argument():
    with pytest.raises(ValueError, match="data"):
        dense()(jnp.ones((B, 5)))
    with pytest.raises(ValueError, match="data"):
        conv().presyn_receptive(jnp.ones((B, 2, 6, 6)))
    with pytest.raises(ValueError, match="data"):
        direct().postsyn_receptive(jnp.ones((B, 6)))


def test_tree_map_to_ints():
    for conn in (dense(delay=2.0), direct(), conv()):
        zeros = jax.tree.map(lambda _: 0, conn)
        assert jax.tree.structure(zeros) == jax.tree.structure(conn)


def test_direct_delays_and_gradient_wrt_connection_delays():
    rng = np.random.default_rng(13)
    r = LinearDirect.create(3, DT, synapse=SYN, weight=jnp.array([1.0, -2.0, 0.5]), delay=3.0,
                            delay_init=jnp.array([0.0, 1.5, 2.25]), batch_size=B)  # fmt: skip
    spikes = (rng.random((6, B, 3)) < 0.5).astype(np.float32)
    s = r.init()
    for x in spikes:
        s, out = r.update(s, jnp.asarray(x))
    t = 5 * DT - np.array([0.0, 1.5, 2.25])  # time each synapse is read at
    lag = t[None, :] - np.arange(6)[:, None] * DT  # (steps, N)
    cur = np.einsum("tn,tbn->bn", np.where(lag >= 0, (Q / TAU) * np.exp(-np.maximum(lag, 0) / TAU), 0.0), spikes)
    np.testing.assert_allclose(out, cur * np.array([1.0, -2.0, 0.5]), rtol=1e-5, atol=1e-7)  # float32, 6 steps

    # learnable delays: d out / d delay = weight x current / tau (the current decays with the delay), summed over B
    g = jax.grad(lambda conn: conn(conn.syncurrent(s)).sum())(r)
    np.testing.assert_allclose(g.delay, (cur * np.array([1.0, -2.0, 0.5])).sum(0) / TAU, rtol=1e-5, atol=1e-7)


def test_negative_jax_delays_fail_at_init():
    d = dense(delay=2.0)
    bad = d.replace(delay=d.delay.at[0, 0].set(-1.0))  # JAX arrays are checked once, by _validate in init
    with pytest.raises(ValueError, match="delay"):
        bad.init()
