"""Plasticity on a Projection, inside a Network: against Brian2 2.9 synapse by synapse, and invariants.

Reference: ``tests/data/brian2_stdp.npz`` from ``tests/data/make_brian2_stdp.py`` (Brian2 2.9.0, versions in
``brian2_stdp_versions.json``): fixed pre/post spike trains (SpikeGeneratorGroups), an explicit unsorted list of
16 synapses with per-synapse delays, canonical STDP (pair, nearest, soft bounds, triplet) and one variant with a
scalar delay. Brian2's on_pre runs ``delay`` after the spike (snnjax: the step the spike acts, ``s + lag``) and
before on_post in the same step; its StateMonitor(when='end') gives the weights after each step, as our monitor.
"""

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj

DATA = np.load(pathlib.Path(__file__).parent / "data" / "brian2_stdp.npz")
DT = float(DATA["dt"])
T = int(DATA["n_steps"])
# Brian2 computes in float64 with exact event-driven decay; we decay every step in float32: after 3000 steps and
# ~370 weight changes the difference stays far below the 1e-4 the issue sets.
ATOL = 1e-4


def rule(variant, **kw):
    p = {k: float(DATA[k]) for k in ("w_min", "w_max")}
    if variant == "triplet":
        names = ("a2_plus", "a3_plus", "a2_minus", "a3_minus", "tau_plus", "tau_minus", "tau_x", "tau_y")
        return sj.plasticity.TripletSTDP(**{k: float(DATA[k]) for k in names}, **p, **kw)
    names = ("a_plus", "a_minus", "tau_plus", "tau_minus")
    extra = {"pairing": "nearest"} if variant == "nearest" else {"bounds": "soft"} if variant == "soft" else {}
    return sj.plasticity.STDP(**{k: float(DATA[k]) for k in names}, **p, **extra, **kw)


def network(variant, method="auto", delay=None):
    pre = sj.inputs.SpikeTimeGroup(6, indices=DATA["pre_neurons"], times=DATA["pre_steps"] * DT)
    # the postsynaptic neurons fire exactly at the reference's steps (a pulse each, see POST_DRIVE); the synapses
    # act through COBA(E=0) on a membrane held at 0 mV, so they never change those spikes
    post = sj.neurons.LIF(5, v_rest=0.0, v_reset=0.0, v_th=1.0, tau=10.0, tau_ref=0.0, v_init=0.0)
    if delay is None:
        delay = float(DATA["scalar_delay"]) if variant == "scalar" else DATA["delays"]
    proj = sj.Projection(
        "pre",
        "post",
        conn=(DATA["pre_idx"], DATA["post_idx"]),
        weight=DATA["w0"],
        delay=delay,
        output=sj.outputs.COBA(E=0.0),
        plasticity=rule(variant),
        method=method,
    )
    return sj.Network(pre=pre, post=post, PQ=proj)


POST_DRIVE = np.zeros((T, 5), np.float32)
POST_DRIVE[DATA["post_steps"], DATA["post_neurons"]] = 1e4


def run(net, batch_shape=(), monitors=("PQ.w",)):
    state = net.init(dt=DT, batch_shape=batch_shape)
    drive = np.broadcast_to(POST_DRIVE.reshape(T, *(1,) * len(batch_shape), 5), (T, *batch_shape, 5))
    return sj.simulate(net, state, duration=T * DT, dt=DT, inputs=[("post.input", drive, "iter")],
                       monitors=list(monitors))  # fmt: skip


def test_the_postsynaptic_spikes_are_the_references():
    _, rec = run(network("pair"), monitors=("post.spike", "pre.spike"))
    steps, neurons = np.nonzero(np.asarray(rec["post.spike"]))
    order = np.lexsort((DATA["post_neurons"], DATA["post_steps"]))
    np.testing.assert_array_equal(steps, DATA["post_steps"][order])
    np.testing.assert_array_equal(neurons, DATA["post_neurons"][order])
    assert np.asarray(rec["pre.spike"]).sum() == DATA["pre_steps"].size


@pytest.mark.parametrize("variant", ["pair", "nearest", "soft", "triplet", "scalar"])
def test_stdp_in_a_network_equals_brian2_synapse_by_synapse(variant):
    net = network(variant)
    state, rec = run(net)
    w = np.asarray(rec["PQ.w"])
    assert w.shape == (T, 16)
    want = DATA[f"{variant}_w"]
    assert np.abs(want[-1] - want[0]).max() > 0.05  # the weights really moved
    np.testing.assert_allclose(w, want, atol=ATOL, rtol=0)
    np.testing.assert_allclose(state.synapses["PQ"].w, DATA[f"{variant}_w_final"], atol=ATOL, rtol=0)


