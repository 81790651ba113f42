"""Synapse zoo (issue 3): DualExponential, AMPA, GABAa, NMDA, MgBlock and Tsodyks--Markram STP.

References: closed forms (DualExponential, STP) and Brian2 2.9.0 traces in tests/data/brian2_synapses.npz
(made by tests/data/make_brian2_synapses.py, same exponential-Euler integrator as ours, float64) for the
saturating AMPA/GABAa/NMDA kinetics and the MgBlock current.
"""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj

REF = np.load(os.path.join(os.path.dirname(__file__), "data", "brian2_synapses.npz"))
DT = 0.1
# float32 state against Brian2's float64: over 1000 steps of a contracting map on values <= 1 the
# rounding stays ~1e-7 (measured <= 6e-7); 1e-5 is two orders above that and far below any modelling
# difference (one step of timing error moves g by > 1e-2 in these traces).
ATOL_BRIAN = 1e-5


def drive(model, inp):
    """Run kinetics ``model`` on input ``inp (n_steps, n)``; returns the stacked states."""
    state = model.init((inp.shape[1],))
    return jax.lax.scan(lambda s, x: (lambda s2: (s2, s2))(model.update(s, x, dt=DT)), state, jnp.asarray(inp))[1]


def spike_input(steps, n_steps, n=1, values=1.0):
    inp = np.zeros((n_steps, n), np.float32)
    inp[np.asarray(steps)] = values
    return inp


# -- DualExponential -------------------------------------------------------------------------------------


def dual_exp_closed_form(t, spikes, weights, tau_r, tau_d, a):
    """Superposition of ``w a tau_r tau_d/(tau_d - tau_r) (e^{-s/tau_d} - e^{-s/tau_r})``, ``s = t - t_k >= 0``."""
    g = np.zeros_like(t)
    for tk, w in zip(spikes, weights):
        s = np.clip(t - tk, 0.0, None)
        g += np.where(t >= tk, w * a * tau_r * tau_d / (tau_d - tau_r) * (np.exp(-s / tau_d) - np.exp(-s / tau_r)), 0)
    return g


def test_dual_exponential_matches_closed_form():
    tau_r, tau_d, n = 1.5, 8.0, 600
    steps, weights = [10, 14, 200], [1.0, 2.5, 0.7]
    inp = np.zeros((n, 1), np.float32)
    inp[steps, 0] = weights
    g = np.asarray(drive(sj.synapses.DualExponential(tau_rise=tau_r, tau_decay=tau_d), inp).g[:, 0])
    a = (1 / tau_r) * (tau_r / tau_d) ** (tau_r / (tau_r - tau_d))  # BrainPy's peak normaliser
    # a spike entering h at step k shows in g from step k + 1, as g(t - t_k) sampled at t = step * dt
    expected = dual_exp_closed_form(np.arange(n) * DT, np.asarray(steps) * DT, weights, tau_r, tau_d, a)
    # the update is the exact solution, so only float32 rounding remains (~1e-7 relative per step)
    np.testing.assert_allclose(g, expected, rtol=1e-5, atol=1e-6)


def test_dual_exponential_normalisation():
    # peak-normalised: one spike of weight w peaks at w (sampled on the dt grid, so within the curvature
    # of the peak over half a step: g'' dt^2 / 8 < 1e-3 here)
    for tau_r, tau_d in [(1.0, 5.0), (0.5, 20.0), (4.0, 4.0)]:
        g = drive(sj.synapses.DualExponential(tau_rise=tau_r, tau_decay=tau_d), spike_input([0], 2000, values=3.0)).g
        assert abs(float(g.max()) - 3.0) < 3e-3, (tau_r, tau_d)
    # equal time constants: the normalised alpha function w (t/tau) e^{1 - t/tau}
    tau = 4.0
    g = np.asarray(drive(sj.synapses.DualExponential(tau_rise=tau, tau_decay=tau), spike_input([0], 500)).g[:, 0])
    t = np.arange(500) * DT
    np.testing.assert_allclose(g, (t / tau) * np.exp(1 - t / tau), rtol=1e-5, atol=1e-6)
    # explicit A: g = w A (e^{-t/tau_d} - e^{-t/tau_r})
    g = np.asarray(drive(sj.synapses.DualExponential(1.0, 6.0, A=2.0), spike_input([0], 500)).g[:, 0])
    np.testing.assert_allclose(g, 2.0 * (np.exp(-t / 6.0) - np.exp(-t / 1.0)), rtol=1e-5, atol=1e-6)


