"""snnjax.sweeps.sweep: sweep == loop, labelled axes, batching, seeds, one compile, bad input, sharding (subprocess)."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pytest

import snnjax as sj
from snnjax import sweeps as sweep_module
from snnjax.sweeps import SweepResult, sweep

GRID = {"drive": np.array([18.0, 21.0, 24.0]), "w_exc": np.array([0.3, 0.8])}
DURATION = 50.0  # ms


def ei_net(w_exc, n=100):
    """Two LIF populations (80 E, 20 I) with random (FixedProb) COBA projections."""
    lif = dict(v_rest=-60.0, v_th=-50.0, v_reset=-60.0, tau=20.0, tau_ref=5.0, v_init=sj.init.Normal(-55.0, 2.0))
    exc = dict(synapse=sj.synapses.Exponential(tau=5.0), output=sj.outputs.COBA(E=0.0), weight=w_exc)
    inh = dict(synapse=sj.synapses.Exponential(tau=10.0), output=sj.outputs.COBA(E=-80.0), weight=6.7)
    n_e = n * 4 // 5
    return sj.Network(
        E=sj.neurons.LIF(n_e, **lif),
        I=sj.neurons.LIF(n - n_e, **lif),
        EE=sj.Projection("E", "E", conn=sj.conn.FixedProb(0.1, seed=1), **exc),
        EI=sj.Projection("E", "I", conn=sj.conn.FixedProb(0.1, seed=2), **exc),
        IE=sj.Projection("I", "E", conn=sj.conn.FixedProb(0.1, seed=3), **inh),
    )


def ei_rates(drive, w_exc, *, key, duration=DURATION):
    """One parameter point: rates (Hz) of both populations, the E spike train and the final E potentials."""
    net = ei_net(w_exc)
    state = net.init(key=key, dt=0.1)
    state, rec = sj.simulate(
        net, state, duration=duration, dt=0.1, inputs=[("E.input", drive), ("I.input", drive)], monitors=["E.spike"]
    )
    n_spikes = rec["E.spike"].sum(axis=1)
    return {
        "rate_e": n_spikes.sum() / 80 / (duration / 1000.0),
        "rate_i": state.neurons["I"].spike.sum(),  # a scalar leaf from the final state
        "spikes": n_spikes,  # (n_steps,) E spikes per step
        "v": state.neurons["E"].v,  # (80,) mV
    }


def loop(fn, grid, seed_values, seed=0):
    """The reference: a plain Python loop over the points, one jitted call each (compiled once)."""
    jitted = jax.jit(fn)
    names = list(grid)
    out = {}
    for idx in np.ndindex(*(len(v) for v in grid.values()), len(seed_values)):
        params = {name: float(grid[name][i]) for name, i in zip(names, idx)}
        key = jax.random.fold_in(jax.random.key(seed), int(seed_values[idx[-1]]))
        out[idx] = jax.device_get(jitted(**params, key=key))
    return out


@pytest.fixture(scope="module")
def reference():
    return loop(ei_rates, GRID, [0, 1])


def assert_equals_loop(result, ref):
    for idx, point in ref.items():
        # bit-identical: the batched and the single-point programs do the same float32 operations in the
        # same order on CPU (vmap adds a batch axis, it does not reorder the per-point sums)
        jax.tree.map(np.testing.assert_array_equal, jax.tree.map(lambda x, i=idx: x[i], result.data), point)


def test_sweep_equals_a_loop_over_the_points(reference):
    result = sweep(ei_rates, GRID, seeds=2)
    assert isinstance(result, SweepResult)
    assert_equals_loop(result, reference)
    rates = result.data["rate_e"]
    assert rates.shape == (3, 2, 2) and isinstance(rates, np.ndarray)
    by_drive = rates.mean(axis=(1, 2))
    assert np.all(by_drive[1:] > by_drive[:-1])  # more drive, more spikes


def test_labelled_axes_and_sel(reference):
    result = sweep(ei_rates, GRID, seeds=2)
    assert result.dims == ("drive", "w_exc", "seed") and result.shape == (3, 2, 2)
    np.testing.assert_array_equal(result.axes["drive"], GRID["drive"])
    np.testing.assert_array_equal(result.axes["seed"], [0, 1])
    assert result.data["v"].shape == (3, 2, 2, 80) and result.data["spikes"].shape == (3, 2, 2, 500)
    assert result.data["rate_i"].shape == (3, 2, 2)

    point = result.sel(drive=21.0, w_exc=0.8, seed=1)
    assert point.dims == () and point.shape == ()
    jax.tree.map(np.testing.assert_array_equal, point.data, reference[(1, 1, 1)])

    sub = result.sel(w_exc=0.3, seed=[1, 0])  # a list keeps the axis, in the order asked
    assert sub.dims == ("drive", "seed") and sub.data["v"].shape == (3, 2, 80)
    np.testing.assert_array_equal(sub.axes["seed"], [1, 0])
    np.testing.assert_array_equal(sub.data["v"][2, 0], reference[(2, 0, 1)]["v"])
    # float values match within a relative 1e-6 (float32 round trips, linspace values typed by hand)
    np.testing.assert_array_equal(result.sel(drive=np.float32(24.0) + 1e-6).data["v"], result.data["v"][2])
    np.testing.assert_array_equal(result.isel(drive=-1, seed=[0]).data["v"], result.data["v"][2][:, [0]])
    assert result["rate_e"].sel(seed=0).data.shape == (3, 2)

    with pytest.raises(ValueError, match="unknown axis name.*'tau'"):
        result.sel(tau=10.0)
    with pytest.raises(ValueError, match="drive=19.0 is not one of"):
        result.sel(drive=19.0)
    with pytest.raises(KeyError, match="no 'rate'"):
        result["rate"]


def test_batches_with_a_remainder_equal_one_batch():
    grid = {"drive": np.array([19.0, 23.0]), "w_exc": np.array([0.3, 0.6, 0.9])}
    whole = sweep(ei_rates, grid, seeds=2)  # 12 points, one call
    batched = sweep(ei_rates, grid, seeds=2, batch_size=5)  # 5 + 5 + 2 (padded to 5)
    big = sweep(ei_rates, grid, seeds=2, batch_size=1000)  # clipped to the 12 points
    assert (whole.batch_size, batched.batch_size, big.batch_size) == (12, 5, 12)
    jax.tree.map(np.testing.assert_array_equal, batched.data, whole.data)
    jax.tree.map(np.testing.assert_array_equal, big.data, whole.data)


def test_seed_axis_gives_independent_reproducible_keys():
    grid = {"drive": np.array([22.0]), "w_exc": np.array([0.5])}
    three = sweep(ei_rates, grid, seeds=3)
    v = three.data["v"][0, 0]  # (3 seeds, 80 neurons)
    assert not np.array_equal(v[0], v[1]) and not np.array_equal(v[1], v[2])  # random initial potentials differ
    again = sweep(ei_rates, grid, seeds=3)
    jax.tree.map(np.testing.assert_array_equal, again.data, three.data)
    # a seed value's key does not depend on the other seeds run; no seeds = seed value 0, no axis
    picked = sweep(ei_rates, grid, seeds=[2])
    np.testing.assert_array_equal(picked.data["v"][0, 0, 0], v[2])
    single = sweep(ei_rates, grid)
    assert single.dims == ("drive", "w_exc")
    np.testing.assert_array_equal(single.data["v"][0, 0], v[0])
    other = sweep(ei_rates, grid, seeds=3, seed=1)  # another base seed, other keys
    assert not np.array_equal(other.data["v"][0, 0, 0], v[0])


def test_a_64_point_sweep_compiles_once():
    traces = []
    compiles = []

    def rate(drive, w_exc, *, key):
        traces.append(1)  # the Python body runs once per trace
        return ei_rates(drive, w_exc, key=key, duration=20.0)["rate_e"]

    def on_event(event, duration, **kw):
        if event == "/jax/core/compile/backend_compile_duration" and "sweep_rate" in str(kw.get("fun_name")):
            compiles.append(kw["fun_name"])

    grid = {"drive": np.linspace(18.0, 24.0, 8), "w_exc": np.linspace(0.3, 0.9, 8)}
    sweep_module.clear_cache()
    jax.monitoring.register_event_duration_secs_listener(on_event)
    try:
        first = sweep(rate, grid, batch_size=16)  # 4 batches of 16
        assert first.shape == (8, 8) and (len(traces), len(compiles)) == (1, 1)
        second = sweep(rate, {"drive": grid["drive"] + 1.0, "w_exc": grid["w_exc"]}, batch_size=16)
        assert (len(traces), len(compiles)) == (1, 1)  # same fn, same shapes: reused
    finally:
        jax.monitoring.unregister_event_duration_listener(on_event)
    assert second.shape == (8, 8) and np.mean(second.data) > np.mean(first.data)  # more drive


def _never_called(**kw):
    raise AssertionError("fn must not run for bad input")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(grid={}), ValueError, "grid must have at least one"),
        (dict(grid=[("drive", [1.0])]), TypeError, "grid must be a dict"),
        (dict(grid={"drive": [[1.0, 2.0]]}), ValueError, r"grid\['drive'\] must be a non-empty 1-D"),
        (dict(grid={"drive": 1.0}), ValueError, r"grid\['drive'\] must be a non-empty 1-D.*wrap"),
        (dict(grid={"drive": []}), ValueError, r"grid\['drive'\] must be a non-empty 1-D"),
        (dict(grid={"drive": ["a", "b"]}), TypeError, r"grid\['drive'\] must hold numbers"),
        (dict(grid={"seed": [1.0]}), ValueError, "grid name 'seed' is reserved"),
        (dict(grid={"key": [1.0]}), ValueError, "grid name 'key' is reserved"),
        (dict(grid={"v th": [1.0]}), ValueError, "grid names must be Python identifiers"),
        (dict(batch_size=0), ValueError, "batch_size must be an int >= 1"),
        (dict(batch_size=-3), ValueError, "batch_size must be an int >= 1"),
        (dict(batch_size=2.5), TypeError, "batch_size must be an int"),
        (dict(batch_size=True), TypeError, "batch_size must be an int"),
        (dict(seeds=-1), ValueError, "seeds must be an int >= 1"),
        (dict(seeds=0), ValueError, "seeds must be an int >= 1"),
        (dict(seeds=2.0), TypeError, "seeds must be None, a count"),
        (dict(seeds="3"), TypeError, "seeds must be None, a count"),
        (dict(seeds=[1, -1]), ValueError, r"seeds\[i\] must be an int in \[0, 2147483648\)"),
        (dict(seeds=[1, 1]), ValueError, "distinct"),
        (dict(seed=-1), ValueError, "seed must be an int >= 0"),
        (dict(devices=[]), ValueError, "devices must be a non-empty list"),
        (dict(devices=["cpu"]), ValueError, "devices must be a non-empty list"),
        (dict(fn=None), TypeError, "fn must be callable"),
        (dict(fn=lambda drive: drive), TypeError, "fn must accept the grid names"),
        (dict(fn=lambda tau, *, key: tau), TypeError, "fn must accept the grid names"),
    ],
)
def test_bad_input_fails_before_tracing(kwargs, error, match):
    args = dict(fn=_never_called, grid={"drive": [20.0]}) | kwargs
    with pytest.raises(error, match=match):
        sweep(args.pop("fn"), args.pop("grid"), **args)


# -- sharding: 4 CPU devices need XLA_FLAGS before jax is imported, so this part runs in a subprocess ------------

_SHARDED = """
import json, sys
import jax, numpy as np
from jax.sharding import NamedSharding, PartitionSpec
sys.path.insert(0, {tests!r})
from test_sweep import GRID, ei_rates, loop
from snnjax import sweeps as sw

