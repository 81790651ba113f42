"""Sharded runs against one-device runs, for tests/test_sharding.py (run in a subprocess: the forced host devices
must be set before jax starts).

``python tests/shard_cases.py OUT.json`` with ``XLA_FLAGS=--xla_force_host_platform_device_count=4`` writes one
JSON object: for each case, whether every monitored array is identical (or its largest difference), spike counts,
and the messages of the refused inputs.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import snnjax as sj
from snnjax.examples.brette import COBA_INPUTS, build

assert len(jax.devices()) == 4, jax.devices()
DEVICES = jax.devices()
out: dict = {}


def compare(m1, m4) -> dict:
    """Per monitor: identical?, largest absolute difference, and the spike count of spike monitors."""
    res = {}
    for k in m1:
        a, b = np.asarray(m1[k]), np.asarray(m4[k])
        diff = float(np.max(np.abs(a.astype(np.float64) - b))) if a.shape == b.shape and a.size else None
        res[k] = {"equal": bool(a.shape == b.shape and np.array_equal(a, b)), "max_diff": diff}
        if a.dtype == bool:
            res[k]["spikes"] = int(a.sum())
    res["ts"] = {"equal": bool(np.array_equal(m1.ts, m4.ts)), "max_diff": 0.0}
    return res


def pair(net, duration, devices=DEVICES, net4=None, **kw):
    """``net`` on one device against ``net4`` (default ``net``) over ``devices``."""
    r1 = sj.Runner(net, dt=0.1, **kw)
    m1 = r1.run(duration)
    r4 = sj.Runner(net if net4 is None else net4, dt=0.1, devices=devices, **kw)
    m4 = r4.run(duration)
    res = compare(m1, m4)
    g = r4.global_state()
    same = jax.tree.map(lambda a, b: bool(np.array_equal(np.asarray(a), np.asarray(b))), r1.state, g)
    res["final_state"] = {"equal": bool(jax.tree.all(same)), "max_diff": 0.0}
    return res, r4


# -- COBA 16k, the propagators that keep the summation order -----------------------------------------------------
for method in ("event", "sparse"):
    net = build(16000, "coba", method)
    out[f"coba16k_{method}"], r4 = pair(net, 200.0, inputs=COBA_INPUTS, monitors=["E.spike", "I.spike", "E.v"])
    one = sj.sharding.ShardedNetwork(net, DEVICES[:1])
    out[f"bytes_16k_{method}"] = {
        "one": one.bytes_per_device(one.init(jax.random.key(0))),
        "four": r4.shard.bytes_per_device(r4.state),
        "host_lists": r4.shard.host_list_bytes(),
    }
out["repr_16k"] = repr(r4.shard)
out["exchange_16k"] = [r4.shard.exchange_bytes_per_step(), r4.shard.exchanges_per_step()]

# the same network built with Network.deferred: each device's synapse list streamed from the connectors' seeds
deferred = build(16000, "coba", "event", deferred=True)
out["coba16k_deferred"], r4d = pair(build(16000, "coba", "event"), 200.0, net4=deferred, inputs=COBA_INPUTS,
                                    monitors=["E.spike", "I.spike", "E.v"])  # fmt: skip
out["deferred_lists"] = {
    "stand_in_bytes": int(sum(p.topology.pre.base.nbytes + p.topology.post.base.nbytes
                              for p in deferred.projections.values())),
    "n_syn": [p.topology.n_syn for p in deferred.projections.values()],
    "host_list_bytes": r4d.shard.host_list_bytes(),
    "bytes_per_device": r4d.shard.bytes_per_device(r4d.state),
}  # fmt: skip

# dense at 4k (a dense 16k network would hold 1 GB of matrices)
net = build(4000, "coba", "dense")
out["coba4k_dense"], _ = pair(net, 200.0, inputs=COBA_INPUTS, monitors=["E.spike", "I.spike", "E.v"])

# STDP on E->E at 16k (event-driven plasticity)
net = build(16000, "coba", "event", plasticity="stdp")
out["coba16k_stdp"], _ = pair(net, 100.0, inputs=COBA_INPUTS, monitors=["E.spike", "I.spike", "E.v", "EE.w[0:5000]"])
# ... and deferred: the plastic weights start on each device from its own synapses
stdp_deferred = build(16000, "coba", "event", plasticity="stdp", deferred=True)
out["coba16k_stdp_deferred"], _ = pair(net, 100.0, net4=stdp_deferred, inputs=COBA_INPUTS,
                                       monitors=["E.spike", "I.spike", "E.v", "EE.w[0:5000]"])  # fmt: skip

# -- a small network: inputs, monitors, batch, uneven sizes, per-synapse delays, STP, 3 devices --------------------
small = build(1001, "coba", "event")  # E 800, I 201: 201 is not a multiple of 4
rng = np.random.default_rng(0)
inputs = [
    ("E.input", rng.uniform(18.0, 22.0, 800).astype(np.float32)),  # a constant per neuron
    ("I.input", rng.uniform(18.0, 22.0, (500, 201)).astype(np.float32), "iter"),  # one value per step and neuron
    ("E.input", lambda t: 0.5 * jnp.sin(t / 10.0) * jnp.ones(800)),  # a callable
]
reducers = [sj.monitors.SpikeCount("nE", "E"), sj.monitors.Mean("mv", "I.v"), sj.monitors.ExpTrace("tr", "E.spike")]
mons = ["E.spike", "I.spike", "E.v[3:700:7]", "EE.g", "II.g[-1]", *reducers]
out["small_inputs_monitors"], r4 = pair(small, 50.0, inputs=inputs, monitors=mons, every=2)
out["repr_small"] = repr(r4.shard)
out["small_batch"], _ = pair(small, 30.0, inputs=COBA_INPUTS, monitors=["E.spike", "E.v"], batch_shape=(2,))
out["small_3_devices"], _ = pair(small, 30.0, devices=DEVICES[:3], inputs=COBA_INPUTS, monitors=["E.spike", "I.v"])

lif = dict(v_rest=-60.0, v_th=-50.0, v_reset=-60.0, tau=20.0, tau_ref=5.0, v_init=sj.init.Normal(-55.0, 4.0))
k_ee = sj.conn.FixedProb(0.05, seed=1).build(600, 600)[0].size
delays = np.random.default_rng(1).uniform(0.0, 3.0, k_ee).astype(np.float32)
hetero = sj.Network(
    E=sj.neurons.LIF(600, **lif),
    I=sj.neurons.LIF(150, **lif),
    EE=sj.Projection("E", "E", conn=sj.conn.FixedProb(0.05, seed=1), weight=0.8, delay=delays, method="sparse",
                     synapse=sj.synapses.Exponential(5.0), output=sj.outputs.COBA(E=0.0)),
    EI=sj.Projection("E", "I", conn=sj.conn.FixedProb(0.05, seed=2), weight=0.6, delay=1.5, method="event",
                     synapse=sj.synapses.Exponential(5.0), output=sj.outputs.COBA(E=0.0),
                     stp=sj.synapses.STP(U=0.2, tau_f=200.0, tau_d=100.0)),
    IE=sj.Projection("I", "E", conn=sj.conn.FixedProb(0.05, seed=3), weight=6.0, method="sparse",
                     synapse=sj.synapses.Exponential(10.0), output=sj.outputs.COBA(E=-80.0)),
)  # fmt: skip
out["delays_stp"], _ = pair(hetero, 60.0, inputs=[("E.input", 20.0), ("I.input", 20.0)],
                            monitors=["E.spike", "I.spike", "EI.u", "EI.x", "EE.g"])  # fmt: skip

# just-in-time connectivity: every device draws the rows of the spiking neurons and keeps its own targets
out["coba4k_jit"], _ = pair(
    build(4000, "coba", "jit"), 100.0, inputs=COBA_INPUTS, monitors=["E.spike", "I.spike", "E.v"]
)


# every lag >= 8 steps: spikes exchanged once per 10 (E) and 8 (I) steps, n steps of bits at once
def delayed_proj(a, b, seed, w, tau, e_rev, delay):
    return sj.Projection(a, b, conn=sj.conn.FixedProb(0.05, seed=seed), weight=w, delay=delay, method="event",
                         synapse=sj.synapses.Exponential(tau), output=sj.outputs.COBA(E=e_rev))  # fmt: skip


delayed = sj.Network(
    E=sj.neurons.LIF(1600, **lif),
    I=sj.neurons.LIF(401, **lif),
    EE=delayed_proj("E", "E", 1, 0.6, 5.0, 0.0, 1.0),
    EI=delayed_proj("E", "I", 2, 0.6, 5.0, 0.0, 1.5),
    IE=delayed_proj("I", "E", 3, 6.7, 10.0, -80.0, 0.8),
    II=delayed_proj("I", "I", 4, 6.7, 10.0, -80.0, 2.0),
)
drive = [("E.input", 20.0), ("I.input", 20.0)]
out["delayed"], r4 = pair(delayed, 60.0, inputs=drive, monitors=["E.spike", "I.spike", "E.v"])
out["delayed_every"] = {"every": r4.shard.every, "exchanges_per_step": r4.shard.exchanges_per_step()}
# stopped in the middle of an exchange block (237 steps: 7 of E's 10 pending), converted and continued
r1 = sj.Runner(delayed, dt=0.1, inputs=drive)
r1.run(23.7)
r4 = sj.Runner(delayed, dt=0.1, inputs=drive, devices=DEVICES)
r4.run(23.7)
mid = r4.global_state()
s1, rec1 = sj.simulate(delayed, r1.state, duration=20.0, dt=0.1, inputs=drive, monitors=["E.spike", "I.v"])
s4, rec4 = sj.simulate(delayed, mid, duration=20.0, dt=0.1, inputs=drive, monitors=["E.spike", "I.v"],
                       devices=DEVICES)  # fmt: skip
out["delayed_mid_block"] = {
    "state": bool(jax.tree.all(jax.tree.map(lambda a, b: bool(np.array_equal(a, b)), r1.state, mid))),
    "continued": all(np.array_equal(np.asarray(rec1[k]), np.asarray(rec4[k])) for k in rec1),
    "final": bool(jax.tree.all(jax.tree.map(lambda a, b: bool(np.array_equal(a, b)), s1, s4))),
}

# learnable (linear) delays, reward-modulated plasticity with a reward over time, a dense weight matrix
rng = np.random.default_rng(2)
learnable = sj.Network(
    E=sj.neurons.LIF(600, **lif),
    I=sj.neurons.LIF(150, **lif),
    EE=sj.Projection("E", "E", conn=sj.conn.FixedProb(0.05, seed=1), weight=0.8, method="sparse",
                     delay=rng.uniform(0.0, 2.0, k_ee).astype(np.float32), delay_interp="linear", max_delay=2.5,
                     synapse=sj.synapses.Exponential(5.0), output=sj.outputs.COBA(E=0.0)),
    EI=sj.Projection("E", "I", conn=sj.conn.FixedProb(0.05, seed=2), weight=0.6, method="sparse",
                     plasticity=sj.plasticity.MSTDPET(), synapse=sj.synapses.Exponential(5.0),
                     output=sj.outputs.COBA(E=0.0)),
    IE=sj.Projection("I", "E", conn=sj.conn.FixedProb(0.05, seed=3), method="sparse",
                     weight=rng.uniform(4.0, 8.0, (150, 600)).astype(np.float32),
                     synapse=sj.synapses.Exponential(10.0), output=sj.outputs.COBA(E=-80.0)),
)  # fmt: skip
reward = [("EI.reward", np.sin(np.arange(600) / 30.0).astype(np.float32), "iter")]
out["linear_delays_mstdpet_dense_weights"], _ = pair(
    learnable, 60.0, inputs=[*drive, *reward], monitors=["E.spike", "I.spike", "EI.w", "E.v"]
)

# Poisson sources: every device draws from fold_in(key, device): the rate, not the numbers, of one device
poisson = sj.Network(
    P=sj.inputs.PoissonGroup(4001, rate=20.0),
    E=sj.neurons.LIF(400, **lif),
    PE=sj.Projection("P", "E", conn=sj.conn.FixedProb(0.02, seed=5), weight=0.5, method="event",
                     synapse=sj.synapses.Exponential(5.0), output=sj.outputs.COBA(E=0.0)),
)  # fmt: skip
mon = sj.Runner(poisson, dt=0.1, monitors=["P.spike", "E.spike"], devices=DEVICES).run(500.0)
raster = np.asarray(mon["P.spike"])
blocks = [raster[:, s : s + 1000].sum(0) for s in (0, 1001, 2001, 3001)]  # one block of 1000 per device
out["poisson"] = {
    "rate_hz": float(raster.sum() / 4001 / 0.5),
    "blocks_differ": bool(all(not np.array_equal(blocks[0], b) for b in blocks[1:])),
    "e_spikes": int(np.asarray(mon["E.spike"]).sum()),
}

# simulate(devices=) against simulate
state = small.init(jax.random.key(3), dt=0.1)
s1, rec1 = sj.simulate(small, state, duration=20.0, dt=0.1, inputs=COBA_INPUTS, monitors=["E.spike", "I.v"])
s4, rec4 = sj.simulate(small, state, duration=20.0, dt=0.1, inputs=COBA_INPUTS, monitors=["E.spike", "I.v"],
                       devices=DEVICES)  # fmt: skip
out["simulate"] = {
    "records": all(np.array_equal(np.asarray(rec1[k]), np.asarray(rec4[k])) for k in rec1),
    "state": bool(jax.tree.all(jax.tree.map(lambda a, b: bool(np.array_equal(a, b)), s1, s4))),
}

# checkpoint: each run saved and resumed in a new Runner equals one run
with tempfile.TemporaryDirectory() as tmp:
    one = sj.Runner(small, dt=0.1, inputs=COBA_INPUTS, monitors=["E.spike"], devices=DEVICES)
    whole = one.run(60.0)
    first = sj.Runner(small, dt=0.1, inputs=COBA_INPUTS, monitors=["E.spike"], devices=DEVICES)
    part1 = first.run(30.0)
    path = sj.checkpoint.save_state(Path(tmp) / "ck.npz", first.state)
    second = sj.Runner(small, dt=0.1, inputs=COBA_INPUTS, monitors=["E.spike"], devices=DEVICES)
    second.state = sj.checkpoint.load_state(path, like=second.state)
    part2 = second.run(30.0)
    joined = np.concatenate([part1["E.spike"], part2["E.spike"]])
    out["checkpoint"] = {
        "equal": bool(np.array_equal(joined, whole["E.spike"])),
        "state": bool(jax.tree.all(jax.tree.map(
            lambda a, b: bool(np.array_equal(np.asarray(a), np.asarray(b))), one.global_state(),
            second.global_state()))),
    }  # fmt: skip

# -- refused inputs ------------------------------------------------------------------------------------------------
errors = {}


def refused(name, fn):
    try:
        fn()
    except (ValueError, TypeError) as err:
        errors[name] = f"{type(err).__name__}: {err}"
    else:
        errors[name] = None


tiny = sj.Network(A=sj.neurons.LIF(3), B=sj.neurons.LIF(10),
                  AB=sj.Projection("A", "B", conn=sj.conn.All2All(), weight=1.0))  # fmt: skip
refused("too_small", lambda: sj.Runner(tiny, devices=DEVICES))
mesh = jax.sharding.Mesh(np.asarray(DEVICES), ("batch",))
refused("mesh_axis", lambda: sj.Runner(small, devices=mesh))
refused("mesh_2d", lambda: sj.Runner(small, devices=jax.sharding.Mesh(np.asarray(DEVICES).reshape(2, 2),
                                                                     ("neurons", "other"))))  # fmt: skip
refused("not_devices", lambda: sj.Runner(small, devices=["cpu:0"]))
refused("duplicate_devices", lambda: sj.Runner(small, devices=[DEVICES[0], DEVICES[0]]))
times = sj.Network(S=sj.inputs.SpikeTimeGroup(8, times=[1.0, 2.0], indices=[0, 5]), A=sj.neurons.LIF(8),
                   SA=sj.Projection("S", "A", conn=sj.conn.One2One(), weight=1.0))  # fmt: skip
refused("spike_times", lambda: sj.Runner(times, devices=DEVICES))
grid = sj.Network(G=sj.neurons.LIF((4, 4)))
refused("two_d", lambda: sj.Runner(grid, devices=DEVICES))
refused("probe", lambda: sj.Runner(small, monitors=[sj.monitors.PopulationRate("r", "E")], devices=DEVICES))
refused("function", lambda: sj.Runner(small, monitors=[("n", lambda s: s.step)], devices=DEVICES))
refused("no_jit", lambda: sj.Runner(small, jit=False, devices=DEVICES))
refused(
    "traced",
    lambda: jax.jit(lambda s: sj.simulate(small, s, duration=1.0, dt=0.1, devices=DEVICES))(state),
)
out["errors"] = errors

Path(sys.argv[1]).write_text(json.dumps(out, indent=1))
