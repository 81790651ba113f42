"""Ring delivery, PoissonInput and the declared state axes on 4 forced host devices, for tests/test_ring.py and
tests/test_repros2_shard.py (a subprocess: the devices must be forced before jax starts).

``python tests/ring_cases.py OUT.json`` with ``XLA_FLAGS=--xla_force_host_platform_device_count=4`` writes, for each
case, whether the sharded run's records and final state equal the one-device run's.
"""

from __future__ import annotations

import json
import sys

import jax
import numpy as np

import snnjax as sj

assert len(jax.devices()) == 4, jax.devices()
DEVICES = jax.devices()
out: dict = {}


def pair(net, duration, inputs=(), monitors=(), state=None):
    """The one-device run of ``net`` against the 4-device run; records, global state and (from ``state``) a
    resumed run compared exactly."""
    r1 = sj.Runner(net, dt=0.1, inputs=inputs, monitors=monitors)
    if state is not None:
        r1.state = state
    m1 = r1.run(duration)
    r4 = sj.Runner(net, dt=0.1, inputs=inputs, monitors=monitors, devices=DEVICES)
    if state is not None:
        r4.state = r4.shard.shard_state(state)
    m4 = r4.run(duration)
    res = {k: bool(np.array_equal(np.asarray(m1[k]), np.asarray(m4[k]))) for k in m1}
    same = jax.tree.map(lambda a, b: bool(np.array_equal(np.asarray(a), np.asarray(b))), r1.state, r4.global_state())
    res["final_state"] = bool(jax.tree.all(same))
    res["spikes"] = int(np.asarray(m1[monitors[0]]).sum()) if monitors else 0
    return res


lif = dict(v_rest=-60.0, v_th=-50.0, v_reset=-60.0, tau=20.0, tau_ref=2.0, v_init=sj.init.Normal(-55.0, 4.0))

# per-synapse delays on event (ring delivery) over 4 devices, with a Poisson drive
rng = np.random.default_rng(3)
n = 203
pre, post = rng.integers(0, n, 6000), rng.integers(0, n, 6000)
key = np.unique(pre * n + post)
pre, post = key // n, key % n
w = rng.integers(1, 6, pre.size) / 8.0
d = rng.integers(1, 40, pre.size) * 0.1
net = sj.Network(
    E=sj.neurons.LIF(n, **lif),
    EE=sj.Projection("E", "E", conn=(pre, post), weight=w, delay=d, synapse=sj.synapses.Exponential(5.0)),
    ext=sj.inputs.PoissonInput("E", n=50, rate=20.0, weight=1.5, delay=0.5),
)
out["ring_methods"] = sorted({p.method for p in net.projections.values()})
out["ring_poisson"] = pair(net, 100.0, inputs=[("E.input", 11.0)], monitors=["E.spike", "EE.g", "ext.g"])

# q01: n_syn == n_post and one device's synapse count equals its slots: g is per neuron, not per synapse
rng = np.random.default_rng(0)  # the reproduction's list (no repeated pair)
post1 = np.concatenate([rng.integers(0, 25, 26), rng.integers(25, 50, 25), rng.integers(50, 75, 25),
                        rng.integers(75, 100, 24)])  # fmt: skip
pre1 = rng.integers(0, 100, 100)
net1 = sj.Network(
    E=sj.neurons.LIF(100, **lif),
    EE=sj.Projection("E", "E", conn=(pre1, post1), weight=2.0, method="sparse", synapse=sj.synapses.Exponential(5.0),
                     output=sj.outputs.COBA(E=0.0)),
)  # fmt: skip
out["q01_clash"] = pair(net1, 20.0, inputs=[("E.input", 20.0)], monitors=["E.spike", "EE.g"])
net2 = sj.Network(  # the same clash for STDP's postsynaptic trace apost (per neuron) and w (per synapse)
    E=sj.neurons.LIF(100, **lif),
    EE=sj.Projection("E", "E", conn=(pre1, post1), weight=0.5, method="sparse", synapse=sj.synapses.Exponential(5.0),
                     plasticity=sj.plasticity.STDP(a_plus=0.05, a_minus=0.05, w_min=0.0, w_max=1.0)),
)  # fmt: skip
out["q01_stdp"] = pair(net2, 20.0, inputs=[("E.input", 25.0)], monitors=["E.spike", "EE.apost", "EE.w"])
r = sj.Runner(net1, dt=0.1, inputs=[("E.input", 20.0)])
r.run(20.0)
out["q01_resume"] = pair(net1, 20.0, inputs=[("E.input", 20.0)], monitors=["E.spike", "EE.g"], state=r.state)

json.dump(out, open(sys.argv[1], "w"))