# -- AMPA / GABAa / NMDA / MgBlock against Brian2 ---------------------------------------------------------

SPIKE_STEPS = np.round(REF["spike_times"] / DT).astype(int)
N_REF = REF["ampa_g"].shape[0]


@pytest.mark.parametrize("name,cls", [("ampa", sj.synapses.AMPA), ("gabaa", sj.synapses.GABAa)])
def test_markov_kinetics_match_brian2(name, cls):
    p = {k: float(REF[f"{name}_{k}"]) for k in ("alpha", "beta", "T", "T_dur")}
    model = cls(alpha=p["alpha"], beta=p["beta"], T=p["T"], T_duration=p["T_dur"])
    if name == "gabaa":  # the class defaults are BrainPy's, which the reference also uses
        assert model == cls()
    # Brian2 runs on_pre after the step's integration, so its transmitter pulse starts one step after the
    # spike; ours (BrainPy's) starts in the arrival step: a spike reaching our synapse one step later
    # (one step of synaptic delay) gives the same trace. The spikes at 5.0 and 5.3 ms test a restarted pulse.
    g = np.asarray(drive(model, spike_input(SPIKE_STEPS + 1, N_REF)).g[:, 0])
    np.testing.assert_allclose(g, REF[f"{name}_g"], atol=ATOL_BRIAN, rtol=0)
    assert g.max() > 0.3  # the comparison covers a real response


def nmda_model():
    return sj.synapses.NMDA(
        tau_decay=float(REF["nmda_tau_decay"]), tau_rise=float(REF["nmda_tau_rise"]), a=float(REF["nmda_a"])
    )


def test_nmda_matches_brian2():
    state = drive(nmda_model(), spike_input(SPIKE_STEPS, N_REF))  # on_pre after the update, as ours: no shift
    np.testing.assert_allclose(state.h[:, 0], REF["nmda_h"], atol=ATOL_BRIAN, rtol=0)
    np.testing.assert_allclose(state.g[:, 0], REF["nmda_g"], atol=ATOL_BRIAN, rtol=0)
    assert REF["nmda_g"].max() > 0.9  # saturating regime: a linear model would exceed 1


def test_mgblock_current_matches_brian2():
    out = sj.outputs.MgBlock(
        E=float(REF["nmda_E"]),
        cc_Mg=float(REF["nmda_cc_Mg"]),
        alpha=float(REF["nmda_alpha_mg"]),
        beta=float(REF["nmda_beta_mg"]),
    )
    assert out == sj.outputs.MgBlock()  # BrainPy's defaults
    g = float(REF["nmda_w"]) * jnp.asarray(REF["nmda_g"])
    post = sj.neurons.LIF(N_REF).init().replace(v=jnp.asarray(REF["nmda_v"]))  # the clamped ramp -80 -> 20 mV
    current = np.asarray(out.contribution(g, post))
    # an algebraic map of float32 inputs: |I| <= 23, so float32 rounding gives ~1e-6
    np.testing.assert_allclose(current, REF["nmda_I"], atol=2e-5, rtol=1e-5)
    # the block: almost closed at -80 mV, almost open at +60 mV, monotone in between
    b = np.asarray(out.unblocked(jnp.linspace(-80.0, 60.0, 15)))
    assert b[0] < 0.05 and b[-1] > 0.95 and np.all(np.diff(b) > 0)


# -- STP ---------------------------------------------------------------------------------------------------


def stp_closed_form(steps, n_steps, U, tau_f, tau_d, variant):
    """Event-driven solution (float64): exact decay over each inter-spike interval, BrainPy's jumps."""
    u, x = np.full(n_steps, np.nan), np.full(n_steps, np.nan)
    eff = np.zeros(n_steps)
    uk, xk, last = (U if variant == "brainpy" else 0.0), 1.0, -1  # the initial state is "after step -1"
    steps = list(steps) + [n_steps - 1]
    for i, k in enumerate(steps):
        span = np.arange(last + 1, k + 1)
        u[span] = uk * np.exp(-(span - last) * DT / tau_f)
        x[span] = 1 - (1 - xk) * np.exp(-(span - last) * DT / tau_d)
        if i == len(steps) - 1:
            break
        u_minus, x_minus = u[k], x[k]
        uk = u_minus + U * (1 - u_minus)
        xk = x_minus * (1 - uk)
        eff[k] = uk * (xk if variant == "brainpy" else x_minus)
        u[k], x[k], last = uk, xk, k
    return u, x, eff


