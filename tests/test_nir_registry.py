"""NIR exporters registered per class (snnjax.nir.register_exporter): a population class of one's own is exported by
registering a function, looked up along its MRO; an unregistered one is refused naming the class and the fix."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct

import snnjax as sj

nir = pytest.importorskip("nir")
sn = pytest.importorskip("snnjax.nir")

DT = 1.0  # ms; time_scale=1 below: the graph's times are in ms
T = 60


def leaky_class():
    """A user's neuron model written on ODENeuron (not a subclass of any model snnjax exports): a fresh class per
    test, so that what one test registers never reaches another."""

    @struct.dataclass
    class Leaky(sj.neurons.ODENeuron):
        """tau dv/dt = v_rest - v + r I (mV, ms, MOhm, nA); a spike at v >= v_th, then v = v_reset."""

        v_rest: float = 0.0
        v_th: float = 1.0
        v_reset: float = 0.0
        tau: float = 5.0
        r: float = 1.0

        STATE = dict(v=("v_rest", "membrane potential, mV."))

        def derivatives(self, s, current):
            return dict(v=(self.v_rest - s.v + self.r * current) / self.tau)

    return Leaky


def network(cls, kinetics=None, **params):
    w = np.random.default_rng(3).normal(0.8, 0.6, size=(4, 3))  # (n_pre, n_post)
    return sj.Network(
        inp=sj.inputs.SpikeArray(4),
        n=cls(3, **params),
        syn=sj.Projection("inp", "n", conn=sj.conn.All2All(), weight=w, synapse=kinetics or sj.synapses.Delta()),
    )


def export_leaky(pop, ctx):
    """What a user writes: the model's parameters as a NIR LIF node (times in NIR units)."""
    return nir.LIF(
        tau=ctx.array(pop.tau) / ctx.time_scale,
        r=ctx.array(pop.r),
        v_leak=ctx.array(pop.v_rest),
        v_threshold=ctx.array(pop.v_th),
        v_reset=ctx.array(pop.v_reset),
    )


def test_unregistered_class_is_refused_naming_it_and_the_fix():
    Leaky = leaky_class()
    with pytest.raises(ValueError, match=r"population 'n' is a Leaky.*snnjax\.nir\.register_exporter\(Leaky, fn\)"):
        sn.to_nir(network(Leaky), dt=DT, time_scale=1.0)


def test_registered_class_is_exported_and_runs_back_the_same():
    Leaky = leaky_class()
    assert sn.register_exporter(Leaky, export_leaky) is export_leaky
    net = network(Leaky, tau=4.0, r=2.0, v_th=1.5, v_reset=-0.5)
    graph = sn.to_nir(net, dt=DT, time_scale=1.0)
    node = graph.nodes["n"]
    assert type(node) is nir.LIF
    np.testing.assert_array_equal(node.tau, np.full(3, 4.0))  # ms / time_scale
    np.testing.assert_array_equal(node.r, np.full(3, 2.0))
    np.testing.assert_array_equal(node.v_threshold, np.full(3, 1.5))
    np.testing.assert_array_equal(node.v_reset, np.full(3, -0.5))
    assert "n_output" in graph.nodes  # output="spike" (the default): an Output after a population without targets

    # back into snnjax: a LIF with the same parameters, and the same spikes as the user's model
    imp = sn.from_nir(graph, DT, time_scale=1.0)
    lif = imp.network.populations[imp.outputs["n_output"].split(".")[0]]
    assert isinstance(lif, sj.neurons.LIF)
    np.testing.assert_allclose(np.broadcast_to(lif.tau, (3,)), 4.0)
    x = (np.random.default_rng(0).random((T, 4)) < 0.4).astype(np.float32)
    _, rec = sj.simulate(net, net.init(dt=DT), duration=T * DT, dt=DT, inputs=[("inp.input", x)],
                         monitors=["n.spike", "n.v"])  # fmt: skip
    back = imp.network
    feed, path = [(f"{imp.inputs['inp']}.input", x)], imp.outputs["n_output"]
    _, got = sj.simulate(back, back.init(dt=DT), duration=T * DT, dt=DT, inputs=feed, monitors=[path])
    ours = np.asarray(rec["n.spike"])
    assert 5 < ours.sum() < ours.size  # some spikes, not all
    np.testing.assert_array_equal(got[path], ours)  # the user's model, step for step


