"""Per-synapse delays delivered once, at emission, into a ring of future input (snnjax.formats.rows.loops.ring_deliver;
the ``event`` and ``vector_event`` propagators): spike for spike the ``sparse`` run, which reads every synapse's delayed
spike every step, in float32 and float64, batched, resumed from a checkpoint, and on 4 forced devices."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj
from snnjax import ops

HERE = Path(__file__).parent
LIF = dict(v_rest=-60.0, v_th=-50.0, v_reset=-60.0, tau=20.0, tau_ref=2.0, v_init=sj.init.Normal(-55.0, 4.0))


def random_list(n, k, seed, shuffle=False):
    rng = np.random.default_rng(seed)
    key = np.unique(rng.integers(0, n, k) * n + rng.integers(0, n, k))
    if shuffle:  # a user's unsorted list: the padded row tables, not the windows of a sorted one
        key = key[rng.permutation(key.size)]
    pre, post = key // n, key % n
    # weights of a few binary digits: every sum is exact in float32, so any summation order gives the same bits
    return pre, post, rng.integers(1, 8, pre.size) / 8.0, rng.integers(1, 35, pre.size) * 0.1


def network(method, n=150, seed=0, shuffle=False, synapse=None):
    pre, post, w, d = random_list(n, 3000, seed, shuffle)
    return sj.Network(
        E=sj.neurons.LIF(n, **LIF),
        EE=sj.Projection("E", "E", conn=(pre, post), weight=w, delay=d, method=method,
                         synapse=synapse or sj.synapses.Exponential(5.0)),
    )  # fmt: skip


def run(net, duration=150.0, batch=(), state=None, drive=12.0):
    state = net.init(key=jax.random.key(1), dt=0.1, batch_shape=batch) if state is None else state
    return sj.simulate(net, state, duration=duration, dt=0.1, inputs=[("E.input", drive)], monitors=["E.spike", "EE.g"])


@pytest.mark.parametrize("method", ["event", "vector_event"])
@pytest.mark.parametrize("shuffle", [False, True], ids=["sorted", "unsorted"])
def test_ring_equals_sparse_spike_for_spike(method, shuffle):
    ring, sparse = network(method, shuffle=shuffle), network("sparse", shuffle=shuffle)
    assert ring.projections["EE"].ring_delivery and not sparse.projections["EE"].ring_delivery
    assert (ring.projections["EE"].topology.row_ptr is None) == shuffle  # sorted lists are read as windows
    (_, a), (_, b) = run(ring), run(sparse)
    assert a["E.spike"].sum() > 300  # an active network
    np.testing.assert_array_equal(a["E.spike"], b["E.spike"])
    np.testing.assert_array_equal(a["EE.g"], b["EE.g"])  # exact sums: the same conductance, bit for bit


def test_ring_equals_sparse_in_float64_with_alpha_kinetics():
    with jax.enable_x64(True):
        rng = np.random.default_rng(5)
        pre, post, _, d = random_list(120, 2500, 5)
        w = rng.uniform(0.1, 0.9, pre.size)  # arbitrary weights: float64 rounding cannot flip a threshold here

        def net(method):
            return sj.Network(E=sj.neurons.LIF(120, **LIF),
                              EE=sj.Projection("E", "E", conn=(pre, post), weight=w, delay=d, method=method,
                                               synapse=sj.synapses.Alpha(3.0)))  # fmt: skip

        (_, a), (_, b) = run(net("event")), run(net("sparse"))
        assert a["EE.g"].dtype == jnp.float64
        np.testing.assert_array_equal(a["E.spike"], b["E.spike"])
        np.testing.assert_allclose(a["EE.g"], b["EE.g"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("method", ["event", "vector_event"])
def test_ring_batched_equals_each_element(method):
    net = network(method)
    net.populations["E"] = net.populations["E"].replace(v_init=-55.0)  # the same start in every batch element
    drive = jnp.array([10.0, 12.0, 14.0])[:, None]
    state = net.init(dt=0.1, batch_shape=(3,))
    _, rec = sj.simulate(net, state, duration=100.0, dt=0.1, inputs=[("E.input", drive)], monitors=["E.spike"])
    assert rec["E.spike"].shape == (1000, 3, 150) and rec["E.spike"][:, 2].sum() > rec["E.spike"][:, 0].sum()
    for i in range(3):
        _, r = sj.simulate(net, net.init(dt=0.1), duration=100.0, dt=0.1, inputs=[("E.input", drive[i])],
                           monitors=["E.spike"])  # fmt: skip
        np.testing.assert_array_equal(rec["E.spike"][:, i], r["E.spike"])


def test_ring_resumed_from_a_checkpoint_is_bit_identical(tmp_path):
    net = network("event")
    whole, rec = run(net, 200.0)
    half, first = run(net, 100.0)
    assert float(jnp.abs(half.synapses["EE"].ring).sum()) > 0  # input waiting in the ring at the cut
    sj.save_state(tmp_path / "s.npz", half)
    resumed, second = run(net, 100.0, state=sj.load_state(tmp_path / "s.npz", like=half))
    np.testing.assert_array_equal(np.concatenate([first["E.spike"], second["E.spike"]]), rec["E.spike"])
    jax.tree.map(np.testing.assert_array_equal, resumed, whole)


def test_lags_narrowest_type_and_ring_state():
    net = network("event")
    proj = net.projections["EE"]
    lag = proj.lags(0.1)
    assert lag.dtype == np.uint8 and lag.max() == 34  # 3.4 ms at 0.1 ms
    assert ops.lag_dtype(255) == np.uint8 and ops.lag_dtype(256) == np.int16 and ops.lag_dtype(40000) == np.int32
    state = net.init(key=jax.random.key(0), dt=0.1)
    assert state.synapses["EE"].ring.shape == (34, 150)  # the longest lag, per postsynaptic neuron
    assert "EE.ring" in net.monitor_paths() and proj.topology.pre is None  # rows-only: pre derived from row_ptr
    np.testing.assert_array_equal(proj.topology.pre_index(), np.sort(random_list(150, 3000, 0)[0]))


def test_auto_picks_the_ring_and_sparse_where_the_ring_cannot_be_exact():
    pre, post, w, d = random_list(3000, 200_000, 2)  # sizes where events cost less than every synapse
    base = dict(conn=(pre, post), weight=w, delay=d)
    pops = dict(A=sj.neurons.LIF(3000), B=sj.neurons.LIF(3000))
    assert sj.Network(**pops, p=sj.Projection("A", "B", **base)).projections["p"].method == "event"
    for extra in (dict(stp=sj.synapses.STP()), dict(plasticity=sj.plasticity.STDP()),
                  dict(synapse=sj.synapses.AMPA())):  # fmt: skip
        assert sj.Network(**pops, p=sj.Projection("A", "B", **base, **extra)).projections["p"].method == "sparse"
    with pytest.raises(ValueError, match="method='event' cannot run this projection: short-term plasticity"):
        sj.Network(**pops, p=sj.Projection("A", "B", **base, method="event", stp=sj.synapses.STP()))


def test_gradient_through_the_ring_equals_sparse():
    def loss(w, method):
        pre, post, _, d = random_list(60, 600, 4)
        net = sj.Network(E=sj.neurons.LIF(60, **LIF),
                         EE=sj.Projection("E", "E", conn=(pre, post), weight=w, delay=d, method=method,
                                          synapse=sj.synapses.Exponential(5.0)))  # fmt: skip
        _, rec = sj.simulate(net, net.init(key=jax.random.key(1), dt=0.1), duration=20.0, dt=0.1,
                             inputs=[("E.input", 12.0)], monitors=["EE.g", "E.v"])  # fmt: skip
        return rec["EE.g"].sum() + rec["E.v"].sum()

    w = jnp.asarray(random_list(60, 600, 4)[2], jnp.float32)
    g_ring, g_sparse = jax.grad(loss)(w, "event"), jax.grad(loss)(w, "sparse")
    assert float(jnp.abs(g_sparse).max()) > 0
    np.testing.assert_allclose(g_ring, g_sparse, rtol=1e-5, atol=1e-6)


def test_a_state_with_a_short_ring_is_refused():
    net = network("event")
    state = net.init(key=jax.random.key(0), dt=0.2)  # a ring of 17 steps: the lags at 0.1 ms need 34
    with pytest.raises(ValueError, match="needs a ring of 34 steps"):
        sj.simulate(net, state, duration=1.0, dt=0.1)


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    from test_sharding import _env

    out = tmp_path_factory.mktemp("ring") / "cases.json"
    proc = subprocess.run([sys.executable, str(HERE / "ring_cases.py"), str(out)], env=_env(4), capture_output=True,
                          text=True, timeout=1200)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(out.read_text())


def test_ring_and_poisson_input_on_4_devices_equal_one_device(sharded):
    case = sharded["ring_poisson"]
    assert sharded["ring_methods"] == ["event"]
    assert case.pop("spikes") > 200, case
    assert case == {k: True for k in case}, case


def test_q01_per_neuron_state_never_taken_for_per_synapse(sharded):
    """Issue 24 q01: a projection with as many synapses as target neurons, one device holding exactly ``slots`` of
    them: ``EE.g`` (per neuron), STDP's ``apost`` (per neuron) and ``w`` (per synapse) keep their layout in records,
    ``global_state()`` and a one-device state resumed on 4 devices (each state leaf declares its axis,
    :mod:`snnjax.axes`, instead of a guess from its length)."""
    for name in ("q01_clash", "q01_stdp", "q01_resume"):
        case = dict(sharded[name])
        assert case.pop("spikes") > 50, name
        assert case == {k: True for k in case}, (name, case)


def test_ring_kernel_is_bit_identical_to_the_xla_ring(monkeypatch):
    """The compiled ring delivery (snnjax.kernels.deliver) adds the same terms in the same order as the XLA loop."""
    if not sj.kernels.active():
        pytest.skip(f"no compiled kernels here: {sj.kernels.status()}")
    rng = np.random.default_rng(8)
    pre, post, _, d = random_list(300, 9000, 8)
    w = rng.uniform(0.05, 0.6, pre.size)  # any weights: the order of the sums is the same on both paths
    out = {}
    for mode in ("auto", "xla"):
        monkeypatch.setenv("SNNJAX_KERNELS", mode)
        net = sj.Network(E=sj.neurons.LIF(300, **LIF),
                         EE=sj.Projection("E", "E", conn=(pre, post), weight=w, delay=d,
                                          synapse=sj.synapses.Exponential(5.0)))  # fmt: skip
        assert net.projections["EE"].propagator.kernel == (mode == "auto")
        out[mode] = run(net, 150.0, batch=(2,), drive=jnp.array([11.0, 13.0])[:, None])
    (sa, ra), (sx, rx) = out["auto"], out["xla"]
    assert ra["E.spike"].sum() > 500
    np.testing.assert_array_equal(ra["E.spike"], rx["E.spike"])
    np.testing.assert_array_equal(ra["EE.g"], rx["EE.g"])
    np.testing.assert_array_equal(sa.synapses["EE"].ring, sx.synapses["EE"].ring)


def test_a_delay_beyond_the_ring_is_refused():
    pre, post, w, d = random_list(50, 400, 3)
    with pytest.raises(ValueError, match="exceeds max_delay=1.0 ms"):
        sj.Network(E=sj.neurons.LIF(50), EE=sj.Projection("E", "E", conn=(pre, post), weight=w, delay=d, max_delay=1.0))

    def run_traced(scale):  # a delay traced under jit, beyond the ring that max_delay sizes: a runtime error
        net = sj.Network(E=sj.neurons.LIF(50),
                         EE=sj.Projection("E", "E", conn=(pre, post), weight=w, delay=jnp.asarray(d) * scale,
                                          max_delay=3.5, method="event"))  # fmt: skip
        return sj.simulate(net, net.init(dt=0.1), duration=1.0, dt=0.1)[0].step

    assert int(jax.jit(run_traced)(1.0)) == 10
    with pytest.raises(Exception, match="beyond the delay buffer of 35 steps"):
        jax.block_until_ready(jax.jit(run_traced)(2.0))
