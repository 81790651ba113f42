"""Propagators as objects: the registry, a user-written propagator, the vectorized event propagator."""

import dataclasses
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj
from snnjax import ops, propagators


@dataclasses.dataclass(frozen=True)
class SegmentSum(propagators.Propagator):
    """A user-written propagator: every synapse, summed with jax.ops.segment_sum."""

    name = "segment_sum"
    price: float = 1e15

    def cost(self, info, backend):
        return self.price

    def propagate(self, topo, w, spikes, index):
        vals = jnp.moveaxis(spikes[..., topo.pre] * w, -1, 0)
        return jnp.moveaxis(jax.ops.segment_sum(vals, topo.post, num_segments=topo.n_post), 0, -1)


def ei_network(method, n=400, max_events=None, seed=0):
    lif = dict(v_rest=-60.0, v_reset=-60.0, v_th=-50.0, tau=20.0, tau_ref=5.0, v_init=-60.0)
    exc = dict(weight=0.6, synapse=sj.synapses.Exponential(tau=5.0), output=sj.outputs.COBA(E=0.0))
    inh = dict(weight=6.7, synapse=sj.synapses.Exponential(tau=10.0), output=sj.outputs.COBA(E=-80.0))
    ne = n * 4 // 5
    kw = dict(method=method, max_events=max_events)
    return sj.Network(
        E=sj.neurons.LIF(ne, **lif),
        I=sj.neurons.LIF(n - ne, **lif),
        EE=sj.Projection("E", "E", conn=sj.conn.FixedProb(0.05, seed=seed + 1), **exc, **kw),
        EI=sj.Projection("E", "I", conn=sj.conn.FixedProb(0.05, seed=seed + 2), **exc, **kw),
        IE=sj.Projection("I", "E", conn=sj.conn.FixedProb(0.05, seed=seed + 3), **inh, **kw),
        II=sj.Projection("I", "I", conn=sj.conn.FixedProb(0.05, seed=seed + 4), **inh, **kw),
    )


