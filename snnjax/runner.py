"""Running a network: ``simulate`` (pure, composes with jit/vmap/grad) and ``Runner`` (BrainPy's DSRunner).

Time convention (BrainPy's): step ``i`` advances the state from ``t_i = i dt`` to ``t_i + dt``, and the
state after it is recorded with the time stamp ``t_i``. So ``mon.ts`` of a fresh run starts at 0 and
steps by ``dt`` (or by ``every * dt``), and ``mon['pre.v'][0]`` is the state after the first step.

Time on the device (the ``t`` given to callable inputs, ``simulate``'s ``ts``) is computed from the
integer step counter by :func:`snnjax.loop._time`, never as ``float32(step) * dt``: it is the float nearest to
``step * dt`` (float32, or float64 with ``jax_enable_x64``). A float32 ``t`` still has the resolution of
float32, ``t * 2**-24``: consecutive steps stay distinct up to ``t = 2**23 dt`` (839 s of biological
time at ``dt = 0.1`` ms); callables that need finer time on longer runs need ``jax_enable_x64`` (or an
array input). ``Runner``'s ``mon.ts`` is float64, computed on the host.
"""

from __future__ import annotations

import dataclasses
import numbers
import time
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from snnjax import _checks, placement
from snnjax import monitors as monitors_mod
from snnjax.delays import steps_of
from snnjax.loop import _compiled_chunk as _compiled_chunk  # the run loop (snnjax.loop), shared with snnjax.sharding
from snnjax.loop import _Static
from snnjax.loop import _time as _time
from snnjax.network import DEFAULT_DT, Network, NetworkState
from snnjax.projection import device_lags

InputSpec = tuple  # (path, value) or (path, value, mode) with mode in 'fix', 'iter', 'func'
INPUT_MODES = ("fix", "iter", "func")


def _batch_shape(net: Network, state: NetworkState) -> tuple[int, ...]:
    name, pop = next(iter(net.populations.items()))
    neurons = getattr(state, "neurons", None)
    spike = getattr(neurons.get(name), "spike", None) if isinstance(neurons, dict) else None
    shape = tuple(np.shape(spike)) if spike is not None else None
    if shape is None or len(shape) < len(pop.shape) or shape[len(shape) - len(pop.shape) :] != tuple(pop.shape):
        raise ValueError(
            f"state does not match the network: state.neurons[{name!r}].spike has shape {shape}, expected "
            f"(*batch_shape, {', '.join(map(str, pop.shape))}) for population {name!r}; make the state with net.init()"
        )
    return shape[: len(shape) - len(pop.shape)]


def _normalize_inputs(net, inputs, n_steps, batch_shape):
    """-> list of (population, mode, value), checked against the network.

    ``n_steps=None`` checks what does not depend on the duration (``Runner`` construction).
    """
    if isinstance(inputs, dict):
        inputs = list(inputs.items())
    valid = net.input_paths()
    out = []
    for spec in inputs:
        if not isinstance(spec, (tuple, list)) or len(spec) not in (2, 3):
            raise TypeError(f"inputs: each entry must be (path, value) or (path, value, mode), got {spec!r}")
        path, value = spec[0], spec[1]
        if path not in valid:
            raise ValueError(f"inputs: unknown input path {path!r}; valid paths are {valid}")
        pop = path.split(".")[0]
        shape = (*batch_shape, *net.input_shape(path))
        mode = spec[2] if len(spec) == 3 else ("func" if callable(value) else None)
        if mode is not None and mode not in INPUT_MODES:
            raise ValueError(f"inputs: mode for {path!r} must be one of {INPUT_MODES}, got {mode!r}")
        if mode == "func":
            if not callable(value):
                raise TypeError(f"inputs: {path!r} has mode 'func' but its value is not callable")
            _check_func_input(path, value, shape)
            out.append((pop, "func", value))
            continue
        value = _real_input(path, value)
        vshape = tuple(np.shape(value))
        fits = _broadcasts(vshape, shape)
        # n_steps None (Runner construction, duration unknown): any number of steps passes
        over_time = len(vshape) >= 1 and n_steps in (None, vshape[0]) and _broadcasts(vshape[1:], shape)
        if n_steps is None and mode is None:
            mode = "fix" if fits else "iter"
        if mode is None:
            if fits and over_time and vshape != ():
                raise ValueError(
                    f"inputs: the value for {path!r} (shape {vshape}) fits both as a constant and as one value per "
                    f"step ({n_steps} steps); say which with a third element 'fix' or 'iter'"
                )
            mode = "iter" if over_time else "fix"
        if mode == "fix" and not fits:
            raise ValueError(
                f"inputs: constant input for {path!r} must broadcast to {shape}, got shape {vshape}; an input over "
                f"time needs shape ({n_steps}, ...) for {n_steps} steps"
            )
        if mode == "iter" and not over_time:
            raise ValueError(
                f"inputs: input over time for {path!r} must have shape ({n_steps or 'n_steps'}, ...) broadcasting to "
                f"{shape} per step; got shape {vshape}"
            )
        _checks.check_real("inputs", path, value if not isinstance(value, numbers.Real) else float(value))
        out.append((pop, mode, value))
    return out


