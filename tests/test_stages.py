"""The stages of a projection's step (``snnjax.stages``): which composition each kind of projection runs, and that a
composition run by hand is the projection's step (issue 23: pre- and post-aligned projections as separate classes)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj
from snnjax import stages


def _bound(**kw):
    net = sj.Network(
        A=sj.neurons.LIF(30, v_init=sj.init.Normal(-55.0, 5.0)),
        B=sj.neurons.LIF(20),
        AB=sj.Projection("A", "B", conn=sj.conn.FixedProb(0.3, seed=1), **kw),
    )
    return net, net.projections["AB"]


_K = sj.conn.FixedProb(0.3, seed=1).build(30, 20)[0].size  # synapses of the projection below


@pytest.mark.parametrize(
    "kw, index, want",
    [
        (dict(method="sparse"), False, stages.PostAligned),
        (dict(method="event"), True, stages.PostAligned),
        (dict(method="sparse", synapse=sj.synapses.AMPA()), False, stages.PreAligned),
        (dict(method="event", delay=np.linspace(0.1, 3.0, _K)), True, stages.RingDelivered),
        (dict(method="event", plasticity=sj.plasticity.STDP()), True, stages.FusedPlastic),
        (dict(method="event", plasticity=sj.plasticity.STDP()), False, stages.PostAligned),
        (dict(method="sparse", plasticity=sj.plasticity.STDP()), False, stages.PostAligned),
    ],
)
def test_each_projection_kind_runs_its_composition(kw, index, want):
    _, proj = _bound(**kw)
    idx = (jnp.zeros((4,), jnp.int32), jnp.int32(0)) if index else None
    assert type(stages.transmission(proj, idx)) is want


@pytest.mark.parametrize("synapse", [sj.synapses.Exponential(5.0), sj.synapses.AMPA()])
def test_a_composition_run_by_hand_is_the_projection_step(synapse):
    """PostAligned / PreAligned called directly give the projection's step (the state and g), with STP."""
    net, proj = _bound(method="sparse", synapse=synapse, stp=sj.synapses.STP(U=0.2, tau_f=100.0, tau_d=50.0))
    dt = 0.1
    prep = proj.prepare(dt)
    state = proj.init_state((20,), (), dt=dt)
    rng = np.random.default_rng(0)
    for _ in range(5):
        spikes = jnp.asarray(rng.random(30) < 0.3, jnp.float32)
        want = proj.transmit(prep, state, spikes, None, dt=dt, post_shape=(20,))
        path = stages.PreAligned() if synapse.align == "pre" else stages.PostAligned()
        got = path.transmit(proj, prep, state, spikes, None, dt=dt, post_shape=(20,))
        np.testing.assert_array_equal(np.asarray(got[1]), np.asarray(want[1]))
        state = want[0]
    assert float(jnp.abs(want[1]).sum()) > 0
