"""One network split over several devices (snnjax.sharding): sharded runs equal one-device runs.

The runs on 4 forced host devices need XLA_FLAGS before jax starts, so they run in a subprocess
(tests/shard_cases.py; tests/shard_distributed.py for the 2-process jax.distributed run); the tests here read
its results. The layout arithmetic and the 1-device path run in this process.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

import snnjax as sj
from snnjax.examples.brette import COBA_INPUTS, build
from snnjax.sharding import PopulationSplit, ShardedNetwork, make_mesh

HERE = Path(__file__).parent


def _env(devices: int) -> dict:
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={devices}").strip()
    package_root = Path(sj.__file__).parents[1]  # the snnjax this session imported
    env["PYTHONPATH"] = os.pathsep.join([str(package_root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    out = tmp_path_factory.mktemp("shard") / "cases.json"
    proc = subprocess.run(
        [sys.executable, str(HERE / "shard_cases.py"), str(out)],
        env=_env(4),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(out.read_text())


def _all_equal(case: dict) -> list[str]:
    return [k for k, v in case.items() if not v["equal"]]


# -- 4 devices against 1 (subprocess) --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["event", "sparse"])
def test_shard_coba16k_identical_spikes(cases, method):
    """COBA 16k on 4 devices: spike trains, v and the final state identical to the 1-device run (post-partitioned
    sums add the same terms in the same order)."""
    case = cases[f"coba16k_{method}"]
    assert _all_equal(case) == []
    assert case["E.spike"]["spikes"] > 10_000 and case["I.spike"]["spikes"] > 2_000  # an active network


def test_shard_deferred_lists_built_per_device_identical(cases):
    """Network.deferred: the global network holds no synapse list (stand-ins of K synapses, 8 bytes each in all),
    each device's list is streamed from the connectors' seeds; spikes, v and the final state equal the one-device
    run of the ordinary Network, and the devices hold the same blocks."""
    case = cases["coba16k_deferred"]
    assert _all_equal(case) == []
    info = cases["deferred_lists"]
    assert info["stand_in_bytes"] == 8 * 4 and sum(info["n_syn"]) > 1_000_000
    assert info["bytes_per_device"] == cases["bytes_16k_event"]["four"]
    # on one host with 4 devices the host still holds every device's part, once (layouts), not the whole list too
    assert info["host_list_bytes"] < 0.6 * cases["bytes_16k_event"]["host_lists"]


def test_shard_deferred_stdp_identical(cases):
    """Network.deferred with STDP on E->E: the weights start on each device from its own synapses (never a whole
    weight vector); spikes, v, weights and the final state equal the one-device run."""
    case = cases["coba16k_stdp_deferred"]
    assert _all_equal(case) == []
    assert case["E.spike"]["spikes"] > 5_000


def test_shard_connector_blocks_equal_build():
    """Connector.blocks: the pieces, whatever their size, concatenate to build()'s list (numpy draws each geometric
    gap from one stream in turn), for the streaming connectors and the one-piece default."""
    cases = [
        (sj.conn.FixedProb(0.02, seed=3), 700, 900),
        (sj.conn.FixedProb(0.4, seed=1, include_self=False), 300, 300),
        (sj.conn.FixedProb(1.0, include_self=False), 20, 20),
        (sj.conn.FixedProb(1e-7, seed=2), 2000, 2000),
        (sj.conn.All2All(include_self=False), 40, 40),
        (sj.conn.One2One(), 55, 55),
        (sj.conn.FixedPreNum(5, seed=4), 50, 60),
    ]
    for conn, n_pre, n_post in cases:
        pre, post = conn.build(n_pre, n_post)
        for size in (1, 13, 4096):
            pieces = list(conn.blocks(n_pre, n_post, size=size))
            got_pre = np.concatenate([p for p, _ in pieces]) if pieces else np.zeros(0, np.int32)
            got_post = np.concatenate([q for _, q in pieces]) if pieces else np.zeros(0, np.int32)
            assert np.array_equal(got_pre, pre) and np.array_equal(got_post, post), (conn, size)
            assert all(p.dtype == np.int32 for p, _ in pieces)
    # the list itself is the one the one-piece build gave before blocks existed (seeded lists must not change)
    pre, post = sj.conn.FixedProb(0.02, seed=3).build(700, 900)
    assert pre.size == 12_703 and int(pre.sum()) == 4_438_715 and int(post.sum()) == 5_712_670


def test_shard_deferred_bad_input():
    """A deferred network runs only split over devices, and needs scalar weights and delays: clear errors."""
    lif = sj.neurons.LIF(20)
    net = sj.Network.deferred(A=lif, AA=sj.Projection("A", "A", conn=sj.conn.FixedProb(0.2, seed=1), weight=0.5))
    assert net.projections["AA"].topology.n_syn > 0 and net.projections["AA"].deferred is not None
    with pytest.raises(ValueError, match="devices"):
        sj.Runner(net, dt=0.1)
    with pytest.raises(ValueError, match="devices"):
        sj.simulate(net, net.init(), duration=1.0, dt=0.1)
    k = sj.conn.FixedProb(0.2, seed=1).build(20, 20)[0].size
    with pytest.raises(ValueError, match="weight must be a scalar"):
        sj.Network.deferred(A=lif, AA=sj.Projection("A", "A", conn=sj.conn.FixedProb(0.2, seed=1), weight=np.ones(k)))
    with pytest.raises(ValueError, match="delay must be a scalar"):
        sj.Network.deferred(A=lif, AA=sj.Projection("A", "A", conn=sj.conn.FixedProb(0.2, seed=1), delay=np.ones(k)))
    # what reads the global synapse list refuses the stand-in instead of exporting zeros
    with pytest.raises(ValueError, match="deferred"):
        sj.nir.to_nir(net, dt=0.1)
    # one device: the deferred network equals the ordinary one
    ref = sj.Network(A=lif, AA=sj.Projection("A", "A", conn=sj.conn.FixedProb(0.2, seed=1), weight=0.5))
    runs = []
    for n in (ref, net):
        runner = sj.Runner(n, dt=0.1, inputs=[("A.input", 22.0)], monitors=["A.spike", "A.v"],
                           devices=None if n is ref else jax.devices()[:1])  # fmt: skip
        runs.append(runner.run(30.0))
    assert np.array_equal(runs[0]["A.v"], runs[1]["A.v"]) and runs[0]["A.spike"].sum() > 0
    # an explicit list keeps its given (unsorted) order, as Network keeps it: the plastic weights come back in it
    pre, post = sj.conn.FixedProb(0.3, seed=2).build(20, 20)
    perm = np.random.default_rng(0).permutation(pre.size)
    states = []
    for make, devices in ((sj.Network, None), (sj.Network.deferred, jax.devices()[:1])):
        n = make(A=lif, AA=sj.Projection("A", "A", conn=(pre[perm], post[perm]), weight=0.5,
                                         plasticity=sj.plasticity.STDP(w_max=2.0)))  # fmt: skip
        runner = sj.Runner(n, dt=0.1, inputs=[("A.input", np.linspace(18.0, 30.0, 20))], devices=devices)
        runner.run(30.0)
        states.append(np.asarray(runner.global_state().synapses["AA"].w))
    assert np.array_equal(states[0], states[1]) and np.unique(states[0]).size > 10  # weights that differ


def test_shard_coba_jit_connectivity(cases):
    """Just-in-time connectivity (nothing stored): each device regenerates the spiking rows and keeps its targets,
    in the same order, so the sums are the one-device run's."""
    case = cases["coba4k_jit"]
    assert _all_equal(case) == []
    assert case["E.spike"]["spikes"] > 1_000


