"""Network construction and initialisation defects (issues "Honest figures" bugs 5 and 7, "adversary" r14)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj


def test_b05_output_target_must_be_a_state_field_not_a_property_or_the_spike():
    a, b = sj.neurons.LIF(2), sj.neurons.LIF(2)
    for target in ("voltage", "spike"):  # 'voltage' was accepted (hasattr on a property), then failed in tracing
        with pytest.raises(ValueError, match=f"target.*'{target}'"):
            sj.Network(
                a=a, b=b, p=sj.Projection("a", "b", conn=sj.conn.One2One(), output=sj.outputs.CUBA(target=target))
            )
    sj.Network(a=a, b=b, p=sj.Projection("a", "b", conn=sj.conn.One2One(), output=sj.outputs.CUBA(target="v")))


def test_b07_random_initial_values_do_not_depend_on_the_other_populations():
    v0 = sj.init.Normal(-55.0, 2.0)
    one = sj.Network(E=sj.neurons.LIF(50, v_init=v0))
    more = sj.Network(A=sj.neurons.LIF(30, v_init=v0), E=sj.neurons.LIF(50, v_init=v0), Z=sj.neurons.LIF(5))
    key = jax.random.key(3)
    v_one = np.asarray(one.init(key).neurons["E"].v)
    v_more = np.asarray(more.init(key).neurons["E"].v)
    np.testing.assert_array_equal(v_one, v_more)
    assert np.std(v_one) > 1.0  # really random (N(-55, 2))
    assert not np.array_equal(np.asarray(more.init(key).neurons["A"].v)[:30], v_one[:30])  # distinct streams


@pytest.mark.parametrize("bad", [3, (0,), (2, -1), (1.5,), (True,)])
def test_r14_batch_shape_must_be_a_tuple_of_positive_ints(bad):
    net = sj.Network(E=sj.neurons.LIF(3))
    with pytest.raises(ValueError, match="batch_shape must be a tuple of ints >= 1"):
        net.init(batch_shape=bad)


def test_r14_negative_conductance_weight_is_refused_by_the_projection():
    a, b = sj.neurons.LIF(2), sj.neurons.LIF(2)
    with pytest.raises(ValueError, match="weight"):
        sj.Network(
            a=a, b=b, p=sj.Projection("a", "b", conn=sj.conn.One2One(), weight=-0.5, output=sj.outputs.COBA(E=0.0))
        )
    sj.Network(a=a, b=b, p=sj.Projection("a", "b", conn=sj.conn.One2One(), weight=-0.5))  # a negative current is fine


def test_b04_a_bound_projection_reused_with_other_group_sizes_is_an_error():
    proj = sj.Network(a=sj.neurons.LIF(3), b=sj.neurons.LIF(2), p=sj.Projection("a", "b", conn=sj.conn.All2All()))
    bound = proj.projections["p"]
    with pytest.raises(ValueError, match="built for groups of 3 -> 2 neurons, but the network's are 5 -> 2"):
        sj.Network(a=sj.neurons.LIF(5), b=sj.neurons.LIF(2), p=bound)  # the old code ignored neurons 3 and 4


def test_b10_trainable_leaves_out_leaves_whose_gradient_is_zero():
    net = sj.Network(
        P=sj.inputs.PoissonGroup(5, rate=10.0),
        E=sj.neurons.LIF(3),
        EE=sj.Projection("E", "E", conn=sj.conn.All2All(), delay=1.0),
        PE=sj.Projection("P", "E", conn=sj.conn.All2All(), delay=2.0, max_delay=3.0, delay_interp="linear"),
    )
    params, _ = sj.trainable(net)
    names = {sj.training._dotted(p) for p, _ in jax.tree_util.tree_flatten_with_path(params)[0]}
    assert {"EE.weight", "PE.weight", "E.tau", "PE.delay"} <= names  # a linear delay has a gradient
    assert not {"EE.delay", "P.rate"} & names  # whole-step delays and Poisson rates do not
    everything, _ = sj.trainable(net, where=lambda path, x: True)
    assert "EE.delay" in {sj.training._dotted(p) for p, _ in jax.tree_util.tree_flatten_with_path(everything)[0]}


@pytest.mark.parametrize("method", ["event", "vector_event", "sparse"])
def test_b11_forward_mode_through_event_propagators(method):
    # jax.jvp / jacfwd used to fail for any network whose propagator was event-driven (custom_vjp)
    def final_v(w):
        net = sj.Network(
            a=sj.neurons.LIF(4, v_th=1.0, tau_ref=1000.0),
            b=sj.neurons.LIF(3, v_th=1e9, tau=10.0),
            p=sj.Projection("a", "b", conn=sj.conn.All2All(), weight=w, method=method),
        )
        pulse = np.zeros((30, 4), np.float32)
        pulse[0] = 1e4
        _, rec = sj.simulate(net, net.init(dt=0.1), duration=3.0, dt=0.1, inputs=[("a.input", pulse, "iter")],
                             monitors=["b.v"])  # fmt: skip
        return rec["b.v"][-1]

    w = jnp.full((12,), 0.5)
    fwd = jax.jacfwd(final_v)(w)
    rev = jax.jacrev(final_v)(w)
    np.testing.assert_allclose(fwd, rev, rtol=1e-5, atol=1e-7)
    assert np.abs(np.asarray(fwd)).sum() > 0
    _, t = jax.jvp(final_v, (w,), (jnp.ones_like(w),))
    np.testing.assert_allclose(t, np.asarray(fwd).sum(1), rtol=1e-5, atol=1e-7)