STP_ATOL = 5e-5  # float32 rounding of a per-step decay factor compounded over <= 700 steps, see below
STP_STEPS = [5, 25, 45, 65, 85, 105, 600, 610]  # a 50 Hz train, then recovery, then a pair


@pytest.mark.parametrize("variant", ["brainpy", "tsodyks_markram"])
def test_stp_matches_closed_form(variant):
    stp = sj.synapses.STP(U=0.2, tau_f=300.0, tau_d=150.0, variant=variant)
    n = 700
    state = stp.init((1,))

    def step(s, x):
        s, e = stp.update(s, x, dt=DT)
        return s, (s.u, s.x, e)

    _, (u, x, eff) = jax.lax.scan(step, state, jnp.asarray(spike_input(STP_STEPS, n)))
    ru, rx, reff = stp_closed_form(STP_STEPS, n, 0.2, 300.0, 150.0, variant)
    # per-step exact decays compose to the interval's exact decay, up to the float32 rounding of the
    # per-step factor e^{-dt/tau} (<= 6e-8 relative) compounded over up to 700 steps: <= 4.2e-5 on values <= 1
    np.testing.assert_allclose(u[:, 0], ru, atol=STP_ATOL)
    np.testing.assert_allclose(x[:, 0], rx, atol=STP_ATOL)
    np.testing.assert_allclose(eff[:, 0], reff, atol=STP_ATOL)
    # first spike (step 5, after 6 steps of decay from the initial state), by hand
    u1 = 0.2 * np.exp(-6 * DT / 300.0) * 0.8 + 0.2 if variant == "brainpy" else 0.2
    first = u1 * (1 - u1) if variant == "brainpy" else 0.2
    assert abs(float(eff[5, 0]) - first) < 1e-6  # float32 rounding of a few operations on O(1) values
    assert float(eff[105, 0]) < float(eff[25, 0])  # depression dominates at 50 Hz with these constants


def pulse_train_net(synapse, output, stp=None, method="auto", delay=0.0, n_pre=3, weight=None):
    """``n_pre`` pre neurons that fire exactly at the steps forced by huge input pulses -> 1 post LIF."""
    pre = sj.neurons.LIF(n_pre, v_rest=0.0, v_reset=0.0, v_th=1.0, tau=10.0, tau_ref=0.0)
    post = sj.neurons.LIF(1, v_rest=-65.0, v_reset=-65.0, v_th=1e3, tau=10.0, tau_ref=0.0)
    weight = np.linspace(0.5, 1.5, n_pre).astype(np.float32) if weight is None else weight
    proj = sj.Projection(
        "pre",
        "post",
        conn=sj.conn.All2All(),
        weight=weight,
        delay=delay,
        synapse=synapse,
        output=output,
        stp=stp,
        method=method,
    )
    return sj.Network(pre=pre, post=post, syn=proj), weight


def pre_pulses(n_steps, n_pre):
    drive_ = np.zeros((n_steps, n_pre), np.float32)
    for j in range(n_pre):
        drive_[5 + 3 * j :: 40 + 7 * j, j] = 1e4  # different trains per neuron
    return drive_


