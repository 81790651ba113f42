"""method="auto": the kernel is the cheapest by the cost model, follows the activity hint, switches to
just-in-time connectivity above the synapse budget, and never changes the results."""

import itertools

import jax
import numpy as np
import pytest

import snnjax as sj
from snnjax import jitconn
from snnjax import projection as projection_mod
from snnjax.projection import choose_method, default_max_events, kernel_costs

SIZES = [(64, 128), (1000, 1000), (3200, 3200), (16000, 16000), (100_000, 100_000)]
ACTIVITIES = [1e-4, 1e-3, 0.01, 0.05, 0.2, 0.5, 1.0]


@pytest.mark.parametrize("n_pre,n_post", SIZES)
@pytest.mark.parametrize("fanout", [10, 80, "all"])
@pytest.mark.parametrize("align", ["post", "pre"])
def test_auto_is_the_cheapest_and_leaves_event_for_good_as_activity_grows(n_pre, n_post, fanout, align):
    k = n_pre * n_post if fanout == "all" else n_pre * min(fanout, n_post)
    picks = []
    for a in ACTIVITIES:
        costs = kernel_costs(n_pre, n_post, k, a, align)
        pick = choose_method(n_pre, n_post, k, a, align=align)
        assert costs[pick] == min(costs.values())
        assert ("dense" in costs) == (n_pre * n_post <= 2**24)
        picks.append(pick)
    if align == "pre":  # pre-aligned kinetics send a value from every presynaptic neuron: no events
        assert "event" not in picks
    # only the event kernel's cost grows with activity: once it stops being the cheapest it never returns
    first_other = next((i for i, m in enumerate(picks) if m != "event"), len(picks))
    assert all(m != "event" for m in picks[first_other:]), picks


def test_auto_picks_what_the_benchmarks_measured():
    # benchmarks/kernels.py on the 2-core VM (benchmarks/README.md): COBA-like sparse low activity -> event;
    # small all-to-all at high activity -> dense; per-synapse delays -> event (delivered at emission into a ring)
    assert choose_method(3200, 3200, 205_628, activity=0.0022) == "event"
    assert choose_method(64_000, 64_000, 5_120_000, activity=0.001) == "event"
    assert choose_method(1000, 1000, 1_000_000, activity=0.2) == "dense"
    assert choose_method(2000, 2000, 4_000_000, activity=0.002) == "event"
    assert choose_method(128, 128, 16_384, activity=0.2) == "dense"
    assert choose_method(3200, 3200, 205_628, activity=0.0022, per_synapse_delay=True) == "event"
    assert choose_method(4000, 4000, 320_000, align="pre") == "sparse"


@pytest.mark.parametrize("bad", [0, 0.0, -0.1, 1.5, float("nan"), "0.1", True, np.array([0.1])])
def test_activity_must_be_a_fraction(bad):
    with pytest.raises(ValueError, match="activity"):
        sj.Projection("A", "B", conn=sj.conn.All2All(), activity=bad)


def test_max_events_follows_the_activity_hint():
    lif = sj.neurons.LIF(1000)
    conn = sj.conn.FixedProb(0.05, seed=1)

    def bound(**kw):
        net = sj.Network(A=lif, P=sj.Projection("A", "A", conn=conn, method="event", **kw))
        return net.projections["P"].event_bound()

    assert bound() == default_max_events(1000) == 32  # 2% of 1000 without a hint, at least 32
    assert default_max_events(5000) == 100
    assert bound(activity=0.1) == default_max_events(1000, 0.1) == 200
    assert bound(activity=1e-5) == 32
    assert bound(activity=0.1, max_events=7) == 7


def _all2all_net(activity):
    lif = dict(v_rest=-60.0, v_th=-50.0, v_reset=-60.0, tau=20.0, v_init=sj.init.Uniform(-60.0, -50.0))
    pre, post = sj.neurons.LIF(1000, tau_ref=2.0, **lif), sj.neurons.LIF(200, **lif)
    w = np.random.default_rng(0).uniform(0.0, 0.1, (1000, 200)).astype(np.float32)
    proj = sj.Projection(
        "A", "B", conn=sj.conn.All2All(), weight=w, synapse=sj.synapses.Exponential(5.0), activity=activity
    )
    return sj.Network(A=pre, B=post, P=proj)


