"""Issue 24 ("Silent wrong results, round two"), the NIR and N-D synapse defects q02-q05, q07-q09: each test is its
reproduction in ../shared/repros2/ with the values it prints asserted (each failed on the code before the fix)."""

import os

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


# -- q03: an imported IF starts at 0 --------------------------------------------------------------------------------
def _if_graph(v_reset):
    n = 5
    w = np.random.default_rng(7).normal(size=(n, 6)) * 1.5
    g = _graph({"in": nir.Input(input_type=np.array([6])), "w": nir.Linear(weight=w),
                "n": nir.IF(r=np.full(n, 0.4), v_threshold=np.full(n, 1.0), v_reset=np.full(n, v_reset)),
                "out": nir.Output(np.array([n]))}, [("in", "w"), ("w", "n"), ("n", "out")])  # fmt: skip
    return g, w


def test_q03_nir_if_starts_at_zero_not_v_reset():
    g, w = _if_graph(-0.9)
    x = (np.random.default_rng(0).random((25, 6)) < 0.3).astype(np.float32)
    imp = sn.from_nir(g, 1.0, time_scale=1.0)
    params, fn = imp.function()
    out = np.asarray(fn(params, x))
    v, ref = np.zeros(5), []  # NIR's IF: v from 0, v += dt r I, spike if v > thr, v = v_reset
    for i in x.astype(np.float64) @ w.T:
        v = v + 0.4 * i
        z = (v > 1.0).astype(float)
        v = np.where(z > 0, -0.9, v)
        ref.append(z)
    ref = np.array(ref)
    np.testing.assert_array_equal(np.asarray(imp.network.init().neurons["n"].v), np.zeros(5))
    assert np.argwhere(ref > 0).tolist() == [[9, 1]]
    np.testing.assert_array_equal(out, ref)  # was [[10, 1]]: one step late, from -0.9
    # export keeps the contract: the imported IF (v_init = 0) is written; an IF starting at v_reset != 0 is refused
    back = sn.from_nir(sn.to_nir(imp, time_scale=1.0), 1.0, time_scale=1.0)
    np.testing.assert_array_equal(np.asarray(back.function()[1](back.function()[0], x)), ref)
    net = sj.Network(inp=sj.inputs.SpikeArray(2), h=sj.neurons.IF(2, v_reset=-0.9),
                     p=sj.Projection("inp", "h", conn=sj.conn.All2All(), weight=1.0))  # fmt: skip
    with pytest.raises(ValueError, match=r"'h' \(IF\) has v_init=None \(v = v_reset\).*start at v = 0"):
        sn.to_nir(net, dt=1.0)


# -- q04: a threshold of 0 ------------------------------------------------------------------------------------------
def test_q04_nir_zero_threshold_does_not_fire_at_zero():
    x = np.zeros((6, 2), np.float32)
    x[2, 1] = 1.0
    g = _graph({"in": nir.Input(np.array([2])), "s": nir.Scale(scale=np.array([1.0, 1.0])),
                "t": nir.Threshold(threshold=np.array([0.0, 0.0])), "out": nir.Output(np.array([2]))},
               [("in", "s"), ("s", "t"), ("t", "out")])  # fmt: skip
    params, fn = sn.from_nir(g, 1.0, time_scale=1.0).function()
    out = np.asarray(fn(params, x))
    np.testing.assert_array_equal(out, (x > 0.0).astype(np.float32))  # was 1 everywhere
    lif = nir.LIF(tau=np.full(2, 5.0), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.zeros(2), v_reset=np.zeros(2))
    g2 = _graph({"in": nir.Input(np.array([2])), "l": lif, "out": nir.Output(np.array([2]))},
                [("in", "l"), ("l", "out")])  # fmt: skip
    imp2 = sn.from_nir(g2, 1.0, time_scale=1.0)
    params2, fn2 = imp2.function()
    assert float(np.asarray(fn2(params2, np.zeros((6, 2), np.float32))).sum()) == 0.0  # was 12
    # the representation: the smallest normal float, written back as 0
    tiny = np.finfo(np.float32).tiny
    np.testing.assert_array_equal(np.asarray(imp2.network.populations["l"].v_th), [tiny, tiny])
    np.testing.assert_array_equal(sn.to_nir(imp2).nodes["l"].v_threshold, [0.0, 0.0])


def _zero_or_normal(y, up):
    """The zero-or-normal float32 next to ``y`` (itself where it is one): XLA flushes subnormals to 0."""
    tiny = np.finfo(np.float32).tiny
    sub = np.abs(y) < tiny
    out = np.where(sub & (y > 0) & up, tiny, np.where(sub & (y < 0) & ~up, -tiny, np.where(sub, 0.0, y)))
    return out.astype(np.float32)