@pytest.mark.parametrize("method,delay", [("dense", 0.0), ("sparse", 0.0), ("event", 0.0), ("auto", "per-synapse")])
def test_stp_in_network_scales_each_spike_by_its_efficacy(method, delay):
    n_steps, n_pre = 400, 3
    stp = sj.synapses.STP(U=0.3, tau_f=200.0, tau_d=80.0)
    lags = np.array([1, 4, 2])  # per-synapse delays (steps) for the three pre -> post synapses
    d = lags * DT if delay == "per-synapse" else delay
    net, w = pulse_train_net(sj.synapses.Delta(), sj.outputs.CUBA(), stp=stp, method=method, delay=d)
    runner = sj.Runner(
        net,
        dt=DT,
        inputs=[("pre.input", pre_pulses(n_steps, n_pre))],
        monitors=["pre.spike", "syn.g", "syn.u", "syn.x"],
    )
    mon = runner.run(n_steps * DT)
    spikes = mon["pre.spike"]
    assert spikes.sum() > 20
    g = np.zeros(n_steps)
    for j in range(n_pre):
        emitted = np.nonzero(spikes[:, j])[0]
        np.testing.assert_array_equal(emitted, np.arange(5 + 3 * j, n_steps, 40 + 7 * j))  # the forced train
        lag = lags[j] if delay == "per-synapse" else 1
        arrive = emitted + lag
        arrive = arrive[arrive < n_steps]
        u, x, eff = stp_closed_form(arrive, n_steps, 0.3, 200.0, 80.0, "brainpy")
        g += w[j] * eff
        # u and x are per presynaptic neuron (per synapse with per-synapse delays): monitors 'syn.u', 'syn.x'
        np.testing.assert_allclose(mon["syn.u"][:, j], u, atol=STP_ATOL)
        np.testing.assert_allclose(mon["syn.x"][:, j], x, atol=STP_ATOL)
    # Delta kinetics: g is this step's summed w * efficacy (w <= 1.5, efficacies within STP_ATOL)
    np.testing.assert_allclose(mon["syn.g"][:, 0], g, atol=1.5 * STP_ATOL)


def manual_run(net, drive_, n_steps, stp=None, lags=(1, 1, 1)):
    """The network's step written out from the public models (no Projection / Network code); synapse ``j``
    is the one from pre neuron ``j`` (All2All onto one post neuron) and reads its spikes ``lags[j]`` steps late."""
    proj, pre, post = net.projections["syn"], net.populations["pre"], net.populations["post"]
    w = np.asarray(proj.weight)
    ps, qs, ks = pre.init(), post.init(), proj.synapse.init((pre.count,))
    ss = stp.init((pre.count,)) if stp is not None else None
    history = [jnp.zeros(pre.count)] * max(lags)  # history[-l]: the spikes emitted l steps ago
    vs = []
    for i in range(n_steps):
        arriving = jnp.stack([history[-lag][j] for j, lag in enumerate(lags)])
        if ss is not None:
            ss, _ = stp.update(ss, arriving, dt=DT)
        ks = proj.synapse.update(ks, arriving, dt=DT)
        gj = ks.g if ss is None else ks.g * ss.u * ss.x
        current = proj.output.contribution(jnp.asarray(gj @ w)[None], qs)
        ps = pre.update(ps, drive_[i], dt=DT)
        qs = post.update(qs, current, dt=DT)
        history = [*history[1:], ps.spike]
        vs.append(float(qs.v[0]))
    return np.array(vs)


@pytest.mark.parametrize(
    "synapse,output,stp,lags",
    [
        (sj.synapses.NMDA(), sj.outputs.MgBlock(E=0.0), None, None),
        (sj.synapses.AMPA(), sj.outputs.COBA(E=0.0), sj.synapses.STP(U=0.3, tau_f=200.0, tau_d=80.0), None),
        (sj.synapses.GABAa(), sj.outputs.COBA(E=-80.0), None, None),
        (sj.synapses.NMDA(), sj.outputs.MgBlock(E=0.0), sj.synapses.STP(U=0.3), (3, 1, 7)),
    ],
    ids=["NMDA+MgBlock", "AMPA+STP", "GABAa", "NMDA+STP per-synapse delays"],
)
def test_pre_aligned_projection_sums_presynaptic_conductances(synapse, output, stp, lags):
    # pre-aligned kinetics: one g per presynaptic neuron (per synapse with per-synapse delays), and post
    # receives sum_j w_j g_j every step
    n_steps, n_pre = 200, 3
    delay = 0.0 if lags is None else np.asarray(lags) * DT
    net, _ = pulse_train_net(synapse, output, stp=stp, delay=delay)
    # 'auto' never picks the event kernel for these
    assert net.projections["syn"].method == ("dense" if lags is None else "sparse")
    drive_ = pre_pulses(n_steps, n_pre)
    state, rec = sj.simulate(
        net, net.init(), duration=n_steps * DT, dt=DT, inputs=[("pre.input", drive_)], monitors=["post.v", "syn.g"]
    )
    assert rec["syn.g"].shape == (n_steps, n_pre)
    ref = manual_run(net, jnp.asarray(drive_), n_steps, stp, lags or (1, 1, 1))
    assert np.ptp(ref) > 0.5  # the synapse moves the membrane
    # same float32 operations in a different order: rounding only (|v| ~ 65 mV -> ~1e-5)
    np.testing.assert_allclose(np.asarray(rec["post.v"])[:, 0], ref, atol=1e-4)
    # a batch of two identical copies gives the same trace twice
    _, rec2 = sj.simulate(
        net,
        net.init(batch_shape=(2,)),
        duration=n_steps * DT,
        dt=DT,
        inputs=[("pre.input", drive_[:, None])],
        monitors=["post.v"],
    )
    np.testing.assert_allclose(np.asarray(rec2["post.v"])[:, 0], np.asarray(rec["post.v"]), atol=1e-5)
    np.testing.assert_array_equal(np.asarray(rec2["post.v"])[:, 0], np.asarray(rec2["post.v"])[:, 1])