def _real_input(path: str, value: Any) -> Any:
    """A non-callable input value as real numbers (lists become numpy arrays, bool arrays 0.0/1.0); TypeError
    otherwise (a bare bool is refused: it is no current)."""
    if isinstance(value, (list, tuple)):
        try:
            value = np.asarray(value)
        except ValueError:
            raise TypeError(f"inputs: the value for {path!r} is a ragged list; give an array (nA)") from None
    if isinstance(value, (bool, np.bool_)):
        ok = False
    elif getattr(value, "dtype", None) is not None and np.dtype(value.dtype) == np.bool_ and np.ndim(value):
        # a spike raster (e.g. for sj.inputs.SpikeArray): 1.0 where True
        return value.astype(jnp.result_type(float))
    elif isinstance(value, numbers.Real):
        ok = True
    else:
        dtype = getattr(value, "dtype", None)
        ok = _checks.is_real_dtype(dtype)  # bfloat16 too (an ml_dtypes float, unknown to np.issubdtype)
    if not ok:
        raise TypeError(
            f"inputs: the value for {path!r} must be a real number, an array of real numbers (nA) or a callable "
            f"f(t_ms); got {type(value).__name__} {value!r:.80}"
        )
    return value


def _check_func_input(path: str, fn: Any, shape: tuple) -> None:
    """Trace ``fn(t)`` abstractly (no compilation) and check that it gives real values broadcasting to ``shape``."""
    try:
        out = jax.eval_shape(fn, jax.ShapeDtypeStruct((), jnp.result_type(float)))
    except Exception as err:  # noqa: BLE001 -- re-raised with the input's name
        raise TypeError(f"inputs: calling the function given for {path!r} as f(t_ms) fails: {err}") from err
    if not isinstance(out, jax.ShapeDtypeStruct) or not (
        jnp.issubdtype(out.dtype, jnp.floating) or jnp.issubdtype(out.dtype, jnp.integer)
    ):
        raise TypeError(f"inputs: the function given for {path!r} must return a real array (nA), got {out}")
    if not _broadcasts(tuple(out.shape), shape):
        raise ValueError(
            f"inputs: the function given for {path!r} returns shape {tuple(out.shape)}, which does not broadcast to "
            f"the population's {shape}"
        )


def _broadcasts(src: tuple, dst: tuple) -> bool:
    if len(src) > len(dst):
        return False
    return all(a in (1, b) for a, b in zip(src[::-1], dst[::-1]))


def _normalize_monitors(net, monitors, state) -> tuple:
    """-> tuple of (name, kind, payload) with kind 'path' (payload (path, index)), 'fn', 'probe' (bound to
    ``net``: :meth:`snnjax.monitors.Probe.bind`) or 'reducer'."""
    if isinstance(monitors, (str, monitors_mod.Probe, monitors_mod.Reducer)):
        monitors = [monitors]
    valid = None
    out = []
    for entry in monitors:
        if isinstance(entry, str) or (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], str)):
            name, text = (entry, entry) if isinstance(entry, str) else entry
            path, index = monitors_mod.parse_path(text)
            valid = valid if valid is not None else net.monitor_paths(state)
            if path not in valid:
                raise ValueError(f"monitors: unknown monitor path {path!r}; valid paths are {valid}")
            if index is not None:
                n = int(np.prod(np.shape(monitors_mod.read_field(state, path))[-_field_ndim(net, path) :]))
                if isinstance(index, np.ndarray) and (index.min() < -n or index.max() >= n):
                    raise ValueError(f"monitors: index of {text!r} is out of range for {n} neurons")
                try:
                    idx = np.arange(n)[index]
                except (ValueError, IndexError) as err:
                    raise ValueError(f"monitors: bad index in {text!r}: {err}") from None
                if idx.size == 0:
                    raise ValueError(f"monitors: index of {text!r} selects none of the {n} neurons")
                index = tuple(int(i) for i in idx)
            out.append((name, "path", (path, index)))
        elif isinstance(entry, monitors_mod.Probe):
            target = getattr(entry, "population", None)
            if target is not None and target not in net.populations:
                raise ValueError(
                    f"monitors: {type(entry).__name__} {entry.name!r} refers to unknown population {target!r}; "
                    f"valid are {sorted(net.populations)}"
                )
            out.append((entry.name, "probe", entry.bind(net)))
        elif isinstance(entry, monitors_mod.Reducer):
            for attr in ("path", "population"):
                target = getattr(entry, attr, None)
                if target:
                    valid = valid if valid is not None else net.monitor_paths(state)
                    ok = target in valid if attr == "path" else target in net.populations
                    if not ok:
                        raise ValueError(
                            f"monitors: {type(entry).__name__} {entry.name!r} refers to unknown {attr} {target!r}; "
                            f"valid are {valid if attr == 'path' else sorted(net.populations)}"
                        )
            out.append((entry.name, "reducer", entry))
        elif isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str) and callable(entry[1]):
            out.append((entry[0], "fn", entry[1]))
        else:
            raise TypeError(
                "monitors: each entry must be a path such as 'E.v' or 'E.v[0:10]', a (name, fn(state)) pair, or an "
                f"snnjax.monitors Probe/Reducer; got {entry!r}"
            )
    names = [name for name, _, _ in out]
    if len(set(names)) != len(names) or "ts" in names:
        raise ValueError(f"monitors: names must be unique and not 'ts', got {names}")
    return tuple(out)