def test_shard_coba_dense(cases):
    """Dense matrices on 4 devices (4k: a dense 16k network would hold 1 GB): identical in this run; the
    documented tolerance is 1e-5 mV on v (a matrix product may block its sum differently)."""
    case = cases["coba4k_dense"]
    assert case["E.spike"]["equal"] and case["I.spike"]["equal"]
    assert case["E.v"]["max_diff"] <= 1e-5


def test_shard_coba16k_stdp_identical(cases):
    """STDP on E->E at 16k: spikes, v and weights identical (the rule's products are rounded before they meet
    the weight, so no fusion turns them into a fused multiply-add in one program and not the other)."""
    case = cases["coba16k_stdp"]
    assert _all_equal(case) == []
    assert case["E.spike"]["spikes"] > 5_000


def test_shard_inputs_monitors_reducers(cases):
    """Per-neuron constant, per-step and callable inputs; index subsets, synapse fields and the SpikeCount /
    Mean / ExpTrace reducers, every 2 steps; 201 neurons over 4 devices (padded)."""
    assert _all_equal(cases["small_inputs_monitors"]) == []
    assert "I: 201 = 51+50 per device, padded to 52 (7 ghosts)" in cases["repr_small"]


def test_shard_batch_and_three_devices(cases):
    assert _all_equal(cases["small_batch"]) == []
    assert _all_equal(cases["small_3_devices"]) == []


