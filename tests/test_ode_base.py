"""snnjax.neurons.ODENeuron: a user model of <= 25 lines, checked against Brian2 (tests/data/brian2_custom.npz,
made by tests/data/make_brian2_custom.py, versions beside it), run in a Network with Runner, under jit and vmap,
with noise and refractoriness; and the errors for models that break the protocol."""

import inspect
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct

import snnjax as sj
from snnjax.neurons import ODENeuron

DATA = np.load(os.path.join(os.path.dirname(__file__), "data", "brian2_custom.npz"))


@struct.dataclass
class AdaptiveQIF(ODENeuron):
    """tau dv/dt = (v - v_rest)(v - v_c) / delta + r (I - w); tau_w dw/dt = a (v - v_rest) - w. mV, ms, nA, MOhm."""

    v_rest: float = -65.0  # mV
    v_c: float = -50.0  # mV, unstable fixed point
    delta: float = 15.0  # mV, curvature scale
    v_th: float = -20.0  # mV, spike cut-off
    v_reset: float = -70.0  # mV
    tau: float = 10.0  # ms
    tau_w: float = 100.0  # ms
    a: float = 0.05  # nA/mV, subthreshold adaptation
    b: float = 0.5  # nA, spike-triggered adaptation
    r: float = 1.0  # MOhm

    STATE = dict(v=("v_rest", "membrane potential, mV."), w=(0.0, "adaptation current, nA."))

    def derivatives(self, s, current):
        dv = ((s.v - self.v_rest) * (s.v - self.v_c) / self.delta + self.r * (current - s.w)) / self.tau
        return dict(v=dv, w=(self.a * (s.v - self.v_rest) - s.w) / self.tau_w)

    def reset(self, s, spike):
        return dict(v=jnp.where(spike > 0, self.v_reset, s.v), w=s.w + spike * self.b)


def test_the_model_is_a_screenful():
    assert len(inspect.getsource(AdaptiveQIF).splitlines()) <= 25


def run(model, current, dt, batch_shape=(), key=None):
    """Scan ``model`` over ``current`` (time on axis 0); returns the stacked states."""
    state = model.init(batch_shape, key=key)

    def body(s, i):
        s = model.update(s, i, dt=dt)
        return s, s

    return jax.jit(lambda s, c: jax.lax.scan(body, s, c))(state, jnp.asarray(current))[1]


def brian2_case():
    par = {k[4:]: float(DATA[k]) for k in DATA.files if k.startswith("par_")}
    dt = float(DATA["dt"])
    n = int(round(float(DATA["T"]) / dt))
    i = np.where(np.arange(n) * dt >= float(DATA["t_on"]) - 1e-9, float(DATA["i_amp"]), 0.0).astype(np.float32)
    return AdaptiveQIF(1, method="rk4", **par), i, dt


def test_matches_brian2_rk4():
    model, current, dt = brian2_case()
    ref_t, ref_v, ref_w, ref_spikes = DATA["t"], DATA["v"], DATA["w"], DATA["spikes"]
    k = np.rint(ref_t / dt).astype(int) - 1  # Brian2's sample at t is our state after step t/dt - 1
    for x64, atol_v, atol_w in ((True, 2e-5, 1e-6), (False, 5e-3, 1e-4)):
        with jax.enable_x64(x64):
            rec = run(model, current[:, None], dt)
            spikes = np.nonzero(np.asarray(rec.spike[:, 0]))[0] * dt  # spike on step k <-> Brian2 time k dt
            v, w = np.asarray(rec.v[k, 0], np.float64), np.asarray(rec.w[k, 0], np.float64)
        assert len(ref_spikes) >= 5 and len(spikes) == len(ref_spikes)
        # same scheme (rk4) at the same dt: the very same steps
        np.testing.assert_allclose(spikes, ref_spikes, atol=1e-6 + 1e-7 * ref_spikes.max())
        # float64: the same numbers up to the float32 storage of the reference (measured max 3.8e-6 mV,
        # 1.2e-7 nA), upswings included. float32: our rounding, amplified while v creeps past the saddle
        # (measured max 1.1e-3 mV, 2.1e-6 nA)
        np.testing.assert_allclose(v, ref_v, rtol=0, atol=atol_v)
        np.testing.assert_allclose(w, ref_w, rtol=0, atol=atol_w)
    # the same run with forward Euler is visibly off: the check tells integrators apart
    rec_e = run(model.replace(method="euler"), current[:, None], dt)
    assert np.max(np.abs(np.asarray(rec_e.v[k, 0]) - ref_v)) > 0.05