def _field_ndim(net: Network, path: str) -> int:
    """Trailing neuron (or synapse) axes of the state field at ``path``, after the batch axes."""
    name, field = path.split(".", 1)
    if name in net.populations:
        return len(net.populations[name].shape)
    if name in net.drives:  # the kinetics of a drive are post-aligned
        return len(net.populations[net.drives[name].post].shape)
    proj = net.projections[name]
    return proj.field_ndim(field, len(net.populations[proj.post].shape))


def _check_state(net: Network, state: NetworkState, dt: float, owner: str = "simulate") -> None:
    if not isinstance(state, NetworkState):
        raise TypeError(f"{owner}: state must be a NetworkState from net.init(), got {type(state).__name__}")
    try:
        batch = _batch_shape(net, state)
    except ValueError as err:
        raise ValueError(f"{owner}: {err}") from None
    _check_state_shapes(net, state, batch, owner, dt)
    for pop, need in net.delay_depths(dt).items():  # traced delays (need None) are checked on the device
        have = state.delays[pop].max_lag if pop in state.delays else 1
        if need is not None and need > have:
            raise ValueError(
                f"simulate: projections from {pop!r} need a delay of {need} steps at dt={dt} ms, but the state's "
                f"delay buffer holds {have}; make the state with net.init(..., dt={dt}) (or give the Projection "
                "a larger max_delay)"
            )
    for name, proj in net.projections.items():  # rings of future input: traced delays are checked on the device
        need, have = proj.max_lag(dt) if proj.ring_delivery else None, _ring_depth(state, name)
        if need is not None and have is not None and need > have:
            raise ValueError(
                f"{owner}: projection {name!r} needs a ring of {need} steps at dt={dt} ms for its per-synapse delays, "
                f"but the state's holds {have}; make the state with net.init(..., dt={dt})"
            )


def _leaf_matches(have: Any, want: jax.ShapeDtypeStruct) -> bool:
    shape = tuple(np.shape(have))
    if jax.dtypes.issubdtype(want.dtype, jax.dtypes.prng_key):  # a typed key, or its raw uint32 data
        dtype = getattr(have, "dtype", None)
        if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
            return shape == tuple(want.shape)
        return len(shape) == len(want.shape) + 1 and shape[: len(want.shape)] == tuple(want.shape)
    return shape == tuple(want.shape)


def _ring_depth(state: Any, name: str) -> int | None:
    """The depth of projection ``name``'s ring in ``state`` (None: it has none, or the state lacks it)."""
    ring = getattr(getattr(state, "synapses", {}).get(name), "ring", None)
    return None if ring is None or np.ndim(ring) < 2 else int(np.shape(ring)[-2])


