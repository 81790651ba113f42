"""Network / simulate / Runner: the public surface, transformations and bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj


def seed_net(weight=5.0, tau=10.0):
    lif = dict(v_rest=0.0, v_reset=-5.0, v_th=20.0, tau=tau, tau_ref=2.0)
    return sj.Network(
        pre=sj.neurons.LIF(1, **lif),
        post=sj.neurons.LIF(1, **lif),
        syn=sj.Projection(
            "pre",
            "post",
            conn=sj.conn.All2All(),
            weight=weight,
            synapse=sj.synapses.Alpha(tau_decay=10.0),
            output=sj.outputs.CUBA(),
        ),
    )


INPUTS = [("pre.input", 25.0), ("post.input", 10.0)]


def random_net(method="auto", n=200):
    return sj.Network(
        E=sj.neurons.LIF(
            n, v_rest=-60.0, v_th=-50.0, v_reset=-60.0, tau=20.0, tau_ref=5.0, v_init=sj.init.Normal(-55.0, 2.0)
        ),
        EE=sj.Projection(
            "E",
            "E",
            conn=sj.conn.FixedProb(0.05, seed=1),
            weight=0.6,
            delay=0.5,
            method=method,
            synapse=sj.synapses.Exponential(tau=5.0),
            output=sj.outputs.COBA(E=0.0),
        ),
    )


def test_seed_example_surface():
    runner = sj.Runner(seed_net(), dt=0.1, inputs=INPUTS, monitors=["pre.v", "post.v", "pre.spike"])
    mon = runner.run(150.0)
    assert isinstance(mon.ts, np.ndarray) and isinstance(mon["pre.v"], np.ndarray)
    np.testing.assert_allclose(mon.ts, np.arange(1500) * 0.1)
    assert mon["pre.v"].shape == (1500, 1) and runner.mon is mon
    assert list(mon) == ["pre.v", "post.v", "pre.spike"] and mon["pre.spike"].dtype == bool
    assert mon["pre.spike"].sum() == 7  # every 200 steps from step 160
    # continuing: the next run starts where the last stopped
    mon2 = runner.run(10.0)
    np.testing.assert_allclose(mon2.ts, 150.0 + np.arange(100) * 0.1)


def test_resumed_run_equals_one_run():
    net = random_net()
    state = net.init(key=jax.random.key(0))
    kw = dict(dt=0.1, inputs=[("E.input", 12.0)], monitors=["E.v", "EE.g"])
    s_full, r_full = sj.simulate(net, state, duration=60.0, **kw)
    s_a, r_a = sj.simulate(net, state, duration=30.0, **kw)
    s_b, r_b = sj.simulate(net, s_a, duration=30.0, **kw)
    for key in ("E.v", "EE.g", "ts"):
        np.testing.assert_array_equal(np.concatenate([r_a[key], r_b[key]]), r_full[key])
    jax.tree.map(np.testing.assert_array_equal, s_b, s_full)


def test_jit_equals_no_jit():
    net = random_net()
    state = net.init(key=jax.random.key(1))

    def f(net, state):
        return sj.simulate(net, state, duration=20.0, dt=0.1, inputs=[("E.input", 12.0)], monitors=["E.v", "E.spike"])

    _, jitted = jax.jit(f)(net, state)
    with jax.disable_jit():
        _, eager = f(net, state)
    np.testing.assert_array_equal(jitted["E.spike"], eager["E.spike"])
    # XLA may fuse differently with and without jit: float32 rounding only
    np.testing.assert_allclose(jitted["E.v"], eager["E.v"], atol=1e-4)


def test_vmap_over_a_model_parameter_equals_a_loop():
    taus = jnp.array([8.0, 10.0, 15.0, 20.0])

    def run(tau):
        net = seed_net(tau=tau)  # built inside the mapped function: parameters are tracers
        state = net.init()
        _, rec = sj.simulate(net, state, duration=60.0, dt=0.1, inputs=INPUTS, monitors=["post.v", "pre.spike"])
        return rec

    batched = jax.jit(jax.vmap(run))(taus)
    for i, tau in enumerate(taus):
        single = run(float(tau))
        np.testing.assert_array_equal(batched["pre.spike"][i], single["pre.spike"])
        np.testing.assert_allclose(batched["post.v"][i], single["post.v"], rtol=1e-6, atol=1e-5)
    counts = batched["pre.spike"].sum(axis=(1, 2))
    assert counts[0] > counts[-1]  # slower membranes fire less for the same drive


def test_batch_shape_equals_separate_runs():
    net = random_net()
    runner = sj.Runner(
        net,
        inputs=[("E.input", jnp.array([[11.5], [12.5]]))],
        monitors=["E.v"],
        batch_shape=(2,),
        key=jax.random.key(3),
    )
    v = runner.run(20.0)["E.v"]
    assert v.shape == (200, 2, 200)
    state = net.init(key=jax.random.key(3), batch_shape=(2,))
    # copy 1 of the batch: neuron and synapse arrays have the batch first, delay buffers after the ring axis
    one = state.replace(
        neurons=jax.tree.map(lambda x: x[1], state.neurons),
        synapses=jax.tree.map(lambda x: x[1], state.synapses),
        delays=jax.tree.map(lambda x: x[:, 1] if x.ndim >= 2 else x, state.delays),
    )
    _, rec = sj.simulate(net, one, duration=20.0, dt=0.1, inputs=[("E.input", 12.5)], monitors=["E.v"])
    np.testing.assert_allclose(v[:, 1], rec["E.v"], atol=1e-4)


def test_grad_through_the_whole_run_is_finite_and_nonzero():
    net = seed_net()
    params, rebuild = sj.trainable(net)
    state = net.init()

    def loss(p):
        _, rec = sj.simulate(rebuild(p), state, duration=100.0, dt=0.1, inputs=INPUTS, monitors=["post.v"])
        return jnp.mean(rec["post.v"])

    g = jax.jit(jax.grad(loss))(params)
    leaves = jax.tree.leaves(g)
    assert leaves and all(np.all(np.isfinite(x)) for x in leaves)
    gw = float(g.projections["syn"].weight)
    # the PSP is linear in the weight while post stays subthreshold: compare with a finite difference
    eps = 0.5
    fd = (
        loss(rebuild(sj.trainable(seed_net(weight=5.0 + eps))[0]))
        - loss(rebuild(sj.trainable(seed_net(weight=5.0 - eps))[0]))
    ) / (2 * eps)
    assert gw > 0 and abs(gw - float(fd)) < 1e-3 * abs(float(fd)) + 1e-5


def test_input_kinds_agree():
    net = seed_net()
    state = net.init()
    kw = dict(duration=30.0, dt=0.1, monitors=["pre.v"])
    _, const = sj.simulate(net, state, inputs=[("pre.input", 25.0)], **kw)
    _, arr = sj.simulate(net, state, inputs=[("pre.input", np.full((300, 1), 25.0, np.float32))], **kw)
    _, fn = sj.simulate(net, state, inputs=[("pre.input", lambda t: 25.0 * (t >= 0))], **kw)
    np.testing.assert_array_equal(arr["pre.v"], const["pre.v"])
    np.testing.assert_array_equal(fn["pre.v"], const["pre.v"])
    # a callable sees t in ms: a step at t = 10 ms starts acting at record index 100
    _, step = sj.simulate(net, state, inputs=[("pre.input", lambda t: jnp.where(t >= 10.0, 25.0, 0.0))], **kw)
    assert float(step["pre.v"][99, 0]) == 0.0 and float(step["pre.v"][100, 0]) > 0


def test_every_k_records_the_subsampled_trace():
    net = random_net()
    state = net.init(key=jax.random.key(0))
    kw = dict(duration=30.0, dt=0.1, inputs=[("E.input", 12.0)])
    _, full = sj.simulate(net, state, monitors=["E.v"], **kw)
    _, sub = sj.simulate(net, state, monitors=["E.v"], every=10, **kw)
    np.testing.assert_array_equal(sub["E.v"], full["E.v"][::10])
    np.testing.assert_allclose(sub["ts"], full["ts"][::10], atol=1e-5)


def test_callable_monitor():
    net = random_net()
    state = net.init(key=jax.random.key(0))
    _, rec = sj.simulate(
        net,
        state,
        duration=20.0,
        dt=0.1,
        inputs=[("E.input", 12.0)],
        monitors=["E.spike", ("count", lambda s: s.neurons["E"].spike.sum())],
    )
    np.testing.assert_array_equal(rec["count"], rec["E.spike"].sum(axis=1))


# --- bad input: every error is raised before compilation and names the argument --------------------------
@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(monitors=["pre.V"]), ValueError, r"unknown monitor path 'pre.V'; valid paths are \["),
        (dict(inputs=[("pre.current", 1.0)]), ValueError, r"unknown input path 'pre.current'; valid paths are"),
        (dict(dt=0.0), ValueError, "dt must be a finite number of ms > 0"),
        (dict(dt=-0.1), ValueError, "dt must be"),
        (dict(duration=0.0), ValueError, "duration must be"),
        (dict(duration=float("inf")), ValueError, "duration must be"),
        (dict(duration=0.01), ValueError, "shorter than one step"),
        (dict(every=7), ValueError, "every must be an int >= 1 dividing"),
        (dict(inputs=[("pre.input", np.ones(3))]), ValueError, r"must broadcast to \(1,\)"),
        (dict(inputs=[("pre.input", np.ones((50, 2)))]), ValueError, "must broadcast"),
        (dict(inputs=[("pre.input", float("nan"))]), ValueError, "pre.input must be finite"),
        (dict(inputs=[("pre.input", 1.0, "sometimes")]), ValueError, "mode for 'pre.input' must be one of"),
    ],
)
def test_simulate_rejects_bad_input(kwargs, exc, match):
    net = seed_net()
    args = dict(duration=10.0, dt=0.1, inputs=INPUTS, monitors=["pre.v"])
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        sj.simulate(net, net.init(), **args)


def test_runner_rejects_bad_paths_at_construction():
    with pytest.raises(ValueError, match="unknown monitor path 'syn.x'; valid paths are .*'syn.g'"):
        sj.Runner(seed_net(), monitors=["syn.x"])
    with pytest.raises(ValueError, match="inputs entries must be"):
        sj.Runner(seed_net(), inputs=[("nobody.input", 1.0)])
    with pytest.raises(ValueError, match="dt"):
        sj.Runner(seed_net(), dt=-1.0)


@pytest.mark.parametrize(
    "make,match",
    [
        (
            lambda: sj.Network(a=sj.neurons.LIF(2), p=sj.Projection("a", "b", conn=sj.conn.All2All())),
            r"post='b', which is not a population; populations are \['a'\]",
        ),
        (
            lambda: sj.Network(
                a=sj.neurons.LIF(2),
                b=sj.neurons.LIF(3),
                p=sj.Projection("a", "b", conn=sj.conn.All2All(), weight=np.ones(5)),
            ),
            r"weight must be a scalar, one per synapse \(6,\) or dense \(2, 3\); got shape \(5,\)",
        ),
        (
            lambda: sj.Network(a=sj.neurons.LIF(2), p=sj.Projection("a", "a", conn=sj.conn.All2All(), method="fast")),
            "method must be one of",
        ),
        (
            lambda: sj.Network(
                a=sj.neurons.LIF(2), p=sj.Projection("a", "a", conn=sj.conn.All2All(), weight=float("nan"))
            ),
            "weight must be finite",
        ),
        (lambda: sj.Network(a=sj.neurons.LIF(2), p=sj.Projection("a", "a", conn="all")), "conn must be"),
        (
            lambda: sj.Network(
                a=sj.neurons.LIF(2),
                p=sj.Projection("a", "a", conn=sj.conn.All2All(), output=sj.outputs.CUBA(target="w")),
            ),
            "output target='w', but a's state has no field",
        ),
        (lambda: sj.Network(a=sj.neurons.LIF(2), b=3), "must be a neuron model"),
        (lambda: sj.Network(**{"a.b": sj.neurons.LIF(2)}), "must be a Python identifier"),
    ],
)
def test_network_rejects_bad_construction(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_dense_weight_matrix_is_read_at_connected_pairs():
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    mask = np.array([[1, 0, 1], [0, 1, 0]])
    for method in ("dense", "sparse", "event"):
        net = sj.Network(
            a=sj.neurons.LIF(2, v_th=1.0),
            b=sj.neurons.LIF(3, v_th=1e9, tau=1e9),
            p=sj.Projection("a", "b", conn=mask, weight=w, method=method, output=sj.outputs.CUBA(target="v")),
        )
        state = net.init()
        _, rec = sj.simulate(net, state, duration=0.3, dt=0.1, inputs=[("a.input", 1e4)], monitors=["b.v"])
        # both presynaptic neurons fire at step 0 and arrive at step 1
        np.testing.assert_allclose(rec["b.v"][1], (w * mask).sum(0), err_msg=method)


def test_random_initial_state_with_voltage_jump_projection():
    # construction must not need a key even when the initial voltages are random
    net = sj.Network(
        a=sj.neurons.LIF(5, v_init=sj.init.Normal(-55.0, 2.0)),
        p=sj.Projection("a", "a", conn=sj.conn.All2All(), weight=0.1, output=sj.outputs.CUBA(target="v")),
    )
    assert "a.v" in net.monitor_paths()
    v0 = net.init(key=jax.random.key(1)).neurons["a"].v
    assert float(jnp.std(v0)) > 0.5 and abs(float(jnp.mean(v0)) + 55.0) < 3.0