def test_q04_every_threshold_fires_as_v_greater_than_threshold():
    """Through imported Threshold nodes (``v`` = the input), for each threshold the smallest ``v`` XLA can hold above
    it (``m``, step 0) fires and the largest at or below it (``p``, step 1) does not; firing is monotone in ``v``, so
    that is ``v > threshold`` for every ``v``. Exact for 0, subnormal thresholds and ``|thr| >= 2**-103``; below
    that, thresholds less than ``tiny`` under a power of two, and those in (-2 tiny, -tiny), cannot be met by
    ``v - v_th >= 0`` with subnormal differences flushed (docs/nir.md): they never fire at or below the threshold."""
    tiny = np.finfo(np.float32).tiny
    rng = np.random.default_rng(0)
    sub = rng.integers(1, 2**23, 3000).astype(np.int32).view(np.float32)  # subnormals
    small = rng.integers(2**23, np.float32(2.0**-103).view(np.int32), 20000).astype(np.int32).view(np.float32)
    large = rng.integers(np.float32(2.0**-103).view(np.int32), np.float32(1e30).view(np.int32), 20000)
    special = np.array([0.0, -0.0, tiny, 2 * tiny, 3 * tiny, 1.0, 0.5, -1.0, 1e-30, 2.0**-103], np.float32)
    thr = np.concatenate([special, sub, small, large.astype(np.int32).view(np.float32)])
    thr = np.concatenate([thr, -thr])
    n = thr.size
    m = _zero_or_normal(np.nextafter(thr, np.float32(np.inf)), True)
    p = _zero_or_normal(np.nextafter(m, np.float32(-np.inf)), False)
    g = _graph({"in": nir.Input(np.array([n])), "s": nir.Scale(scale=np.ones(n)), "t": nir.Threshold(threshold=thr),
                "out": nir.Output(np.array([n]))}, [("in", "s"), ("s", "t"), ("t", "out")])  # fmt: skip
    params, fn = sn.from_nir(g, 1.0, time_scale=1.0).function()
    above = thr + tiny  # the first v at least tiny above the threshold (above - thr is exact in float32)
    above = _zero_or_normal(np.where(above - thr < tiny, np.nextafter(above, np.float32(np.inf)), above), True)
    out = np.asarray(fn(params, np.stack([m, p, above])))
    assert not out[1].any()  # never at or below the threshold
    assert out[2].all()  # and at most tiny (1.2e-38) late
    t64 = np.abs(thr.astype(np.float64))
    pow2 = 2.0 ** np.floor(np.log2(np.where(t64 > 0, t64, 1.0)) + 1)
    unreachable = (
        (t64 >= tiny)
        & (t64 < 2.0**-103)
        & (((thr > 0) & (pow2 - t64 < tiny)) | ((thr < 0) & (t64 > tiny) & (t64 <= 2 * tiny)))
    )
    np.testing.assert_array_equal(out[0][~unreachable], 1.0)
    assert unreachable.sum() < 0.05 * n and unreachable[special.size :].any()  # the exceptions were sampled
    # the thresholds 0 and subnormal are exact (the case of q04), and NIR's are written back
    assert np.all(out[0][np.abs(thr) < tiny] == 1.0)


# -- q05: a bias through a Delay ------------------------------------------------------------------------------------
def test_q05_nir_bias_is_delayed_by_the_delay_after_it():
    rng = np.random.default_rng(0)
    w1, w2 = rng.normal(size=(4, 3)), rng.normal(size=(2, 4))
    b1, b2 = np.full(4, 1.0), np.full(2, 0.5)
    g = _graph({"in": nir.Input(np.array([3])), "a1": nir.Affine(weight=w1, bias=b1),
                "d": nir.Delay(delay=np.full(4, 3.0)), "a2": nir.Affine(weight=w2, bias=b2),
                "acc": nir.I(r=np.ones(2)), "out": nir.Output(np.array([2]))},
               [("in", "a1"), ("a1", "d"), ("d", "a2"), ("a2", "acc"), ("acc", "out")])  # fmt: skip
    params, fn = sn.from_nir(g, 1.0, time_scale=1.0).function()
    out = np.asarray(fn(params, np.zeros((8, 3), np.float32)))
    ref = np.cumsum([b2 + (w2 @ b1 if t >= 3 else 0.0) for t in range(8)], axis=0)
    np.testing.assert_allclose(out[:3], [[0.5, 0.5], [1.0, 1.0], [1.5, 1.5]], atol=1e-6)  # was -4.02 from step 0
    np.testing.assert_allclose(out, ref, atol=1e-4)