def _check_state_shapes(net: Network, state: NetworkState, batch: tuple, owner: str, dt: float = DEFAULT_DT) -> None:
    """``state`` against ``net.init(key, batch)`` (shapes only, no computation): the same neuron and
    synapse pytrees with the same leaf shapes, and delay buffers ``(depth, *batch, count)`` of the network's
    populations (any depth: the lags are checked against it by :func:`_check_state`). ``ValueError`` names
    the first path that differs, its shape and the expected one."""

    def parts():  # net.init's neuron and synapse states (its delay buffers need concrete delays: checked below)
        keys = jax.random.split(jax.random.key(0), len(net.populations) + len(net.drives))
        synapses = {  # a ring's depth is the state's (a traced delay cannot size it)
            n: p.init_state(net.populations[p.post].shape, batch, dt, ring_depth=_ring_depth(state, n))
            for n, p in net.projections.items()
        }
        for (n, d), k in zip(net.drives.items(), keys[len(net.populations) :]):
            synapses[n] = d.init_state(net.populations[d.post].shape, batch, key=k)
        return {
            "neurons": {n: p.init(batch, key=k) for (n, p), k in zip(net.populations.items(), keys)},
            "synapses": synapses,
        }

    template = jax.eval_shape(parts)
    where = f"(expected from net.init(batch_shape={batch}))"
    for part in ("neurons", "synapses"):
        have_leaves = jax.tree_util.tree_flatten_with_path(getattr(state, part))[0]
        want_leaves = jax.tree_util.tree_flatten_with_path(template[part])[0]
        have = {jax.tree_util.keystr(k): v for k, v in have_leaves}
        want = {jax.tree_util.keystr(k): v for k, v in want_leaves}
        for path, w in want.items():
            if path not in have:
                raise ValueError(
                    f"{owner}: the state does not match the network: state.{part}{path} is missing {where}"
                )
            if not _leaf_matches(have[path], w):
                raise ValueError(
                    f"{owner}: the state does not match the network: state.{part}{path} has shape "
                    f"{tuple(np.shape(have[path]))}, expected {tuple(w.shape)} {where}"
                )
        extra = [p for p in have if p not in want]
        if extra:
            raise ValueError(
                f"{owner}: the state does not match the network: state.{part}{extra[0]} is not in the network's "
                f"state {where}"
            )
        if jax.tree.structure(getattr(state, part)) != jax.tree.structure(template[part]):
            raise ValueError(
                f"{owner}: the state does not match the network: state.{part} has a different structure {where}"
            )
    if np.shape(state.step) != ():
        raise ValueError(
            f"{owner}: the state does not match the network: state.step has shape {np.shape(state.step)}, expected ()"
        )
    for pop, buf in state.delays.items():
        if pop not in net.populations:
            raise ValueError(
                f"{owner}: the state does not match the network: state.delays[{pop!r}] is a delay buffer of a "
                f"population the network does not have (populations: {sorted(net.populations)})"
            )
        want = (*batch, net.populations[pop].count)
        shape = tuple(np.shape(getattr(buf, "data", None)))
        if len(shape) != len(want) + 1 or shape[1:] != want or np.shape(getattr(buf, "head", None)) != ():
            raise ValueError(
                f"{owner}: the state does not match the network: state.delays[{pop!r}].data has shape {shape}, "
                f"expected (depth, {', '.join(map(str, want))}) {where}"
            )


def simulate(
    net: Network,
    state: NetworkState,
    *,
    duration: float,
    dt: float,
    inputs: Sequence[InputSpec] | dict = (),
    monitors: Sequence[str] = (),
    every: int = 1,
    devices: Any = None,
) -> tuple[NetworkState, dict[str, jax.Array]]:
    """Run ``net`` for ``duration`` ms from ``state`` as one ``lax.scan``; pure, so it composes with
    ``jax.jit`` (mark nothing static: the spec is read before tracing), ``jax.vmap`` and ``jax.grad``.

    Args:
      net: the network.
      state: from ``net.init(..., dt=dt)`` or a previous ``simulate``; a run resumed from a returned
        state continues exactly where it stopped.
      duration: simulated time, ms: ``floor(duration / dt + 1/2)`` whole steps, the package's one rule from ms to
        steps (:func:`snnjax.delays.time_steps`; half steps round up: 0.25 ms at dt 0.1 is 3 steps).
      dt: time step, ms.
      inputs: ``[(path, value), ...]`` or ``{path: value}`` with path ``'<population>.input'`` (current, nA).
        A value is a constant (scalar or array broadcasting to the population), an array with one value
        per step on axis 0 (shape ``(n_steps, ...)``), or a callable ``f(t_ms) -> current``. A third
        tuple element ``'fix'``, ``'iter'`` or ``'func'`` forces the kind.
      monitors: what to record: state paths ``'<population>.<field>'`` or ``'<projection>.<field>'``, or
        ``(name, fn)`` pairs with ``fn(state) -> array`` computed on the device (e.g. a spike count).
      every: record every ``every`` steps (the number of steps must be a multiple): the state after the first
        step of each window of ``every`` steps, except a population's spike state (``'E.spike'``, subsets
        too), which is summed over the window's ``every`` steps -- spike counts per window, stamped with its
        start -- so rates from it are exact (e.g. ``sj.analysis.firing_rates(rec["E.spike"], dt=every * dt)``).
      devices: ``None`` (one device), or a list of devices / a ``jax.sharding.Mesh`` with an axis ``"neurons"``
        over which the network is split (:mod:`snnjax.sharding`): ``state`` and the returned state stay in the
        one-device layout (converted on the host, so not under ``jit``/``vmap``/``grad``), and the monitors are
        state paths and the reducers ``SpikeCount``, ``Mean`` and ``ExpTrace``.

    Returns:
      ``(final_state, record)``: ``record['ts']`` has shape ``(n_rec,)`` (ms, computed on the device from
      the integer step: the float32 nearest to ``step * dt``, or float64 with ``jax_enable_x64``; see the
      module docstring; ``Runner`` gives float64 stamps computed on the host) and ``record[path]`` shape
      ``(n_rec, *batch, *field_shape)``, time on axis 0, in the state's dtype: spikes stay float (0/1, so
      gradients flow through their surrogate), where ``Runner`` stores them as bool. ``record`` is a dict,
      so JAX returns its keys sorted.

    Raises:
      ValueError: before any tracing, if ``state`` is not a state of ``net`` (another network's, or another
        batch shape's): the message names the first path whose structure or shape differs from
        ``net.init(key, batch_shape, dt)``.

    With concrete arguments and no callable inputs or function monitors, the compiled program is cached by the
    run's structure (network shapes, duration, monitors, inputs) like ``Runner``'s chunks, so a second call
    with the same structure does not compile again; otherwise (traced arguments inside ``jit``/``vmap``/``grad``,
    or user callables, which may close over traced values) it is traced into the enclosing program: wrap such
    calls in ``jax.jit`` to compile once.
    """
    where = placement.of(devices)  # one device, or the network split over a mesh: the only look at devices
    spec, state = _prepare(
        net,
        state,
        duration,
        dt,
        inputs,
        monitors,
        every,
        check_finite=False,
        owner="simulate",
        sharded=where.sharded,
    )
    values = [None if mode == "func" else v for _, mode, v in spec.inputs_full]
    where.check(spec.static.records, "simulate", traced=(net, state, values))
    where = where.bind(net, spec.static.dt, cache=True)
    acc = where.init_reducers(spec.static, state)
    jit = _cacheable((net, state, values, spec.lag_arrays), spec.static)
    out, acc, rec = where.run_chunk(spec.static, where.place(state), acc, values, spec.lag_arrays, host=False, jit=jit)
    rec.update(_finish_reducers(spec, where.gather_reducers(spec.static, acc), spec.static.n_steps))
    return where.gather(out), rec