def test_decorator_output_none_and_mro():
    Leaky = leaky_class()

    @sn.register_exporter(Leaky, output=None)
    def export(pop, ctx):
        return export_leaky(pop, ctx)

    assert "n_output" not in sn.to_nir(network(Leaky), dt=DT, time_scale=1.0).nodes  # output=None: no default Output

    @struct.dataclass
    class Sub(Leaky):  # a subclass without an exporter of its own: its base's, found along the MRO
        pass

    assert type(sn.to_nir(network(Sub), dt=DT, time_scale=1.0).nodes["n"]) is nir.LIF

    sn.register_exporter(Sub, lambda pop, ctx: nir.I(r=ctx.array(pop.r)), output="v")  # its own, for it only
    assert type(sn.to_nir(network(Sub), dt=DT, time_scale=1.0).nodes["n"]) is nir.I
    assert type(sn.to_nir(network(Leaky), dt=DT, time_scale=1.0).nodes["n"]) is nir.LIF


def test_exponential_kinetics_need_synaptic_true():
    Leaky = leaky_class()
    sn.register_exporter(Leaky, export_leaky)
    net = network(Leaky, kinetics=sj.synapses.Exponential(tau=3.0))
    with pytest.raises(ValueError, match=r"'n' \(Leaky\) cannot take Exponential synapses"):
        sn.to_nir(net, dt=DT, time_scale=1.0)

    seen = []

    def export_cuba(pop, ctx):
        seen.append(ctx.tau_syn)
        lif = export_leaky(pop, ctx)
        return nir.CubaLIF(tau_syn=ctx.tau_syn / ctx.time_scale, tau_mem=lif.tau, r=lif.r, v_leak=lif.v_leak,
                           v_threshold=lif.v_threshold, v_reset=lif.v_reset, w_in=np.ones(3))  # fmt: skip

    sn.register_exporter(Leaky, export_cuba, synaptic=True)  # registering again replaces
    node = sn.to_nir(net, dt=DT, time_scale=1.0).nodes["n"]
    assert type(node) is nir.CubaLIF
    np.testing.assert_array_equal(seen[0], np.full(3, 3.0))  # the kinetics' tau, ms, in the population's shape
    np.testing.assert_array_equal(node.tau_syn, np.full(3, 3.0))


def test_register_exporter_checks_its_arguments():
    with pytest.raises(TypeError, match="cls must be a class"):
        sn.register_exporter("LIF", export_leaky)
    with pytest.raises(TypeError, match="fn must be a callable"):
        sn.register_exporter(leaky_class(), 3)
    with pytest.raises(ValueError, match=r"output must be one of \('spike', 'v', None\)"):
        sn.register_exporter(leaky_class(), export_leaky, output="w")
    with pytest.raises(TypeError, match="synaptic must be True or False"):
        sn.register_exporter(leaky_class(), export_leaky, synaptic=1)


def test_builtin_exporters_are_registered_classes():
    """The models snnjax writes are entries of the same registry (no isinstance chain beside it)."""
    for cls in (sj.neurons.LIF, sj.neurons.LI, sj.neurons.IF, sj.neurons.Integrator, sj.inputs.SpikeArray, sn.Bias):
        assert cls in sn._EXPORTERS
    ctx = sn.ExportContext(name="x", shape=(2, 3), dt=0.1, time_scale=1000.0)
    np.testing.assert_array_equal(ctx.array(jnp.asarray(2.0)), np.full((2, 3), 2.0))
