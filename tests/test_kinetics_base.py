"""snnjax.synapses.Kinetics: user kinetics of a screenful (a rise-decay conductance given as derivatives, a
saturating pre-aligned synapse given in closed form) checked against float64 NumPy (analytic responses, an
event-by-event loop), run in networks on sparse, event and dense; the built-in kinetics rebuilt on the base
(closed forms against their own derivatives, and bitwise against the written-out steps they had before); the
errors for declarations that break the contract."""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct

import snnjax as sj
from snnjax.synapses import Kinetics

DT = 0.1


@struct.dataclass
class RiseDecay(Kinetics):
    """A conductance that rises with tau_rise and decays with tau_decay (the unit of the weights, ms):

    dx/dt = -x / tau_decay,  dg/dt = (x - g) / tau_rise;  each arriving spike adds its weight to x.
    One spike of weight w at t = 0: g(t) = w tau_decay / (tau_decay - tau_rise) (e^{-t/tau_decay} - e^{-t/tau_rise}).
    """

    tau_rise: float = 1.0  # ms
    tau_decay: float = 5.0  # ms

    STATE = dict(g=(0.0, "conductance, unit of the weights"), x=(0.0, "conductance before the rise, same unit"))

    def derivatives(self, s):
        return dict(x=-s.x / self.tau_decay, g=(s.x - s.g) / self.tau_rise)

    def on_input(self, s, inp):
        return dict(x=s.x + inp)


@struct.dataclass
class Saturating(Kinetics):
    """Open fraction g of one presynaptic terminal: dg/dt = -g / tau; a spike opens a fraction U of the closed
    channels, g += U (1 - g). Nonlinear in its input, so pre-aligned: the projection sends sum_j w_ij g_j."""

    tau: float = 5.0  # ms
    U: float = 0.3  # dimensionless, in (0, 1]

    STATE = dict(g=(0.0, "open fraction, in [0, 1)"))
    align = "pre"
    _FIELDS = dict(tau="positive", U="positive")

    def integrate(self, s, dt):
        return dict(g=s.g * jnp.exp(-dt / self.tau))

    def on_input(self, s, spikes):
        return dict(g=s.g + self.U * spikes * (1.0 - s.g))


def drive(model, inp, batch_shape=()):
    """Run ``model`` on ``inp`` ``(n_steps, *batch_shape, n)``; the stacked states."""
    state = model.init((inp.shape[-1],), batch_shape)
    step = jax.jit(lambda s, xs: jax.lax.scan(lambda c, x: (model.update(c, x, dt=DT),) * 2, s, xs)[1])
    return step(state, jnp.asarray(inp))


def rise_decay_reference(inp, tau_rise, tau_decay):
    """float64 superposition of the analytic responses: an input arriving at step k acts on x at the end of step k
    (after that step's decay), so it shows in g from step k + 1 as the response at ``(n - k) dt``."""
    n_steps = inp.shape[0]
    g = np.zeros(inp.shape)
    for k, *where in zip(*np.nonzero(inp)):
        s = np.arange(n_steps - k) * DT
        kernel = tau_decay / (tau_decay - tau_rise) * (np.exp(-s / tau_decay) - np.exp(-s / tau_rise))
        g[(slice(k, None), *where)] += inp[(k, *where)] * kernel
    return g


def spike_steps(n_steps, n, seed, p=0.03):
    rng = np.random.default_rng(seed)
    return (rng.random((n_steps, n)) < p).astype(np.float32)


# -- the user models ---------------------------------------------------------------------------------------


def test_the_user_models_are_a_screenful():
    for cls in (RiseDecay, Saturating):
        assert len(inspect.getsource(cls).splitlines()) <= 30


@pytest.mark.parametrize(
    "method,atol",
    # exact (the default METHOD: expm of the 2x2 system per element) leaves float32 rounding only: measured
    # 2.4e-7 on a peak of 1.5; rk4 adds its O(dt^4) error, measured 1.3e-5 with tau_rise = 0.5 ms and dt = 0.1 ms
    [(None, 2e-6), ("exact", 2e-6), ("rk4", 5e-5)],
)
def test_rise_decay_matches_the_analytic_response(method, atol):
    tau_rise, tau_decay = 0.5, 4.0
    inp = np.zeros((400, 2), np.float32)
    inp[[3, 10, 150], 0] = [1.0, 0.5, 2.0]  # overlapping responses, then one alone
    inp[20, 1] = 1.0
    model = RiseDecay(tau_rise, tau_decay, method=method)
    g = np.asarray(drive(model, inp).g)
    ref = rise_decay_reference(inp, tau_rise, tau_decay)
    assert ref.max() > 1.0  # a real response is compared
    np.testing.assert_allclose(g, ref, atol=atol, rtol=0)
    # a first-order method is visibly worse: the comparison can tell methods apart
    worse = np.asarray(drive(RiseDecay(tau_rise, tau_decay, method="euler"), inp).g)
    assert np.abs(worse - ref).max() > 100 * atol