def _cacheable(args: Any, static: _Static) -> bool:
    """True when ``simulate`` may call a cached compiled program: no traced value among ``args`` and no user
    callable in the spec (a callable input ``f(t)`` or a function monitor may close over values traced by an
    enclosing ``jit``/``vmap``/``grad``, which a program compiled outside it must not capture). Otherwise
    ``simulate`` traces into the enclosing program (wrap the call in ``jax.jit`` to compile it once)."""
    if any(mode == "func" for _, mode, _ in static.inputs) or any(kind == "fn" for _, kind, _ in static.records):
        return False
    return not any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves(args))


@dataclasses.dataclass
class _Spec:
    static: _Static
    inputs_full: list  # (population, mode, value)
    lag_arrays: dict = dataclasses.field(default_factory=dict)  # per-synapse host lags, int32 (K,)


def _prepare(net, state, duration, dt, inputs, monitors, every, check_finite, owner, sharded=False):
    dt = _checks.check_time(owner, "dt", dt)
    duration = _checks.check_time(owner, "duration", duration)
    n_steps = steps_of(duration, dt)  # the one rule from ms to steps (snnjax.delays): half steps round up
    if n_steps < 1:
        raise ValueError(f"{owner}: duration={duration} ms is shorter than one step of dt={dt} ms")
    if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1 or n_steps % every:
        raise ValueError(f"{owner}: every must be an int >= 1 dividing the number of steps ({n_steps}), got {every!r}")
    if not isinstance(net, Network):
        raise TypeError(f"{owner}: net must be an snnjax.Network, got {type(net).__name__}")
    net._validate(dt, sharded)
    _check_state(net, state, dt, owner)
    lags = net.lags(dt)
    specs = _normalize_inputs(net, inputs, n_steps, _batch_shape(net, state))
    records = _normalize_monitors(net, monitors, state)
    finite = ()
    if check_finite:
        finite = tuple(
            p for p in net.monitor_paths(state) if jnp.issubdtype(monitors_mod.read_field(state, p).dtype, jnp.floating)
        )
    ndim = tuple(
        (payload[0], _field_ndim(net, payload[0])) for _, kind, payload in records if kind == "path" and payload[1]
    )
    static = _Static(
        n_steps=n_steps,
        dt=dt,
        every=int(every),
        inputs=tuple((pop, mode, v if mode == "func" else None) for pop, mode, v in specs),
        records=records,
        finite_fields=finite,
        field_ndim=ndim,
        spikes=tuple(
            name
            for name, kind, payload in records
            if kind == "path" and payload[0].split(".")[0] in net.populations and payload[0].endswith(".spike")
        ),
        lags=tuple((n, v) for n, v in lags.items() if isinstance(v, int)),
        depths=tuple((n, b.max_lag) for n, b in state.delays.items())
        + tuple((n, s.ring.shape[-2]) for n, s in state.synapses.items() if getattr(s, "ring", None) is not None),
    )
    lag_arrays = {n: device_lags(v) for n, v in lags.items() if isinstance(v, np.ndarray)}  # moved once, kept
    return _Spec(static=static, inputs_full=specs, lag_arrays=lag_arrays), state