@pytest.mark.parametrize("method", ["event", "vector_event"])
def test_event_driven_plasticity_equals_sparse(method):
    sparse_state, sparse_rec = run(network("scalar", "sparse"))
    state, rec = run(network("scalar", method))
    assert state.synapses["PQ"].w.shape == (16,)
    np.testing.assert_allclose(rec["PQ.w"], sparse_rec["PQ.w"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(rec["PQ.w"], DATA["scalar_w"], atol=ATOL, rtol=0)


@pytest.mark.parametrize("order", ["given", "sorted"])
@pytest.mark.parametrize("variant", ["pair", "triplet"])
def test_event_driven_triplet_and_pair_equal_sparse_with_a_burst(variant, order):
    # every presynaptic neuron fires in the same steps: with max_events=2 each arrival step overflows the index;
    # "sorted" lists the synapses by presynaptic neuron, so the event loop reads rows as slices (Topology.row_ptr),
    # "given" keeps a shuffled order (row gathers); every postsynaptic neuron fires at step 60 (potentiation
    # overflows its block)
    n_pre, n_post = 40, 30
    rng = np.random.default_rng(1)
    k = 300
    flat = rng.choice(n_pre * n_post, size=k, replace=False)
    flat = np.sort(flat) if order == "sorted" else flat
    pre_idx, post_idx = flat // n_post, flat % n_post
    steps = np.array([5, 6, 40, 41, 90])
    pre = sj.inputs.SpikeTimeGroup(n_pre, indices=np.repeat(np.arange(n_pre), len(steps)),
                                   times=np.tile(steps, n_pre) * DT)  # fmt: skip
    drive = np.zeros((130, n_post), np.float32)
    drive[rng.integers(1, 120, size=200), rng.integers(0, n_post, 200)] = 1e4
    drive[60] = 1e4
    post = sj.neurons.LIF(n_post, v_rest=0.0, v_reset=0.0, v_th=1.0, tau=10.0, tau_ref=0.0, v_init=0.0)
    kw = dict(w_min=0.0, w_max=0.5)
    r = (sj.plasticity.STDP(a_plus=0.05, a_minus=0.06, **kw) if variant == "pair"
         else sj.plasticity.TripletSTDP(a2_plus=0.05, a3_plus=0.02, a2_minus=0.06, a3_minus=0.01, **kw))  # fmt: skip

    def build(method):
        proj = sj.Projection("a", "b", conn=(pre_idx, post_idx), weight=np.full(k, 0.25), delay=0.3,
                             output=sj.outputs.COBA(E=0.0), plasticity=r, method=method, max_events=2)  # fmt: skip
        return sj.Network(a=pre, b=post, p=proj)

    assert (build("event").projections["p"].topology.row_ptr is not None) == (order == "sorted")
    got = {m: run_w(build(m), drive) for m in ("sparse", "event", "vector_event")}
    assert np.any(got["sparse"][-1] == 0.5) and np.any(got["sparse"][-1] == 0.0)  # both bounds reached
    np.testing.assert_allclose(got["event"], got["sparse"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(got["vector_event"], got["sparse"], atol=1e-6, rtol=0)


def run_w(net, drive):
    _, rec = sj.simulate(net, net.init(dt=DT), duration=len(drive) * DT, dt=DT, inputs=[("b.input", drive, "iter")],
                         monitors=["p.w"])  # fmt: skip
    return np.asarray(rec["p.w"])


def test_plastic_weights_per_batch_element_and_vmap_equal_a_loop():
    delays = [0.5, 1.0, 2.0]
    states = [run(network("scalar", "event", delay=d))[0].synapses["PQ"].w for d in delays]
    # batch_shape: three identical copies evolve identically (weights per batch element)
    st, _ = run(network("scalar", "event"), batch_shape=(3,))
    assert st.synapses["PQ"].w.shape == (3, 16)
    np.testing.assert_allclose(st.synapses["PQ"].w[2], DATA["scalar_w_final"], atol=ATOL)

    # vmap over the delay (a traced delay: max_delay sizes the buffer) equals the loop
    def simulate_one(d):
        net = network("scalar", "sparse", delay=d)
        net.projections["PQ"] = net.projections["PQ"].replace(max_delay=2.0)
        return run(net)[0].synapses["PQ"].w

    got = jax.vmap(simulate_one)(jnp.asarray(delays))
    np.testing.assert_allclose(got, np.stack(states), atol=1e-6)


def test_checkpoint_resume_of_a_plastic_network_is_bit_identical(tmp_path):
    net = network("pair")
    state = net.init(dt=DT)
    drive = [("post.input", POST_DRIVE, "iter")]
    full, _ = sj.simulate(net, state, duration=T * DT, dt=DT, inputs=drive)
    h = T // 2
    half, _ = sj.simulate(net, state, duration=h * DT, dt=DT, inputs=[("post.input", POST_DRIVE[:h], "iter")])
    sj.save_state(tmp_path / "half.npz", half)
    back = sj.load_state(tmp_path / "half.npz", net.init(dt=DT))
    rest, _ = sj.simulate(net, back, duration=(T - h) * DT, dt=DT, inputs=[("post.input", POST_DRIVE[h:], "iter")])
    np.testing.assert_array_equal(rest.synapses["PQ"].w, full.synapses["PQ"].w)
    np.testing.assert_array_equal(rest.synapses["PQ"].apre, full.synapses["PQ"].apre)


def test_runner_monitors_the_weights():
    net = network("scalar", "event")
    runner = sj.Runner(net, dt=DT, monitors=["PQ.w", "PQ.apost"], inputs=[("post.input", POST_DRIVE, "iter")])
    runner.run(T * DT)
    np.testing.assert_allclose(runner.mon["PQ.w"], DATA["scalar_w"], atol=ATOL)
    assert runner.mon["PQ.apost"].shape == (T, 5)
    np.testing.assert_allclose(runner.state.synapses["PQ"].w, DATA["scalar_w_final"], atol=ATOL)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(a_plus=-0.1), "a_plus must be >= 0"),
        (dict(tau_minus=0.0), "tau_minus must be > 0"),
        (dict(w_min=1.0, w_max=0.5), "w_min must be < w_max"),
        (dict(bounds="soft"), "finite w_min and w_max"),
        (dict(pairing="first"), "pairing"),
    ],
)
def test_bad_rules_are_refused_when_built(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sj.plasticity.STDP(**kwargs)


def test_bad_projections_with_plasticity_are_refused_before_compiling():
    r = sj.plasticity.STDP(w_min=0.0, w_max=1.0)
    a, b = sj.neurons.LIF(3), sj.neurons.LIF(3)
    with pytest.raises(ValueError, match="initial weight must lie in"):
        sj.Network(a=a, b=b, p=sj.Projection("a", "b", conn=sj.conn.All2All(), weight=2.0, plasticity=r))
    with pytest.raises(ValueError, match="method='dense' cannot run this projection: plastic weights"):
        sj.Network(a=a, b=b, p=sj.Projection("a", "b", conn=sj.conn.All2All(), weight=0.5, plasticity=r,
                                             method="dense"))  # fmt: skip
    with pytest.raises(TypeError, match="plasticity must be None or a rule"):
        sj.Projection("a", "b", conn=sj.conn.All2All(), plasticity=sj.plasticity.HardBounds(0.0, 1.0))


def _mstdpet_numpy(arrive, post, w0, pre_idx, post_idx, reward, p, dt):
    """Independent float64 reference of the MSTDPET equations (arrivals (T, n_pre), post spikes (T, n_post))."""
    w, z = w0.astype(np.float64).copy(), np.zeros_like(w0, np.float64)
    apre, apost = np.zeros(arrive.shape[1]), np.zeros(post.shape[1])
    out = []
    for t in range(arrive.shape[0]):
        apre *= np.exp(-dt / p["tau_plus"])
        apost *= np.exp(-dt / p["tau_minus"])
        ltd = arrive[t, pre_idx] * apost[post_idx]
        apre += arrive[t]
        ltp = post[t, post_idx] * apre[pre_idx]
        apost += post[t]
        z = z * np.exp(-dt / p["tau_z"]) + (p["a_plus"] * ltp - p["a_minus"] * ltd) / p["tau_z"]
        w = np.clip(w + p["lr"] * dt * reward[t] * z, p["w_min"], p["w_max"])
        out.append(w.copy())
    return np.asarray(out)


def test_mstdpet_on_a_projection_with_a_reward_input_equals_the_equations():
    p = dict(lr=2.0, a_plus=0.05, a_minus=0.06, tau_plus=20.0, tau_minus=20.0, tau_z=25.0, w_min=0.0, w_max=1.0)
    rule = sj.plasticity.MSTDPET(**p)
    net = network("scalar", "event")
    net.projections["PQ"] = net.projections["PQ"].replace(plasticity=rule)
    assert "PQ.reward" in net.input_paths()
    reward = np.where(np.arange(T) % 700 < 350, 1.0, -0.5).astype(np.float32)
    state = net.init(dt=DT)
    _, rec = sj.simulate(net, state, duration=T * DT, dt=DT, monitors=["PQ.w", "pre.spike", "post.spike"],
                         inputs=[("post.input", POST_DRIVE, "iter"), ("PQ.reward", reward, "iter")])  # fmt: skip
    lag = sj.delays.lag_of(float(DATA["scalar_delay"]), DT)
    pre = np.asarray(rec["pre.spike"], np.float64)
    arrive = np.zeros_like(pre)
    arrive[lag:] = pre[:-lag]
    want = _mstdpet_numpy(arrive, np.asarray(rec["post.spike"], np.float64), DATA["w0"], DATA["pre_idx"],
                          DATA["post_idx"], reward, p, DT)  # fmt: skip
    assert np.abs(want[-1] - want[0]).max() > 0.01  # the reward moved the weights
    np.testing.assert_allclose(rec["PQ.w"], want, atol=1e-4)  # float32 vs float64 over 3000 steps
