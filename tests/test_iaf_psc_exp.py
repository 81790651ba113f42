"""sj.neurons.IafPscExp (NEST's iaf_psc_exp) against NEST's exact propagators evaluated in float64 NumPy."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj


def nest_step(v, i_ex, i_in, i_e, p, h):
    """One step of NEST's iaf_psc_exp update (float64): membrane with the currents of the start of the step, then
    the currents decay (this step's arrivals are added by the caller: before the next membrane update)."""
    tau, c, ts = p["tau"], p["c_m"], p["tau_syn_ex"]
    p22 = math.exp(-h / tau)
    p21 = ts * tau / (c * (tau - ts)) * (math.exp(-h / tau) - math.exp(-h / ts))  # NEST's propagator_32
    p20 = tau / c * (1.0 - p22)
    v = p["v_rest"] + (v - p["v_rest"]) * p22 + p21 * (i_ex + i_in) + p20 * i_e
    return v, i_ex * math.exp(-h / ts), i_in * math.exp(-h / ts)


def test_free_membrane_and_currents_follow_nests_propagators():
    p = dict(c_m=250.0, tau=10.0, v_rest=-65.0, v_th=1e6, v_reset=-65.0, tau_ref=2.0, tau_syn_ex=0.5, tau_syn_in=0.5)
    model = sj.neurons.IafPscExp(3, **p, i_e=np.array([0.0, 300.0, 500.0], np.float32), v_init=-70.0)
    state = model.init()
    state = state.replace(i_ex=jnp.array([400.0, 0.0, 200.0]), i_in=jnp.array([0.0, -150.0, -50.0]))
    v, i_ex, i_in = [-70.0] * 3, [400.0, 0.0, 200.0], [0.0, -150.0, -50.0]
    for _ in range(300):
        state = model.update(state, 0.0, dt=0.1)
        for k, ie in enumerate((0.0, 300.0, 500.0)):
            v[k], i_ex[k], i_in[k] = nest_step(v[k], i_ex[k], i_in[k], ie, p, 0.1)
        np.testing.assert_allclose(state.v, v, rtol=0, atol=2e-4)  # float32 against float64, 300 steps
        # float32 decay: about one rounding per step (300 x 6e-8)
        np.testing.assert_allclose(state.i_ex, i_ex, rtol=3e-5, atol=1e-30)
        np.testing.assert_allclose(state.i_in, i_in, rtol=3e-5, atol=1e-30)


def test_spike_reset_and_twenty_held_steps():
    p = dict(c_m=250.0, tau=10.0, v_rest=-65.0, v_th=-50.0, v_reset=-65.0, tau_ref=2.0)
    model = sj.neurons.IafPscExp(1, **p, i_e=600.0)  # rheobase 375 pA: fires regularly
    state = model.init()
    v, spikes, vs = -65.0, [], []
    refr = 0
    for step in range(600):
        state = model.update(state, 0.0, dt=0.1)
        if refr > 0:  # NEST: held at V_reset, counter down
            refr -= 1
        else:
            v, _, _ = nest_step(v, 0.0, 0.0, 600.0, dict(p, tau_syn_ex=0.5), 0.1)
        if v >= p["v_th"]:
            spikes.append(step)
            v, refr = p["v_reset"], 20
        vs.append(v)
        assert bool(state.spike[0] > 0) == (spikes[-1:] == [step])
    np.testing.assert_allclose(np.asarray(vs[-1]), np.asarray(state.v[0]), atol=1e-3)
    assert len(spikes) >= 5 and np.all(np.diff(spikes) > 20)


def test_equal_time_constants_use_the_limit():
    model = sj.neurons.IafPscExp(1, tau=5.0, tau_syn_ex=5.0, tau_syn_in=5.0, v_th=1e6)
    state = model.init().replace(i_ex=jnp.array([100.0]))
    state = model.update(state, 0.0, dt=0.1)
    # dv = h / c_m e^{-h/tau} i at tau == tau_s
    assert abs(float(state.v[0]) + 65.0 - 0.1 / 250.0 * math.exp(-0.1 / 5.0) * 100.0) < 1e-6


def test_projection_jumps_the_current_and_nest_timing():
    # a spike emitted at step s through delay d_NEST + dt acts on v from step s + d + 1, as in NEST
    src = sj.inputs.SpikeTimeGroup(1, indices=[0], times=[1.0])  # emitted at step 10
    net = sj.Network(S=src, N=sj.neurons.IafPscExp(1, v_th=1e6),
                     p=sj.Projection("S", "N", conn=sj.conn.All2All(), weight=87.8, delay=1.5 + 0.1,
                                     synapse=sj.synapses.Delta(), output=sj.outputs.CUBA(target="i_ex")))  # fmt: skip
    _, rec = sj.simulate(net, net.init(dt=0.1), duration=5.0, dt=0.1, monitors=["N.v", "N.i_ex"])
    v = np.asarray(rec["N.v"])[:, 0]
    first = int(np.argmax(v > -65.0 + 1e-6))
    assert first == 10 + 15 + 1  # NEST: delivered at step 25, on v from step 26
    assert abs(float(np.asarray(rec["N.i_ex"])[first, 0]) - 87.8 * math.exp(-0.1 / 0.5)) < 1e-3


@pytest.mark.parametrize("bad, match", [(dict(c_m=0.0), "c_m must be > 0"), (dict(tau_syn_in=-1.0), "tau_syn_in")])
def test_bad_parameters(bad, match):
    with pytest.raises(ValueError, match=match):
        sj.neurons.IafPscExp(2, **bad)


def test_tree_map_to_zero_is_allowed():
    model = sj.neurons.IafPscExp(2)
    jax.tree.map(lambda _: 0, model)  # vmap axis trees are made of ints