def _finish_reducers(spec: _Spec, acc: dict, n_steps: int) -> dict:
    return {
        name: r.result(acc[name], n_steps, spec.static.dt)
        for name, kind, r in spec.static.records
        if kind == "reducer" and not r.recorded
    }


class Monitors(dict):
    """Recorded traces (numpy arrays, time on axis 0) keyed by monitor name, time stamps at ``.ts`` (ms).

    Spike monitors (``'<population>.spike'``) are kept compact, as the times and indices of the
    spikes (:meth:`spikes`); indexing (``mon['E.spike']``) builds the dense bool raster on demand (with
    ``every > 1``, the raster of spike counts per window of ``every`` steps). Reducer results (``SpikeCount``,
    ``Mean``) have no time axis.
    """

    def __init__(self, ts: np.ndarray, traces: dict, events: dict | None = None, order: list | None = None):
        super().__init__(traces)
        self.ts = ts
        self._events = dict(events or {})
        self._order = list(order) if order is not None else [*traces, *self._events]

    def __getitem__(self, key):
        if key in self._events:
            return self._events[key].to_dense()
        return super().__getitem__(key)

    def __contains__(self, key):
        return dict.__contains__(self, key) or key in self._events

    def __iter__(self):
        return iter(self._order)

    def __len__(self):
        return len(self._order)

    def keys(self):
        return list(self._order)

    def values(self):
        return [self[k] for k in self._order]

    def items(self):
        return [(k, self[k]) for k in self._order]

    def spikes(self, key: str) -> monitors_mod.SpikeEvents:
        """Compact spikes of a spike monitor: ``.times`` (ms), ``.index`` / ``.neuron``, ``.to_dense()``."""
        if key not in self._events:
            raise KeyError(f"Monitors.spikes: {key!r} is not a spike monitor; spike monitors are {list(self._events)}")
        return self._events[key]

    def __repr__(self):
        parts = [f"{k}: {np.shape(dict.__getitem__(self, k))}" for k in dict.keys(self)]
        parts += [f"{k}: {len(e)} spikes" for k, e in self._events.items()]
        return f"Monitors(ts: {self.ts.shape}, {', '.join(parts)})"


