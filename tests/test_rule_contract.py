"""The plasticity-rule contract (snnjax.plasticity.Rule): a rule is maths only, the format owns the traversal.

A rule written as a user would (the module docstring's) equals the built-in STDP on every format; the state class is
generated with its axes; a missing function is a TypeError naming it and a wrong result a ValueError naming it, when
the Network is built; a rule that reads the postsynaptic voltage or takes a reward gets them, checked against NumPy.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct

import snnjax as sj
from snnjax import axes

DT = 0.1


@struct.dataclass
class PairRule(sj.plasticity.Rule):
    """The example of snnjax.plasticity.rule's docstring: pair STDP, one tau, unbounded."""

    a_plus: float = 0.01
    a_minus: float = 0.012
    tau: float = 20.0

    PRE = dict(apre=0.0)
    POST = dict(apost=0.0)

    def decay(self, pre, post, dt):
        k = jnp.exp(-dt / self.tau)
        return dict(apre=pre["apre"] * k), dict(apost=post["apost"] * k)

    def on_pre(self, syn, pre, post):
        return dict(w=syn["w"] - self.a_minus * post["apost"])

    def pre_spike(self, pre):
        return dict(apre=pre["apre"] + 1.0)

    def on_post(self, syn, pre, post):
        return dict(w=syn["w"] + self.a_plus * pre["apre"])

    def post_spike(self, post):
        return dict(apost=post["apost"] + 1.0)


def fixed_trains(rule, method, n_pre=30, n_post=8, steps=2000, delay=0.5, seed=0, output=None):
    """Both ends fixed spike trains (~30 Hz); the projection only learns (output=None)."""
    rng = np.random.default_rng(seed)
    pre_t = np.nonzero(rng.random((steps, n_pre)) < 0.003)
    post_t = np.nonzero(rng.random((steps, n_post)) < 0.003)
    pre_idx, post_idx = sj.conn.FixedProb(0.5, seed=seed + 1).build(n_pre, n_post)
    return sj.Network(
        a=sj.inputs.SpikeTimeGroup(n_pre, indices=pre_t[1], times=pre_t[0] * DT),
        b=sj.inputs.SpikeTimeGroup(n_post, indices=post_t[1], times=post_t[0] * DT),
        p=sj.Projection("a", "b", conn=(pre_idx, post_idx), weight=0.5, delay=delay, output=output, method=method,
                        plasticity=rule),
    )  # fmt: skip


def weights(net, steps=2000, **kw):
    return np.asarray(sj.simulate(net, net.init(dt=DT), duration=steps * DT, dt=DT, monitors=["p.w"], **kw)[1]["p.w"])


# -- a user's rule -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["sparse", "event", "vector_event"])
def test_a_users_pair_rule_equals_the_builtin_stdp(method):
    mine = PairRule(a_plus=0.01, a_minus=0.012, tau=20.0)
    builtin = sj.plasticity.STDP(a_plus=0.01, a_minus=0.012, tau_plus=20.0, tau_minus=20.0)
    got, want = weights(fixed_trains(mine, method)), weights(fixed_trains(builtin, "sparse"))
    assert np.abs(want[-1] - 0.5).max() > 0.02
    # the built-in rule rounds its products before they meet a sum (no fused multiply-add): a few ulps apart
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)


def test_the_state_is_generated_with_its_axes():
    assert PairRule.State.__name__ == "PairRuleState"
    fields = {f.name: f.metadata["axis"] for f in dataclasses.fields(PairRule.State)}
    assert fields == {"w": axes.SYN, "apre": axes.PRE, "apost": axes.POST}
    net = fixed_trains(PairRule(), "event")
    state = net.init(dt=DT, batch_shape=(2,))
    st = state.synapses["p"]
    k = net.projections["p"].topology.n_syn
    assert st.w.shape == (2, k) and st.apre.shape == (2, 30) and st.apost.shape == (2, 8)
    assert net.projections["p"].state_axes(st).plasticity == PairRule.State(w="syn", apre="pre", apost="post")
    # with per-synapse delays the presynaptic values are per synapse (and split as synapses)
    rng = np.random.default_rng(0)
    per_syn = fixed_trains(PairRule(), "sparse", delay=rng.uniform(0.1, 2.0, k))
    st = per_syn.init(dt=DT).synapses["p"]
    assert st.apre.shape == (k,) and per_syn.projections["p"].state_axes(st).plasticity.apre == "syn"
    assert "p.apre" in per_syn.monitor_paths() and "p.w" in per_syn.monitor_paths()