def test_stp_state_checkpoints_and_monitor_paths(tmp_path):
    net, _ = pulse_train_net(sj.synapses.Exponential(tau=5.0), sj.outputs.CUBA(), stp=sj.synapses.STP())
    assert {"syn.g", "syn.u", "syn.x"} <= set(net.monitor_paths())
    state, _ = sj.simulate(net, net.init(), duration=10.0, dt=DT, inputs=[("pre.input", pre_pulses(100, 3))])
    path = sj.save_state(tmp_path / "s.npz", state)
    back = sj.load_state(path, net.init())
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(back)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert float(back.synapses["syn"].u.min()) != pytest.approx(0.15)  # really advanced, not the initial state


# -- bad input -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make,arg",
    [
        (lambda: sj.synapses.DualExponential(tau_rise=-1.0), "tau_rise"),
        (lambda: sj.synapses.DualExponential(tau_decay=0.0), "tau_decay"),
        (lambda: sj.synapses.AMPA(beta=-0.1), "beta"),
        (lambda: sj.synapses.GABAa(T_duration=0.0), "T_duration"),
        (lambda: sj.synapses.AMPA(T=float("nan")), "T"),
        (lambda: sj.synapses.NMDA(tau_rise=0.0), "tau_rise"),
        (lambda: sj.synapses.NMDA(a=-0.5), "a"),
        (lambda: sj.synapses.STP(U=1.5), "U"),
        (lambda: sj.synapses.STP(U=0.0), "U"),
        (lambda: sj.synapses.STP(tau_f=-1.0), "tau_f"),
        (lambda: sj.synapses.STP(tau_d=0.0), "tau_d"),
        (lambda: sj.synapses.STP(variant="both"), "variant"),
        (lambda: sj.outputs.MgBlock(beta=0.0), "beta"),
        (lambda: sj.outputs.MgBlock(cc_Mg=-1.0), "cc_Mg"),
        (lambda: pulse_train_net(sj.synapses.AMPA(), sj.outputs.COBA(), method="event"), "event"),
        (
            lambda: pulse_train_net(sj.synapses.Delta(), sj.outputs.CUBA(), stp=sj.synapses.STP(U=np.full(4, 0.1))),
            "stp.U",
        ),
    ],
)
def test_bad_input_names_the_argument(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


def test_stp_must_be_an_stp():
    with pytest.raises(TypeError, match="stp"):
        sj.Projection("a", "b", conn=sj.conn.All2All(), stp=0.5)


MODELS = [
    sj.synapses.DualExponential(1.0, 5.0),
    sj.synapses.DualExponential(1.0, 5.0, A=2.0),
    sj.synapses.AMPA(),
    sj.synapses.GABAa(),
    sj.synapses.NMDA(),
    sj.synapses.STP(U=0.5),
    sj.outputs.MgBlock(),
    sj.Projection("a", "b", conn=sj.conn.All2All(), synapse=sj.synapses.NMDA(), stp=sj.synapses.STP()),
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_tree_map_to_ints_and_back(model):
    zeros = jax.tree.map(lambda _: 0, model)  # vmap axis trees: int leaves must pass __post_init__
    assert jax.tree.structure(zeros) == jax.tree.structure(model)
    jax.jit(lambda m: jax.tree.map(lambda x: x, m))(model)