class Runner:
    """BrainPy-DSRunner-like driver: holds the state between runs, runs long simulations in chunks.

    ``Runner(net, dt=0.1, inputs=[('pre.input', 25.)], monitors=['pre.v'])``, then ``runner.run(150.)``;
    the traces are at ``runner.mon.ts`` and ``runner.mon['pre.v']`` (numpy, time on axis 0; spike
    monitors as bool, stored compactly). A second ``run`` continues from where the first stopped
    (``reset()`` starts over) and replaces ``mon``.

    A run is cut into chunks of ``chunk`` ms: each chunk is one compiled ``lax.scan`` whose records are
    moved to the host before the next starts, so device memory is bounded by the chunk, not the run, and
    the progress bar advances. Compiled chunks are cached by structure (network shapes, chunk length,
    monitors, inputs), so repeated runs -- also by new Runners of the same network -- compile once. If
    a run stops (exception, ``check_finite``, Ctrl-C), ``mon`` holds the chunks completed before it and
    ``state`` the state at their end (the start of the chunk that failed), so ``run(rest)`` continues from
    there.

    ``mon.ts`` is float64 (host arithmetic on the integer step). Spike states are stored as bool; whole
    spike monitors (``'E.spike'``) compactly, as :class:`~snnjax.monitors.SpikeEvents` whose ``.neuron`` is
    the flat (C-order) neuron index also for N-D populations.

    Args:
      net: the network.
      dt: time step, ms.
      inputs: as in :func:`simulate`; arrays over time must cover the whole ``run`` duration.
      monitors: as in :func:`simulate` (paths with optional index subsets, ``(name, fn)``, probes, reducers).
      every: record every ``every`` steps; spike monitors then hold every spike of each window of ``every``
        steps (counts per window: ``mon.spikes(...)`` has one entry per spike, stamped with its window's start,
        and ``mon['E.spike']`` is the count raster), so rates from them are exact; the other monitors sample
        the state after the window's first step.
      key: random key for the initial state (e.g. random initial voltages); default ``key(0)``.
      batch_shape: run this many independent copies (leading state axes).
      chunk: chunk length, ms (default 1000 ms; whole steps by :func:`snnjax.delays.time_steps`, then rounded
        down to a multiple of ``every`` steps).
      progress: show a tqdm progress bar (simulated time and speed in biological s per wall s).
      check_finite: after every chunk, stop with ``FloatingPointError`` naming the first step, population
        and variable that became NaN or infinite (costs one reduction per state array per step);
        ``runner.state`` is then the state at the start of the failing chunk, matching ``runner.mon``.
      jit: compile (default True); False runs op by op, for debugging.
      devices: ``None`` (one device), or a list of devices / a ``jax.sharding.Mesh`` with an axis ``"neurons"``:
        the network is split over them (:mod:`snnjax.sharding`; neurons partitioned, projections split by
        postsynaptic neuron, spikes all-gathered as bits once per step). ``state`` is then the sharded state
        (every leaf ``(D, ...)``; :meth:`global_state` gives the one-device view); monitors are state paths and
        the reducers ``SpikeCount``, ``Mean`` and ``ExpTrace``, and come back in the one-device layout. The choice is
        ``runner.placement`` (:mod:`snnjax.placement`), which every step of ``run`` goes through.
    """

    def __init__(
        self,
        net: Network,
        dt: float = DEFAULT_DT,
        inputs: Sequence[InputSpec] | dict = (),
        monitors: Sequence = (),
        every: int = 1,
        key: jax.Array | None = None,
        batch_shape: tuple[int, ...] = (),
        chunk: float = 1000.0,
        progress: bool = False,
        check_finite: bool = False,
        jit: bool = True,
        devices: Any = None,
    ):
        if not isinstance(net, Network):
            raise TypeError(f"Runner: net must be an snnjax.Network, got {type(net).__name__}")
        self.net = net
        self.dt = _checks.check_time("Runner", "dt", dt)
        self.chunk = _checks.check_time("Runner", "chunk", chunk)
        self.inputs = list(inputs.items()) if isinstance(inputs, dict) else list(inputs)
        if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1:
            raise ValueError(f"Runner: every must be an int >= 1 (steps between records), got {every!r}")
        self.every = int(every)
        if key is not None and not (
            isinstance(key, jax.Array)
            and (
                jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key) or (key.dtype == jnp.uint32 and key.shape == (2,))
            )
        ):
            raise TypeError(f"Runner: key must be a jax.random.key(...) (or None), got {key!r}")
        if not isinstance(batch_shape, (tuple, list)) or not all(
            isinstance(b, numbers.Integral) and not isinstance(b, bool) and b >= 1 for b in batch_shape
        ):
            raise ValueError(f"Runner: batch_shape must be a tuple of ints >= 1 (e.g. () or (8,)), got {batch_shape!r}")
        self.batch_shape = tuple(int(b) for b in batch_shape)
        self.progress = bool(progress)
        self.check_finite = bool(check_finite)
        self.jit = jit
        self.placement = placement.of(devices)  # one device, or the network split over a mesh
        net._validate(self.dt, self.placement.sharded)
        # every check before the first compiled (or eager) operation: on the state's shapes only
        template = jax.eval_shape(
            lambda: net.init(jax.random.key(0) if key is None else key, self.batch_shape, dt=self.dt)
        )
        self.monitors = list(monitors) if not isinstance(monitors, str) else [monitors]
        records = _normalize_monitors(net, self.monitors, template)
        valid = net.input_paths()
        for spec in self.inputs:
            if not isinstance(spec, (tuple, list)) or len(spec) not in (2, 3) or spec[0] not in valid:
                raise ValueError(
                    f"Runner: inputs entries must be (path, value[, mode]) with path in {valid}; got {spec!r}"
                )
        _normalize_inputs(net, self.inputs, None, self.batch_shape)
        self.key = jax.random.key(0) if key is None else key
        self.placement.check(records, "Runner", jit=jit)
        self.placement = self.placement.bind(net, self.dt)
        self._template = template
        self.reset()
        self.mon: Monitors | None = None

    @property
    def shard(self) -> Any:
        """With ``devices=``: the :class:`~snnjax.sharding.ShardedNetwork` the run is split by; else None."""
        return self.placement.shard

    def reset(self) -> None:
        """Back to the initial state (``net.init``; sharded over the devices with ``devices=``)."""
        self.state = self.placement.init(self.key, self.batch_shape, self.dt)

    def global_state(self) -> NetworkState:
        """The state in the one-device layout of ``net.init`` (with ``devices=``: gathered from the devices)."""
        return self.placement.gather(self.state)

    def run(self, duration: float) -> Monitors:
        """Simulate ``duration`` ms more (``floor(duration / dt + 1/2)`` steps, :func:`snnjax.delays.time_steps`);
        returns (and stores at ``self.mon``) the recorded traces."""
        duration = _checks.check_time("Runner.run", "duration", duration)
        layout = self.placement.layout(self.state, self._template)  # a state in the one-device layout's shapes
        spec, _ = _prepare(
            self.net,
            layout,
            duration,
            self.dt,
            self.inputs,
            self.monitors,
            self.every,
            self.check_finite,
            owner="Runner.run",
            sharded=self.placement.sharded,
        )
        n_steps, every = spec.static.n_steps, self.every
        chunk_steps = max(every, steps_of(self.chunk, self.dt) // every * every)
        step0 = self.placement.first_step(self.state)
        acc = self.placement.init_reducers(spec.static, layout)
        parts: list[dict] = []
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=round(n_steps * self.dt, 6), unit="ms", desc="simulated", unit_scale=True)
        done = 0
        try:
            while done < n_steps:
                length = min(chunk_steps, n_steps - done)
                static = dataclasses.replace(spec.static, n_steps=length)
                values = [
                    None if mode == "func" else (v[done : done + length] if mode == "iter" else v)
                    for _, mode, v in spec.inputs_full
                ]
                t0 = time.perf_counter()
                state, new_acc, rec = self.placement.run_chunk(
                    static, self.state, acc, values, spec.lag_arrays, host=True, jit=self.jit
                )
                if self.check_finite:  # raises before the state moves: it stays at the failing chunk's start
                    self._raise_if_nonfinite(rec.pop("_finite"), static, step0 + done)
                self.state, acc = state, new_acc
                parts.append(self._compact_spikes(rec, spec))  # the dense raster is dropped here
                done += length
                if bar is not None:
                    wall = time.perf_counter() - t0
                    bar.set_postfix_str(f"{length * self.dt / 1000 / max(wall, 1e-9):.2f} bio s / wall s")
                    bar.update(round(length * self.dt, 6))
        finally:
            if bar is not None:
                bar.close()
            acc = self.placement.gather_reducers(spec.static, acc)
            self.mon = self._assemble(parts, spec, step0, done, acc)
        return self.mon

    def _raise_if_nonfinite(self, finite: np.ndarray, static: _Static, first_step: int) -> None:
        bad = ~np.asarray(finite)  # (n_rec, every, *batch?, n_fields) -> steps x fields
        bad = bad.reshape(-1, bad.shape[-1]) if bad.ndim == 3 else bad.reshape(bad.shape[0] * bad.shape[1], -1)
        if bad.any():
            step, field = np.argwhere(bad)[0]
            k = first_step + int(step)
            raise FloatingPointError(
                f"Runner: non-finite value (NaN or inf) first at step {k} (t = {k * self.dt:g} ms) in "
                f"{static.finite_fields[int(field)]}; runner.mon holds the chunks completed before it and "
                f"runner.state the state at their end (step {first_step}, the start of the failing chunk)"
            )

    @staticmethod
    def _is_spike_record(name: str, kind: str, payload: Any, static: _Static) -> bool:
        """A whole population's spike state (not a subset, not a function monitor that happens to be named so)."""
        return kind == "path" and name in static.spikes and payload[1] is None

    def _compact_spikes(self, rec: dict, spec: _Spec) -> dict:
        """Replace each chunk's dense spike raster by ``(shape, nonzero indices)`` with the neuron axes
        flattened (C order), so the last index is the flat neuron index (host memory then grows with the
        spikes, not with the steps). A count raster (``every > 1``) gives one entry per spike: an index
        repeated as many times as the neuron spiked in the window."""
        for name, kind, payload in spec.static.records:
            if self._is_spike_record(name, kind, payload, spec.static) and name in rec:
                c = np.asarray(rec[name])
                n_neuron_axes = len(self.net.populations[payload[0].split(".")[0]].shape)
                flat = c.reshape(*c.shape[: c.ndim - n_neuron_axes], -1)
                # np.nonzero of an N-D array is ~20x slower than of its 1-D view (22 ms against 1 ms for a
                # (1000, 7717) raster: a quarter of the microcircuit's run at scale 0.1); the same indices, in C order
                at = np.flatnonzero(flat)
                nz = np.unravel_index(at, flat.shape)
                if flat.dtype != bool:
                    nz = tuple(np.repeat(a, flat.reshape(-1)[at]) for a in nz)
                rec[name] = (c.shape, tuple(a.astype(np.int32) for a in nz))
        return rec

    def _assemble(self, parts: list[dict], spec: _Spec, step0: int, done: int, acc: dict) -> Monitors:
        ts = (step0 + np.arange(done // self.every) * self.every) * self.dt
        traces, events = {}, {}
        for name, kind, payload in spec.static.records:
            if kind == "reducer" and not payload.recorded:
                traces[name] = np.asarray(payload.result(acc[name], max(done, 1), self.dt))
                continue
            chunks = [p[name] for p in parts]
            if not chunks:
                continue
            if self._is_spike_record(name, kind, payload, spec.static):
                rec_index, index, offset = [], [], 0
                for shape, nz in chunks:
                    rec_index.append(nz[0] + np.int32(offset))
                    index.append(nz[1:])
                    offset += shape[0]
                events[name] = monitors_mod.SpikeEvents(
                    rec_index=np.concatenate(rec_index),
                    index=tuple(np.concatenate([ix[a] for ix in index]) for a in range(len(chunks[0][1]) - 1)),
                    shape=(offset, *chunks[0][0][1:]),
                    ts=ts[:offset],
                    every=self.every,
                )
            else:
                traces[name] = np.concatenate([np.asarray(c) for c in chunks])
        order = [name for name, _, _ in spec.static.records if name in traces or name in events]
        return Monitors(ts[: sum(p["ts"].shape[0] for p in parts)], traces, events, order)