def test_initial_values_by_number_parameter_name_or_function():
    @struct.dataclass
    class Inits(PairRule):
        theta0: float = 0.25
        SYNAPSE = dict(e=(2.0, "per synapse."))
        POST = dict(apost=0.0, theta="theta0", double=lambda r: 2 * r.theta0)

        def post_spike(self, post):
            return dict(apost=post["apost"] + 1.0)

    st = fixed_trains(Inits(), "sparse").init(dt=DT).synapses["p"]
    np.testing.assert_array_equal(st.e, 2.0)
    np.testing.assert_array_equal(st.theta, 0.25)
    np.testing.assert_array_equal(st.double, 0.5)
    assert st.apost.shape == st.theta.shape == (8,)


# -- the checks -------------------------------------------------------------------------------------------------


def test_a_missing_function_is_a_type_error_naming_it():
    @struct.dataclass
    class NoJump(sj.plasticity.Rule):
        PRE = dict(apre=0.0)

        def decay(self, pre, post, dt):
            return pre, post

        def on_pre(self, syn, pre, post):
            return {}

        def on_post(self, syn, pre, post):
            return {}

    with pytest.raises(TypeError, match=r"must define pre_spike\(self, pre\)"):
        NoJump()

    @struct.dataclass
    class NoPost(sj.plasticity.Rule):
        def on_pre(self, syn, pre, post):
            return {}

    with pytest.raises(TypeError, match=r"on_post\(self, syn, pre, post\)"):
        NoPost()
    with pytest.raises(TypeError, match="plasticity must be None or a rule"):
        sj.Projection("a", "b", conn=sj.conn.All2All(), plasticity=object())


@pytest.mark.parametrize(
    "fn,body,match",
    [
        ("on_pre", lambda self, syn, pre, post: dict(apre=pre["apre"]), r"on_pre\(syn, pre, post\) must return a dict"),
        ("on_post", lambda self, syn, pre, post: syn["w"] + 1.0, r"on_post\(syn, pre, post\) must return a dict"),
        ("on_post", lambda self, syn, pre, post: dict(w=syn["w"][..., None] * jnp.ones(3)),
         r"on_post\(syn, pre, post\)\['w'\] has shape"),
        ("decay", lambda self, pre, post, dt: dict(apre=pre["apre"]), r"decay\(pre, post, dt\) must return a pair"),
        ("decay", lambda self, pre, post, dt: (pre, dict(apost=post["apost"], x=1.0)), r"decay\(pre, post, dt\)"),
        ("pre_spike", lambda self, pre: dict(apre=jnp.zeros(7)), r"pre_spike\(pre\)\['apre'\] has shape"),
        ("on_pre", lambda self, syn, pre, post: dict(w=syn["w"] * pre["missing"]), r"on_pre.* reads 'missing'"),
    ],
)  # fmt: skip
def test_a_wrong_result_is_a_value_error_naming_the_function_when_the_network_is_built(fn, body, match):
    Broken = type("Broken", (PairRule,), {fn: body})  # noqa: N806
    Broken = struct.dataclass(Broken)  # noqa: N806
    rule = Broken()  # the class is fine: its results are checked against the projection's state
    with pytest.raises(ValueError, match=match):
        fixed_trains(rule, "event")  # sj.Network(...): before anything runs or compiles


def test_bad_declarations():
    with pytest.raises(ValueError, match="reserved"):
        struct.dataclass(type("R", (PairRule,), {"POST": dict(v=0.0, apost=0.0)}))()
    with pytest.raises(ValueError, match="NEEDS"):
        struct.dataclass(type("R", (PairRule,), {"NEEDS": ("spikes",)}))()
    with pytest.raises(TypeError, match="on_step"):
        struct.dataclass(type("R", (PairRule,), {"NEEDS": ("reward",)}))()
    with pytest.raises(ValueError, match="tau must be > 0"):
        PairRule(tau=-1.0)


# -- what a rule needs: the voltage, a reward --------------------------------------------------------------------


@struct.dataclass
class VoltageRule(sj.plasticity.Rule):
    """Reads the postsynaptic voltage at arrivals (``w += eta v``) and every step (``w -= kappa dt v``)."""

    eta: float = 1e-3
    kappa: float = 1e-4
    NEEDS = ("v",)

    def on_pre(self, syn, pre, post):
        return dict(w=syn["w"] + self.eta * post["v"])

    def on_post(self, syn, pre, post):
        return {}

    def on_step(self, syn, pre, post, arrived, fired, *, dt, reward):
        return dict(w=syn["w"] - self.kappa * dt * post["v"])


