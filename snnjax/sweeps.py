"""Parameter sweeps: one function of one parameter point, run over a grid with ``vmap``, in batches, sharded.

``sweep(fn, grid)`` runs ``fn`` at every point of the Cartesian product of the grid's values (times
``seeds`` independent random keys) and returns a :class:`SweepResult` whose arrays have one labelled
axis per grid name::

    import snnjax as sj   # sj.sweep is snnjax.sweeps.sweep

    def rate(drive, w_exc, *, key):              # one parameter point; values arrive as 0-d arrays
        net = build_network(w_exc)               # parameters may be traced: build the model here
        state = net.init(key=key, dt=0.1)
        _, rec = sj.simulate(net, state, duration=200., dt=0.1, inputs=[("E.input", drive)],
                             monitors=[("n", lambda s: s.neurons["E"].spike.sum())])
        return rec["n"].sum() / n_e / 0.2        # Hz

    res = sj.sweep(rate, {"drive": np.linspace(18., 24., 7), "w_exc": np.linspace(.3, .9, 7)}, seeds=4)
    res.dims, res.shape                          # ('drive', 'w_exc', 'seed'), (7, 7, 4)
    res.data                                     # numpy array of shape (7, 7, 4)
    res.sel(drive=20., seed=0).data              # shape (7,), along w_exc

How it runs: the points are laid out flat (C order: the last axis varies fastest), cut into batches of
``batch_size`` points (the last one padded with copies of the last point, whose results are dropped),
and each batch is one compiled call. Every batch has the same shape, so the function is traced and
compiled once per sweep, and kept (a small cache keyed on ``fn``, the grid names, the devices and
``vectorize``) so that a second sweep with the same shapes compiles nothing. Each batch is split over the
devices (a one-axis :class:`jax.sharding.Mesh`, inputs and outputs sharded along the batch axis with
``NamedSharding(mesh, PartitionSpec("batch"))``), and its results are copied to the host while the next
batch runs, so device memory holds at most two batches. Within a batch each device runs its points one
after another (``jax.lax.map`` inside ``jax.shard_map``): every point runs the program ``jax.jit(fn)``
compiles, so its results are those of a plain loop, bit for bit. ``vectorize=True`` runs each batch as
``jax.jit(jax.vmap(fn))`` instead, partitioned by XLA: faster for small networks, but ``vmap`` may reorder
float reductions inside ``fn`` (a mean differs from the loop's in its last bits).

Random keys: the key of seed value ``s`` is ``jax.random.fold_in(jax.random.key(seed), s)``; every
grid point gets the same key for the same seed value (common random numbers: differences along the
grid come from the parameters, not from the noise). Without ``seeds`` every point gets the key of
seed value 0. So a plain loop reproduces any point exactly (bit for bit; with ``vectorize=True``, reductions
inside ``fn`` to within rounding)::

    jax.jit(fn)(drive=20., w_exc=0.6, key=jax.random.fold_in(jax.random.key(seed), s))
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from snnjax import _checks

__all__ = ["SweepResult", "sweep"]

SEED_AXIS = "seed"
_RESERVED = (SEED_AXIS, "key")
_CACHE_SIZE = 8  # compiled sweep functions kept (each holds a reference to its fn)
_cache: OrderedDict[tuple, tuple[Callable, NamedSharding, NamedSharding]] = OrderedDict()


# -- the result --------------------------------------------------------------------------------------------


class SweepResult:
    """The results of a sweep: a pytree of numpy arrays with labelled leading axes.

    Attributes:
      axes: ordered ``{name: values}``, one 1-D numpy array per axis: the grid's names in the order
        given, then ``'seed'`` (the seed values, ints) when the sweep had ``seeds``.
      data: the pytree ``fn`` returns, each leaf a numpy array of shape ``(*shape, *leaf_shape)``
        where ``shape = tuple(len(v) for v in axes.values())``.
      devices: the devices the sweep ran on.
      batch_size: points per compiled call (after rounding up to a multiple of the device count).
    """

    def __init__(
        self,
        axes: Mapping[str, np.ndarray],
        data: Any,
        devices: Sequence[jax.Device] = (),
        batch_size: int | None = None,
    ):
        self.axes = {name: np.asarray(v) for name, v in axes.items()}
        self.data = data
        self.devices = tuple(devices)
        self.batch_size = batch_size

    @property
    def dims(self) -> tuple[str, ...]:
        """Axis names, in order."""
        return tuple(self.axes)

    @property
    def shape(self) -> tuple[int, ...]:
        """Number of values per axis (the leading shape of every leaf of ``data``)."""
        return tuple(len(v) for v in self.axes.values())

    def __repr__(self) -> str:
        axes = ", ".join(f"{k}: {len(v)}" for k, v in self.axes.items())
        leaves = jax.tree.map(lambda x: f"{x.dtype}{list(np.shape(x))}", self.data)
        return f"SweepResult(axes=({axes}), data={leaves})"

    def __getitem__(self, name: str) -> SweepResult:
        """``result["rate"]``: the same axes, with ``data[name]`` (when ``data`` is a dict)."""
        if not isinstance(self.data, Mapping):
            raise TypeError(f"SweepResult: data is a {type(self.data).__name__}, not a dict; index .data instead")
        if name not in self.data:
            raise KeyError(f"SweepResult: no {name!r} in data; keys are {sorted(self.data)}")
        return SweepResult(self.axes, self.data[name], self.devices, self.batch_size)

    def isel(self, **indices: int | Sequence[int]) -> SweepResult:
        """Select by position: an int drops that axis, a sequence of ints keeps it (those entries, in order)."""
        self._check_names("isel", indices)
        index: list[Any] = []
        axes = {}
        for name, values in self.axes.items():
            if name not in indices:
                index.append(slice(None))
                axes[name] = values
                continue
            i = indices[name]
            if isinstance(i, numbers.Integral) and not isinstance(i, bool):
                if not -len(values) <= i < len(values):
                    raise IndexError(f"SweepResult.isel: {name}={i} is out of range for {len(values)} values")
                index.append(int(i))
            else:
                i = np.asarray(i)
                if i.ndim != 1 or not np.issubdtype(i.dtype, np.integer):
                    raise TypeError(f"SweepResult.isel: {name} must be an int or a 1-D sequence of ints, got {i!r}")
                index.append(i)
                axes[name] = values[i]

        # one integer array at a time: numpy's advanced indexing would pair several arrays up
        def pick(x):
            x = np.asarray(x)
            for axis in reversed(range(len(index))):
                x = x[(slice(None),) * axis + (index[axis],)]
            return x

        return SweepResult(axes, jax.tree.map(pick, self.data), self.devices, self.batch_size)

    def sel(self, **selection: Any) -> SweepResult:
        """Select by value: ``result.sel(drive=20., seed=0)``.

        A scalar picks that value and drops its axis; a 1-D sequence keeps the axis with those values.
        Values match exactly or, for float axes, within a relative ``1e-6`` (so ``0.6`` finds
        ``np.linspace(0.3, 0.9, 7)[3]`` and float32 round trips still match).

        Raises:
          ValueError: unknown axis name, or a value that is not on the axis (the message lists them).
        """
        self._check_names("sel", selection)
        indices: dict[str, Any] = {}
        for name, want in selection.items():
            if np.ndim(want) == 0:
                indices[name] = self._index_of(name, want)
            elif np.ndim(want) == 1:
                indices[name] = [self._index_of(name, w) for w in np.asarray(want)]
            else:
                raise ValueError(f"SweepResult.sel: {name} must be a value or a 1-D sequence of values, got {want!r}")
        return self.isel(**indices)

    def _check_names(self, method: str, names: Mapping[str, Any]) -> None:
        unknown = [n for n in names if n not in self.axes]
        if unknown:
            raise ValueError(f"SweepResult.{method}: unknown axis name(s) {unknown}; axes are {list(self.axes)}")

    def _index_of(self, name: str, value: Any) -> int:
        values = self.axes[name]
        hits = np.flatnonzero(values == value)
        if hits.size == 0 and _checks.is_float_dtype(values.dtype):
            hits = np.flatnonzero(np.isclose(values, value, rtol=1e-6, atol=0.0))
        if hits.size != 1:
            what = "is not one of" if hits.size == 0 else "matches several of"
            raise ValueError(f"SweepResult.sel: {name}={value!r} {what} the axis values {values.tolist()}")
        return int(hits[0])


# -- argument checks ---------------------------------------------------------------------------------------


def _check_grid(grid: Any) -> dict[str, np.ndarray]:
    if not isinstance(grid, Mapping):
        raise TypeError(f"sweep: grid must be a dict {{name: 1-D array of values}}, got {type(grid).__name__}")
    if not grid:
        raise ValueError("sweep: grid must have at least one parameter, got an empty dict")
    out = {}
    for name, values in grid.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"sweep: grid names must be Python identifiers (keyword arguments of fn), got {name!r}")
        if name in _RESERVED:
            raise ValueError(f"sweep: grid name {name!r} is reserved (fn gets key=..., the seed axis is 'seed')")
        if isinstance(values, jax.core.Tracer):
            raise TypeError(f"sweep: grid[{name!r}] must be concrete values, not a traced array")
        arr = np.asarray(values)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(
                f"sweep: grid[{name!r}] must be a non-empty 1-D array of values, got shape {arr.shape}"
                + (" (wrap a single value in a list)" if arr.ndim == 0 else "")
            )
        if not (_checks.is_real_dtype(arr.dtype) or arr.dtype == bool):
            raise TypeError(f"sweep: grid[{name!r}] must hold numbers (bool, int or float), got dtype {arr.dtype}")
        if _checks.is_float_dtype(arr.dtype) and not np.all(np.isfinite(arr)):
            raise ValueError(f"sweep: grid[{name!r}] must be finite, got {arr.tolist()} (contains NaN or inf)")
        out[name] = arr
    return out


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"sweep: {name} must be an int, got {value!r}")
    if value < low or (high is not None and value >= high):
        bound = f">= {low}" if high is None else f"in [{low}, {high})"
        raise ValueError(f"sweep: {name} must be an int {bound}, got {value!r}")
    return int(value)


def _check_seeds(seeds: Any) -> np.ndarray | None:
    if seeds is None:
        return None
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        return np.arange(_check_int("seeds", seeds, 1), dtype=np.int64)
    if isinstance(seeds, (Sequence, np.ndarray)) and not isinstance(seeds, str):
        values = [_check_int("seeds[i]", s, 0, 2**31) for s in seeds]
        if not values or len(set(values)) != len(values):
            raise ValueError(f"sweep: seeds must be a count >= 1 or a non-empty list of distinct ints, got {seeds!r}")
        return np.asarray(values, dtype=np.int64)
    raise TypeError(f"sweep: seeds must be None, a count (int >= 1) or a list of distinct ints >= 0, got {seeds!r}")


def _check_devices(devices: Any) -> tuple[jax.Device, ...]:
    if devices is None:
        return tuple(jax.devices())
    devices = tuple(devices) if isinstance(devices, (Sequence, np.ndarray)) else (devices,)
    if not devices or not all(isinstance(d, jax.Device) for d in devices) or len(set(devices)) != len(devices):
        raise ValueError(
            f"sweep: devices must be a non-empty list of distinct jax.Device (jax.devices()), got {devices}"
        )
    return devices


def _check_fn(fn: Any, names: Sequence[str]) -> None:
    if not callable(fn):
        raise TypeError(f"sweep: fn must be callable as fn(**params, key=key), got {type(fn).__name__}")
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # some callables hide their signature: the trace will tell
        return
    try:
        sig.bind(**dict.fromkeys(names), key=None)
    except TypeError as err:
        raise TypeError(
            f"sweep: fn must accept the grid names {list(names)} and key as keyword arguments, e.g. "
            f"def fn({', '.join(names)}, *, key): ...; calling {getattr(fn, '__name__', 'fn')}{sig} fails: {err}"
        ) from None


# -- compiled batches --------------------------------------------------------------------------------------


def _batched(
    fn: Callable, names: tuple[str, ...], devices: tuple[jax.Device, ...], vectorize: bool = False
) -> tuple[Callable, NamedSharding, NamedSharding]:
    """The compiled function of one batch sharded across ``devices``, cached by (fn, names, devices, vectorize):
    each device runs its points one after another (``lax.map`` inside ``shard_map``: every point is the program
    ``jax.jit(fn)`` compiles, so its results equal a plain loop bit for bit), or with ``vectorize``
    ``jit(vmap(point))`` partitioned by XLA.

    Returns ``(compiled, batch_sharding, replicated_sharding)``. ``compiled`` takes ``(values,
    seed_values, base_key_data)``: a tuple of ``(B,)`` arrays (one per name), ``(B,)`` int32 seed values
    and the key data of ``jax.random.key(seed)`` (replicated); ``B`` a multiple of ``len(devices)``.
    """
    cache_key = (fn, names, devices, vectorize)
    try:
        hash(cache_key)
    except TypeError:  # an unhashable callable: no reuse across sweeps, still one compile per sweep
        cache_key = None
    if cache_key is not None and cache_key in _cache:
        _cache.move_to_end(cache_key)
        return _cache[cache_key]

    mesh = Mesh(np.asarray(devices, dtype=object), ("batch",))
    batch, replicated = NamedSharding(mesh, PartitionSpec("batch")), NamedSharding(mesh, PartitionSpec())

    def point(values, seed_value, base_key_data):
        key = jax.random.fold_in(jax.random.wrap_key_data(base_key_data), seed_value)
        return fn(**dict(zip(names, values)), key=key)

    point.__name__ = f"sweep_{getattr(fn, '__name__', type(fn).__name__)}"  # names the compile in jax's logs
    if vectorize:
        body = jax.vmap(point, in_axes=(0, 0, None))
    else:

        def local(values, seed_values, base_key_data):  # this device's points, one after another
            return jax.lax.map(lambda v: point(v[0], v[1], base_key_data), (values, seed_values))

        local.__name__ = point.__name__
        # check_vma=False: fn's scans start from unsharded constants and carry values that vary over the devices
        spec = PartitionSpec("batch")
        body = jax.shard_map(local, mesh=mesh, in_specs=(spec, spec, PartitionSpec()), out_specs=spec, check_vma=False)
    compiled = jax.jit(
        body,
        in_shardings=(batch, batch, replicated),
        out_shardings=batch,  # a prefix: every output leaf is split along its leading (batch) axis
    )
    entry = (compiled, batch, replicated)
    if cache_key is not None:
        _cache[cache_key] = entry
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return entry


def _global(host: np.ndarray, sharding: NamedSharding) -> jax.Array:
    # every process holds the whole host array and contributes its devices' shards (works multi-host too)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def _to_host(x: jax.Array) -> np.ndarray:
    if x.is_fully_addressable:
        return np.asarray(x)
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(x, tiled=True))


def clear_cache() -> None:
    """Forget the compiled sweep functions (and the references they hold to their ``fn``)."""
    _cache.clear()


# -- the sweep ---------------------------------------------------------------------------------------------


def sweep(
    fn: Callable[..., Any],
    grid: Mapping[str, Any],
    *,
    seeds: int | Sequence[int] | None = None,
    seed: int = 0,
    batch_size: int | None = None,
    devices: Sequence[jax.Device] | None = None,
    vectorize: bool = False,
) -> SweepResult:
    """Run ``fn`` at every point of a parameter grid, batched and sharded over devices; each point's results equal
    a plain loop of ``jax.jit(fn)`` calls bit for bit (``vectorize=True``: a faster ``jax.vmap``, reductions to within
    rounding).

    Args:
      fn: ``fn(**params, key=key) -> pytree of arrays`` for ONE parameter point, e.g.
        ``def rate(drive, w_exc, *, key): ...``. Each grid value arrives as a 0-d array (a tracer) of
        the grid array's dtype (float64 becomes float32 unless ``jax_enable_x64``); ``key`` is a typed
        ``jax.random.key``. Build the network inside ``fn`` from the parameters, run
        :func:`snnjax.simulate` and return what you want to keep (a rate, a monitor record, a final
        state): every leaf comes back with the grid axes in front. ``fn`` must be pure and its output
        shapes must not depend on the values. It is traced once per sweep, and the compiled function is
        reused by later sweeps of the same ``fn`` object with the same names and shapes (as with
        ``jax.jit``, a change in what ``fn`` closes over is not seen then: call :func:`clear_cache`).
      grid: ``{name: values}``, each a non-empty 1-D array of numbers; the sweep runs the Cartesian
        product, axes in the order given.
      seeds: ``None`` (one key, that of seed value 0, no seed axis), a count ``n >= 1`` (seed values
        ``0 .. n-1``) or a list of distinct ints in ``[0, 2**31)``: adds a last axis ``'seed'``. The key
        of seed value ``s`` is ``jax.random.fold_in(jax.random.key(seed), s)``, the same at every grid
        point (common random numbers) and independent of how many seeds are run.
      seed: base seed (int >= 0) the keys are derived from.
      batch_size: points per compiled call (default: all of them in one call); rounded up to a
        multiple of the number of devices. Bounds device memory: about two batches of ``fn``'s working
        memory and outputs are on the devices at a time; the results are gathered on the host.
      devices: devices to split each batch over (default ``jax.devices()``: all local devices in a
        single process, every process's devices after ``jax.distributed.initialize``).
      vectorize: ``False`` (default): each device runs its points of a batch one after another
        (``jax.lax.map`` inside ``jax.shard_map``), each point the very program ``jax.jit(fn)`` compiles, so
        every result equals that of a plain loop over the points bit for bit. ``True``: each batch is one
        ``jax.jit(jax.vmap(fn))`` (XLA partitions the batch over the devices): faster where one point is
        too small to keep a device busy (measured on a shared 2-core CPU, steady state: notebook 04's 24 COBA
        networks of 500 neurons, 200 ms, in batches of 8, 1.5 s against 3.4 s), but ``vmap`` reorders float
        reductions inside ``fn`` (a mean, a sum over neurons), so such results may differ from the loop's in
        their last bits (about 1e-6 of the summed magnitudes in float32; element-wise traces are unchanged,
        and a spike that lands exactly on a threshold could flip). Use it when speed matters more than
        bitwise reproduction of single points.

    Returns:
      A :class:`SweepResult`: ``axes`` (grid names, then ``'seed'``), ``data`` (``fn``'s pytree, each
      leaf a numpy array of shape ``(*len(values) per axis, *leaf_shape)``), ``sel``/``isel``.

    Raises:
      TypeError, ValueError: before anything is traced, for a non-callable ``fn`` or one that does not
        take the grid names and ``key``, an empty or non-dict ``grid``, values that are not a non-empty
        1-D array of numbers, a reserved name (``'seed'``, ``'key'``), ``batch_size`` < 1, bad ``seeds``,
        ``seed`` or ``devices``.

    Multi-host (not tested here: this project's CI has one process): start every host with the same
    script, call ``jax.distributed.initialize()`` first (on Cloud TPU / SLURM it finds its peers; else
    ``jax.distributed.initialize(coordinator_address="host0:1234", num_processes=N, process_id=i)``), then
    make the same ``sweep`` call with the same arguments on every host. ``jax.devices()`` then lists
    every host's devices, each batch is split over all of them (each process feeds its own devices'
    shards), and every process gets the whole result back (gathered with
    ``jax.experimental.multihost_utils.process_allgather``). ``devices=jax.local_devices()`` instead
    runs the whole sweep independently on each host.
    """
    axes = _check_grid(grid)
    names = tuple(axes)
    _check_fn(fn, names)
    seed_values = _check_seeds(seeds)
    seed = _check_int("seed", seed, 0)
    if seed >= 2**63:  # jax.random.key takes a signed 64-bit seed
        raise ValueError(f"sweep: seed must be an int >= 0 and < 2**63, got {seed!r}")
    if batch_size is not None:
        batch_size = _check_int("batch_size", batch_size, 1)
    devices = _check_devices(devices)
    if seed_values is not None:
        axes[SEED_AXIS] = seed_values

    shape = tuple(len(v) for v in axes.values())
    n_points = math.prod(shape)
    n_dev = len(devices)
    per_device = -(-(n_points if batch_size is None else min(batch_size, n_points)) // n_dev)
    size = per_device * n_dev
    n_batches = -(-n_points // size)

    # flat layout, C order; padded at the end with copies of the last point (valid parameters)
    flat = np.indices(shape).reshape(len(shape), n_points)
    flat = np.pad(flat, ((0, 0), (0, n_batches * size - n_points)), mode="edge")
    columns = [np.asarray(v[i], dtype=jax.dtypes.canonicalize_dtype(v.dtype)) for v, i in zip(axes.values(), flat)]
    params = columns[: len(names)]
    seed_column = (columns[-1] if seed_values is not None else np.zeros(flat.shape[1], np.int64)).astype(np.int32)

    if not isinstance(vectorize, bool):
        raise TypeError(f"sweep: vectorize must be True or False, got {vectorize!r}")
    compiled, batch, replicated = _batched(fn, names, devices, vectorize)
    base = _global(np.asarray(jax.random.key_data(jax.random.key(seed))), replicated)

    leaves: list[np.ndarray] | None = None
    treedef = None

    def store(b: int, out: Any) -> None:
        nonlocal leaves, treedef
        parts, treedef = jax.tree.flatten(out)
        if leaves is None:
            leaves = [np.empty((n_batches * size, *p.shape[1:]), p.dtype) for p in parts]
        for whole, part in zip(leaves, parts):
            whole[b * size : (b + 1) * size] = _to_host(part)

    pending = None
    for b in range(n_batches):
        rows = slice(b * size, (b + 1) * size)
        out = compiled(tuple(_global(p[rows], batch) for p in params), _global(seed_column[rows], batch), base)
        if pending is not None:  # copy the previous batch to the host while this one runs
            store(*pending)
        pending = (b, out)
    store(*pending)

    data = jax.tree.unflatten(treedef, [x[:n_points].reshape(*shape, *x.shape[1:]) for x in leaves])
    return SweepResult(axes, data, devices, size)
