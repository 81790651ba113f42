"""Running a network: ``simulate`` (pure, composes with jit/vmap/grad) and ``Runner`` (BrainPy's DSRunner).

Time convention (BrainPy's): step ``i`` advances the state from ``t_i = i dt`` to ``t_i + dt``, and the
state after it is recorded with the time stamp ``t_i``. So ``mon.ts`` of a fresh run starts at 0 and
steps by ``dt`` (or by ``every * dt``), and ``mon['pre.v'][0]`` is the state after the first step.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from snnjax import _checks
from snnjax.network import DEFAULT_DT, Network, NetworkState

InputSpec = tuple  # (path, value) or (path, value, mode) with mode in 'fix', 'iter', 'func'
INPUT_MODES = ("fix", "iter", "func")


def _batch_shape(net: Network, state: NetworkState) -> tuple[int, ...]:
    name, pop = next(iter(net.populations.items()))
    v = state.neurons[name].spike
    return tuple(v.shape[: v.ndim - len(pop.shape)])


def _normalize_inputs(net, inputs, n_steps, batch_shape):
    """-> list of (population, mode, value), checked against the network."""
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
        shape = (*batch_shape, *net.populations[pop].shape)
        mode = spec[2] if len(spec) == 3 else ("func" if callable(value) else None)
        if mode is not None and mode not in INPUT_MODES:
            raise ValueError(f"inputs: mode for {path!r} must be one of {INPUT_MODES}, got {mode!r}")
        if mode == "func":
            if not callable(value):
                raise TypeError(f"inputs: {path!r} has mode 'func' but its value is not callable")
            out.append((pop, "func", value))
            continue
        vshape = tuple(np.shape(value))
        fits = _broadcasts(vshape, shape)
        over_time = len(vshape) >= 1 and vshape[0] == n_steps and _broadcasts(vshape[1:], shape)
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
                f"inputs: input over time for {path!r} must have shape ({n_steps}, ...) broadcasting to "
                f"{shape} per step; got shape {vshape}"
            )
        _checks.check_real("inputs", path, value if not isinstance(value, numbers.Real) else float(value))
        out.append((pop, mode, value))
    return out


def _broadcasts(src: tuple, dst: tuple) -> bool:
    if len(src) > len(dst):
        return False
    return all(a in (1, b) for a, b in zip(src[::-1], dst[::-1]))


def _normalize_monitors(net, monitors, state) -> tuple:
    """-> tuple of (name, path-or-callable), checked against the network."""
    if isinstance(monitors, str):
        monitors = [monitors]
    valid = None
    out = []
    for entry in monitors:
        if isinstance(entry, str):
            name, what = entry, entry
        elif (
            isinstance(entry, tuple)
            and len(entry) == 2
            and isinstance(entry[0], str)
            and (isinstance(entry[1], str) or callable(entry[1]))
        ):
            name, what = entry
        else:
            raise TypeError(
                f"monitors: each entry must be a path such as 'E.v' or a (name, fn(state)) pair; got {entry!r}"
            )
        if isinstance(what, str):
            valid = valid if valid is not None else net.monitor_paths(state)
            if what not in valid:
                raise ValueError(f"monitors: unknown monitor path {what!r}; valid paths are {valid}")
        out.append((name, what))
    names = [name for name, _ in out]
    if len(set(names)) != len(names) or "ts" in names:
        raise ValueError(f"monitors: names must be unique and not 'ts', got {names}")
    return tuple(out)


def _read(state: NetworkState, path: str) -> jax.Array:
    name, field = path.split(".", 1)
    group = state.neurons if name in state.neurons else state.synapses
    return getattr(group[name], field)


def _check_state(net: Network, state: NetworkState, dt: float) -> None:
    if not isinstance(state, NetworkState):
        raise TypeError(f"simulate: state must be a NetworkState from net.init(), got {type(state).__name__}")
    for pop, need in net.delay_depths(dt).items():
        have = state.delays[pop].max_lag if pop in state.delays else 0
        if need is not None and need > have:
            raise ValueError(
                f"simulate: projections from {pop!r} need a delay of {need} steps at dt={dt} ms, but the state's "
                f"delay buffer holds {have}; make the state with net.init(..., dt={dt}) (or give the Projection "
                "a larger max_delay)"
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
) -> tuple[NetworkState, dict[str, jax.Array]]:
    """Run ``net`` for ``duration`` ms from ``state`` as one ``lax.scan``; pure, so it composes with
    ``jax.jit`` (mark nothing static: the spec is read before tracing), ``jax.vmap`` and ``jax.grad``.

    Args:
      net: the network.
      state: from ``net.init(..., dt=dt)`` or a previous ``simulate``; a run resumed from a returned
        state continues exactly where it stopped.
      duration: simulated time, ms (rounded to whole steps).
      dt: time step, ms.
      inputs: ``[(path, value), ...]`` or ``{path: value}`` with path ``'<population>.input'`` (current, nA).
        A value is a constant (scalar or array broadcasting to the population), an array with one value
        per step on axis 0 (shape ``(n_steps, ...)``), or a callable ``f(t_ms) -> current``. A third
        tuple element ``'fix'``, ``'iter'`` or ``'func'`` forces the kind.
      monitors: what to record: state paths ``'<population>.<field>'`` or ``'<projection>.<field>'``, or
        ``(name, fn)`` pairs with ``fn(state) -> array`` computed on the device (e.g. a spike count).
      every: record every ``every`` steps (the number of steps must be a multiple).

    Returns:
      ``(final_state, record)``: ``record['ts']`` has shape ``(n_rec,)`` (ms, float32 computed on the
      device; ``Runner`` gives exact float64 stamps) and ``record[path]`` shape ``(n_rec, *batch,
      *field_shape)``, time on axis 0. ``record`` is a dict, so JAX returns its keys sorted.
    """
    dt = _checks.check_time("simulate", "dt", dt)
    duration = _checks.check_time("simulate", "duration", duration)
    n_steps = int(round(duration / dt))
    if n_steps < 1:
        raise ValueError(f"simulate: duration={duration} ms is shorter than one step of dt={dt} ms")
    if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1 or n_steps % every:
        raise ValueError(f"simulate: every must be an int >= 1 dividing the number of steps ({n_steps}), got {every!r}")
    if not isinstance(net, Network):
        raise TypeError(f"simulate: net must be an snnjax.Network, got {type(net).__name__}")
    net._validate()
    _check_state(net, state, dt)
    batch_shape = _batch_shape(net, state)
    specs = _normalize_inputs(net, inputs, n_steps, batch_shape)
    paths = _normalize_monitors(net, monitors, state)
    n_rec = n_steps // every

    prep = net.prepare(dt)
    xs = [jnp.asarray(v).reshape(n_rec, every, *np.shape(v)[1:]) for _, mode, v in specs if mode == "iter"]

    def step(s: NetworkState, x: list) -> NetworkState:
        t = s.step.astype(jnp.result_type(float)) * dt
        drive: dict[str, Any] = {}
        it = iter(x)
        for pop, mode, value in specs:
            v = next(it) if mode == "iter" else value(t) if mode == "func" else value
            drive[pop] = drive[pop] + v if pop in drive else v
        return net.step(prep, s, drive, dt=dt)

    def block(s: NetworkState, xb: list):
        s = step(s, [a[0] for a in xb])
        rec = {name: fn(s) if callable(fn) else _read(s, fn) for name, fn in paths}
        rec["ts"] = (s.step - 1).astype(jnp.result_type(float)) * dt
        if every > 1:
            s, _ = jax.lax.scan(lambda c, x: (step(c, x), None), s, [a[1:] for a in xb], length=every - 1)
        return s, rec

    return jax.lax.scan(block, state, xs, length=n_rec)


class Monitors(dict):
    """Recorded traces (numpy arrays, time on axis 0) keyed by path, with the time stamps at ``.ts`` (ms)."""

    def __init__(self, ts: np.ndarray, traces: dict[str, np.ndarray]):
        super().__init__(traces)
        self.ts = ts

    def __repr__(self):
        return f"Monitors(ts: {self.ts.shape}, {', '.join(f'{k}: {v.shape}' for k, v in self.items())})"


class Runner:
    """BrainPy-DSRunner-like driver: holds the state between runs, compiles once per duration.

    ``Runner(net, dt=0.1, inputs=[('pre.input', 25.)], monitors=['pre.v'])``, then ``runner.run(150.)``;
    the traces are at ``runner.mon.ts`` and ``runner.mon['pre.v']`` (numpy, time on axis 0; spike
    monitors as bool). A second ``run`` continues from where the first stopped (``reset()`` starts
    over) and replaces ``mon``.

    Args:
      net: the network.
      dt: time step, ms.
      inputs: as in :func:`simulate`.
      monitors: as in :func:`simulate`.
      every: record every ``every`` steps.
      key: random key for the initial state (e.g. random initial voltages); default ``key(0)``.
      batch_shape: run this many independent copies (leading state axes).
      jit: compile the run (default True); False runs op by op, for debugging.
    """

    def __init__(
        self,
        net: Network,
        dt: float = DEFAULT_DT,
        inputs: Sequence[InputSpec] | dict = (),
        monitors: Sequence[str] = (),
        every: int = 1,
        key: jax.Array | None = None,
        batch_shape: tuple[int, ...] = (),
        jit: bool = True,
    ):
        if not isinstance(net, Network):
            raise TypeError(f"Runner: net must be an snnjax.Network, got {type(net).__name__}")
        self.net = net
        self.dt = _checks.check_time("Runner", "dt", dt)
        self.inputs = list(inputs.items()) if isinstance(inputs, dict) else list(inputs)
        if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1:
            raise ValueError(f"Runner: every must be an int >= 1 (steps between records), got {every!r}")
        self.every = int(every)
        self.key = jax.random.key(0) if key is None else key
        self.batch_shape = tuple(batch_shape)
        self.jit = jit
        net._validate()
        self.reset()
        self.monitors = _normalize_monitors(net, monitors, self.state)
        valid = net.input_paths()
        for spec in self.inputs:
            if not isinstance(spec, (tuple, list)) or len(spec) not in (2, 3) or spec[0] not in valid:
                raise ValueError(
                    f"Runner: inputs entries must be (path, value[, mode]) with path in {valid}; got {spec!r}"
                )
        self.mon: Monitors | None = None
        self._compiled: dict[int, Callable] = {}

    def reset(self) -> None:
        """Back to the initial state (``net.init``)."""
        self.state = self.net.init(self.key, self.batch_shape, dt=self.dt)

    def _function(self, n_steps: int) -> Callable:
        if n_steps not in self._compiled:
            duration, specs = n_steps * self.dt, self.inputs

            def run(net, state, arrays):  # callables are closed over; arrays are arguments
                ins = [(s[0], s[1] if a is None else a, *s[2:]) for s, a in zip(specs, arrays)]
                state, rec = simulate(
                    net, state, duration=duration, dt=self.dt, inputs=ins, monitors=self.monitors, every=self.every
                )
                # spikes as bool on the host: a quarter of the transfer and memory of float32
                return state, {k: v.astype(bool) if k.endswith(".spike") else v for k, v in rec.items()}

            self._compiled[n_steps] = jax.jit(run) if self.jit else run
        return self._compiled[n_steps]

    def run(self, duration: float) -> Monitors:
        """Simulate ``duration`` ms more; returns (and stores at ``self.mon``) the recorded traces."""
        duration = _checks.check_time("Runner.run", "duration", duration)
        n_steps = int(round(duration / self.dt))
        arrays = [None if callable(s[1]) else jnp.asarray(s[1]) for s in self.inputs]
        _check_state(self.net, self.state, self.dt)  # on the concrete network, before tracing
        step0 = int(self.state.step)
        self.state, rec = self._function(n_steps)(self.net, self.state, arrays)
        rec = jax.device_get(rec)
        rec.pop("ts")  # float32 on the device; recomputed exactly (float64) here
        ts = (step0 + np.arange(n_steps // self.every) * self.every) * self.dt
        self.mon = Monitors(ts, {name: np.asarray(rec[name]) for name, _ in self.monitors})  # in the order asked
        return self.mon