@pytest.mark.parametrize("method", ["sparse", "event", "vector_event"])
def test_a_rule_reads_the_postsynaptic_voltage(method):
    rng = np.random.default_rng(1)
    n_pre, n_post, steps = 20, 5, 1500
    pre_t = np.nonzero(rng.random((steps, n_pre)) < 0.004)
    pre_idx, post_idx = sj.conn.FixedProb(0.5, seed=2).build(n_pre, n_post)
    net = sj.Network(
        a=sj.inputs.SpikeTimeGroup(n_pre, indices=pre_t[1], times=pre_t[0] * DT),
        b=sj.neurons.LIF(n_post, v_rest=0.0, v_reset=0.0, v_th=10.0, tau=10.0, v_init=0.0),
        p=sj.Projection("a", "b", conn=(pre_idx, post_idx), weight=1.0, delay=0.3, method=method,
                        output=sj.outputs.CUBA(target="v"), plasticity=VoltageRule()),
    )  # fmt: skip
    drive = 0.3 * np.sin(np.arange(steps)[:, None] / 50.0 + np.arange(n_post))
    _, rec = sj.simulate(net, net.init(dt=DT), duration=steps * DT, dt=DT, monitors=["p.w", "b.v", "a.spike"],
                         inputs=[("b.input", drive.astype(np.float32), "iter")])  # fmt: skip
    v, s = np.asarray(rec["b.v"], np.float64), np.asarray(rec["a.spike"], np.float64)
    arrive = np.zeros_like(s)
    arrive[3:] = s[:-3]  # 0.3 ms: three steps
    w, want = np.ones(pre_idx.size), []
    for t in range(steps):  # v after each step's update, as the rule sees it
        w = w + 1e-3 * v[t, post_idx] * arrive[t, pre_idx]
        w = w - 1e-4 * DT * v[t, post_idx]
        want.append(w.copy())
    assert np.abs(want[-1] - 1.0).max() > 0.01
    np.testing.assert_allclose(rec["p.w"], np.asarray(want), atol=1e-5, rtol=0)


def test_a_rule_that_needs_the_voltage_of_a_source_is_refused():
    net = fixed_trains(VoltageRule(), "sparse")
    with pytest.raises(ValueError, match="needs the postsynaptic voltage"):
        sj.simulate(net, net.init(dt=DT), duration=1.0, dt=DT)


@struct.dataclass
class RewardedDrift(sj.plasticity.Rule):
    """``w += lr dt reward`` every step at every synapse (a reward reaches every synapse)."""

    lr: float = 0.5
    NEEDS = ("reward",)

    def on_pre(self, syn, pre, post):
        return {}

    def on_post(self, syn, pre, post):
        return {}

    def on_step(self, syn, pre, post, arrived, fired, *, dt, reward):
        return dict(w=syn["w"] + self.lr * dt * reward)


@pytest.mark.parametrize("method", ["sparse", "event"])
def test_a_rule_takes_a_reward_per_batch_element(method):
    net = fixed_trains(RewardedDrift(), method)
    assert "p.reward" in net.input_paths()
    reward = np.stack([np.full(100, 1.0), np.linspace(-1.0, 1.0, 100)], axis=1).astype(np.float32)
    st, _ = sj.simulate(net, net.init(dt=DT, batch_shape=(2,)), duration=10.0, dt=DT,
                        inputs=[("p.reward", reward, "iter")])  # fmt: skip
    w = np.asarray(st.synapses["p"].w)
    np.testing.assert_allclose(w[0], 0.5 + 0.5 * DT * 100, rtol=1e-5)
    np.testing.assert_allclose(w[1], 0.5 + 0.5 * DT * reward[:, 1].sum(), atol=1e-5)


def test_a_rule_runs_under_jit_vmap_and_grad():
    # the rule's parameters are leaves: a sweep over them is one vmap, and the weights are differentiable in them
    def final_w(a_plus):
        net = fixed_trains(PairRule(a_plus=a_plus), "sparse", steps=500)
        st, _ = sj.simulate(net, net.init(dt=DT), duration=50.0, dt=DT)
        return st.synapses["p"].w.sum()

    vals = jax.jit(jax.vmap(final_w))(jnp.asarray([0.0, 0.01, 0.02]))
    assert vals[0] < vals[1] < vals[2]
    g = jax.grad(final_w)(0.01)
    np.testing.assert_allclose(g, (vals[2] - vals[0]) / 0.02, rtol=1e-3)  # linear in a_plus (unbounded)
