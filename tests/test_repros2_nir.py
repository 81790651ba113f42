"""Issue 24 ("Silent wrong results, round two"), the NIR and N-D synapse defects q02-q05, q07-q09: each test is its
reproduction in ../shared/repros2/ with the values it prints asserted (each failed on the code before the fix)."""

import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj

nir = pytest.importorskip("nir")
sn = pytest.importorskip("snnjax.nir")


def _graph(nodes, edges):
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


# -- q02: synapse parameters shaped like an N-D postsynaptic group --------------------------------------------------
def test_q02_nd_synapse_param_runs_and_acts_per_neuron():
    """``Exponential(tau)`` of shape (2, 3) into ``LIF((2, 3))`` was accepted at build and refused by every run
    (checked against (6,)); it must run and act on each neuron as the same network written flat does."""
    tau = np.array([[2.0, 3.0, 4.0], [5.0, 6.0, 7.0]], np.float32)
    rng = np.random.default_rng(1)
    w = jnp.asarray(rng.normal(size=(6, 6)) * 3.0, jnp.float32)
    x = (rng.random((40, 6)) < 0.3).astype(np.float32)

    def run(shape, tau_s):
        net = sj.Network(A=sj.inputs.SpikeArray(6), B=sj.neurons.LIF(shape, tau=10.0, v_th=1.0, tau_ref=0.0),
                         AB=sj.Projection("A", "B", conn=sj.conn.All2All(), weight=w,
                                          synapse=sj.synapses.Exponential(tau=tau_s)))  # fmt: skip
        _, rec = sj.simulate(net, net.init(dt=0.1), duration=4.0, dt=0.1, inputs=[("A.input", x, "iter")],
                             monitors=["B.v", "AB.g"])  # fmt: skip
        return np.asarray(rec["B.v"]).reshape(40, 6), np.asarray(rec["AB.g"]).reshape(40, 6)

    v_nd, g_nd = run((2, 3), tau)
    v_flat, g_flat = run(6, tau.reshape(6))
    # the synaptic current of a neuron decays with its own tau: g after the last input spike, step by step
    np.testing.assert_array_equal(g_nd, g_flat)
    np.testing.assert_array_equal(v_nd, v_flat)
    assert np.any(g_flat != 0)


def test_q02_nir_conv_into_cubalif_with_chw_parameters():
    """Input -> Conv2d -> CubaLIF with (C, H, W) parameters (as conv nets are exported) ran into the same refusal; its
    spikes must be NIR's (NumPy reference: cross-correlation, then the CubaLIF ODE exact with the input held)."""
    rng = np.random.default_rng(0)
    sh = (2, 3, 3)
    kern = rng.normal(size=(2, 1, 3, 3))
    tau_syn = 2.0 + rng.random(sh) * 4.0  # per neuron: a flat tau_syn would be wrong somewhere
    g = _graph({
        "in": nir.Input(np.array([1, 3, 3])),
        "conv": nir.Conv2d(input_shape=(3, 3), weight=kern, stride=1, padding=1, dilation=1, groups=1,
                           bias=np.zeros(2)),
        "lif": nir.CubaLIF(tau_syn=tau_syn, tau_mem=np.full(sh, 6.0), r=np.ones(sh), v_leak=np.zeros(sh),
                           v_threshold=np.full(sh, 0.5), v_reset=np.zeros(sh), w_in=np.ones(sh)),
        "out": nir.Output(np.array(sh))}, [("in", "conv"), ("conv", "lif"), ("lif", "out")])  # fmt: skip
    imp = sn.from_nir(g, 1.0, time_scale=1.0)
    params, fn = imp.function()
    x = (rng.random((10, 1, 3, 3)) < 0.5).astype(np.float32)
    out = np.asarray(fn(params, x))
    assert out.shape == (10, 2, 3, 3)
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    drive = np.stack([np.einsum("tcij,fcij->tf", xp[:, :, i : i + 3, j : j + 3], kern) for i in range(3)
                      for j in range(3)], -1).reshape(10, *sh)  # fmt: skip
    cur, v, ref, margin = np.zeros(sh), np.zeros(sh), [], np.inf
    for s in drive:
        cur = cur * np.exp(-1.0 / tau_syn) + (1 - np.exp(-1.0 / tau_syn)) * s
        v = cur + (v - cur) * np.exp(-1.0 / 6.0)
        margin = min(margin, np.min(np.abs(v - 0.5)))
        z = (v > 0.5).astype(float)
        v = np.where(z > 0, 0.0, v)
        ref.append(z)
    ref = np.array(ref)
    assert margin > 1e-4 and 0 < ref.sum() < ref.size  # spikes and silences, none within float32 error
    np.testing.assert_array_equal(out, ref)