def test_shard_per_synapse_delays_and_stp(cases):
    """Per-synapse delays (sparse), a buffered scalar delay with STP (presynaptic u, x on every device)."""
    case = cases["delays_stp"]
    assert _all_equal(case) == []
    assert case["E.spike"]["spikes"] > 100


def test_shard_exchange_every_n_steps(cases):
    """Every lag from E is >= 10 steps and from I >= 8: each is exchanged once per 10 / 8 steps (10 / 8 steps of
    bits at once), and the run is still the one-device run, also when stopped inside an exchange block
    (237 steps), converted to the one-device state and continued."""
    assert _all_equal(cases["delayed"]) == []
    assert cases["delayed"]["E.spike"]["spikes"] > 100
    assert cases["delayed_every"] == {"every": {"E": 10, "I": 8}, "exchanges_per_step": 1 / 10 + 1 / 8}
    assert cases["delayed_mid_block"] == {"state": True, "continued": True, "final": True}


def test_shard_linear_delays_reward_plasticity_dense_weights(cases):
    """Learnable delays (delay_interp="linear"), MSTDPET with a reward over time (its weights change) and a dense
    (n_pre, n_post) weight matrix: identical to one device."""
    case = cases["linear_delays_mstdpet_dense_weights"]
    assert _all_equal(case) == []
    assert case["E.spike"]["spikes"] > 50


def test_shard_poisson_sources(cases):
    """PoissonGroup on 4 devices: every device draws its own stream (fold_in(key, device)); the rate is the
    group's: p = 1 - exp(-20 Hz x 0.1 ms) per step, 19.98 Hz; about 40,000 spikes in 500 ms, so one standard
    deviation is 0.1 Hz and the test allows three."""
    got = cases["poisson"]
    assert abs(got["rate_hz"] - (1 - np.exp(-20.0 * 0.1 / 1000)) * 1000 / 0.1) < 0.3
    assert got["blocks_differ"]
    assert got["e_spikes"] > 0


def test_shard_simulate_and_checkpoint(cases):
    assert cases["simulate"] == {"records": True, "state": True}
    assert cases["checkpoint"] == {"equal": True, "state": True}


@pytest.mark.parametrize("method", ["event", "sparse"])
def test_shard_memory_falls_with_devices(cases, method):
    """A device holds its part of the synapse lists and of the state: on 4 devices, well under half of what one
    device holds (event: the row tables are padded to the widest row of any device; benchmarks/coba.py)."""
    got = cases[f"bytes_16k_{method}"]
    assert got["four"] < {"event": 0.5, "sparse": 0.3}[method] * got["one"]
    # one all-gather per step for both populations: 4 devices x ceil(P / 8) bytes each
    assert cases["exchange_16k"] == [4 * ((3201 + 7) // 8) + 4 * ((801 + 7) // 8), 1.0]


@pytest.mark.parametrize(
    "name, words",
    [
        ("too_small", ["'A'", "3 neurons", "4 devices"]),
        ("mesh_axis", ["'neurons'", "('batch',)"]),
        ("mesh_2d", ["size 1", "'other'"]),
        ("not_devices", ["jax.Device"]),
        ("duplicate_devices", ["distinct"]),
        ("two_d", ["'G'", "(4, 4)", "1-D"]),
        ("spike_times", ["'S'", "SpikeTimeGroup", "cannot be split"]),
        ("probe", ["PopulationRate", "state paths"]),
        ("function", ["function", "state paths"]),
        ("no_jit", ["jit=True"]),
        ("traced", ["jit/vmap/grad"]),
    ],
)
def test_shard_bad_input(cases, name, words):
    message = cases["errors"][name]
    assert message is not None, f"{name} was accepted"
    for w in words:
        assert w in message, (w, message)


# -- 2 processes x 2 devices with jax.distributed (subprocesses) ----------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_shard_distributed_two_processes_equal_one(tmp_path):
    """jax.distributed: a coordinator on localhost and 2 processes with 2 CPU devices each run one network over
    the 4 devices (with STDP), save their own shards halfway and resume from them in the same network built with
    Network.deferred; the records and the final state equal one process's one-device run, and each process built
    only its own devices' synapse lists."""
    port = _free_port()
    out = tmp_path / "dist.npz"
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE / "shard_distributed.py"), str(i), "2", str(port), str(out), str(tmp_path)],
            env=_env(2),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    logs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, logs):
        assert p.returncode == 0, err[-4000:]
    got = np.load(out)
    net = build(2000, "coba", "event", plasticity="stdp")
    ref = sj.Runner(net, dt=0.1, inputs=COBA_INPUTS, monitors=["E.spike", "I.spike", "E.v"])
    mon = ref.run(40.0)
    assert got["devices"] == 4 and got["processes"] == 2
    for k in ("E.spike", "I.spike", "E.v"):
        assert np.array_equal(got[k], mon[k]), k
    assert np.array_equal(got["w"], ref.state.synapses["EE"].w)
    assert np.array_equal(got["v_final"], ref.state.neurons["E"].v)
    assert mon["E.spike"].sum() > 100
    lists = [json.loads((tmp_path / f"lists{i}.json").read_text()) for i in range(2)]
    assert [x["process_devices"] for x in lists] == [[0, 1], [2, 3]]
    for x in lists:
        assert x["built"] == x["process_devices"]  # no process built another's synapses
        # a whole Network holds every list on each host; deferred, each holds its devices' parts (about half)
        assert x["host_list_bytes"]["deferred"] < 0.75 * x["host_list_bytes"]["whole"]


