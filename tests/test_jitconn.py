"""Just-in-time connectivity: the generated network is fixed, Bernoulli(p), and propagates exactly."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj
from snnjax import jitconn, ops


@pytest.fixture(scope="module")
def net():
    conn = jitconn.JitFixedProb(0.05, seed=3)
    pre, post = jitconn.materialize(conn, 400, 300)
    return conn, pre, post


def test_connectivity_is_bernoulli_and_fixed(net):
    conn, pre, post = net
    k = pre.size
    # K ~ Binomial(400 * 300, 0.05): mean 6000, sd 75.5; 5 sd band (false alarm < 1e-6)
    assert abs(k - 6000) < 5 * 75.5
    pairs = pre.astype(np.int64) * 300 + post
    assert np.unique(pairs).size == k  # no duplicate synapse
    assert np.all(np.diff(pairs) > 0)  # sorted by (pre, post)
    # fan-in and fan-out are both Binomial: their variance is n p (1 - p) (chi-square-ish check, loose)
    fan_out = np.bincount(pre, minlength=400)
    assert abs(fan_out.var() / (300 * 0.05 * 0.95) - 1) < 0.25  # sd of a sample variance ratio ~ 0.07
    again = jitconn.materialize(jitconn.JitFixedProb(0.05, seed=3), 400, 300)
    np.testing.assert_array_equal(again[1], post)
    other = jitconn.materialize(jitconn.JitFixedProb(0.05, seed=4), 400, 300)
    assert other[1].size != post.size or not np.array_equal(other[1], post)


def test_no_self_connections():
    pre, post = jitconn.materialize(jitconn.JitFixedProb(0.2, seed=1, include_self=False), 100, 100)
    assert not np.any(pre == post) and pre.size > 1500


@pytest.mark.parametrize("n_spikes", [0, 1, 7, 40, 400])  # 40 overflows max_events=16: exact fallback
def test_event_jit_equals_sparse_on_the_materialized_network(net, n_spikes):
    conn, pre, post = net
    topo = ops.Topology.from_lists(pre, post, 400, 300)
    rng = np.random.default_rng(n_spikes)
    s = np.zeros(400, np.float32)
    s[rng.choice(400, n_spikes, replace=False)] = 1.0
    got = jax.jit(lambda s: jitconn.event_jit(s, 0.7, conn, 300, max_events=16))(jnp.asarray(s))
    want = ops.sparse(jnp.asarray(s), topo, 0.7)
    # the same float32 additions in another order: a few ulps of sums of <= 400 terms of 0.7
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_batched_and_gradient_match_sparse(net):
    conn, pre, post = net
    topo = ops.Topology.from_lists(pre, post, 400, 300)
    s = (jax.random.uniform(jax.random.key(0), (3, 400)) < 0.05).astype(jnp.float32)
    np.testing.assert_allclose(
        jitconn.event_jit(s, 0.5, conn, 300, max_events=32), ops.sparse(s, topo, 0.5), rtol=1e-5, atol=1e-5
    )
    g = jax.random.normal(jax.random.key(1), (300,))

    def loss_jit(s, w):
        return jnp.sum(jitconn.event_jit(s, w, conn, 300, max_events=32) * g)

    def loss_sparse(s, w):
        return jnp.sum(ops.sparse(s, topo, w) * g)

    got = jax.grad(loss_jit, argnums=(0, 1))(s[0], 0.5)
    want = jax.grad(loss_sparse, argnums=(0, 1))(s[0], 0.5)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-4)


def test_bad_arguments():
    for p in (0.0, -0.1, 1.5, True):
        with pytest.raises(ValueError, match="p must be a probability"):
            jitconn.JitFixedProb(p)
    with pytest.raises(ValueError, match="seed must be an int"):
        jitconn.JitFixedProb(0.1, seed=-1)
    with pytest.raises(ValueError, match="w must be a scalar"):
        jitconn.event_jit(jnp.zeros(4), jnp.ones(3), jitconn.JitFixedProb(0.5), 4, 2)
    with pytest.raises(ValueError, match="n_post must be in"):
        jitconn.materialize(jitconn.JitFixedProb(0.5), 2, 2**24)
    with pytest.raises(ValueError, match="too small"):
        jitconn.materialize(jitconn.JitFixedProb(1e-9), 2, 100)


def _ei(conn_of, n=600):
    lif = dict(v_rest=-60.0, v_th=-50.0, v_reset=-60.0, tau=20.0, tau_ref=5.0, v_init=sj.init.Normal(-55.0, 2.0))
    exc = dict(synapse=sj.synapses.Exponential(tau=5.0), output=sj.outputs.COBA(E=0.0), weight=0.6)
    inh = dict(synapse=sj.synapses.Exponential(tau=10.0), output=sj.outputs.COBA(E=-80.0), weight=6.7)
    n_e = n * 4 // 5
    sizes = {"E": n_e, "I": n - n_e}
    projs = {f"{a}{b}": (a, b, i + 1) for i, (a, b) in enumerate(["EE", "EI", "IE", "II"])}
    return sj.Network(
        E=sj.neurons.LIF(n_e, **lif),
        I=sj.neurons.LIF(n - n_e, **lif),
        **{
            name: sj.Projection(a, b, conn=conn_of(seed, sizes[a], sizes[b]), **(exc if a == "E" else inh))
            for name, (a, b, seed) in projs.items()
        },
    )


def test_network_with_jit_connectivity_equals_the_stored_network():
    p = 0.1
    jit_net = _ei(lambda seed, n_pre, n_post: jitconn.JitFixedProb(p, seed=seed))
    stored = _ei(lambda seed, n_pre, n_post: jitconn.materialize(jitconn.JitFixedProb(p, seed=seed), n_pre, n_post))
    assert {q.method for q in jit_net.projections.values()} == {"jit"}
    kw = dict(duration=100.0, dt=0.1, inputs=[("E.input", 20.0), ("I.input", 20.0)], monitors=["E.spike", "E.v"])
    state = jit_net.init(key=jax.random.key(0), dt=0.1)
    _, a = jax.jit(lambda s: sj.simulate(jit_net, s, **kw))(state)
    _, b = jax.jit(lambda s: sj.simulate(stored, s, **kw))(stored.init(key=jax.random.key(0), dt=0.1))
    assert a["E.spike"].sum() > 100
    # the same synapses, added in the same order (rows in spike order, targets ascending): equal traces
    np.testing.assert_array_equal(a["E.spike"], b["E.spike"])
    np.testing.assert_allclose(a["E.v"], b["E.v"], atol=1e-4)


def test_jit_projection_rejects_what_it_cannot_do():
    conn = jitconn.JitFixedProb(0.1)
    lif = sj.neurons.LIF(10)
    with pytest.raises(ValueError, match="method='jit'"):
        sj.Network(A=lif, B=lif, P=sj.Projection("A", "B", conn=conn, method="sparse"))
    with pytest.raises(ValueError, match="scalar weight and delay"):
        sj.Network(A=lif, B=lif, P=sj.Projection("A", "B", conn=conn, weight=np.ones(10)))
    with pytest.raises(ValueError, match="needs conn=snnjax.jitconn.JitFixedProb"):
        sj.Network(A=lif, B=lif, P=sj.Projection("A", "B", conn=sj.conn.All2All(), method="jit"))


def test_counter_hash_uniforms_are_uniform_and_uncorrelated():
    u = np.asarray(jax.vmap(lambda i: jitconn._uniform(7, i, 100))(jnp.arange(2000)))  # 200,000 numbers
    assert u.min() > 0.0 and u.max() <= 1.0
    counts = np.histogram(u, bins=20, range=(0.0, 1.0))[0]
    chi2 = ((counts - u.size / 20) ** 2 / (u.size / 20)).sum()
    assert chi2 < 50.0  # chi-square with 19 dof: P(chi2 > 50) ~ 1e-4 for a uniform source
    # neighbouring rows and neighbouring slots: correlations of N = 200,000 pairs have sd 1 / sqrt(N) ~ 0.0022
    assert abs(np.corrcoef(u[:-1].ravel(), u[1:].ravel())[0, 1]) < 0.011
    assert abs(np.corrcoef(u[:, :-1].ravel(), u[:, 1:].ravel())[0, 1]) < 0.011
    other_seed = np.asarray(jax.vmap(lambda i: jitconn._uniform(8, i, 100))(jnp.arange(2000)))
    assert abs(np.corrcoef(u.ravel(), other_seed.ravel())[0, 1]) < 0.011
