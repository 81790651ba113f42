"""Compiled CPU kernels (snnjax.kernels) against the XLA path they replace, in the same test run.

Every kernel is compared with its XLA reference bit for bit (``assert_array_equal``: the kernels add the same terms
in the same order with the same roundings), and the references with something independent (a NumPy loop, Brian2's
STDP data). Where no C++ compiler exists (or ``SNNJAX_KERNELS=xla`` is set) the kernel half is skipped with
``snnjax.kernels.status()`` as the reason, and the tests of the fallback still run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj
from snnjax import kernels, ops
from snnjax.formats.rows import loops as rows

HERE = Path(__file__).parent
ACTIVE = kernels.active()
needs_kernels = pytest.mark.skipif(not ACTIVE, reason=f"compiled kernels unavailable: {kernels.status()}")


def _env(**extra) -> dict:
    env = dict(os.environ, JAX_PLATFORMS="cpu", **extra)
    root = str(Path(sj.__file__).parents[1])  # the snnjax this session imported
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _python(code: str, timeout: int = 600, **env) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=_env(**env), capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def random_list(rng, n_pre, n_post, k, order="sorted"):
    """``k`` synapses with repeated pairs and empty rows (presynaptic neuron 0 has none)."""
    pre = rng.integers(1, n_pre, k)
    post = rng.integers(0, n_post, k)
    if order == "sorted":
        i = np.argsort(pre, kind="stable")
        pre, post = pre[i], post[i]
    return pre.astype(np.int32), post.astype(np.int32)


def numpy_event(s, pre, post, w, n_post):
    """``out[post[k]] += s[pre[k]] w[k]`` in float64 (an independent check of the XLA reference)."""
    s, w = np.asarray(s, np.float64), np.asarray(w, np.float64)
    w = np.broadcast_to(w if w.ndim else np.full(pre.shape, w), (*s.shape[:-1], pre.size))
    out = np.zeros((*s.shape[:-1], n_post))
    for k in range(pre.size):
        out[..., post[k]] += s[..., pre[k]] * w[..., k]
    return out


# -- the switch -------------------------------------------------------------------------------------------------


def test_status_says_which_path_runs_and_why(monkeypatch):
    assert kernels.status().startswith("cpu-kernel: " if ACTIVE else "xla: ")
    monkeypatch.setenv("SNNJAX_KERNELS", "xla")
    assert not kernels.active()
    assert kernels.status() == "xla: $SNNJAX_KERNELS=xla"
    monkeypatch.setenv("SNNJAX_KERNELS", "fast")
    with pytest.raises(ValueError, match=r"SNNJAX_KERNELS must be one of \('auto', 'xla'\), got 'fast'"):
        kernels.active()


def test_without_a_compiler_the_xla_path_runs_with_one_notice(tmp_path):
    code = """
        import logging, jax, snnjax as sj
        from snnjax import kernels
        assert not kernels.active() and not kernels.active()
        print(kernels.status())
        net = sj.Network(a=sj.neurons.LIF(20), b=sj.neurons.LIF(10),
                         p=sj.Projection("a", "b", conn=sj.conn.FixedProb(0.5, seed=1), weight=1.0, method="event"))
        print(repr(net))
        _, rec = sj.simulate(net, net.init(), duration=5.0, dt=0.1, inputs=[("a.input", 30.0)], monitors=["b.v"])
        print(rec["b.v"].shape)
    """
    no_compiler = dict(CXX=str(tmp_path / "no-such-compiler"), SNNJAX_CACHE=str(tmp_path / "cache"))
    proc = _python(code, SNNJAX_KERNELS="auto", **no_compiler)
    status, net, shape = proc.stdout.splitlines()
    assert status.startswith("xla: no C++ compiler found")
    assert "p=a->b[event, " in net
    assert shape == "(50, 10)"
    notices = [line for line in proc.stderr.splitlines() if "compiled CPU kernels unavailable" in line]
    assert len(notices) == 1, proc.stderr  # one line, once


def test_two_processes_building_the_library_at_once_do_not_clash(tmp_path):
    # a stand-in source (compiles in a fraction of a second; its library is loaded, nothing is registered): both
    # processes find or build the same file, and no half-written library or temporary file is left
    if kernels.compiler() is None:
        pytest.skip("no C++ compiler")
    source = tmp_path / "kernels.cc"
    source.write_text('extern "C" int snnjax_kernels_abi() { return 1; }\n')
    code = textwrap.dedent(f"""
        import pathlib
        import snnjax.kernels._build as build
        build.SOURCE, build.TARGETS = pathlib.Path({str(source)!r}), ()
        from snnjax import kernels
        print(kernels.active(), kernels.status())
    """)
    env = _env(SNNJAX_KERNELS="auto", SNNJAX_CACHE=str(tmp_path / "cache"))
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]  # fmt: skip
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    lines = {out.strip() for out, _ in outs}
    assert len(lines) == 1 and lines.pop().startswith(f"True cpu-kernel: {tmp_path / 'cache'}"), outs
    assert [f.name for f in (tmp_path / "cache").rglob("*") if f.is_file()] == ["libsnnjax_kernels.so"]


@needs_kernels
def test_the_library_is_cached_by_hash():
    path = Path(kernels.status().split(": ", 1)[1])
    assert path.is_file() and path.parent.parent == kernels.cache_root()
    assert not list(path.parent.glob(".build-*"))  # compiled under a private name, then renamed


# -- kernel 1: event transmission -------------------------------------------------------------------------------


EVENT_CASES = [  # (dtype, weights, batch): each with every format, and three more with the CSR list
    *(
        (fmt, *case)
        for fmt in ("csr", "ell-sorted", "ell-unsorted")
        for case in (
            ("float32", "scalar", ()),
            ("float32", "per-synapse", (3,)),
            ("float32", "per-batch", "vmap"),
            ("float64", "per-synapse", ()),
        )
    ),
    ("csr", "float32", "per-batch", (3,)),
    ("csr", "float32", "scalar", "vmap"),
    ("csr", "float64", "scalar", (3,)),
]


@needs_kernels
@pytest.mark.parametrize("fmt, dtype, weights, batch", EVENT_CASES)
def test_event_kernel_equals_ops_event(fmt, dtype, weights, batch):
    rng = np.random.default_rng(0)
    n_pre, n_post, k = 130, 70, 2000
    pre, post = random_list(rng, n_pre, n_post, k, "unsorted" if fmt == "ell-unsorted" else "sorted")
    with jax.enable_x64(dtype == "float64"):
        topo = ops.Topology.from_lists(pre, post, n_pre, n_post)
        if fmt != "csr":
            topo = topo.replace(row_ptr=None)
        assert (topo.row_ptr is not None) == (fmt == "csr")
        shape = (3,) if batch else ()
        # valued spikes (STP efficacy), ~20% of the neurons, negative and tiny values too
        s = (rng.random((*shape, n_pre)) < 0.2) * rng.normal(0.0, 1.0, (*shape, n_pre)) * 10.0 ** rng.integers(-8, 3)
        w = {"scalar": rng.normal(), "per-synapse": rng.normal(size=k), "per-batch": rng.normal(size=(*shape, k))}
        s, w = jnp.asarray(s, dtype), jnp.asarray(w[weights], dtype)
        want = rows.event(s, topo, w, 16)  # the XLA path, with overflow steps (more than 16 spikes)
        if batch == "vmap":
            got = jax.jit(jax.vmap(kernels.event, in_axes=(0, None, 0 if weights == "per-batch" else None)))(s, topo, w)
        else:
            got = jax.jit(kernels.event)(s, topo, w)
        assert got.dtype == dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
        # float64 sums of the same products: the reference adds the right terms
        expected = numpy_event(s, pre, post, w, n_post)
        np.testing.assert_allclose(want, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


@needs_kernels
def test_event_kernel_reads_spikes_as_s_not_equal_zero():
    # -0 is no spike, NaN is one (as `s != 0` in ops.compact); the kernel skips blocks of 64 neurons whose bits are all
    # zero but the sign, so a block holding only -0 must be skipped and a block holding a NaN must not
    rng = np.random.default_rng(6)
    pre, post = random_list(rng, 200, 30, 1500)
    topo = ops.Topology.from_lists(pre, post, 200, 30)
    s = np.zeros((2, 200), np.float32)
    s[0, 70] = -0.0
    s[0, 150], s[1, 199] = np.nan, 2.0
    w = jnp.asarray(rng.normal(size=1500), jnp.float32)
    got = np.asarray(kernels.event(jnp.asarray(s), topo, w))
    np.testing.assert_array_equal(got, rows.event(jnp.asarray(s), topo, w, 4))
    assert np.isnan(got[0]).sum() == np.unique(post[pre == 150]).size > 0
    assert np.count_nonzero(got[1]) == np.unique(post[pre == 199]).size > 0
    assert np.count_nonzero(np.nan_to_num(got[0], nan=1.0)) == np.isnan(got[0]).sum()  # -0 at 70 added nothing


@needs_kernels
def test_event_kernel_gradients_equal_the_xla_path():
    rng = np.random.default_rng(1)
    pre, post = random_list(rng, 40, 30, 300)
    topo = ops.Topology.from_lists(pre, post, 40, 30)
    s = jnp.asarray((rng.random((2, 40)) < 0.3) * rng.random((2, 40)), jnp.float32)
    w = jnp.asarray(rng.normal(size=300), jnp.float32)
    target = jnp.asarray(rng.normal(size=(2, 30)), jnp.float32)

    def loss(fn):
        return lambda s, w: jnp.sum((fn(s, topo, w) - target) ** 2)

    got = jax.grad(loss(kernels.event), argnums=(0, 1))(s, w)
    want = jax.grad(loss(kernels.event_xla), argnums=(0, 1))(s, w)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    tangents = (jnp.ones_like(s), jnp.asarray(rng.normal(size=300), jnp.float32))
    got = jax.jvp(lambda s, w: kernels.event(s, topo, w), (s, w), tangents)
    want = jax.jvp(lambda s, w: kernels.event_xla(s, topo, w), (s, w), tangents)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


# -- kernel 2: ring-buffer delivery ------------------------------------------------------------------------------


def numpy_ring(ring, head, s, pre, post, w, lag):
    ring = np.array(ring, np.float64)
    depth = ring.shape[-2]
    for b in np.ndindex(ring.shape[:-2]):
        for k in range(pre.size):
            ring[b][(int(head[b]) + int(lag[k])) % depth, post[k]] += s[b][pre[k]] * np.broadcast_to(w, pre.shape)[k]
    return ring


def ring_case(seed, n_pre, n_post, k, depth, heads, lag_dtype="uint8", scalar_weight=False):
    """A ring delivery's operands: a random list, lags in [1, depth] (lag D: the slot of the current step), one ring
    per head (head + lag wraps around for most synapses), spikes of random amplitude in about 30% of the rows."""
    rng = np.random.default_rng(seed)
    pre, post = random_list(rng, n_pre, n_post, k)
    topo = ops.Topology.from_lists(pre, post, n_pre, n_post)
    lag = jnp.asarray(rng.integers(1, depth + 1, k), lag_dtype)
    ring = jnp.asarray(rng.normal(size=(len(heads), depth, n_post)), jnp.float32)
    s = jnp.asarray((rng.random((len(heads), n_pre)) < 0.3) * rng.random((len(heads), n_pre)), jnp.float32)
    w = jnp.asarray(rng.normal() if scalar_weight else rng.normal(size=k), jnp.float32)
    return pre, post, topo, lag, ring, jnp.asarray(heads, jnp.int32), s, w


@pytest.mark.parametrize("lag_dtype", ["uint8", "int16", "int32"])
@pytest.mark.parametrize("weights", ["scalar", "per-synapse"])
def test_ring_delivery_equals_its_reference_with_wrap_around(lag_dtype, weights):
    depth = 9
    pre, post, topo, lag, ring, head, s, w = ring_case(2, 60, 25, 700, depth, [0, 5, depth - 1], lag_dtype,
                                                       scalar_weight=weights == "scalar")  # fmt: skip
    want = kernels.deliver_xla(ring, head, s, topo, w, lag)
    np.testing.assert_allclose(want, numpy_ring(ring, head, s, pre, post, w, lag), rtol=1e-5, atol=1e-5)
    if not ACTIVE:
        pytest.skip(f"compiled kernels unavailable: {kernels.status()}")
    np.testing.assert_array_equal(jax.jit(kernels.deliver)(ring, head, s, topo, w, lag), want)
    # vmap: batched ring, and a shared ring with batched spikes (broadcast to the batch: the result is per element)
    vm = jax.jit(jax.vmap(kernels.deliver, in_axes=(0, 0, 0, None, None, None)))
    np.testing.assert_array_equal(vm(ring, head, s, topo, w, lag), want)
    vm = jax.jit(jax.vmap(kernels.deliver, in_axes=(None, 0, 0, None, None, None)))
    np.testing.assert_array_equal(vm(ring[0], head, s, topo, w, lag),
                                  jax.vmap(kernels.deliver_xla, in_axes=(None, 0, 0, None, None, None))(
                                      ring[0], head, s, topo, w, lag))  # fmt: skip
    # gradients (the XLA reference's tangent)
    g = jax.grad(lambda w, s: jnp.sum(kernels.deliver(ring, head, s, topo, w, lag) ** 2), argnums=(0, 1))(w, s)
    g0 = jax.grad(lambda w, s: jnp.sum(kernels.deliver_xla(ring, head, s, topo, w, lag) ** 2), argnums=(0, 1))(w, s)
    for a, b in zip(g, g0):
        np.testing.assert_array_equal(a, b)


@needs_kernels
@pytest.mark.parametrize("threads", ["", "1"])
def test_ring_split_over_threads_is_bit_identical(monkeypatch, threads):
    # SNNJAX_KERNEL_PARALLEL_MIN=0 splits the targets of this small projection over XLA's intra-op threads (two or
    # more on a multi-core machine; the default splits only projections of 2**24 synapses and more): every thread
    # scans all spiking rows and writes its own targets, so the sums are those of one thread, bit for bit
    _, _, topo, lag, ring, head, s, w = ring_case(7, 300, 9000, 40_000, 7, [0, 6])
    want = kernels.deliver_xla(ring, head, s, topo, w, lag)
    monkeypatch.setenv("SNNJAX_KERNEL_PARALLEL_MIN", "0")
    monkeypatch.setenv("SNNJAX_KERNEL_THREADS", threads)
    np.testing.assert_array_equal(jax.jit(lambda *a: kernels.deliver(*a))(ring, head, s, topo, w, lag), want)
    monkeypatch.setenv("SNNJAX_KERNEL_PARALLEL_MIN", "-1")
    with pytest.raises(ValueError, match="SNNJAX_KERNEL_PARALLEL_MIN"):
        jax.jit(lambda *a: kernels.deliver(*a))(ring, head, s, topo, w, lag)


@needs_kernels
def test_ring_in_a_scan_is_updated_in_place():
    rng = np.random.default_rng(3)
    n_pre, n_post, k, depth = 50, 40, 500, 6
    pre, post = random_list(rng, n_pre, n_post, k)
    topo = ops.Topology.from_lists(pre, post, n_pre, n_post)
    lag = jnp.asarray(rng.integers(1, depth + 1, k), jnp.uint8)
    spikes = jnp.asarray(rng.random((30, n_pre)) < 0.2, jnp.float32)

    def run(deliver):
        def step(carry, s):
            ring, head = carry
            ring = deliver(ring, head, s, topo, 0.5, lag)
            return (ring, (head + 1) % depth), ring[head]  # read after the write: no reason for XLA to copy

        return jax.jit(lambda r: jax.lax.scan(step, (r, jnp.int32(0)), spikes))

    ring = jnp.zeros((depth, n_post), jnp.float32)
    got, want = run(kernels.deliver), run(kernels.deliver_xla)
    np.testing.assert_array_equal(got(ring)[1], want(ring)[1])
    assert np.asarray(want(ring)[1]).sum() > 0
    hlo = got.lower(ring).compile().as_text()
    copies = [line for line in hlo.splitlines() if f"f32[{depth},{n_post}]" in line and " copy(" in line]
    assert len(copies) <= 1, copies  # at most the entry's copy of the (not donated) argument, none per step


# -- kernel 3: STDP in a network ---------------------------------------------------------------------------------

LIF = dict(v_rest=-60.0, v_th=-50.0, v_reset=-60.0, tau=20.0, tau_ref=5.0, v_init=sj.init.Normal(-55.0, 2.0))
RULES = {
    "pair-hard": sj.plasticity.STDP(a_plus=0.006, a_minus=0.0063, w_min=0.0, w_max=1.2),
    "pair-soft-nearest": sj.plasticity.STDP(
        a_plus=0.01, a_minus=0.0105, w_min=0.0, w_max=1.2, bounds="soft", pairing="nearest"
    ),
    "triplet-hard": sj.plasticity.TripletSTDP(w_min=0.0, w_max=1.2),
    "triplet-soft-nearest": sj.plasticity.TripletSTDP(w_min=0.0, w_max=1.2, bounds="soft", pairing="nearest"),
}


def plastic_network(rule, n=600, order="sorted", stp=False):
    """A COBA E/I network with ``rule`` on E->E (method event); ``order="unsorted"``: E->E as a shuffled explicit
    list (the ELL loops); ``stp``: E->I with Tsodyks-Markram STP (valued spikes)."""
    n_e, n_i = int(0.8 * n), n - int(0.8 * n)
    p = 40.0 / n
    conn = sj.conn.FixedProb(p, seed=1)
    if order == "unsorted":
        pre, post = conn.build(n_e, n_e)
        perm = np.random.default_rng(0).permutation(pre.size)
        conn = (pre[perm], post[perm])
    exc = dict(synapse=sj.synapses.Exponential(tau=5.0), output=sj.outputs.COBA(E=0.0), weight=1.0, method="event")
    inh = dict(synapse=sj.synapses.Exponential(tau=10.0), output=sj.outputs.COBA(E=-80.0), weight=6.7, method="event")
    stp_kw = dict(stp=sj.synapses.STP(U=0.2, tau_f=200.0, tau_d=100.0)) if stp else {}
    return sj.Network(
        E=sj.neurons.LIF(n_e, **LIF),
        I=sj.neurons.LIF(n_i, **LIF),
        EE=sj.Projection("E", "E", conn=conn, plasticity=rule, delay=0.5, **exc),
        EI=sj.Projection("E", "I", conn=sj.conn.FixedProb(p, seed=2), **exc, **stp_kw),
        IE=sj.Projection("I", "E", conn=sj.conn.FixedProb(p, seed=3), **inh),
        II=sj.Projection("I", "I", conn=sj.conn.FixedProb(p, seed=4), **inh),
    )


def run_both(monkeypatch, build, duration=150.0, batch_shape=(), **kw):
    """The network from ``build()`` run with the kernels and with ``SNNJAX_KERNELS=xla``: {mode: (state, rec)}."""
    out = {}
    for mode in ("auto", "xla"):
        monkeypatch.setenv("SNNJAX_KERNELS", mode)
        net = build()
        assert all(p.propagator.kernel == (mode == "auto") for p in net.projections.values()), repr(net)
        state = net.init(key=jax.random.key(0), dt=0.1, batch_shape=batch_shape)
        run = jax.jit(lambda net, st: sj.simulate(net, st, duration=duration, dt=0.1, **kw))
        out[mode] = (net, *run(net, state))
    return out


def assert_same_runs(runs):
    (_, s1, r1), (_, s2, r2) = runs["auto"], runs["xla"]
    for k in r1:
        np.testing.assert_array_equal(r1[k], r2[k], err_msg=k)
    jax.tree.map(np.testing.assert_array_equal, s1, s2)


DRIVE = [("E.input", 20.0), ("I.input", 20.0)]


@needs_kernels
@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("batch_shape", [(), (2,)])
def test_stdp_network_on_event_is_bit_identical_to_the_xla_path(monkeypatch, rule, batch_shape):
    runs = run_both(monkeypatch, lambda: plastic_network(RULES[rule]), batch_shape=batch_shape, inputs=DRIVE,
                    monitors=["E.spike", "I.spike", "EE.w[0:4000:7]"])  # fmt: skip
    assert_same_runs(runs)
    net, state, rec = runs["auto"]
    assert "EE=E->E[event+cpu-kernel, " in repr(net)
    w = np.asarray(state.synapses["EE"].w)
    assert np.asarray(rec["E.spike"]).sum() > 100
    assert np.abs(w - 1.0).max() > 0.01  # the weights moved: both phases ran


@needs_kernels
@pytest.mark.parametrize("case", ["unsorted-list", "stp", "float64"])
def test_stdp_and_transmission_variants_are_bit_identical(monkeypatch, case):
    rule = RULES["triplet-hard"] if case == "unsorted-list" else RULES["pair-hard"]
    build = lambda: plastic_network(rule, order="unsorted" if case == "unsorted-list" else "sorted",  # noqa: E731
                                    stp=case == "stp")  # fmt: skip
    with jax.enable_x64(case == "float64"):
        runs = run_both(monkeypatch, build, inputs=DRIVE, monitors=["E.spike", "I.spike", "EI.g"])
        assert_same_runs(runs)
        net, state, _ = runs["auto"]
        assert (net.projections["EE"].topology.row_ptr is None) == (case == "unsorted-list")
        assert state.synapses["EE"].w.dtype == ("float64" if case == "float64" else "float32")


@needs_kernels
def test_vmap_over_a_plastic_network_runs_the_kernels_once_per_step(monkeypatch):
    # vmap over the drive with one (unbatched) initial state: the plastic weights enter unbatched and leave batched,
    # so the aliased kernels broadcast them first (custom_vmap); each element equals its own run on the XLA path
    drives = jnp.asarray([18.0, 20.0, 22.0])
    got = {}
    for mode in ("auto", "xla"):
        monkeypatch.setenv("SNNJAX_KERNELS", mode)
        net = plastic_network(RULES["triplet-hard"], n=400)
        state = net.init(key=jax.random.key(2), dt=0.1)

        def run(drive, net=net, state=state):
            final, rec = sj.simulate(net, state, duration=100.0, dt=0.1, inputs=[("E.input", drive),
                                     ("I.input", 20.0)], monitors=["E.spike"])  # fmt: skip
            return final.synapses["EE"].w, rec["E.spike"]

        got[mode] = jax.jit(jax.vmap(run))(drives)
        if mode == "auto":
            jaxpr = str(jax.make_jaxpr(jax.vmap(run))(drives))
            assert "snnjax_stdp_arrive" in jaxpr and "snnjax_stdp_post" in jaxpr
    for a, b in zip(got["auto"], got["xla"]):
        np.testing.assert_array_equal(a, b)
    w = np.asarray(got["auto"][0])
    assert w.shape[0] == 3 and not np.array_equal(w[0], w[2])  # three different runs


@needs_kernels
def test_brian2_stdp_validation_with_kernels(monkeypatch):
    sys.path.insert(0, str(HERE))
    import test_plasticity_network as reference  # Brian2 2.9 data and the network that reproduces it

    monkeypatch.setenv("SNNJAX_KERNELS", "auto")
    net = reference.network("scalar", "event")
    assert net.projections["PQ"].propagator.kernel
    state, rec = reference.run(net)
    np.testing.assert_allclose(rec["PQ.w"], reference.DATA["scalar_w"], atol=reference.ATOL, rtol=0)
    np.testing.assert_allclose(state.synapses["PQ"].w, reference.DATA["scalar_w_final"], atol=reference.ATOL, rtol=0)
    monkeypatch.setenv("SNNJAX_KERNELS", "xla")
    np.testing.assert_array_equal(rec["PQ.w"], reference.run(reference.network("scalar", "event"))[1]["PQ.w"])


@needs_kernels
def test_stdp_kernels_equal_their_references_directly():
    # one step of each phase on random traces (triplet, soft bounds), batched, against the XLA functions, compiled
    # (XLA CPU contracts the soft bounds' products into fused multiply-adds inside a fusion, as the kernel does; run
    # op by op it does not, and the weights then differ in the last bit)
    rng = np.random.default_rng(4)
    n_pre, n_post, k = 50, 40, 600
    pre, post = random_list(rng, n_pre, n_post, k)
    topo = ops.Topology.from_lists(pre, post, n_pre, n_post, transposed=True)
    rule = sj.plasticity.TripletSTDP(w_min=-0.5, w_max=1.5, bounds="soft")
    f32 = lambda x: jnp.asarray(x, jnp.float32)  # noqa: E731
    st = sj.plasticity.stdp.STDPState(w=f32(rng.uniform(-0.5, 1.5, (2, k))), apre=f32(rng.random((2, n_pre))),
                                      apost=f32(rng.random((2, n_post))), apre2=f32(rng.random((2, n_pre))),
                                      apost2=f32(rng.random((2, n_post))))  # fmt: skip
    s = f32((rng.random((2, n_pre)) < 0.3) * rng.random((2, n_pre)))
    got = jax.jit(lambda st, s: kernels.stdp.arrive(rule.depression, st, topo, s))(st, s)
    want = jax.jit(kernels.stdp.arrive_xla)(rule, st, topo, s)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    p = f32(rng.random((2, n_post)) < 0.3)
    got = jax.jit(lambda st, p: kernels.stdp.potentiation(rule, st, topo, p))(st, p)
    want = jax.jit(kernels.stdp.potentiation_xla)(rule, st, topo, p)
    jax.tree.map(np.testing.assert_array_equal, got, want)
    assert not np.array_equal(got.w, st.w)

    # jvp through the kernel: the XLA path's tangent
    def tangent(fn):
        return jax.jit(lambda st, dst: jax.jvp(lambda st: fn(st)[1], (st,), (dst,))[1])

    dst = jax.tree.map(jnp.ones_like, st)
    t1 = tangent(lambda st: kernels.stdp.arrive(rule.depression, st, topo, s))(st, dst)
    t0 = tangent(lambda st: kernels.stdp.arrive_xla(rule, st, topo, s))(st, dst)
    np.testing.assert_array_equal(t1, t0)


# -- transformations -----------------------------------------------------------------------------------------------


@needs_kernels
def test_network_gradients_equal_the_xla_path(monkeypatch):
    pre_idx, post_idx = sj.conn.FixedProb(0.5, seed=1).build(80, 20)
    w = np.random.default_rng(5).uniform(0.0, 0.5, pre_idx.size).astype(np.float32)

    def build():
        pre = sj.inputs.PoissonGroup(80, rate=50.0)
        post = sj.neurons.LIF(20, v_rest=0.0, v_reset=0.0, v_th=1.0, tau=10.0, tau_ref=0.0)
        proj = sj.Projection("pre", "post", conn=(pre_idx, post_idx), weight=w, method="event",
                             synapse=sj.synapses.Exponential(5.0), output=sj.outputs.CUBA())  # fmt: skip
        return sj.Network(pre=pre, post=post, p=proj)

    grads = {}
    for mode in ("auto", "xla"):
        monkeypatch.setenv("SNNJAX_KERNELS", mode)
        net = build()
        assert net.projections["p"].propagator.kernel == (mode == "auto")
        state = net.init(key=jax.random.key(1), dt=0.1)
        params, rebuild = sj.trainable(net, where=lambda path, x: path == "p.weight")

        def loss(params, net=net, rebuild=rebuild, state=state):
            _, rec = sj.simulate(rebuild(params), state, duration=20.0, dt=0.1, monitors=["post.v"])
            return jnp.mean(rec["post.v"] ** 2)

        grads[mode] = jax.jit(jax.grad(loss))(params)
    g1, g2 = (jax.tree.leaves(grads[m]) for m in ("auto", "xla"))
    assert np.abs(g1[0]).max() > 0
    np.testing.assert_array_equal(g1[0], g2[0])


@needs_kernels
def test_sharded_stdp_network_on_4_devices_runs_the_kernels():
    code = """
        import json, os, sys
        import jax, numpy as np
        import snnjax as sj
        from snnjax.examples.brette import COBA_INPUTS, build
        from snnjax.formats.rows import stdp as kstdp, transmission as ktrans
        assert len(jax.devices()) == 4
        traced = set()
        for mod in (ktrans, kstdp):
            def spy(target, *a, _call=mod.call, **kw):
                traced.add(target)
                return _call(target, *a, **kw)
            mod.call = spy
        runs = {}
        for mode, devices in (("xla", None), ("auto", jax.devices())):
            os.environ["SNNJAX_KERNELS"] = mode
            r = sj.Runner(build(2000, "coba", "event", plasticity="stdp"), dt=0.1, inputs=COBA_INPUTS,
                          monitors=["E.spike", "I.spike", "EE.w[0:20000:10]"], devices=devices)
            m = r.run(60.0)
            runs[mode] = ({k: np.asarray(m[k]) for k in ("E.spike", "I.spike", "EE.w[0:20000:10]")},
                          r.global_state() if devices else r.state)
        (m1, s1), (m4, s4) = runs["xla"], runs["auto"]
        same = {k: bool(np.array_equal(m1[k], m4[k])) for k in m1}
        same["state"] = bool(jax.tree.all(jax.tree.map(lambda a, b: bool(np.array_equal(a, b)), s1, s4)))
        print(json.dumps({"same": same, "traced": sorted(traced), "spikes": int(m1["E.spike"].sum()),
                          "moved": float(np.ptp(m1["EE.w[0:20000:10]"], axis=0).max())}))
    """
    flags = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4").strip()
    out = json.loads(_python(code, XLA_FLAGS=flags).stdout.splitlines()[-1])
    assert all(out["same"].values()), out
    assert out["traced"] == ["snnjax_event", "snnjax_stdp_arrive", "snnjax_stdp_post"]
    assert out["spikes"] > 100 and out["moved"] > 1e-3


# -- bounds ------------------------------------------------------------------------------------------------------


@needs_kernels
def test_out_of_range_indices_never_write_outside_the_buffers():
    # Batched calls: the buffers of the batch elements lie next to each other, so a write one past the end (or before
    # the start) of one element's row would change its neighbour's; huge indices would crash or corrupt memory.
    n_pre, n_post, k = 6, 5, 10
    bad = [n_post, -1, n_post + 1, 2**30, -(2**30)]
    pre = np.array([0, 0, 1, 1, 1, 2, 3, 4, 4, 5], np.int32)
    post = np.array([0, bad[0], 1, bad[1], 4, bad[2], 2, bad[3], 3, bad[4]], np.int32)
    ok = (post >= 0) & (post < n_post)
    topo = ops.Topology.from_lists(pre, np.where(ok, post, 0), n_pre, n_post, transposed=True)
    topo = topo.replace(post=jnp.asarray(post))  # the CSR list with the bad targets
    s = jnp.ones((3, n_pre), jnp.float32)
    w = jnp.arange(1.0, k + 1.0, dtype=jnp.float32)
    want = numpy_event(np.ones((3, n_pre)), pre[ok], post[ok], np.asarray(w)[ok], n_post)
    np.testing.assert_array_equal(kernels.event(s, topo, w), want)  # CSR: bad targets skipped
    # row_ptr beyond the list: clamped to [0, K]
    wild = topo.replace(row_ptr=jnp.asarray([0, 2, 5, 6, 7, 9, 2**30, 2**30], jnp.int32))
    np.testing.assert_array_equal(kernels.event(s, wild, w), want)
    # ELL: bad targets skipped, bad synapse indices read weight 0
    ell_post = np.array([[0, n_post, 2**30], [1, -1, 4]] + [[n_post] * 3] * 5, np.int32)
    ell_syn = np.array([[0, 1, 2], [k, -5, 2**30]] + [[k] * 3] * 5, np.int32)
    ell = ops.Topology(pre=topo.pre, post=topo.post, ell_post=jnp.asarray(ell_post), ell_syn=jnp.asarray(ell_syn),
                       n_pre=n_pre, n_post=n_post)  # fmt: skip
    got = np.asarray(kernels.event(s, ell, w))
    np.testing.assert_array_equal(got, np.broadcast_to([1.0, 0, 0, 0, 0], (3, n_post)))
    # the ring: bad targets skipped; any head and lag land inside the ring
    ring = jnp.zeros((3, 4, n_post), jnp.float32)
    lag = jnp.asarray([1, 2, 3, 4, 200, 1, 2, 3, 4, 1], jnp.int32)
    got = np.asarray(kernels.deliver(ring, jnp.array([0, -7, 2**30], jnp.int32), s, topo, w, lag))
    want = np.zeros((3, 4, n_post))
    for b, h in enumerate([0, -7, 2**30]):
        for i in np.nonzero(ok)[0]:
            want[b, (h + int(lag[i])) % 4, post[i]] += float(w[i])
    np.testing.assert_array_equal(got, want)
    # plasticity: bad targets read apost as 0, bad synapse indices in the transposed table are skipped
    rule = sj.plasticity.STDP(a_plus=0.5, a_minus=0.25, w_min=-100.0, w_max=100.0)
    st = sj.plasticity.stdp.STDPState(w=jnp.broadcast_to(w, (3, k)), apre=jnp.ones((3, n_pre)),
                                      apost=jnp.ones((3, n_post)))  # fmt: skip
    out, w_new = kernels.stdp.arrive(rule.depression, st, topo, s)
    np.testing.assert_array_equal(out, kernels.event(s, topo, w))
    np.testing.assert_array_equal(w_new, np.broadcast_to(np.where(ok, np.asarray(w) - 0.25, w), (3, k)))
    in_pre = np.array([[0, 1], [2**30, -3]] + [[n_pre] * 2] * 4, np.int32)
    in_syn = np.array([[0, 2**30], [k, 3]] + [[k] * 2] * 4, np.int32)
    tr = topo.replace(in_pre=jnp.asarray(in_pre), in_syn=jnp.asarray(in_syn))
    new = kernels.stdp.potentiation(rule, st, tr, jnp.ones((3, n_post), jnp.float32))
    want = np.asarray(w).copy()
    want[0] += 0.5  # column 0: synapse 0 (pre 0); synapse 2**30 skipped
    want[3] += 0.0  # column 1: synapse 3 from pre -3 (apre reads 0); synapse k skipped
    np.testing.assert_array_equal(new.w, np.broadcast_to(want, (3, k)))


def test_ring_reference_and_tangent_on_the_rows_only_format():
    """The rows-only format (a list sorted by pre: ``row_ptr``, no stored ``pre``; the microcircuit's) through
    ``deliver_xla`` and through ``deliver``'s derivative, which is ``deliver_xla``'s: the same ring and tangent as the
    list with ``pre`` stored (both read ``pre`` from ``row_ptr`` then)."""
    rng = np.random.default_rng(4)
    pre, post = random_list(rng, 40, 30, 500)
    order = np.argsort(pre, kind="stable")
    pre, post = pre[order], post[order]
    rows = ops.Topology.from_lists(pre, post, 40, 30, rows_only=True)
    full = ops.Topology.from_lists(pre, post, 40, 30)
    assert rows.pre is None and rows.row_ptr is not None and full.pre is not None
    lag = jnp.asarray(rng.integers(1, 7, pre.size), jnp.uint8)
    ring = jnp.asarray(rng.normal(size=(6, 30)), jnp.float32)
    s = jnp.asarray((rng.random(40) < 0.4) * 1.0, jnp.float32)
    w = jnp.asarray(rng.normal(size=pre.size), jnp.float32)
    head = jnp.int32(2)
    want = kernels.deliver_xla(ring, head, s, full, w, lag)
    np.testing.assert_allclose(want, numpy_ring(ring, head, s, pre, post, w, lag), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(kernels.deliver_xla(ring, head, s, rows, w, lag), want)
    grad = lambda topo: jax.grad(lambda w_: (kernels.deliver(ring, head, s, topo, w_, lag) ** 2).sum())(w)  # noqa: E731
    np.testing.assert_allclose(grad(rows), grad(full), rtol=1e-6, atol=1e-6)