def spikes_of(net, steps=600, batch_shape=()):
    state = net.init(jax.random.key(0), batch_shape=batch_shape, dt=0.1)
    drive = np.zeros((steps, *batch_shape, 1), np.float32)
    drive[:] = 12.0  # mV with r = 1: 2 mV above threshold
    drive[: steps // 2 : 37] = 300.0  # bursts: everyone fires in the same step (overflows any small bound)
    _, rec = sj.simulate(net, state, duration=steps * 0.1, dt=0.1,
                         inputs=[("E.input", drive, "iter"), ("I.input", drive, "iter")],
                         monitors=["E.spike", "I.spike"])  # fmt: skip
    return np.asarray(rec["E.spike"]), np.asarray(rec["I.spike"])


def test_registry_names_and_protocol():
    assert {"dense", "sparse", "event", "vector_event", "jit"} <= set(propagators.names())
    with pytest.raises(TypeError, match="lacks propagate"):

        @dataclasses.dataclass(frozen=True)
        class Half:
            name = "half"

            def supports(self, info):
                return None

            def cost(self, info, backend):
                return 0.0

            def bind(self, info):
                return self

            def build(self, pre, post, info):
                return None

            def prepare(self, topo, w):
                return w

        sj.Projection("a", "b", conn=sj.conn.All2All(), method=Half())
    with pytest.raises(ValueError, match="method must be one of"):
        sj.Projection("a", "b", conn=sj.conn.All2All(), method="fast")


def test_a_user_written_propagator_runs_by_object_by_name_and_through_auto():
    want = spikes_of(ei_network("sparse"))
    assert want[0].sum() > 100  # the network is active
    net = ei_network(SegmentSum())
    assert {p.method for p in net.projections.values()} == {"segment_sum"}
    got = spikes_of(net)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    propagators.register(SegmentSum(price=0.0))
    try:
        assert {p.method for p in ei_network("segment_sum").projections.values()} == {"segment_sum"}
        assert {p.method for p in ei_network("auto").projections.values()} == {"segment_sum"}  # the cheapest
    finally:
        propagators.unregister("segment_sum")
    assert "segment_sum" not in {p.method for p in ei_network("auto").projections.values()}


@pytest.mark.parametrize("batch_shape", [(), (3,)])
def test_vector_event_equals_the_other_propagators_with_overflow_bursts(batch_shape):
    ref = spikes_of(ei_network("sparse"), batch_shape=batch_shape)
    for method, bound in (("vector_event", 4), ("vector_event", None), ("event", 4), ("dense", None)):
        got = spikes_of(ei_network(method, max_events=bound), batch_shape=batch_shape)
        # dense sums in another order: the same spikes here (exact for the others: same summation order
        # is not guaranteed, but the spike trains agree for this network)
        np.testing.assert_array_equal(got[0], ref[0], err_msg=method)
        np.testing.assert_array_equal(got[1], ref[1], err_msg=method)


def test_vector_event_kernel_against_numpy_with_valued_spikes():
    rng = np.random.default_rng(3)
    n_pre, n_post, k = 50, 40, 600
    flat = rng.choice(n_pre * n_post, size=k, replace=False)
    pre, post = flat // n_post, flat % n_post
    topo = ops.Topology.from_lists(pre, post, n_pre, n_post, ell=True)
    w = rng.normal(size=k).astype(np.float32)
    for frac in (0.0, 0.05, 0.5, 1.0):
        s = (rng.random((2, n_pre)) < frac) * rng.random((2, n_pre))
        s = s.astype(np.float32)
        want = np.zeros((2, n_post))
        for b in range(2):
            np.add.at(want[b], post, s[b, pre] * w)
        index = ops.compact(jnp.asarray(s), 3)  # 3 per pass: many passes when half the group spikes
        got = propagators.vector_event(jnp.asarray(s), topo, jnp.asarray(w), index)
        np.testing.assert_allclose(got, want, atol=1e-5)
        g = jax.grad(lambda w_, s=s, index=index: propagators.vector_event(jnp.asarray(s), topo, w_, index).sum())(
            jnp.asarray(w)
        )
        np.testing.assert_allclose(g, s[:, pre].sum(0), atol=1e-5)


def test_auto_picks_vector_event_on_accelerators_and_event_on_cpu():
    assert sj.projection.choose_method(4000, 4000, 320_000, activity=0.002, backend="gpu") == "vector_event"
    assert sj.projection.choose_method(4000, 4000, 320_000, activity=0.002, backend="tpu") == "vector_event"
    assert sj.projection.choose_method(4000, 4000, 320_000, activity=0.002, backend="cpu") == "event"


def test_the_spike_index_is_not_state_checkpoints_ignore_max_events(tmp_path):
    small, large = ei_network("event", max_events=8), ei_network("event", max_events=200)
    s_small = small.init(jax.random.key(0), dt=0.1)
    s_large = large.init(jax.random.key(0), dt=0.1)
    assert jax.tree.structure(s_small) == jax.tree.structure(s_large)
    assert [a.shape for a in jax.tree.leaves(s_small)] == [a.shape for a in jax.tree.leaves(s_large)]
    for buf in s_small.delays.values():
        assert buf.data.dtype == jnp.bool_
    drive = [("E.input", 12.0), ("I.input", 12.0)]
    mid, _ = sj.simulate(small, s_small, duration=30.0, dt=0.1, inputs=drive)
    sj.save_state(tmp_path / "mid.npz", mid)
    back = sj.load_state(tmp_path / "mid.npz", large.init(jax.random.key(0), dt=0.1))
    end_large, rec_large = sj.simulate(large, back, duration=30.0, dt=0.1, inputs=drive, monitors=["E.spike"])
    end_small, rec_small = sj.simulate(small, mid, duration=30.0, dt=0.1, inputs=drive, monitors=["E.spike"])
    np.testing.assert_array_equal(rec_large["E.spike"], rec_small["E.spike"])
    assert np.asarray(rec_small["E.spike"]).sum() > 0


def test_r12_row_tables_only_for_propagators_that_need_them():
    # a 2,000-neuron network with one hub neuron once held 32 MB of unused event tables for every method
    n = 2000
    pre = np.concatenate([np.zeros(n, np.int32), np.arange(1, n, dtype=np.int32)])
    post = np.concatenate([np.arange(n, dtype=np.int32), np.zeros(n - 1, np.int32)])
    for method, has_rows in (("sparse", False), ("dense", False), ("event", True), ("vector_event", True)):
        net = sj.Network(a=sj.neurons.LIF(n), p=sj.Projection("a", "a", conn=(pre, post), method=method))
        topo = net.projections["p"].topology
        assert (topo.ell_post is not None) == has_rows, method
        assert topo.in_pre is None  # transposed tables only for event-driven plasticity


def test_every_propagator_under_x64():
    # float64 states: every propagator gives the spikes of `sparse`, and the delay buffers stay bool
    code = f"""
import jax, jax.numpy as jnp, numpy as np, sys
sys.path.insert(0, {os.path.dirname(__file__)!r})
import test_propagators as t
assert jax.config.jax_enable_x64
ref = t.spikes_of(t.ei_network("sparse"), steps=300)
for m in ("dense", "event", "vector_event"):
    got = t.spikes_of(t.ei_network(m, max_events=4), steps=300)
    assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1]), m
net = t.ei_network("event")
st = net.init(jax.random.key(0), dt=0.1)
assert st.neurons["E"].v.dtype == jnp.float64
print("ok", int(ref[0].sum()))
"""
    env = {**os.environ, "JAX_ENABLE_X64": "1", "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-3000:]