# -- q07: to_nir and v_init of LI / Integrator ----------------------------------------------------------------------
def test_q07_to_nir_refuses_li_and_integrator_v_init(tmp_path):
    rng = np.random.default_rng(0)

    def net(ro_init, acc_init):
        return sj.Network(
            inp=sj.inputs.SpikeArray(4),
            ro=sj.neurons.LI(3, tau=10.0, v_rest=0.0, v_init=ro_init),
            acc=sj.neurons.Integrator(3, v_init=acc_init),
            a=sj.Projection("inp", "ro", conn=sj.conn.All2All(), weight=jnp.asarray(rng.normal(size=(4, 3)))),
            b=sj.Projection("inp", "acc", conn=sj.conn.All2All(), weight=jnp.asarray(rng.normal(size=(4, 3)))),
        )

    with pytest.raises(ValueError, match=r"'ro' \(LI\) has v_init=5.0"):  # was written, starting at rest
        sn.save_nir(os.path.join(tmp_path, "m.nir"), net(5.0, None), dt=0.1)
    with pytest.raises(ValueError, match=r"'acc' \(Integrator\) has v_init=-2.0"):
        sn.to_nir(net(None, -2.0), dt=0.1)
    with pytest.raises(ValueError, match=r"'acc' \(Integrator\) has v_init=Constant"):
        sn.to_nir(net(None, sj.init.Constant(0.0)), dt=0.1)  # a spec: not a NIR state either
    # a v_init that is where NIR starts (LI: v_leak, I: 0) changes nothing: exported, same output after the trip
    x = (rng.random((20, 4)) < 0.3).astype(np.float32)
    orig = net(0.0, 0.0)
    sn.save_nir(os.path.join(tmp_path, "m.nir"), orig, dt=0.1)
    back = sn.load_nir(os.path.join(tmp_path, "m.nir"), dt=0.1).network
    mons = ["ro.v", "acc.v"]
    feeds = [("inp.input", x, "iter")]
    _, r1 = sj.simulate(orig, orig.init(), duration=2.0, dt=0.1, inputs=feeds, monitors=mons)
    _, r2 = sj.simulate(back, back.init(), duration=2.0, dt=0.1, inputs=feeds, monitors=mons)
    for m in mons:
        np.testing.assert_allclose(np.asarray(r2[m]), np.asarray(r1[m]), atol=1e-5)


# -- q08: an Affine with two incoming edges -------------------------------------------------------------------------
def test_q08_nir_affine_bias_counted_once_for_two_inputs():
    w, b = np.random.default_rng(0).normal(size=(2, 3)), np.array([0.5, -0.25])
    g = _graph({"in1": nir.Input(np.array([3])), "in2": nir.Input(np.array([3])),
                "a": nir.Affine(weight=w, bias=b), "acc": nir.I(r=np.ones(2)), "out": nir.Output(np.array([2]))},
               [("in1", "a"), ("in2", "a"), ("a", "acc"), ("acc", "out")])  # fmt: skip
    params, fn = sn.from_nir(g, 1.0, time_scale=1.0).function()
    zeros = np.zeros((5, 3), np.float32)
    out = np.asarray(fn(params, {"in1": zeros, "in2": zeros}))
    np.testing.assert_allclose(out, np.cumsum(np.tile(b, (5, 1)), axis=0), atol=1e-5)  # was 2 b per step
    # with input: W (x1 + x2) + b
    rng = np.random.default_rng(3)
    x1, x2 = ((rng.random((5, 3)) < 0.5).astype(np.float32) for _ in range(2))
    out = np.asarray(fn(params, {"in1": x1, "in2": x2}))
    np.testing.assert_allclose(out, np.cumsum((x1 + x2) @ w.T + b, axis=0), atol=1e-5)


# -- q09: a Delay before an Output ----------------------------------------------------------------------------------
def test_q09_nir_delay_before_output_delays_the_output():
    x = np.zeros((10, 3), np.float32)
    x[1, 0] = 1
    x[4, 2] = 1
    lif = nir.LIF(
        tau=np.full(3, 4.0), r=np.ones(3), v_leak=np.zeros(3), v_threshold=np.full(3, 0.5), v_reset=np.zeros(3)
    )
    g = _graph({"in": nir.Input(np.array([3])), "s": nir.Scale(scale=np.full(3, 3.0)), "l": lif,
                "d": nir.Delay(delay=np.full(3, 3.0)), "out": nir.Output(np.array([3]))},
               [("in", "s"), ("s", "l"), ("l", "d"), ("d", "out")])  # fmt: skip
    imp = sn.from_nir(g, 1.0, time_scale=1.0)
    params, fn = imp.function()
    out = np.asarray(fn(params, x))
    assert np.argwhere(out > 0).tolist() == [[4, 0], [7, 2]]  # was [[1, 0], [4, 2]]: the Delay dropped
    assert imp.latency == {"out": -2} and imp.output_delays == {"out": 3}
    # batched, and over more steps than the delay is long: the same shift
    xb = np.stack([x, x[::-1]], axis=1)
    outb = np.asarray(fn(params, xb))
    np.testing.assert_array_equal(outb[:, 0], out)
    # export writes the Delay back before the Output: the same outputs after the round trip
    g2 = sn.to_nir(imp, time_scale=1.0)
    assert isinstance(g2.nodes["out_delay"], nir.Delay) and ("out_delay", "out") in g2.edges
    back = sn.from_nir(g2, 1.0, time_scale=1.0)
    p2, fn2 = back.function()
    np.testing.assert_array_equal(np.asarray(fn2(p2, x)), out)
