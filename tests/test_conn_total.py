"""sj.conn.FixedTotalNumber, Blocks and the per-synapse distribution Normal (NEST's redraw rule)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import snnjax as sj


def test_fixed_total_number_counts_and_uniform_pairs():
    pre, post = sj.conn.FixedTotalNumber(200_000, seed=1).build(50, 40)
    assert pre.size == post.size == 200_000 and pre.dtype == np.int32
    assert np.all(np.diff(pre) >= 0)  # sorted by pre, then post
    key = pre.astype(np.int64) * 40 + post
    assert np.all(np.diff(key) >= 0)
    # each of the 2000 pairs is hit Binomial(K, 1/2000) times: mean 100; with multapses many pairs repeat
    hits = np.bincount(key, minlength=2000)
    assert abs(hits.mean() - 100) < 1e-9 and abs(hits.var() / (100 * (1 - 1 / 2000)) - 1) < 0.1
    assert abs(np.bincount(pre, minlength=50).std() / math.sqrt(4000 * (1 - 1 / 50)) - 1) < 0.3
    assert np.any(pre == post)  # autapses allowed by default


def test_fixed_total_number_without_autapses_or_multapses():
    pre, post = sj.conn.FixedTotalNumber(900, autapses=False, multapses=False, seed=2).build(40, 30)
    assert pre.size == 900 and not np.any(pre == post)
    assert np.unique(pre.astype(np.int64) * 30 + post).size == 900
    with pytest.raises(ValueError, match="n must be <= 1170"):
        sj.conn.FixedTotalNumber(1171, autapses=False, multapses=False).build(40, 30)
    with pytest.raises(ValueError, match="n must be an int >= 0"):
        sj.conn.FixedTotalNumber(-1)
    with pytest.raises(TypeError, match="multapses must be True or False"):
        sj.conn.FixedTotalNumber(3, multapses=1)


def test_fixed_total_number_is_seeded():
    a = sj.conn.FixedTotalNumber(1000, seed=3).build(30, 30)
    b = sj.conn.FixedTotalNumber(1000, seed=3).build(30, 30)
    c = sj.conn.FixedTotalNumber(1000, seed=4).build(30, 30)
    assert all(np.array_equal(x, y) for x, y in zip(a, b)) and not np.array_equal(a[1], c[1])


def test_blocks_place_each_pathway_and_sort_by_pre():
    conn = sj.conn.Blocks((3, 4), (5, 2), {(0, 0): sj.conn.FixedTotalNumber(40, seed=1), (1, 1): sj.conn.All2All(),
                                           (0, 1): sj.conn.FixedProb(0.5, seed=2)})  # fmt: skip
    pre, post = conn.build(7, 7)
    assert np.all(np.diff(pre) >= 0)
    expected = []
    for (i, j), c in conn.connectors.items():
        p, q = c.build(conn.pre_sizes[i], conn.post_sizes[j])
        expected += list(zip(p + sum(conn.pre_sizes[:i]), q + sum(conn.post_sizes[:j])))
    assert sorted(expected) == sorted(zip(pre.tolist(), post.tolist()))
    with pytest.raises(ValueError, match="pre_sizes and post_sizes must sum"):
        conn.build(8, 7)
    with pytest.raises(ValueError, match="keys must be"):
        sj.conn.Blocks((3,), (3,), {(0, 1): sj.conn.All2All()})


def test_normal_redraws_outside_the_bounds_as_a_truncated_normal():
    pre = np.zeros(400_000, np.int32)
    x = sj.conn.Normal(1.0, 1.0, low=0.5, seed=3).draw(pre, pre).astype(np.float64)
    assert x.dtype == np.float64 and x.min() >= 0.5
    # the mean of N(1, 1) truncated below at 0.5: mu + sigma phi(a) / (1 - Phi(a)), a = -0.5
    a = -0.5
    phi, tail = math.exp(-a * a / 2) / math.sqrt(2 * math.pi), 0.5 * math.erfc(a / math.sqrt(2))
    assert abs(x.mean() - (1.0 + phi / tail)) < 0.005


def test_normal_per_block_tables():
    sizes = ((2, 3), (4,))
    pre = np.repeat(np.arange(5), 20_000).astype(np.int32)
    post = np.zeros_like(pre)
    spec = sj.conn.Normal(mean=np.array([[1.0], [-2.0]]), std=np.array([[0.1], [0.2]]), low=np.array([[0.0], [-1e9]]),
                          high=np.array([[1e9], [0.0]]), blocks=sizes, seed=1)  # fmt: skip
    x = spec.draw(pre, post)
    first, second = x[pre < 2], x[pre >= 2]
    assert abs(first.mean() - 1.0) < 0.01 and abs(first.std() - 0.1) < 0.01 and first.min() >= 0
    assert abs(second.mean() + 2.0) < 0.01 and abs(second.std() - 0.2) < 0.01 and second.max() <= 0


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(mean=0.0, std=1.0, low=6.0), "keep only"),  # P(X > 6 sd) ~ 1e-9: redrawing would be hopeless
        (dict(mean=0.0, std=-1.0), "std finite and >= 0"),
        (dict(mean=0.0, std=1.0, low=2.0, high=1.0), "low <= high"),
        (dict(mean=np.zeros((2, 2)), std=1.0), "needs blocks"),
        (dict(mean=np.zeros((2, 3)), std=1.0, blocks=((1, 1), (1, 1))), "broadcasting to \\(2, 2\\)"),
    ],
)
def test_normal_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        sj.conn.Normal(**kw)


def test_projection_draws_weights_and_delays_per_synapse():
    proj = sj.Projection(
        "A",
        "B",
        conn=sj.conn.FixedTotalNumber(5000, seed=1),
        weight=sj.conn.Normal(2.0, 0.2, low=0.0, seed=2),
        delay=sj.conn.Normal(1.5, 0.75, low=0.05, seed=3),
        synapse=sj.synapses.Exponential(),
    )
    net = sj.Network(A=sj.neurons.LIF(100), B=sj.neurons.LIF(100), p=proj)
    p = net.projections["p"]
    assert np.shape(p.weight) == np.shape(p.delay) == (5000,) and p.method == "event" and p.ring_delivery
    assert abs(float(np.mean(p.weight)) - 2.0) < 0.02 and float(np.min(p.delay)) >= 0.05
    again = sj.Network(A=sj.neurons.LIF(100), B=sj.neurons.LIF(100), p=proj).projections["p"]
    np.testing.assert_array_equal(p.weight, again.weight)  # seeded: the same network twice