def test_rise_decay_batch_vmap_and_grad():
    inp = spike_steps(200, 3, seed=1)
    one = np.asarray(drive(RiseDecay(0.5, 4.0), inp).g)
    batched = np.asarray(drive(RiseDecay(0.5, 4.0), np.stack([inp, inp], 1), batch_shape=(2,)).g)
    np.testing.assert_array_equal(batched[:, 0], one)
    np.testing.assert_array_equal(batched[:, 1], one)
    # tau_decay is a leaf: vmap over it equals a loop (float32 rounding of two compilations of the same program)
    taus = jnp.array([2.0, 4.0, 8.0])
    swept = jax.vmap(lambda t: drive(RiseDecay(0.5, t), inp).g)(taus)
    for i, t in enumerate([2.0, 4.0, 8.0]):
        np.testing.assert_allclose(swept[i], drive(RiseDecay(0.5, t), inp).g, rtol=1e-6, atol=1e-7)
    # and grad reaches it: the total charge of a response is w * tau_decay, so d(sum g dt)/d tau_decay ~ sum(w)
    inp1 = np.zeros((3000, 1), np.float32)
    inp1[0] = 1.0
    dq = jax.grad(lambda t: drive(RiseDecay(0.5, t), inp1).g.sum() * DT)(4.0)
    # the sampled sum of a smooth kernel: d/dtau of the Riemann sum, within O(dt / tau) of 1
    assert abs(float(dq) - 1.0) < 0.05
    assert jax.tree.structure(jax.tree.map(lambda _: 0, RiseDecay())) == jax.tree.structure(RiseDecay())


def test_saturating_matches_an_event_loop():
    tau, u = 5.0, 0.3
    spikes = np.zeros((300, 2), np.float32)
    spikes[[5, 6, 7, 8, 100], 0] = 1.0  # a burst saturates; a lone spike later
    spikes[[50], 1] = 1.0
    g = np.asarray(drive(Saturating(tau, u), spikes).g)
    ref, state = np.zeros(spikes.shape), np.zeros(2)
    for k in range(spikes.shape[0]):  # float64: decay over the step, then the spike's jump
        state = state * np.exp(-DT / tau)
        state = state + u * spikes[k] * (1.0 - state)
        ref[k] = state
    assert ref.max() > 0.7  # the burst drives it into saturation (a linear sum would be 4 * 0.3 = 1.2)
    np.testing.assert_allclose(g, ref, atol=1e-6, rtol=0)  # float32 rounding of values <= 1


def network(synapse, method, n_pre=200, n_post=60, weight=None):
    weight = sj.conn.Normal(0.3, 0.05) if weight is None else weight
    pre = sj.inputs.PoissonGroup(n_pre, rate=20.0)
    post = sj.neurons.LIF(n_post, v_rest=-60.0, v_reset=-60.0, v_th=-50.0, tau=20.0, tau_ref=2.0)
    proj = sj.Projection(
        "pre",
        "post",
        conn=sj.conn.FixedProb(0.1, seed=3),
        weight=weight,
        delay=1.0,
        synapse=synapse,
        output=sj.outputs.COBA(E=0.0),
        method=method,
    )
    return sj.Network(pre=pre, post=post, syn=proj)


def run(net, n_steps=1500, monitors=("pre.spike", "post.spike", "post.v", "syn.g")):
    _, rec = sj.simulate(
        net,
        net.init(key=jax.random.key(0)),
        duration=n_steps * DT,
        dt=DT,
        inputs=[("post.input", 0.5)],
        monitors=list(monitors),
    )
    return {k: np.asarray(v) for k, v in rec.items()}


