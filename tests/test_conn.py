"""Connectivity builders: counts, distributions and invariants."""

import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj


def test_fixed_prob_density_is_binomial_and_seeded():
    n_pre, n_post, p = 400, 500, 0.05
    pre, post = sj.conn.FixedProb(p, seed=3).build(n_pre, n_post)
    k, mean = pre.size, p * n_pre * n_post
    assert abs(k - mean) < 5 * np.sqrt(mean * (1 - p))  # 5 sigma of Binomial(n_pre n_post, p)
    key = pre.astype(np.int64) * n_post + post
    assert np.all(np.diff(key) > 0)  # sorted by (pre, post), no duplicates
    # each row's fan-out is Binomial(n_post, p): its variance matches within sampling error
    fanout = np.bincount(pre, minlength=n_pre)
    assert abs(fanout.var() / (n_post * p * (1 - p)) - 1) < 0.25
    again = sj.conn.FixedProb(p, seed=3).build(n_pre, n_post)
    np.testing.assert_array_equal(again[1], post)
    other = sj.conn.FixedProb(p, seed=4).build(n_pre, n_post)
    assert other[0].size != k or np.any(other[1] != post)


def test_fixed_prob_extremes_and_self_exclusion():
    pre, _ = sj.conn.FixedProb(0.0).build(10, 10)
    assert pre.size == 0
    pre, post = sj.conn.FixedProb(1.0, include_self=False).build(7, 7)
    assert pre.size == 42 and not np.any(pre == post)


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan"), "0.5"])
def test_fixed_prob_rejects_bad_probability(p):
    with pytest.raises(ValueError, match="p must be a probability in"):
        sj.conn.FixedProb(p)


@pytest.mark.parametrize("num", [1, 30, 90])
def test_fixed_post_num_gives_exact_distinct_fanout(num):
    pre, post = sj.conn.FixedPostNum(num, seed=1, include_self=False).build(50, 100)
    np.testing.assert_array_equal(np.bincount(pre, minlength=50), num)
    assert not np.any(pre == post)
    key = pre.astype(np.int64) * 100 + post
    assert np.all(np.diff(key) > 0)


def test_fixed_pre_num_gives_exact_fanin():
    pre, post = sj.conn.FixedPreNum(12, seed=2).build(40, 60)
    np.testing.assert_array_equal(np.bincount(post, minlength=60), 12)
    assert np.all(np.diff(pre.astype(np.int64) * 60 + post) > 0)


def test_fixed_num_rejects_too_many():
    with pytest.raises(ValueError, match="num must be <= 10"):
        sj.conn.FixedPostNum(11).build(5, 10)
    with pytest.raises(ValueError, match="num must be an int"):
        sj.conn.FixedPreNum(-1)


def test_one2one_and_all2all():
    pre, post = sj.conn.One2One().build(5, 5)
    np.testing.assert_array_equal(pre, post)
    with pytest.raises(ValueError, match="same size"):
        sj.conn.One2One().build(5, 6)
    pre, post = sj.conn.All2All(include_self=False).build(4, 4)
    assert pre.size == 12 and not np.any(pre == post)


def test_explicit_lists_and_matrices():
    c = sj.conn.FromIndices(np.array([2, 0, 1]), np.array([0, 1, 1]))
    pre, post = c.build(3, 2)
    np.testing.assert_array_equal(pre, [0, 1, 2])
    np.testing.assert_array_equal(post, [1, 1, 0])
    with pytest.raises(ValueError, match="duplicate"):
        sj.conn.FromIndices(np.array([0, 0]), np.array([1, 1])).build(2, 2)
    with pytest.raises(ValueError, match=r"post indices must be ints in \[0, 2\)"):
        sj.conn.FromIndices(np.array([0]), np.array([5])).build(2, 2)
    with pytest.raises(ValueError, match="matrix has shape"):
        sj.conn.from_matrix(np.ones((3, 3))).build(3, 4)


def test_per_synapse_weights_follow_the_users_order():
    # weights given with an unsorted list stay attached to their synapses: the list keeps the user's order
    net = sj.Network(
        a=sj.neurons.LIF(3),
        b=sj.neurons.LIF(2),
        p=sj.Projection(
            "a", "b", conn=(np.array([2, 0]), np.array([0, 1])), weight=np.array([7.0, 3.0]), method="sparse"
        ),
    )
    proj = net.projections["p"]
    np.testing.assert_array_equal(proj.topology.pre, [2, 0])
    np.testing.assert_array_equal(proj.topology.post, [0, 1])
    np.testing.assert_array_equal(proj.weight, [7.0, 3.0])
    s = jnp.array([0.0, 0.0, 1.0])  # only neuron 2 spikes: its synapse onto 0 has weight 7
    np.testing.assert_allclose(proj.propagator.propagate(proj.topology, proj.synapse_weights(), s, None), [7.0, 0.0])