def test_the_activity_hint_changes_the_kernel_not_the_result():
    quiet, busy = _all2all_net(1e-4), _all2all_net(0.5)
    assert (quiet.projections["P"].method, busy.projections["P"].method) == ("event", "dense")
    kw = dict(duration=60.0, dt=0.1, inputs=[("A.input", 25.0)], monitors=["B.spike", "B.v"])
    _, a = sj.simulate(quiet, quiet.init(key=jax.random.key(1), dt=0.1), **kw)
    _, b = sj.simulate(busy, busy.init(key=jax.random.key(1), dt=0.1), **kw)
    assert a["B.spike"].sum() > 50
    np.testing.assert_array_equal(a["B.spike"], b["B.spike"])
    np.testing.assert_allclose(a["B.v"], b["B.v"], atol=1e-4)  # summation order only


def _fixed_prob_net(conn_of, **proj_kw):
    lif = dict(v_rest=-60.0, v_th=-50.0, v_reset=-60.0, tau=20.0, tau_ref=5.0, v_init=sj.init.Normal(-55.0, 2.0))
    e, i = sj.neurons.LIF(300, **lif), sj.neurons.LIF(100, **lif)
    exc = dict(synapse=sj.synapses.Exponential(5.0), output=sj.outputs.COBA(E=0.0), weight=0.6)
    inh = dict(synapse=sj.synapses.Exponential(10.0), output=sj.outputs.COBA(E=-80.0), weight=6.7)
    projs = {}
    for (a, b), seed in zip(itertools.product("EI", "EI"), range(4)):
        kw = dict(exc if a == "E" else inh, **proj_kw)
        projs[a + b] = sj.Projection(a, b, conn=conn_of(0.1, seed, a == b), **kw)
    return sj.Network(E=e, I=i, **projs)


def test_auto_regenerates_large_fixed_prob_connectivity_on_the_fly(monkeypatch):
    monkeypatch.setattr(projection_mod, "JIT_ABOVE_SYNAPSES", 500)  # 2**28 in production: too big for a test
    auto = _fixed_prob_net(lambda p, seed, rec: sj.conn.FixedProb(p, seed=seed, include_self=not rec))
    explicit = _fixed_prob_net(lambda p, seed, rec: jitconn.JitFixedProb(p, seed=seed, include_self=not rec))
    for name, proj in auto.projections.items():
        assert proj.method == "jit"
        assert proj.conn == explicit.projections[name].conn
    assert "jit" in repr(auto)
    kw = dict(duration=80.0, dt=0.1, inputs=[("E.input", 20.0), ("I.input", 20.0)], monitors=["E.spike", "E.v"])
    _, a = sj.simulate(auto, auto.init(key=jax.random.key(0), dt=0.1), **kw)
    _, b = sj.simulate(explicit, explicit.init(key=jax.random.key(0), dt=0.1), **kw)
    assert a["E.spike"].sum() > 50
    np.testing.assert_array_equal(a["E.spike"], b["E.spike"])
    np.testing.assert_array_equal(a["E.v"], b["E.v"])


@pytest.mark.parametrize("case", ["explicit method", "per-synapse weights", "pre-aligned kinetics"])
def test_auto_keeps_the_stored_list_when_jit_cannot_or_must_not(monkeypatch, case):
    monkeypatch.setattr(projection_mod, "JIT_ABOVE_SYNAPSES", 1000)
    conn = sj.conn.FixedProb(0.1, seed=0)
    k = conn.build(200, 200)[0].size
    proj_kw = {
        "explicit method": dict(method="event"),
        "per-synapse weights": dict(weight=np.full(k, 0.5, np.float32)),
        "pre-aligned kinetics": dict(synapse=sj.synapses.AMPA()),
    }[case]
    net = sj.Network(A=sj.neurons.LIF(200), P=sj.Projection("A", "A", conn=conn, **proj_kw))
    assert net.projections["P"].method != "jit"
    assert net.projections["P"].topology.n_syn == k
