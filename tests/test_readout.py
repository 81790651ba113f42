"""Readout groups (LI, Integrator, IF) against closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj


def _run(pop, currents, dt):
    state = pop.init()
    vs, spikes = [], []
    for c in currents:
        state = pop.update(state, c, dt=dt)
        vs.append(np.asarray(state.v))
        spikes.append(np.asarray(state.spike))
    return np.array(vs), np.array(spikes)


def test_li_constant_current_closed_form():
    # tau dv/dt = (v_rest - v) + r I with I constant: v(t) = v_inf + (v0 - v_inf) exp(-t/tau), exact at every step
    pop = sj.neurons.LI(3, tau=jnp.array([5.0, 10.0, 20.0]), r=2.0, v_rest=-1.0)
    v, s = _run(pop, [0.5] * 50, dt=0.5)
    t = 0.5 * np.arange(1, 51)[:, None]
    v_inf = -1.0 + 2.0 * 0.5
    ref = v_inf + (-1.0 - v_inf) * np.exp(-t / np.array([5.0, 10.0, 20.0]))
    np.testing.assert_allclose(v, ref, rtol=1e-5, atol=1e-6)  # float32 products over 50 steps
    assert not s.any()


def test_integrator_and_if():
    v, _ = _run(sj.neurons.Integrator(2, r=jnp.array([1.0, 3.0])), [0.2] * 10, dt=0.1)
    np.testing.assert_allclose(v[:, 1], 3.0 * 0.2 * 0.1 * np.arange(1, 11), rtol=1e-5)
    # IF: v rises by dt r I = 0.3 per step, fires at v >= 1 (4th step), resets to 0
    v, s = _run(sj.neurons.IF(1, r=1.0, v_th=1.0, v_reset=0.0), [3.0] * 8, dt=0.1)
    np.testing.assert_array_equal(s[:, 0], [0, 0, 0, 1, 0, 0, 0, 1])
    assert v[3, 0] == 0.0


@pytest.mark.parametrize("model", [sj.neurons.LI(4), sj.neurons.Integrator(4), sj.neurons.IF(4)])
def test_tree_map_and_network(model):
    jax.tree.map(lambda _: 0, model)  # __post_init__ on ints must not fail
    net = sj.Network(src=sj.inputs.SpikeArray(2), out=model,
                     p=sj.Projection("src", "out", conn=sj.conn.All2All(), weight=1.0))  # fmt: skip
    _, rec = sj.simulate(net, net.init(), duration=1.0, dt=0.1, inputs=[("src.input", 1.0)], monitors=["out.v"])
    assert rec["out.v"].shape == (10, 4) and np.all(np.asarray(rec["out.v"][-1]) != 0)


def test_bad_parameters():
    with pytest.raises(ValueError, match="tau"):
        sj.neurons.LI(2, tau=-1.0).init()
    with pytest.raises(ValueError, match="r"):
        sj.neurons.Integrator(2, r=0.0).init()