# -- in this process: layout, one device ------------------------------------------------------------------------


def test_shard_population_split_layout():
    s = PopulationSplit.of("E", 10, 4)
    assert s.counts == (3, 3, 2, 2) and s.starts == (0, 3, 6, 8) and s.slots == 4 and s.padded == 16
    assert list(s.positions) == [0, 1, 2, 4, 5, 6, 8, 9, 12, 13]
    a = np.arange(10.0) * 10
    blocks = np.stack([s.local(a, d) for d in range(4)])
    assert blocks.shape == (4, 4)
    assert list(blocks[3]) == [80.0, 90.0, 90.0, 90.0]  # ghosts repeat the device's last neuron
    assert np.array_equal(s.join(blocks), a)
    assert np.array_equal(s.from_padded(s.to_padded(a)), a)
    assert list(s.device_of(np.array([0, 2, 3, 7, 9]))) == [0, 0, 1, 2, 3]


def test_shard_one_device_equals_plain_run():
    """The sharded path on one device (every device-side mechanism but the transfer) equals the plain run, and
    shard_state / gather_state are inverse."""
    net = build(500, "coba", "event", plasticity="stdp")
    mons = ["E.spike", "E.v", "EE.w", sj.monitors.SpikeCount("n", "I")]
    plain = sj.Runner(net, dt=0.1, inputs=COBA_INPUTS, monitors=mons)
    sharded = sj.Runner(net, dt=0.1, inputs=COBA_INPUTS, monitors=mons, devices=jax.devices()[:1])
    m1, m2 = plain.run(30.0), sharded.run(30.0)
    for k in m1:
        assert np.array_equal(np.asarray(m1[k]), np.asarray(m2[k])), k
    g = sharded.global_state()
    assert jax.tree.all(jax.tree.map(lambda a, b: np.array_equal(np.asarray(a), np.asarray(b)), plain.state, g))
    shard = sharded.shard
    back = shard.gather_state(shard.shard_state(plain.state))
    assert jax.tree.all(jax.tree.map(lambda a, b: np.array_equal(np.asarray(a), np.asarray(b)), plain.state, back))


def test_shard_mesh_checks():
    dev = jax.devices()[0]
    assert make_mesh([dev]).axis_names == ("neurons",)
    assert make_mesh(jax.sharding.Mesh(np.asarray([dev]), ("neurons",))).shape == {"neurons": 1}
    with pytest.raises(ValueError, match="'neurons'"):
        make_mesh(jax.sharding.Mesh(np.asarray([dev]), ("x",)))
    with pytest.raises(ValueError, match="jax.Device"):
        make_mesh([])
    with pytest.raises(TypeError, match="snnjax.Network"):
        ShardedNetwork("not a network", [dev])
