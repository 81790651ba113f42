"""Training: gradients through sj.simulate (finite differences, jit, vmap, checkpointing), losses, the optax loop,
and the encoders."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree
from jax.test_util import check_grads

import snnjax as sj
from snnjax import encoders, training

# -- gradients through simulate ---------------------------------------------------------------------------


def fd_net(dtype=np.float32):
    """pre fires regularly (driven at 25 nA: r I > threshold 10 mV); post stays below threshold (checked)."""
    pre = sj.neurons.LIF(2, v_rest=0.0, v_reset=0.0, v_th=10.0, tau=10.0, tau_ref=2.0)
    post = sj.neurons.LIF(3, v_rest=0.0, v_reset=-5.0, v_th=20.0, tau=10.0, r=1.0)
    w = np.array([[1.0, 2.0, 0.5], [1.5, -0.5, 2.5]], dtype)
    syn = sj.Projection("pre", "post", conn=sj.conn.All2All(), weight=w, synapse=sj.synapses.Exponential(tau=5.0))
    return sj.Network(pre=pre, post=post, syn=syn)


SMOOTH = {"syn.weight", "syn.synapse.tau", "post.tau", "post.r", "post.v_rest"}  # nothing upstream of pre's spikes


def test_trainable_selects_leaves_by_dotted_path():
    net = fd_net()
    params, rebuild = training.trainable(net, where=lambda path, x: path in SMOOTH)
    names = {jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(params)[0]}
    assert len(names) == len(SMOOTH)
    assert params.populations["pre"].tau is None and params.projections["syn"].topology.pre is None
    assert params.populations["post"].tau == 10.0
    new = rebuild(jax.tree.map(lambda x: x * 2.0, params))
    assert new.populations["post"].tau == 20.0 and new.populations["pre"].tau == 10.0
    np.testing.assert_array_equal(new.projections["syn"].topology.pre, net.projections["syn"].topology.pre)
    # default: every float leaf, as before
    everything, _ = training.trainable(net)
    assert everything.populations["pre"].tau == 10.0 and everything.projections["syn"].topology.pre is None
    with pytest.raises(TypeError, match="where must be a callable"):
        training.trainable(net, where="syn.weight")


def test_subthreshold_gradient_matches_central_finite_differences():
    with jax.enable_x64(True):
        net = fd_net(np.float64)
        params, rebuild = training.trainable(net, where=lambda path, x: path in SMOOTH)
        state = net.init(dt=0.1)

        def run(p):
            _, rec = sj.simulate(
                rebuild(p), state, duration=40.0, dt=0.1, inputs=[("pre.input", 25.0)], monitors=["post.v", "pre.spike"]
            )
            return rec

        rec = run(params)
        assert rec["pre.spike"].sum() >= 8 and float(rec["post.v"].max()) < 20.0 - 1.0  # drive and no post spike
        assert rec["post.v"].dtype == jnp.float64

        def loss(p):
            v = run(p)["post.v"]
            return jnp.mean((v - 3.0) ** 2) + jnp.mean(v[-1])

        loss = jax.jit(loss)
        grads = jax.grad(loss)(params)
        flat, unflatten = ravel_pytree(params)
        g = ravel_pytree(grads)[0]
        assert flat.size == 6 + 4
        for i in range(flat.size):
            eps = 1e-5 * max(1.0, abs(float(flat[i])))
            e = jnp.zeros_like(flat).at[i].set(eps)
            fd = (loss(unflatten(flat + e)) - loss(unflatten(flat - e))) / (2 * eps)
            # float64: central differences err by O(eps^2 f''') ~ 1e-10 relative plus round-off 1e-16 |f| / eps
            # ~ 1e-10; 1e-6 leaves a wide margin while a wrong derivative (a missing chain-rule factor, a
            # detached path) is off by O(1)
            np.testing.assert_allclose(float(g[i]), float(fd), rtol=1e-6, atol=1e-9)
        assert np.all(np.abs(np.asarray(g)) > 1e-6)  # every selected parameter matters, so the check has teeth


def spiking_net():
    """Both populations spike, so gradients go through surrogate derivatives."""
    pre = sj.neurons.LIF(4, v_rest=0.0, v_reset=0.0, v_th=10.0, tau=10.0, spike_fn=sj.surrogate.Arctan())
    post = sj.neurons.LIF(3, v_rest=0.0, v_reset=0.0, v_th=4.0, tau=10.0, spike_fn=sj.surrogate.MultiGaussian())
    w = np.linspace(3.0, 9.0, 12, dtype=np.float32).reshape(4, 3)
    syn = sj.Projection("pre", "post", conn=sj.conn.All2All(), weight=w, synapse=sj.synapses.Exponential(tau=5.0))
    out = sj.neurons.LIF(2, v_rest=0.0, v_th=1e6, tau=10.0)
    ro = sj.Projection("post", "out", conn=sj.conn.All2All(), weight=np.ones((3, 2), np.float32))
    return sj.Network(pre=pre, post=post, syn=syn, out=out, ro=ro)


def spiking_loss(net, state, amp):
    _, rec = sj.simulate(
        net,
        state,
        duration=30.0,
        dt=0.5,
        inputs=[("pre.input", amp * jnp.arange(1.0, 5.0))],
        monitors=["out.v", "post.spike"],
    )
    return jnp.mean(rec["out.v"] ** 2) / 100.0 + jnp.sum(rec["post.spike"]) / 100.0


def test_grad_through_jit_equals_grad_without_jit():
    net = spiking_net()
    params, rebuild = training.trainable(net, where=lambda path, x: path.endswith("weight") or path.endswith("tau"))
    state = net.init(dt=0.5)

    def loss(p):
        return spiking_loss(rebuild(p), state, 5.0)

    g_eager = jax.grad(loss)(params)
    g_jit = jax.jit(jax.grad(loss))(params)
    leaves = jax.tree.leaves(g_eager)
    assert len(leaves) == 6 and all(np.any(np.asarray(x) != 0) for x in leaves)
    # same operations; XLA may fuse and reassociate float32 sums differently inside jit: a few ulp per step
    # accumulated over 60 steps of BPTT stay well within 1e-5 relative (the spike pattern is identical, checked
    # through the loss values)
    assert float(loss(params)) == pytest.approx(float(jax.jit(loss)(params)), rel=1e-6)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7), g_eager, g_jit)


def test_vmap_of_grads_equals_a_loop():
    net = spiking_net()
    params, rebuild = training.trainable(net, where=lambda path, x: path.endswith("weight"))
    state = net.init(dt=0.5)
    amps = jnp.array([3.0, 5.0, 8.0])

    def grad_one(p, amp):
        return jax.grad(lambda q: spiking_loss(rebuild(q), state, amp))(p)

    batched = jax.jit(jax.vmap(grad_one, in_axes=(None, 0)))(params, amps)
    for i, amp in enumerate(amps):
        single = jax.jit(grad_one)(params, amp)
        # a batched program is a different XLA program: float32 rounding only (rtol 1e-5, as for jit)
        jax.tree.map(lambda b, s, i=i: np.testing.assert_allclose(b[i], s, rtol=1e-5, atol=1e-7), batched, single)
    w = np.asarray(batched.projections["syn"].weight)
    assert not np.allclose(w[0], w[2])  # different inputs give different gradients: the comparison can fail


def test_checkpointed_simulation_equals_plain_and_saves_memory():
    net = spiking_net()
    params, rebuild = training.trainable(net, where=lambda path, x: path.endswith("weight"))
    state = net.init(batch_shape=(2,), dt=0.5)
    x = jnp.tile(jnp.linspace(0.0, 40.0, 60)[:, None, None], (1, 2, 4))  # (60 steps, batch 2, 4) ramp
    kw = dict(duration=30.0, dt=0.5, inputs=[("pre.input", x, "iter"), ("post.input", 0.5)], monitors=["out.v"])

    s_remat, r_remat = training.simulate_remat(net, state, checkpoint_every=10, every=2, **kw)
    assert r_remat["out.v"].shape == (30, 2, 2) and r_remat["ts"].shape == (30,)
    s_every, r_every = sj.simulate(net, state, every=2, **kw)
    # the same steps in the same order: identical values (segments only cut the scan)
    np.testing.assert_array_equal(r_remat["out.v"], r_every["out.v"])
    np.testing.assert_array_equal(r_remat["ts"], r_every["ts"])
    jax.tree.map(np.testing.assert_array_equal, s_remat, s_every)
    # gradients and memory over 800 steps: without checkpoints the backward pass keeps every step's state, with
    # segments of 40 steps it keeps 20 boundary states plus one segment's steps
    long_x = jnp.tile(jnp.linspace(0.0, 40.0, 800)[:, None, None], (1, 2, 4))
    long_kw = dict(
        duration=400.0,
        dt=0.5,
        inputs=[("pre.input", long_x, "iter")],
        monitors=[("m", lambda s: s.neurons["out"].v.mean())],
    )

    def long_loss(p, k):
        return jnp.mean(training.simulate_remat(rebuild(p), state, checkpoint_every=k, **long_kw)[1]["m"] ** 2)

    grads, mem = {}, {}
    for k in (None, 40):
        compiled = jax.jit(jax.grad(lambda p, k=k: long_loss(p, k))).lower(params).compile()
        grads[k] = compiled(params)
        analysis = compiled.memory_analysis()
        mem[k] = None if analysis is None else analysis.temp_size_in_bytes
    # the backward pass recomputes the forward segments: same values up to XLA's float32 reassociation
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-8), grads[None], grads[40])
    assert all(np.any(np.asarray(v) != 0) for v in jax.tree.leaves(grads[None]))
    if mem[None] is not None:  # backends without a memory analysis skip only this part
        assert mem[40] < 0.5 * mem[None], mem


def test_checkpointed_simulation_rejects_bad_segments():
    net = spiking_net()
    state = net.init(dt=0.5)
    with pytest.raises(ValueError, match=r"checkpoint_every must be an int >= 1 dividing the number of steps \(60\)"):
        training.simulate_remat(net, state, duration=30.0, dt=0.5, checkpoint_every=7)
    with pytest.raises(ValueError, match="multiple of every"):
        training.simulate_remat(net, state, duration=30.0, dt=0.5, checkpoint_every=5, every=2)
    with pytest.raises(TypeError, match="reducer monitors"):
        training.simulate_remat(
            net, state, duration=30.0, dt=0.5, checkpoint_every=6, monitors=[sj.monitors.SpikeCount("post")]
        )


# -- losses -----------------------------------------------------------------------------------------------


def _log_softmax(z):
    z = np.asarray(z, np.float64)
    return z - z.max(-1, keepdims=True) - np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True))


def test_count_and_membrane_cross_entropy_equal_the_formula():
    rng = np.random.default_rng(0)
    spikes = (rng.random((20, 5, 3)) < 0.3).astype(np.float32)
    labels = np.array([0, 1, 2, 1, 0])
    counts = spikes.sum(0)
    expected = -np.mean(_log_softmax(0.5 * counts)[np.arange(5), labels])
    # float32 log-softmax of O(10) logits: 1e-6 relative
    assert float(training.count_cross_entropy(spikes, labels, scale=0.5)) == pytest.approx(expected, rel=1e-6)
    v = rng.normal(size=(20, 5, 3)).astype(np.float32)
    for reduce, r in (("max", v.max(0)), ("mean", v.mean(0)), ("last", v[-1])):
        expected = -np.mean(_log_softmax(2.0 * (r + 1.0))[np.arange(5), labels])
        got = training.membrane_cross_entropy(v, labels, reduce=reduce, scale=2.0, v_rest=-1.0)
        assert float(got) == pytest.approx(expected, rel=1e-6)
    assert float(training.membrane_mse(v, 1.0)) == pytest.approx(np.mean((v.astype(np.float64) - 1) ** 2), rel=1e-6)
    with pytest.raises(ValueError, match=r"reduce must be one of \('max', 'mean', 'last'\), got 'min'"):
        training.membrane_cross_entropy(v, labels, reduce="min")
    with pytest.raises(TypeError, match="labels must be integer class indices"):
        training.count_cross_entropy(spikes, labels.astype(np.float32))


def test_first_spike_times_are_exact_and_differentiable():
    s = np.zeros((6, 4), np.float32)
    s[2, 0] = s[4, 0] = 1  # first at index 2
    s[0, 2] = 1  # at index 0
    s[5, 3] = 1  # last step
    t = training.first_spike_times(jnp.asarray(s), dt=0.5)
    np.testing.assert_array_equal(np.asarray(t), [1.0, 3.0, 0.0, 2.5])  # neuron 1 is silent: n_steps * dt
    np.testing.assert_array_equal(np.asarray(training.first_spike_times(jnp.asarray(s), 0.5, no_spike=99.0))[1], 99.0)
    # classification by the earliest spike: logits -t / tau
    labels = np.array([2])
    expected = -_log_softmax(-np.asarray(t)[None] / 0.7)[0, 2]
    assert float(training.first_spike_cross_entropy(s[:, None], labels, 0.5, tau=0.7)) == pytest.approx(expected, 1e-6)
    assert float(training.first_spike_mse(s, np.array([1.0, 3.0, 0.0, 3.5]), 0.5)) == pytest.approx(0.25, rel=1e-6)
    # the relaxed (continuous) formula's reverse-mode gradient equals finite differences, in float64
    with jax.enable_x64(True):
        relaxed = jnp.asarray(np.random.default_rng(1).uniform(0.05, 0.95, (6, 4)))
        check_grads(jax.jit(lambda x: training.first_spike_times(x, 0.5)), (relaxed,), order=1, modes=["rev"])
    # and through a spike function, the surrogate reaches the potentials: earlier crossing, earlier time
    fn = sj.surrogate.Gaussian(sigma=1.0)
    v = jnp.array([-3.0, -2.0, 0.5, -1.0, 2.0, 1.0])[:, None]
    g = jax.jit(jax.grad(lambda v: training.first_spike_times(fn(v), 1.0).sum()))(v)
    assert float(g[0, 0]) < 0 and np.all(np.isfinite(np.asarray(g)))  # raising v at step 0 makes the spike earlier


# -- the loop ---------------------------------------------------------------------------------------------


def test_train_step_and_fit_reduce_the_loss_on_a_tiny_problem():
    # two relay inputs with latency-coded intensities; the label is the brighter one; a readout of two leaky
    # integrators is trained through a hidden spiking layer
    relay = dict(v_rest=0.0, v_reset=0.0, v_th=0.5, tau=1e-3)
    net = sj.Network(
        inp=sj.neurons.LIF(2, **relay),
        hid=sj.neurons.LIF(8, v_rest=0.0, v_reset=0.0, v_th=1.0, tau=5.0, spike_fn=sj.surrogate.PiecewiseLinear()),
        out=sj.neurons.LIF(2, v_rest=0.0, v_th=1e6, tau=10.0),
        ih=sj.Projection(
            "inp",
            "hid",
            conn=sj.conn.All2All(),
            weight=np.asarray(jax.random.normal(jax.random.key(0), (2, 8))) * 2.0,
            synapse=sj.synapses.Exponential(tau=3.0),
        ),
        ho=sj.Projection(
            "hid",
            "out",
            conn=sj.conn.All2All(),
            weight=np.zeros((8, 2), np.float32),
            synapse=sj.synapses.Exponential(tau=5.0),
        ),
    )
    rng = np.random.default_rng(0)
    x = rng.uniform(0.1, 1.0, (64, 2)).astype(np.float32)
    y = (x[:, 1] > x[:, 0]).astype(np.int32)
    spikes = encoders.latency(x, 12)  # (12, 64, 2)
    params, rebuild = training.trainable(net, where=lambda path, _: path.endswith(".weight"))

    def loss_fn(p, s, labels):
        state = net.init(batch_shape=(s.shape[1],), dt=1.0)
        _, rec = sj.simulate(
            rebuild(p), state, duration=s.shape[0] * 1.0, dt=1.0, inputs=[("inp.input", s, "iter")], monitors=["out.v"]
        )
        return training.membrane_cross_entropy(rec["out.v"], labels, scale=4.0)

    optimizer = optax.adam(0.1)
    step = training.make_train_step(loss_fn, optimizer)
    loss_jit = jax.jit(loss_fn)
    initial = float(loss_jit(params, spikes, y))
    assert initial == pytest.approx(math.log(2), rel=1e-6)  # zero readout weights: uniform softmax
    seen = []
    params2, _, history = training.fit(
        step,
        params,
        optimizer.init(params),
        (spikes, y),
        epochs=15,
        batch_size=16,
        batch_axis=(1, 0),
        seed=0,
        callback=lambda e, p, h: seen.append(e),
    )
    assert seen == list(range(15)) and len(history["loss"]) == 15 and len(history["batch_loss"]) == 60
    final = float(loss_jit(params2, spikes, y))
    assert final < 0.5 * initial, (initial, final, history["loss"])
    assert params2.populations["hid"].tau is None  # only the selected leaves were trained


def test_fit_and_train_step_reject_bad_arguments():
    step = training.make_train_step(lambda p, x: jnp.sum(p * x), optax.sgd(0.1))
    p = jnp.ones(3)
    opt = optax.sgd(0.1).init(p)
    with pytest.raises(ValueError, match=r"batch_size=10 exceeds the number of samples \(4\)"):
        training.fit(step, p, opt, (np.ones((4, 3)),), epochs=1, batch_size=10)
    with pytest.raises(ValueError, match="disagree on the number of samples"):
        training.fit(step, p, opt, (np.ones((4, 3)), np.ones(5)), epochs=1, batch_size=2)
    with pytest.raises(ValueError, match="epochs must be an int >= 1, got 0"):
        training.fit(step, p, opt, (np.ones((4, 3)),), epochs=0, batch_size=2)
    with pytest.raises(TypeError, match="optimizer must be an optax.GradientTransformation"):
        training.make_train_step(lambda p: 0.0, "adam")
    # and a plain linear problem: sgd moves against the gradient by lr * mean(x) per batch, exactly
    p2, _, h = training.fit(step, p, opt, (np.ones((4, 3), np.float32),), epochs=2, batch_size=2)
    np.testing.assert_allclose(np.asarray(p2), 1.0 - 4 * 0.1 * 2.0, rtol=1e-6)  # 4 steps, grad sum over batch 2
    # batch losses sum(p * x) over a (2, 3) batch of ones: 6 p_i = 6, 4.8 | 3.6, 2.4 -> epoch means 5.4, 3.0
    assert h["batch_loss"] == pytest.approx([6.0, 4.8, 3.6, 2.4], rel=1e-5)
    assert h["loss"] == pytest.approx([5.4, 3.0], rel=1e-5)
    # has_aux: the step returns the aux output too (here without jit)
    step_aux = training.make_train_step(
        lambda p, x: (jnp.sum(p * x), jnp.max(x)), optax.sgd(0.1), has_aux=True, jit=False
    )
    out = step_aux(p, opt, np.full((2, 3), 2.0, np.float32))
    assert len(out) == 4 and float(out[2]) == 12.0 and float(out[3]) == 2.0
    np.testing.assert_allclose(np.asarray(out[0]), 1.0 - 0.1 * 4.0, rtol=1e-6)


# -- encoders ---------------------------------------------------------------------------------------------


def test_rate_encoder_statistics():
    p = jnp.array([[0.0, 0.1, 0.5, 1.0], [0.25, 0.75, 0.02, 0.9]])
    n = 4000
    s = encoders.rate(jax.random.key(0), p, n)
    assert s.shape == (n, 2, 4) and s.dtype == jnp.float32
    assert set(np.unique(np.asarray(s))) <= {0.0, 1.0}
    mean = np.asarray(s.mean(0))
    # binomial: the mean of n Bernoulli(p) has standard deviation sqrt(p (1 - p) / n); 5 sigma never fails by chance
    # (p ~ 6e-7 per entry) but catches a wrong probability (e.g. p^2 or 1 - p) by far
    sd = np.sqrt(np.asarray(p) * (1 - np.asarray(p)) / n)
    assert np.all(np.abs(mean - np.asarray(p)) <= 5 * sd + 1e-12)
    np.testing.assert_array_equal(mean[0, [0, 3]], [0.0, 1.0])  # exact at the ends
    np.testing.assert_array_equal(encoders.rate(jax.random.key(0), p, n), s)  # seeded
    assert not np.array_equal(encoders.rate(jax.random.key(1), p, n), s)
    with pytest.raises(ValueError, match=r"rate: x \(spike probability per step\) must be finite and in \[0, 1\]"):
        encoders.rate(jax.random.key(0), [0.5, 1.5], 10)
    with pytest.raises(ValueError, match="n_steps must be an int >= 1, got 0"):
        encoders.rate(jax.random.key(0), [0.5], 0)


def test_poisson_encoder_bins_a_poisson_process():
    rates = jnp.array([0.0, 20.0, 200.0, 1000.0])  # Hz
    dt, n = 1.0, 20000
    s = encoders.poisson(jax.random.key(2), rates, n, dt)
    p = 1 - np.exp(-np.asarray(rates) * dt / 1000.0)  # at least one event in a 1 ms bin
    sd = np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(np.asarray(s.mean(0)) - p) <= 5 * sd + 1e-12)  # 5 sigma, as above
    # with p = 0.632 at 1000 Hz, the naive rate * dt = 1.0 would be 90 sigma away
    assert abs(float(s[:, 3].mean()) - 1.0) > 50 * sd[3]
    with pytest.raises(ValueError, match=r"poisson: rate_hz must be finite and in \[0, inf\]"):
        encoders.poisson(jax.random.key(0), [-1.0], 10, 1.0)
    with pytest.raises(ValueError, match="poisson: dt must be a finite number of ms > 0"):
        encoders.poisson(jax.random.key(0), [1.0], 10, 0.0)


def test_latency_encoder_spike_times_are_exact():
    x = jnp.array([[1.0, 0.5, 0.0, 0.25], [0.9, 0.1, 0.3, 0.6]])
    s = encoders.latency(x, 5)
    assert s.shape == (5, 2, 4)
    # index round((1 - x) * 4): 0, 2, none, 3 | round(0.4) = 0, round(3.6) = 4, round(2.8) = 3, round(1.6) = 2
    expected = {(0, 0): 0, (0, 1): 2, (0, 3): 3, (1, 0): 0, (1, 1): 4, (1, 2): 3, (1, 3): 2}
    got = {(b, i): int(np.argmax(s[:, b, i])) for b in range(2) for i in range(4) if s[:, b, i].sum() > 0}
    assert got == expected and float(s.sum()) == len(expected)  # one spike each, none for x = 0
    # RC: t = tau ln(x / (x - threshold)) steps, floor; x = 2, threshold 1, tau 3: 3 ln 2 = 2.08 -> step 2
    rc = encoders.latency(jnp.array([2.0, 1.0, 1.01, 4.0]), 10, method="rc", threshold=1.0, tau=3.0)
    # 1.0: at threshold, silent; 1.01: 3 ln 101 = 13.8 >= 10 steps, silent; 4.0: 3 ln(4/3) = 0.86 -> step 0
    np.testing.assert_array_equal(np.argmax(np.asarray(rc), 0)[[0, 3]], [2, 0])
    np.testing.assert_array_equal(np.asarray(rc.sum(0)), [1, 0, 0, 1])
    with pytest.raises(ValueError, match=r"latency: x must be finite and in \[0, 1\]"):
        encoders.latency(jnp.array([1.5]), 5)
    with pytest.raises(ValueError, match="method must be one of"):
        encoders.latency(jnp.array([0.5]), 5, method="log")
    with pytest.raises(ValueError, match="threshold must be > 0"):
        encoders.latency(jnp.array([0.5]), 5, method="rc")


def test_delta_encoder_marks_changes():
    x = jnp.array([0.0, 0.5, 1.6, 1.7, 0.6, 0.6, 2.0])[:, None]
    np.testing.assert_array_equal(np.asarray(encoders.delta(x, 1.0))[:, 0], [0, 0, 1, 0, 0, 0, 1])
    both = np.asarray(encoders.delta(x, 1.0, off=True))
    assert both.shape == (7, 2)
    np.testing.assert_array_equal(both[:, 1], [0, 0, 0, 0, 1, 0, 0])  # 1.7 -> 0.6 falls by 1.1
    np.testing.assert_array_equal(np.asarray(encoders.delta(x, 0.5))[:, 0], [0, 1, 1, 0, 0, 0, 1])  # >= is inclusive
    with pytest.raises(ValueError, match="threshold must be a number > 0"):
        encoders.delta(x, 0.0)
