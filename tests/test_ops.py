"""Propagation kernels agree with each other and with a dense reference."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj
from snnjax import ops
from snnjax.formats.rows import loops as rows


def reference(s, pre, post, w, n_post):
    out = np.zeros(s.shape[:-1] + (n_post,))
    np.add.at(out, (..., post), s[..., pre] * w)
    return out


CONNS = [
    sj.conn.FixedProb(0.1, seed=0),
    sj.conn.FixedPostNum(7, seed=1),
    sj.conn.FixedPreNum(5, seed=2),
    sj.conn.All2All(),
]


@pytest.mark.parametrize("connector", CONNS, ids=lambda c: type(c).__name__)
@pytest.mark.parametrize("per_synapse", [False, True])
@pytest.mark.parametrize("batch", [(), (3,)])
def test_dense_sparse_event_agree(connector, per_synapse, batch):
    rng = np.random.default_rng(0)
    n_pre, n_post = 60, 45
    pre, post = connector.build(n_pre, n_post)
    topo = ops.Topology.from_lists(pre, post, n_pre, n_post)
    w = rng.normal(size=pre.size).astype(np.float32) if per_synapse else np.float32(0.7)
    s = (rng.random(batch + (n_pre,)) < 0.1).astype(np.float32)
    expected = reference(s, pre, post, w, n_post)
    dense_w = np.zeros((n_pre, n_post), np.float32)
    np.add.at(dense_w, (pre, post), np.broadcast_to(w, pre.shape))
    # float32 sums of <= 60 terms of size ~1: 1e-5 absolute
    np.testing.assert_allclose(ops.dense(jnp.asarray(s), jnp.asarray(dense_w)), expected, atol=1e-5)
    np.testing.assert_allclose(ops.sparse(jnp.asarray(s), topo, jnp.asarray(w)), expected, atol=1e-5)
    np.testing.assert_allclose(rows.event(jnp.asarray(s), topo, jnp.asarray(w), 16), expected, atol=1e-5)


@pytest.mark.parametrize("n_spiking", [0, 1, 8, 9, 60])
def test_event_never_drops_spikes_when_the_bound_overflows(n_spiking):
    # max_events = 8: 9 and 60 spikes take the exact fallback, and must give the same result
    rng = np.random.default_rng(1)
    pre, post = sj.conn.FixedProb(0.2, seed=5).build(60, 30)
    topo = ops.Topology.from_lists(pre, post, 60, 30)
    s = np.zeros(60, np.float32)
    s[rng.choice(60, n_spiking, replace=False)] = 1.0
    got = jax.jit(lambda s: rows.event(s, topo, jnp.float32(1.0), 8))(jnp.asarray(s))
    np.testing.assert_array_equal(got, reference(s, pre, post, 1.0, 30))  # integer counts: exact


def _mixed_batch(n_pre, bound, rng):
    """Spikes (4, n_pre): silent, under the bound, exactly at it, far over it (valued: STP-like)."""
    s = np.zeros((4, n_pre), np.float32)
    for b, count in enumerate([0, bound - 1, bound, 5 * bound]):
        s[b, rng.choice(n_pre, count, replace=False)] = rng.uniform(0.5, 1.5, count)
    return s


@pytest.mark.parametrize("outer_vmap", [False, True])
def test_batched_event_is_exact_when_some_elements_overflow(outer_vmap):
    rng = np.random.default_rng(3)
    pre, post = sj.conn.FixedProb(0.2, seed=7).build(80, 50)
    topo = ops.Topology.from_lists(pre, post, 80, 50)
    w = rng.normal(size=pre.size).astype(np.float32)
    s = _mixed_batch(80, 8, rng)
    if outer_vmap:  # what sj.sweep does: vmap around an unbatched call
        got = jax.jit(jax.vmap(lambda x: rows.event(x, topo, jnp.asarray(w), 8)))(jnp.asarray(s))
    else:
        got = jax.jit(lambda x: rows.event(x, topo, jnp.asarray(w), 8))(jnp.asarray(s))
    np.testing.assert_allclose(got, reference(s, pre, post, w, 50), atol=1e-5)


def _largest_intermediate(jaxpr) -> int:
    """Largest number of elements of any value computed in ``jaxpr`` (sub-jaxprs of loops/conds included)."""
    biggest = 0
    for eqn in jaxpr.eqns:
        for v in eqn.outvars:
            biggest = max(biggest, int(np.prod(getattr(v.aval, "shape", ()))))
        for p in eqn.params.values():
            for sub in p if isinstance(p, (tuple, list)) else [p]:
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    biggest = max(biggest, _largest_intermediate(inner))
    return biggest


@pytest.mark.parametrize("outer_vmap", [False, True])
def test_batched_event_never_touches_every_synapse(outer_vmap):
    # 200 x 5000 neurons, 1000 targets each: K = 200,000 synapses. The event kernel's work (and every value it
    # computes) scales with a row (1000) and the output (5001 per batch element), never with K, also under
    # vmap, where a lax.cond fallback to `sparse` would run on every step (both branches are executed).
    pre, post = sj.conn.FixedPostNum(1000, seed=8).build(200, 5000)
    topo = ops.Topology.from_lists(pre, post, 200, 5000)
    s = jnp.zeros((4, 200))
    if outer_vmap:
        fn = jax.vmap(lambda x: rows.event(x, topo, jnp.float32(0.5), 8))
    else:
        fn = lambda x: rows.event(x, topo, jnp.float32(0.5), 8)  # noqa: E731
    assert _largest_intermediate(jax.make_jaxpr(fn)(s).jaxpr) <= 4 * 5001
    sparse = jax.make_jaxpr(lambda x: ops.sparse(x, topo, jnp.float32(0.5)))(s).jaxpr
    assert _largest_intermediate(sparse) >= 4 * 200_000  # the check sees an O(K) kernel


def test_event_gradient_equals_sparse_gradient():
    rng = np.random.default_rng(2)
    pre, post = sj.conn.FixedProb(0.2, seed=6).build(40, 20)
    topo = ops.Topology.from_lists(pre, post, 40, 20)
    w = jnp.asarray(rng.normal(size=pre.size), jnp.float32)
    s = jnp.asarray((rng.random(40) < 0.2) * rng.random(40), jnp.float32)
    g = jnp.asarray(rng.normal(size=20), jnp.float32)

    def loss(kernel):
        return lambda s, w: jnp.vdot(kernel(s, w), g)

    ge = jax.grad(loss(lambda s, w: rows.event(s, topo, w, 4)), argnums=(0, 1))(s, w)
    gs = jax.grad(loss(lambda s, w: ops.sparse(s, topo, w)), argnums=(0, 1))(s, w)
    for a, b in zip(ge, gs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_network_level_kernels_give_the_same_spike_trains():
    # a recurrent random network run with each kernel: identical spikes over 100 ms
    def run(method):
        net = sj.Network(
            E=sj.neurons.LIF(
                300,
                v_rest=-60.0,
                v_th=-50.0,
                v_reset=-60.0,
                tau=20.0,
                tau_ref=5.0,
                v_init=sj.init.Uniform(-60.0, -50.0),
            ),
            EE=sj.Projection(
                "E",
                "E",
                conn=sj.conn.FixedProb(0.05, seed=1),
                weight=0.5,
                method=method,
                synapse=sj.synapses.Exponential(tau=5.0),
                output=sj.outputs.COBA(E=0.0),
            ),
        )
        state = net.init(key=jax.random.key(0))
        _, rec = sj.simulate(net, state, duration=100.0, dt=0.1, inputs=[("E.input", 11.0)], monitors=["E.spike"])
        return np.asarray(rec["E.spike"])

    spikes = {m: run(m) for m in ("dense", "sparse", "event")}
    assert spikes["dense"].sum() > 100
    np.testing.assert_array_equal(spikes["sparse"], spikes["dense"])
    np.testing.assert_array_equal(spikes["event"], spikes["dense"])


@pytest.mark.parametrize("batch_shape", [(), (2,)])
def test_network_burst_overflowing_the_event_bound_loses_nothing(batch_shape):
    # all 50 presynaptic neurons fire together at step 0 (> max_events = 4), then a few fire alone: the
    # event path (compaction stored in the delay buffer) must give what the sparse kernel gives
    conn = sj.conn.FixedProb(0.3, seed=2)
    weight = np.linspace(0.1, 1.0, conn.build(50, 20)[0].size)  # distinct per-synapse weights

    def run(method):
        net = sj.Network(
            a=sj.neurons.LIF(50, v_th=1.0, tau_ref=0.0),
            b=sj.neurons.LIF(20, v_th=1e9, tau=1e9),
            p=sj.Projection(
                "a",
                "b",
                conn=conn,
                weight=weight,
                delay=0.3,
                method=method,
                max_events=4,
                output=sj.outputs.CUBA(target="v"),
            ),
        )
        drive = np.zeros((30, *batch_shape, 50), np.float32)
        drive[0] = 1e4  # burst
        drive[10, ..., :3] = 1e4  # three spikes: event path
        _, rec = sj.simulate(
            net,
            net.init(batch_shape=batch_shape),
            duration=3.0,
            dt=0.1,
            inputs=[("a.input", drive, "iter")],
            monitors=["b.v", "a.spike"],
        )
        return rec

    ev, sp = run("event"), run("sparse")
    assert ev["a.spike"][0].sum() == 50 * max(1, int(np.prod(batch_shape)))
    np.testing.assert_allclose(ev["b.v"], sp["b.v"], rtol=1e-6, atol=1e-6)
    assert np.all(np.diff(ev["b.v"][:, ..., 0], axis=0) >= 0) and ev["b.v"][-1].min() > 0


@pytest.mark.parametrize("n", [1, 31, 32, 33, 1000, 4099])
def test_compact_lists_every_spike_in_order(n):
    rng = np.random.default_rng(n)
    s = (rng.random((3, n)) < 0.05).astype(np.float32)
    s[1] = 0.0  # a silent row
    s[2, -1] = 2.5  # the last neuron, and a non-binary value
    k = max(1, n // 10)
    idx, count = ops.compact(jnp.asarray(s), k)
    assert idx.shape == (3, k) and idx.dtype == jnp.int32
    for row, (i, c) in enumerate(zip(np.asarray(idx), np.asarray(count))):
        want = np.flatnonzero(s[row])
        assert c == want.size
        np.testing.assert_array_equal(i[: min(c, k)], want[:k])  # increasing order, truncated at k
        assert np.all((0 <= i) & (i < n))  # unused slots still index inside the group
