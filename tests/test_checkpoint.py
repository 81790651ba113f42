"""Checkpoints: a resumed run is bit-identical to one that never stopped; bad files and templates are refused."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj
from snnjax.checkpoint import FORMAT_VERSION, load_state, read_metadata, save_state
from snnjax.examples import brette

DT = 0.1  # ms
KEY = jax.random.key(0)


def _lif(n: int = 200) -> sj.neurons.LIF:
    return sj.neurons.LIF(
        n, v_rest=-60.0, v_th=-50.0, v_reset=-60.0, tau=20.0, tau_ref=5.0, v_init=sj.init.Normal(-55.0, 2.0)
    )


def _recurrent(n: int = 200, method: str = "event", delay=0.5) -> sj.Network:
    """A recurrent excitatory COBA network with delays (the issue's example)."""
    return sj.Network(
        E=_lif(n),
        EE=sj.Projection(
            "E",
            "E",
            conn=sj.conn.FixedProb(0.05, seed=1),
            weight=0.6,
            delay=delay,
            method=method,
            synapse=sj.synapses.Exponential(tau=5.0),
            output=sj.outputs.COBA(E=0.0),
        ),
    )


def _per_synapse_delays() -> sj.Network:
    pre, _ = sj.conn.FixedProb(0.05, seed=1).build(200, 200)
    delay = np.random.default_rng(0).uniform(0.1, 2.0, pre.size)  # ms: lags 1..20 steps
    return _recurrent(method="sparse", delay=delay)


CASES = {
    # name: (network factory, batch shape, inputs, compress)
    "event": (_recurrent, (), [("E.input", 12.0)], False),
    "batch": (_recurrent, (3,), [("E.input", 12.0)], True),
    "per_synapse_delays": (_per_synapse_delays, (), [("E.input", 12.0)], False),
    "brette_coba": (lambda: brette.build(1000, "coba"), (), [("E.input", 20.0), ("I.input", 20.0)], False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_resumed_run_is_bit_identical(case, tmp_path):
    make, batch_shape, inputs, compress = CASES[case]
    net = make()
    monitors = [f"{p}.{f}" for p in net.populations for f in ("v", "spike")]
    kw = dict(dt=DT, inputs=inputs, monitors=monitors)
    state = net.init(key=jax.random.key(0), batch_shape=batch_shape, dt=DT)
    s_full, rec_full = sj.simulate(net, state, duration=100.0, **kw)

    # 502 steps: not a multiple of the ring lengths (5 or 20), so a lost `head` would show
    s_half, rec1 = sj.simulate(net, state, duration=50.2, **kw)
    path = tmp_path / "state.npz"
    save_state(path, s_half, metadata={"dt": DT}, compress=compress)
    del s_half
    # a fresh template with other values: everything must come from the file
    like = net.init(key=jax.random.key(1), batch_shape=batch_shape, dt=DT)
    resumed = load_state(path, like)
    s_end, rec2 = sj.simulate(net, resumed, duration=49.8, **kw)

    assert int(resumed.step) == 502
    for name, buf in resumed.delays.items():
        if buf.max_lag > 1:
            assert int(buf.head) != 0, name
    for name in net.populations:  # the network is active in both halves
        assert rec1[f"{name}.spike"].sum() > 0 and rec2[f"{name}.spike"].sum() > 0, name
    assert set(rec_full) == set(rec2)
    for name in rec_full:  # monitors and time stamps: exactly equal, not close
        np.testing.assert_array_equal(np.concatenate([rec1[name], rec2[name]]), rec_full[name], err_msg=name)
    full_leaves, full_def = jax.tree_util.tree_flatten_with_path(s_full)
    end_leaves, end_def = jax.tree_util.tree_flatten_with_path(s_end)
    assert full_def == end_def
    for (key_path, a), (_, b) in zip(full_leaves, end_leaves):
        assert a.dtype == b.dtype, jax.tree_util.keystr(key_path)
        np.testing.assert_array_equal(b, a, err_msg=jax.tree_util.keystr(key_path))


def test_runner_resumes_from_checkpoint(tmp_path):
    net = _recurrent()
    kw = dict(dt=DT, inputs=[("E.input", 12.0)], monitors=["E.v", "E.spike", "EE.g"])
    full = sj.Runner(net, **kw)
    full.run(100.0)
    first = sj.Runner(net, **kw)
    first.run(50.2)
    save_state(tmp_path / "runner.npz", first.state)
    second = sj.Runner(net, **kw, key=jax.random.key(7))
    second.state = load_state(tmp_path / "runner.npz", second.state)
    second.run(49.8)
    np.testing.assert_array_equal(np.concatenate([first.mon.ts, second.mon.ts]), full.mon.ts)
    for name in full.mon:
        np.testing.assert_array_equal(np.concatenate([first.mon[name], second.mon[name]]), full.mon[name])


def test_file_layout_and_metadata(tmp_path):
    net = _recurrent(50)
    state = net.init(key=KEY, dt=DT)
    path = save_state(tmp_path / "s.npz", state, metadata={"dt": DT, "sweep": {"g": [0.1, 0.2]}})
    assert path == str(tmp_path / "s.npz")
    assert read_metadata(path) == {"dt": DT, "sweep": {"g": [0.1, 0.2]}}
    with np.load(path, allow_pickle=False) as f:  # a plain .npz, no pickle
        header = json.loads(f["__snnjax_checkpoint__"].tobytes().decode())
        paths = [jax.tree_util.keystr(k) for k, _ in jax.tree_util.tree_flatten_with_path(state)[0]]
        assert sorted(f.files) == sorted([*paths, "__snnjax_checkpoint__"])
        np.testing.assert_array_equal(f[".delays['E'].data"], state.delays["E"].data)
        assert f[".delays['E'].data"].dtype == np.bool_  # spikes stored as bool whatever the float dtype
        assert f[".step"].dtype == np.int32
    assert header["format_version"] == FORMAT_VERSION
    assert header["snnjax_version"] == sj.__version__
    assert [e["path"] for e in header["leaves"]] == paths
    assert {e["path"]: (e["dtype"], e["shape"]) for e in header["leaves"]}[".neurons['E'].v"] == ("float32", [50])
    assert "NetworkState" in header["treedef"]
    # a shapes-only template (jax.eval_shape) works too and allocates nothing before the read
    like = jax.eval_shape(lambda: net.init(key=KEY, dt=DT))
    jax.tree.map(np.testing.assert_array_equal, load_state(path, like), state)


def test_typed_random_keys_and_other_leaves_round_trip(tmp_path):
    tree = {
        "key": jax.random.key(42),
        "keys": jax.random.split(jax.random.key(1), (2, 3)),
        "rbg": jax.random.key(3, impl="rbg"),
        "legacy": jax.random.PRNGKey(7),  # raw uint32 key data
        "bf16": jnp.linspace(0.0, 1.0, 5, dtype=jnp.bfloat16),
        "np": np.arange(4, dtype=np.int16),
        "seq": (jnp.zeros((2, 0)), jnp.array(True)),
    }
    save_state(tmp_path / "k.npz", tree)
    out = load_state(tmp_path / "k.npz", tree)
    assert jax.tree.structure(out) == jax.tree.structure(tree)
    for name in ("key", "keys", "rbg"):
        assert out[name].dtype == tree[name].dtype and out[name].shape == tree[name].shape
        assert jax.random.key_impl(out[name]) == jax.random.key_impl(tree[name])
        np.testing.assert_array_equal(jax.random.key_data(out[name]), jax.random.key_data(tree[name]))
    # the restored keys are usable and draw the same numbers
    np.testing.assert_array_equal(jax.random.normal(out["key"], (5,)), jax.random.normal(tree["key"], (5,)))
    np.testing.assert_array_equal(
        jax.random.uniform(jax.random.split(out["rbg"])[1], (3,)),
        jax.random.uniform(jax.random.split(tree["rbg"])[1], (3,)),
    )
    assert out["bf16"].dtype == jnp.bfloat16
    np.testing.assert_array_equal(out["bf16"].view(np.uint16), tree["bf16"].view(np.uint16))
    assert isinstance(out["np"], np.ndarray) and out["np"].dtype == np.int16
    for name in ("legacy", "seq"):
        jax.tree.map(np.testing.assert_array_equal, out[name], tree[name])
    # a key of another implementation is another dtype
    with pytest.raises(ValueError, match=r"\['key'\].*key<rbg>"):
        load_state(tmp_path / "k.npz", {**tree, "key": jax.random.key(0, impl="rbg")})


# -- bad input ---------------------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    net = _recurrent(50)
    path = tmp_path / "s.npz"
    save_state(path, net.init(key=KEY, dt=DT))
    return path


def test_missing_path(tmp_path):
    missing = tmp_path / "nope.npz"
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_state(missing, {})
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        read_metadata(missing)
    with pytest.raises(FileNotFoundError, match="directory"):
        save_state(tmp_path / "no_dir" / "s.npz", {"a": np.zeros(2)})
    with pytest.raises(IsADirectoryError):
        load_state(tmp_path, {})
    with pytest.raises(TypeError, match="path"):
        save_state(3, {"a": np.zeros(2)})


def test_files_that_are_not_checkpoints(tmp_path, saved):
    text = tmp_path / "notes.txt"
    text.write_text("not a checkpoint\n")
    npy = tmp_path / "a.npy"
    np.save(npy, np.zeros(3))
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, v=np.zeros(3))
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    for path in (text, npy, foreign, empty, truncated):
        with pytest.raises(ValueError, match=f"{path.name}.*not a snnjax checkpoint"):
            load_state(path, {})
    with pytest.raises(ValueError, match="foreign.npz.*not a snnjax checkpoint"):
        read_metadata(foreign)


def test_newer_format_is_refused(tmp_path):
    header = {"format": "snnjax-checkpoint", "format_version": FORMAT_VERSION + 1, "leaves": [], "metadata": {}}
    np.savez(tmp_path / "new.npz", __snnjax_checkpoint__=np.frombuffer(json.dumps(header).encode(), np.uint8))
    with pytest.raises(ValueError, match="format version"):
        load_state(tmp_path / "new.npz", {})


@pytest.mark.parametrize(
    "like, match",
    [
        # another size: the first leaf already differs
        (lambda: _recurrent(60).init(key=KEY, dt=DT), r"\.neurons\['E'\]\.v .*shape \(50,\).*expects shape \(60,\)"),
        # another dt: the delay buffer has another length
        (lambda: _recurrent(50).init(key=KEY, dt=0.05), r"\.delays\['E'\]\.data .*\(5, 50\).*\(10, 50\)"),
        # another batch shape
        (
            lambda: _recurrent(50).init(key=KEY, dt=DT, batch_shape=(2,)),
            r"\.neurons\['E'\]\.v .*expects shape \(2, 50\)",
        ),
        # a one-step delay needs no buffer: the checkpoint has one the template lacks
        (lambda: _recurrent(50, delay=0.0).init(key=KEY, dt=DT), r"has leaf \.delays\['E'\]\.data"),
        # another dtype
        (
            lambda: (lambda s: s.replace(step=s.step.astype(jnp.int16)))(_recurrent(50).init(key=KEY, dt=DT)),
            r"\.step .*int32.*expects shape \(\), dtype int16",
        ),
        # another structure altogether
        (lambda: {"v": np.zeros(50, np.float32)}, r"has no leaf \['v'\]"),
    ],
)
def test_mismatched_template(saved, like, match):
    with pytest.raises(ValueError, match=match):
        load_state(saved, like())


def test_missing_buffer_in_checkpoint(tmp_path):
    save_state(tmp_path / "lag1.npz", _recurrent(50, delay=0.0).init(key=KEY, dt=DT))
    with pytest.raises(ValueError, match=r"has no leaf \.delays\['E'\]\.data.*shape \(5, 50\), dtype bool"):
        load_state(tmp_path / "lag1.npz", _recurrent(50).init(key=KEY, dt=DT))


def test_checkpoints_do_not_depend_on_the_propagator_or_its_event_bound(tmp_path):
    # the compacted spike index is a temporary of the step, never state (the event bound is a hint only)
    save_state(tmp_path / "event.npz", _recurrent(50).init(key=KEY, dt=DT))
    for method in ("dense", "sparse", "vector_event"):
        like = _recurrent(50, method=method)
        load_state(tmp_path / "event.npz", like.init(key=KEY, dt=DT))


def test_bad_state_or_metadata(tmp_path):
    with pytest.raises(TypeError, match="metadata must be JSON-serializable"):
        save_state(tmp_path / "m.npz", {"a": np.zeros(2)}, metadata={"dt": np.float32(0.1)})
    with pytest.raises(TypeError, match="metadata must be a dict"):
        save_state(tmp_path / "m.npz", {"a": np.zeros(2)}, metadata=[1])
    with pytest.raises(TypeError, match=r"\['a'\].*numeric"):
        save_state(tmp_path / "m.npz", {"a": "text"})
    with pytest.raises(TypeError, match="inside jit"):
        jax.jit(lambda x: save_state(tmp_path / "m.npz", {"a": x}))(jnp.zeros(2))
    assert os.listdir(tmp_path) == []


def test_interrupted_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "s.npz"
    old = {"a": np.arange(3.0)}
    save_state(path, old)

    def interrupted(f, *args, **kwargs):
        f.write(b"PK\x03\x04 half an archive")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_state(path, {"a": np.ones(3)})
    with pytest.raises(KeyboardInterrupt):
        save_state(tmp_path / "new.npz", {"a": np.ones(3)})
    assert os.listdir(tmp_path) == ["s.npz"]  # no temporary file left, no half-written new.npz
    np.testing.assert_array_equal(load_state(path, old)["a"], old["a"])