def arriving_input(net, pre_spikes, lag):
    """float64 sum of the weights of the spikes arriving at each postsynaptic neuron per step, from the synapse
    list (a spike emitted at step s acts at step s + lag)."""
    proj = net.projections["syn"]
    pre, post = np.asarray(proj.topology.pre), np.asarray(proj.topology.post)
    w = np.broadcast_to(np.asarray(proj.synapse_weights(), np.float64), pre.shape)
    per_pre = np.zeros((pre_spikes.shape[1], proj.topology.n_post))
    np.add.at(per_pre, (pre, post), w)
    inp = np.zeros((pre_spikes.shape[0], proj.topology.n_post))
    inp[lag:] = pre_spikes[:-lag] @ per_pre
    return inp


def test_rise_decay_in_a_network_on_sparse_and_event():
    recs = {m: run(network(RiseDecay(0.5, 4.0), m)) for m in ("sparse", "event", "dense")}
    assert recs["sparse"]["pre.spike"].sum() > 500 and recs["sparse"]["post.spike"].sum() > 50
    for m in ("event", "dense"):
        np.testing.assert_array_equal(recs[m]["pre.spike"], recs["sparse"]["pre.spike"])
        np.testing.assert_array_equal(recs[m]["post.spike"], recs["sparse"]["post.spike"])
        # the same float32 kinetics on inputs summed in another order at most (measured: bitwise equal today)
        np.testing.assert_allclose(recs[m]["syn.g"], recs["sparse"]["syn.g"], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(recs[m]["post.v"], recs["sparse"]["post.v"], rtol=0, atol=1e-4)
    # independent: g from the synapse list and the recorded presynaptic spikes, by the float64 analytic kernel
    net = network(RiseDecay(0.5, 4.0), "sparse")
    inp = arriving_input(net, recs["sparse"]["pre.spike"], lag=10)  # 1 ms at dt = 0.1 ms
    ref = rise_decay_reference(inp, 0.5, 4.0)
    # float32 sums of ~20 weights per step and float32 kinetics: relative 1e-6 of values ~ 5
    np.testing.assert_allclose(recs["sparse"]["syn.g"], ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("method", ["dense", "sparse"])
def test_saturating_pre_aligned_in_a_network(method):
    net = network(Saturating(5.0, 0.3), method, weight=0.2)
    assert net.projections["syn"].align == "pre"
    rec = run(net, n_steps=800)
    g = rec["syn.g"]
    assert g.shape == (800, 200)  # one open fraction per presynaptic neuron
    ref, state = np.zeros(g.shape), np.zeros(200)
    spikes = rec["pre.spike"]
    for k in range(800):  # each terminal driven by its own spikes, 10 steps (1 ms) late
        state = state * np.exp(-DT / 5.0)
        if k >= 10:
            state = state + 0.3 * spikes[k - 10] * (1.0 - state)
        ref[k] = state
    assert ref.max() > 0.3
    np.testing.assert_allclose(g, ref, atol=2e-6, rtol=0)  # float32 rounding of values <= 1, 800 steps


def test_generated_state_class_and_monitor_paths():
    state = RiseDecay().init((4,), (2,))
    assert type(state).__name__ == "RiseDecayState" and type(state) is RiseDecay.State
    assert [f for f in state.__dataclass_fields__] == ["g", "x"]
    assert state.g.shape == state.x.shape == (2, 4) and state.g.dtype == jnp.result_type(float)
    assert "conductance before the rise" in RiseDecay.State.__doc__
    net = network(RiseDecay(), "sparse")
    assert {"syn.g", "syn.x"} <= set(net.monitor_paths())
    # the built-ins keep SynapseState: 'EE.g', 'EE.h' stay, and h stays None where a model has no second variable
    assert type(sj.synapses.Alpha().init((3,))) is sj.synapses.SynapseState
    assert sj.synapses.Exponential().init((3,)).h is None
    np.testing.assert_array_equal(sj.synapses.AMPA().init((2,)).h, [1e7, 1e7])


def test_arrival_before_lets_the_step_see_the_input():
    @struct.dataclass
    class Before(Kinetics):
        tau: float = 2.0
        STATE = dict(g=0.0)
        ARRIVAL = "before"

        def integrate(self, s, dt):
            return dict(g=s.g * jnp.exp(-dt / self.tau))

    inp = np.zeros((5, 1), np.float32)
    inp[1] = 2.0
    g = np.asarray(drive(Before(), inp).g[:, 0])
    after = np.asarray(drive(sj.synapses.Exponential(2.0), inp).g[:, 0])
    np.testing.assert_allclose(g, after * np.exp(-DT / 2.0), rtol=1e-6)  # one more step of decay
    assert g[0] == 0.0 and g[1] == pytest.approx(2.0 * np.exp(-DT / 2.0), rel=1e-6)


# -- the built-in kinetics on the base ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "closed,from_derivatives",
    [
        (sj.synapses.Exponential(5.0), sj.synapses.Exponential(5.0, method="exact")),
        (sj.synapses.Alpha(3.0), sj.synapses.Alpha(3.0, method="exact")),
        (sj.synapses.DualExponential(1.5, 8.0), sj.synapses.DualExponential(1.5, 8.0, method="exact")),
        (sj.synapses.DualExponential(1.0, 6.0, A=2.0), sj.synapses.DualExponential(1.0, 6.0, A=2.0, method="rk4")),
        # NMDA's closed form is exponential Euler with h held over the step: exp_euler on its derivatives
        (sj.synapses.NMDA(), sj.synapses.NMDA(method="exp_euler")),
    ],
    ids=["Exponential", "Alpha", "DualExponential", "DualExponential-A-rk4", "NMDA"],
)
def test_closed_forms_agree_with_their_derivatives(closed, from_derivatives):
    inp = spike_steps(600, 4, seed=2, p=0.05) * np.float32(1.7)
    a, b = drive(closed, inp), drive(from_derivatives, inp)
    assert float(jnp.abs(a.g).max()) > 0.3
    # the same solution by two routes: float32 rounding (rk4: its error at dt/tau_rise = 0.1, ~1e-6 relative)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(x, y, rtol=2e-5, atol=2e-6)


def _written_out_steps():
    """The steps the built-in models had before they were rebuilt on Kinetics, written out (float32 operations in
    the same order): the rebuilt models must reproduce them bit for bit (the COBA spike counts and the Brian2
    references depend on it)."""
    from snnjax.integrators import exprel
    from snnjax.synapses.kinetics import _dual_exp_a

    def exponential(m, s, inp, dt):
        return (s.g * jnp.exp(-dt / m.tau) + inp,)

    def alpha(m, s, inp, dt):
        decay = jnp.exp(-dt / m.tau_decay)
        return (s.g + s.h * (dt / m.tau_decay)) * decay, s.h * decay + inp

    def dual(m, s, inp, dt):
        tr, td = jnp.asarray(m.tau_rise), jnp.asarray(m.tau_decay)
        er, ed = jnp.exp(-dt / tr), jnp.exp(-dt / td)
        x = dt * (td - tr) / (tr * td)
        coef = dt * jnp.maximum(ed, er) * exprel(-jnp.abs(x))
        return s.g * ed + s.h * coef, s.h * er + _dual_exp_a(tr, td, m.A) * inp

    def ampa(m, s, inp, dt):
        since = jnp.where(inp != 0, 0.0, jnp.minimum(s.h + dt, 1e7)).astype(s.h.dtype)
        tt = jnp.where(since < m.T_duration - 1e-3 * dt, m.T, 0.0)
        rate = m.alpha * tt + m.beta
        g_inf = m.alpha * tt / rate
        return (g_inf + (s.g - g_inf) * jnp.exp(-rate * dt)).astype(s.g.dtype), since

    def nmda(m, s, inp, dt):
        rate = 1.0 / m.tau_decay + m.a * s.h
        g_inf = m.a * s.h / rate
        return g_inf + (s.g - g_inf) * jnp.exp(-rate * dt), s.h * jnp.exp(-dt / m.tau_rise) + inp

    def delta(m, s, inp, dt):
        return (jnp.broadcast_to(inp, s.g.shape).astype(s.g.dtype),)

    return [
        (sj.synapses.Delta(), delta, 1.3),
        (sj.synapses.Exponential(np.linspace(2.0, 9.0, 5).astype(np.float32)), exponential, 1.3),
        (sj.synapses.Alpha(3.0), alpha, 1.3),
        (sj.synapses.DualExponential(1.5, 8.0), dual, 1.3),
        (sj.synapses.DualExponential(4.0, 4.0), dual, 1.3),
        (sj.synapses.DualExponential(1.0, 6.0, A=2.0), dual, 1.3),
        (sj.synapses.AMPA(), ampa, 1.0),
        (sj.synapses.GABAa(), ampa, 1.0),
        (sj.synapses.NMDA(), nmda, 1.0),
    ]


@pytest.mark.parametrize("model,written,w", _written_out_steps(), ids=lambda x: getattr(type(x), "__name__", ""))
def test_builtins_reproduce_their_written_out_steps_bitwise(model, written, w):
    inp = spike_steps(500, 5, seed=3, p=0.05) * np.float32(w)
    fields = [f for f in ("g", "h") if getattr(model.init((5,)), f) is not None]

    def scan(step):
        def body(s, x):
            s = s.replace(**dict(zip(fields, step(s, x))))
            return s, s

        return jax.jit(lambda s, xs: jax.lax.scan(body, s, xs)[1])(model.init((5,), (2,)), jnp.asarray(inp)[:, None])

    got = scan(lambda s, x: [getattr(model.update(s, x, dt=DT), f) for f in fields])
    want = scan(lambda s, x: written(model, s, x, DT))
    assert float(jnp.abs(want.g).max()) > 0.1
    for f in fields:
        np.testing.assert_array_equal(getattr(got, f), getattr(want, f))


# -- the contract's errors -------------------------------------------------------------------------------------


def _model(body: dict, base=Kinetics, name="Bad"):
    """A Kinetics subclass from a dict of class attributes (annotations for fields), decorated."""
    return struct.dataclass(type(name, (base,), body))


BAD_DECLARATIONS = [
    (lambda: _model({"derivatives": lambda self, s: {"g": -s.g}})(), TypeError, "STATE"),
    (lambda: _model({"STATE": dict(x=0.0), "derivatives": lambda self, s: {"x": -s.x}})(), TypeError, "with g"),
    (lambda: _model({"STATE": dict(g=0.0)})(), TypeError, "derivatives"),
    (lambda: sj.synapses.AMPA(method="rk4"), TypeError, "method='rk4'"),
    (lambda: sj.synapses.Exponential(method="rk5"), ValueError, "method"),
    (lambda: sj.synapses.Exponential(method="euler_maruyama"), ValueError, "noise"),
    (
        lambda: _model({"STATE": dict(g=0.0), "integrate": lambda self, s, dt: {"g": s.g}, "ARRIVAL": "during"})(),
        ValueError,
        "ARRIVAL",
    ),
    (
        lambda: _model({"STATE": dict(g=0.0), "integrate": lambda self, s, dt: {"g": s.g}, "align": "both"})(),
        ValueError,
        "align",
    ),
    (
        lambda: _model(
            {
                "__annotations__": {"align": str},
                "align": "pre",
                "STATE": dict(g=0.0),
                "integrate": lambda self, s, dt: {"g": s.g},
            }
        )(),
        TypeError,
        "class attributes",
    ),
    (
        lambda: _model(
            {
                "STATE": dict(g=0.0, x=0.0),
                "State": sj.synapses.SynapseState,
                "integrate": lambda self, s, dt: {"g": s.g, "x": s.x},
            }
        )(),
        TypeError,
        "State must be a dataclass",
    ),
    (lambda: RiseDecay(tau_rise=0.0), ValueError, "tau_rise must be > 0"),
    (lambda: RiseDecay(tau_decay=float("nan")), ValueError, "tau_decay must be finite"),
    (lambda: Saturating(U=-0.1), ValueError, "U must be > 0"),
]


@pytest.mark.parametrize("make,error,match", BAD_DECLARATIONS)
def test_bad_declarations_name_what_is_wrong(make, error, match):
    with pytest.raises(error, match=match):
        make()


def _rise_decay_with(**hooks):
    return _model(hooks, base=RiseDecay, name="RiseDecayBad")


BAD_HOOKS = [
    (_rise_decay_with(derivatives=lambda self, s: dict(g=-s.g)), "derivatives.*keys of STATE.*'x'"),
    (_rise_decay_with(derivatives=lambda self, s: (-s.g, -s.x)), "derivatives.*got tuple"),
    (_rise_decay_with(derivatives=lambda self, s: dict(g=-s.g, x=jnp.zeros(7))), r"derivatives.*\['x'\].*\(7,\)"),
    (_rise_decay_with(on_input=lambda self, s, i: dict(y=s.x + i)), "on_input.*some of the keys of STATE"),
    (_rise_decay_with(on_input=lambda self, s, i: dict(x=s.y + i)), "on_input.*failed.*fields"),
]


@pytest.mark.parametrize("cls,match", BAD_HOOKS)
def test_bad_hooks_fail_before_compilation(cls, match):
    model = cls(0.5, 4.0)
    with pytest.raises((ValueError, TypeError), match=match):
        model._validate()
    with pytest.raises((ValueError, TypeError), match=match):
        model.init((3,))
    # in a network: when the projection is bound (Network(...)), before any step is traced or compiled
    with pytest.raises((ValueError, TypeError), match=match):
        network(model, "sparse")