def test_in_a_network_with_runner_matches_a_hand_scan():
    pop = AdaptiveQIF(4, b=jnp.array([0.0, 1.0, 3.0, 8.0]))  # heterogeneous adaptation (measured 5, 4, 3, 2 spikes)
    net = sj.Network(pop=pop)
    runner = sj.Runner(net, dt=0.05, inputs=[("pop.input", 12.0)], monitors=["pop.v", "pop.w", "pop.spike"])
    runner.run(150.0)
    rec = run(pop, np.full((3000, 4), 12.0, np.float32), 0.05)
    np.testing.assert_allclose(runner.mon["pop.v"], rec.v, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(runner.mon["pop.w"], rec.w, rtol=1e-5, atol=1e-4)
    counts = np.asarray(runner.mon["pop.spike"]).sum(0)
    assert counts[0] > counts[1] > counts[2] > counts[3] > 0  # more adaptation, fewer spikes


def test_jit_equals_no_jit_and_batch():
    model = AdaptiveQIF((2, 3))
    jax.tree.map(lambda _: 0, model)  # __post_init__ accepts non-float leaves
    state = model.init(batch_shape=(4,))
    assert state.v.shape == state.w.shape == state.spike.shape == (4, 2, 3) and state.voltage is state.v
    current = jnp.linspace(0.0, 20.0, 24).reshape(4, 2, 3)
    eager = jitted = state
    step = jax.jit(lambda s, c: model.update(s, c, dt=0.1))
    for _ in range(300):
        eager = model.update(eager, current, dt=0.1)
        jitted = step(jitted, current)
    assert float(eager.spike.sum() + jitted.w.sum()) > 0
    for a, b in zip(jax.tree.leaves(eager), jax.tree.leaves(jitted)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-3)  # XLA may reorder float32 arithmetic under jit


def test_vmap_over_a_parameter_equals_a_loop():
    deltas = jnp.array([10.0, 15.0, 25.0])
    current = np.full((2000, 2), 12.0, np.float32)

    def trace(delta):
        return run(AdaptiveQIF(2).replace(delta=delta), current, 0.05).v

    batched = jax.vmap(trace)(deltas)
    for i, d in enumerate(deltas):
        np.testing.assert_allclose(batched[i], trace(d), rtol=1e-5, atol=1e-3)
    assert not np.allclose(batched[0], batched[2])  # the parameter matters


@struct.dataclass
class RefractoryLinear(ODENeuron):
    v_rest: float = 0.0
    v_reset: float = -5.0
    v_th: float = 20.0
    tau: float = 10.0
    tau_ref: float = 2.0
    STATE = dict(v="v_rest")
    METHOD = "exact"

    def derivatives(self, s, current):
        return dict(v=(-(s.v - self.v_rest) + current) / self.tau)


def test_refractoriness_and_exact_method_reproduce_lif():
    """The same equations as LIF: the base's refractory period, hold, reset and the exact integrator."""
    current = np.full((1500, 3), 30.0, np.float32)
    ours = run(RefractoryLinear(3, tau_ref=jnp.array([0.0, 1.0, 2.5])), current, 0.1)
    lif = run(sj.neurons.LIF(3, tau_ref=jnp.array([0.0, 1.0, 2.5])), current, 0.1)
    np.testing.assert_array_equal(np.asarray(ours.spike), np.asarray(lif.spike))
    np.testing.assert_allclose(ours.v, lif.v, rtol=0, atol=1e-4)  # float32 rounding of two exact forms
    np.testing.assert_allclose(ours.refrac, lif.refrac, rtol=0, atol=1e-6)
    assert np.asarray(ours.spike).sum(0)[0] > np.asarray(ours.spike).sum(0)[2]


@struct.dataclass
class NoisyLIF(ODENeuron):
    """LIF with white noise, dv = (v_rest - v) / tau dt + sigma sqrt(2 / tau) dW (stationary std sigma)."""

    v_rest: float = -65.0
    v_th: float = 1e9  # never fires: a pure OU process
    v_reset: float = -65.0
    tau: float = 10.0
    sigma: float = 3.0  # mV
    STATE = dict(v="v_rest")

    def derivatives(self, s, current):
        return dict(v=(self.v_rest - s.v + current) / self.tau)

    def noise(self, s, current):
        return dict(v=self.sigma * jnp.sqrt(2.0 / self.tau))


def test_noise_term_euler_maruyama_stationary_std():
    """Stationary std of the OU membrane is sigma (3 mV; Euler-Maruyama's bias sigma^2 dt / (4 tau) relative,
    0.25 % at dt = 0.1). 4000 neurons x 400 steps after 10 tau of burn-in: SE of the std ~ sigma / sqrt(2 N)
    with N ~ 4000 independent samples at the last step, 1.1 %; 5 SE + bias = 6 %."""
    model = NoisyLIF(4000)
    assert model._method() == "euler_maruyama" and model.init(key=jax.random.key(0)).key is not None
    with pytest.raises(ValueError, match="key"):
        model.init()
    rec = run(model, np.zeros((1400, 1), np.float32), 0.1, key=jax.random.key(3))
    v = np.asarray(rec.v[-1])
    assert abs(v.mean() + 65.0) < 5 * 3.0 / np.sqrt(4000)
    assert abs(v.std() - 3.0) < 0.06 * 3.0
    assert not np.array_equal(rec.key[0], rec.key[1])  # the key advances


def test_population_protocol():
    assert isinstance(sj.neurons.LIF(2), sj.neurons.Population)
    assert isinstance(AdaptiveQIF(2), sj.neurons.Population)
    with pytest.raises(TypeError, match=r"mypop.*lacks \['count', 'update'\]"):
        sj.neurons.check_population(type("Half", (), {"shape": (1,), "init": lambda self: None})(), "mypop")


def test_bad_models_name_what_is_missing():
    @struct.dataclass
    class NoDerivatives(ODENeuron):
        v_th: float = 0.0
        v_reset: float = 0.0
        STATE = dict(v=0.0)

    with pytest.raises(TypeError, match="derivatives"):
        NoDerivatives(3)

    @struct.dataclass
    class NoState(ODENeuron):
        v_th: float = 0.0
        v_reset: float = 0.0

        def derivatives(self, s, current):
            return dict(v=-s.v)

    with pytest.raises(TypeError, match="STATE"):
        NoState(3)

    @struct.dataclass
    class NoThreshold(ODENeuron):
        STATE = dict(v=0.0)

        def derivatives(self, s, current):
            return dict(v=-s.v)

    with pytest.raises(TypeError, match="spike_condition.*v_th"):
        NoThreshold(3)

    with pytest.raises(ValueError, match=r"method must be one of \['euler', 'euler_maruyama', 'exact', 'exp_euler'"):
        AdaptiveQIF(3, method="rk45")
    with pytest.raises(ValueError, match="euler_maruyama"):
        AdaptiveQIF(3, method="euler_maruyama")  # no noise term
    with pytest.raises(ValueError, match="euler_maruyama"):
        NoisyLIF(3, method="rk4")


def test_derivatives_with_the_wrong_structure_fail_before_compilation():
    @struct.dataclass
    class Forgetful(AdaptiveQIF):
        def derivatives(self, s, current):
            return dict(v=-s.v)  # no w

    model = Forgetful(3)  # constructing is fine; init / Network check the structure with shapes only
    with pytest.raises(ValueError, match=r"derivatives\(state, current\) must return a dict with the keys of STATE"):
        model.init()
    with pytest.raises(ValueError, match="derivatives"):
        sj.Runner(sj.Network(pop=model), dt=0.1, monitors=["pop.v"])

    @struct.dataclass
    class WrongShape(AdaptiveQIF):
        def derivatives(self, s, current):
            return dict(v=jnp.zeros(7), w=s.w)

    with pytest.raises(ValueError, match=r"\['v'\] has shape \(7,\)"):
        WrongShape(3).init()

    @struct.dataclass
    class Tuple(AdaptiveQIF):
        def derivatives(self, s, current):
            return (s.v, s.w)

    with pytest.raises(ValueError, match="must return a dict"):
        Tuple(3).init()


def test_bad_parameters_name_the_argument():
    with pytest.raises(ValueError, match="tau_w"):
        AdaptiveQIF(3, tau_w=-1.0)  # tau* > 0 without declaring _FIELDS
    with pytest.raises(ValueError, match="delta"):
        AdaptiveQIF(3, delta=float("nan"))
    with pytest.raises(ValueError, match="a must be a scalar or have the population's shape"):
        AdaptiveQIF(3, a=np.ones(4, np.float32))


def test_network_names_what_an_incomplete_population_lacks():
    half = type("Half", (), {"shape": (2,), "init": lambda self, batch_shape=(), key=None: None})()
    with pytest.raises(TypeError, match=r"component 'x'.*\['count', 'update'\]"):
        sj.Network(x=half)