assert len(jax.devices()) == 4, jax.devices()
result = sw.sweep(ei_rates, GRID, seeds=2, batch_size=6)  # 12 points: 2 batches of 8 (6 rounded up), 4 padded
ref = loop(ei_rates, GRID, [0, 1])
same_as_loop = all(
    np.array_equal(result.data[k][idx], point[k]) for idx, point in ref.items() for k in point
)
two = sw.sweep(ei_rates, GRID, seeds=2, devices=jax.devices()[:2])

# the jitted batch function itself: its outputs are split over the 4 devices along the batch axis
compiled, batch, replicated = sw._batched(ei_rates, tuple(GRID), tuple(jax.devices()))
values = tuple(sw._global(np.full(8, x, np.float32), batch) for x in (20.0, 0.5))
out = compiled(values, sw._global(np.arange(8, dtype=np.int32), batch),
               sw._global(np.asarray(jax.random.key_data(jax.random.key(0))), replicated))
shardings = {{
    k: dict(
        named=isinstance(v.sharding, NamedSharding) and v.sharding.spec == PartitionSpec("batch"),
        devices=sorted(d.id for d in v.sharding.device_set),
        shards=sorted((s.device.id, s.index[0].start, s.index[0].stop) for s in v.addressable_shards),
    )
    for k, v in out.items()
}}
np.savez({npz!r}, **result.data)
print(json.dumps(dict(
    same_as_loop=same_as_loop,
    devices=[d.id for d in result.devices],
    batch_size=result.batch_size,
    two_devices=[d.id for d in two.devices],
    two_same=all(np.array_equal(two.data[k], result.data[k]) for k in result.data),
    shardings=shardings,
)))
"""


@pytest.fixture(scope="module")
def sharded_run(tmp_path_factory):
    npz = tmp_path_factory.mktemp("shard") / "sharded.npz"
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4").strip()
    package_root = Path(sj.__file__).parents[1]  # the snnjax this session imported
    env["PYTHONPATH"] = os.pathsep.join([str(package_root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    code = textwrap.dedent(_SHARDED).format(tests=str(Path(__file__).parent), npz=str(npz))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), dict(np.load(npz))


def test_shard_sweep_over_4_devices_equals_the_loop(sharded_run, reference):
    info, data = sharded_run
    assert info["same_as_loop"]  # in the subprocess, against its own loop
    assert info["devices"] == [0, 1, 2, 3] and info["batch_size"] == 8
    assert info["two_devices"] == [0, 1] and info["two_same"]
    # and against this (single-device) process's loop: the partitioned program computes the same numbers
    assert_equals_loop(SweepResult({"drive": GRID["drive"], "w_exc": GRID["w_exc"], "seed": [0, 1]}, data), reference)


def test_shard_outputs_are_split_over_the_devices(sharded_run):
    info, _ = sharded_run
    assert set(info["shardings"]) == {"rate_e", "rate_i", "spikes", "v"}
    for leaf in info["shardings"].values():
        assert leaf["named"] and leaf["devices"] == [0, 1, 2, 3]
        # batch of 8 on 4 devices: rows [0, 2) on device 0, [2, 4) on device 1, ...
        assert leaf["shards"] == [[d, 2 * d, 2 * d + 2] for d in range(4)]
