"""One network across several devices (and hosts): neurons partitioned, projections split by postsynaptic neuron.

``sj.Runner(net, ..., devices=jax.devices())`` and ``sj.simulate(..., devices=...)`` run one network whose
populations are partitioned over the devices of a mesh axis named :data:`AXIS` (``"neurons"``):

- **Neurons.** Population ``X`` of ``N`` neurons gets ``P = ceil(N / D) + 1`` slots on each of the ``D`` devices:
  device ``d`` holds a contiguous block of ``N // D`` or ``N // D + 1`` neurons (the first ``N % D`` devices one
  more), and the remaining slots are *ghost* neurons, at least one per device. Ghosts run the model like the others
  (they repeat their device's last neuron's parameters and initial state) but their spikes are never sent, no
  synapse of the network reaches them, and every view of the state (:meth:`ShardedNetwork.gather_state`, the
  Runner's monitors) leaves them out. ``repr`` shows the split.
- **Projections** are partitioned by their postsynaptic neurons: device ``d`` stores the synapses onto its own
  neurons, so it computes complete input sums for them, adding the same terms in the same order as the one-device
  run (the synapse list is the global one, filtered, in its order). Per-device lists are padded to one length with
  *dummy* synapses of weight 0 from real presynaptic rows (spread over them, one extra entry per row at most) to
  ghost neurons; they change no real neuron's input and, under plasticity, no real weight. A network built with
  :meth:`Network.deferred <snnjax.network.Network.deferred>` holds no list: each process streams the connectors
  from their seeds (:meth:`snnjax.conn.Connector.blocks`) and keeps the synapses onto its own devices' neurons,
  with what the other devices' lists need to be padded alike (their lengths and widest rows), so no host ever
  holds the whole list.
- **Spikes** are exchanged once per step: after the update each device packs its neurons' spikes into bits
  (``jnp.packbits``) and one ``jax.lax.all_gather`` over :data:`AXIS` (for all populations) gives every device
  every spike, which enter a delay buffer of the whole (padded) population on every device. Projections read their lag
  there, lag 1 included. A population whose projections all have lags of ``n`` steps or more is exchanged once
  per ``n`` steps instead (``ShardedNetwork.every``): each device keeps its own last steps under
  ``state.delays["<name>/pending"]`` and sends the ``n`` steps at once; no spike is needed before then.
  Presynaptic per-neuron states (STP, pre-aligned kinetics, plasticity's presynaptic traces) are computed
  redundantly on every device, in the padded numbering. Each device runs the one-device step
  (:meth:`Network.step <snnjax.network.Network.step>`) on its local network with :class:`SpikeExchange` as its
  ``exchange``, in the run loop ``Runner`` and ``simulate`` share (:mod:`snnjax.loop`).

The state of a sharded run is a :class:`~snnjax.network.NetworkState` whose every leaf has a leading device axis
(``(D, ...)``, sharded over :data:`AXIS`) holding each device's *local* state; :meth:`ShardedNetwork.shard_state`
and :meth:`ShardedNetwork.gather_state` convert between that and the one-device state of ``net.init``.

Not supported on a sharded network (a ``ValueError`` says so before anything is compiled): populations with more
than one axis, populations without a ``size`` (``SpikeArray``), probes and function monitors (record a path; index
subsets are taken on the host; the reducers ``SpikeCount``, ``Mean`` and ``ExpTrace`` work), ``jit=False``, and
``simulate(devices=...)`` under ``jit``/``vmap``/``grad`` (it converts states on the host). Random populations
(``PoissonGroup``) draw from ``fold_in(key, device)``: statistically the same process, not the one-device numbers.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from snnjax import axes, ops, population
from snnjax import monitors as monitors_mod
from snnjax.delays import DelayBuffer
from snnjax.loop import _run_chunk
from snnjax.network import DEFAULT_DT, Network, NetworkState
from snnjax.projection import Projection

AXIS = "neurons"  # the mesh axis a sharded network is partitioned over
PENDING = "/pending"  # state.delays key suffix: a population's own spikes of the steps not exchanged yet
_REDUCERS = (monitors_mod.SpikeCount, monitors_mod.Mean, monitors_mod.ExpTrace)

__all__ = ["AXIS", "PopulationSplit", "ShardedNetwork", "SpikeExchange", "load_shards", "make_mesh", "save_shards"]


def make_mesh(devices: Any, owner: str = "devices") -> Mesh:
    """The 1-D mesh over :data:`AXIS` from ``devices``: a list of ``jax.Device`` (distinct, one kind) or a
    ``jax.sharding.Mesh`` with an axis named ``"neurons"`` (its other axes, if any, must have size 1)."""
    if isinstance(devices, Mesh):
        if AXIS not in devices.axis_names:
            raise ValueError(
                f"{owner}: the mesh has axes {devices.axis_names}, but a sharded network is split over an axis "
                f"named {AXIS!r}; make it with jax.sharding.Mesh(devices, ({AXIS!r},))"
            )
        others = {a: n for a, n in devices.shape.items() if a != AXIS and n != 1}
        if others:
            raise ValueError(
                f"{owner}: the mesh's axes other than {AXIS!r} must have size 1 (a network is split over one axis; "
                f"sweep parameters with snnjax.sweep), got {others}"
            )
        devs = list(np.asarray(devices.devices).ravel())
    else:
        devs = list(devices) if isinstance(devices, (Sequence, np.ndarray)) else [devices]
        if not devs or not all(isinstance(d, jax.Device) for d in devs) or len(set(devs)) != len(devs):
            raise ValueError(
                f"{owner}: must be a non-empty list of distinct jax.Device (e.g. jax.devices()) or a "
                f"jax.sharding.Mesh with an axis {AXIS!r}; got {devices!r:.200}"
            )
    kinds = sorted({d.platform for d in devs})
    if len(kinds) > 1:
        raise ValueError(f"{owner}: all devices must be of one kind, got a mix of {kinds}")
    return Mesh(np.asarray(devs, dtype=object), (AXIS,))


@dataclasses.dataclass(frozen=True)
class PopulationSplit:
    """How one population of ``n`` neurons is laid out over ``devices`` devices.

    Attributes:
      name: the population's name.
      n: neurons.
      devices: device count ``D``.
      slots: ``P = ceil(n / D) + 1`` neuron slots per device (the last ones ghosts).
      counts: real neurons on each device, ``(D,)``: ``n // D`` plus one on the first ``n % D`` devices.
      starts: index of each device's first neuron in the population, ``(D,)``.
    """

    name: str
    n: int
    devices: int
    slots: int
    counts: tuple[int, ...]
    starts: tuple[int, ...]

    @classmethod
    def of(cls, name: str, n: int, devices: int) -> PopulationSplit:
        counts = tuple(n // devices + (d < n % devices) for d in range(devices))
        starts = tuple(int(s) for s in np.concatenate([[0], np.cumsum(counts)[:-1]]))
        return cls(name, n, devices, -(-n // devices) + 1, counts, starts)

    @property
    def padded(self) -> int:
        """Length ``D * P`` of the gathered (padded) spike vector."""
        return self.devices * self.slots

    @functools.cached_property
    def positions(self) -> np.ndarray:
        """Padded position of each neuron, int64 ``(n,)``: neuron ``i`` of device ``d`` sits at
        ``d * P + i - starts[d]`` (increasing in ``i``)."""
        dev = np.repeat(np.arange(self.devices), self.counts)
        return np.arange(self.n) + dev * self.slots - np.asarray(self.starts)[dev]

    def device_of(self, index: np.ndarray) -> np.ndarray:
        """The device of each neuron index."""
        return np.searchsorted(np.asarray(self.starts), index, side="right") - 1

    # -- one array, last axis over the neurons ---------------------------------------------------
    def local(self, a: np.ndarray, d: int) -> np.ndarray:
        """Device ``d``'s slots of ``a`` (``(..., n)``): its neurons, then ghosts repeating the last one."""
        s, c = self.starts[d], self.counts[d]
        part = a[..., s : s + c]
        return np.concatenate([part, np.repeat(part[..., -1:], self.slots - c, axis=-1)], axis=-1)

    def join(self, stacked: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`local` over all devices: ``(D, ..., P)`` -> ``(..., n)``."""
        return np.concatenate([stacked[d, ..., : self.counts[d]] for d in range(self.devices)], axis=-1)

    def to_padded(self, a: np.ndarray, fill: Any = 0) -> np.ndarray:
        """``(..., n)`` -> ``(..., D * P)`` in the padded numbering (ghosts ``fill``)."""
        out = np.full((*a.shape[:-1], self.padded), fill, dtype=a.dtype)
        out[..., self.positions] = a
        return out

    def from_padded(self, a: np.ndarray) -> np.ndarray:
        """``(..., D * P)`` -> ``(..., n)``."""
        return a[..., self.positions]


@dataclasses.dataclass
class _ProjectionSplit:
    """One projection over the devices: ``k_local`` synapse slots on every device (real ones and dummies)."""

    n_syn: int
    k_local: int
    device: np.ndarray | None  # device of each global synapse (that of its postsynaptic neuron); None: streamed
    lists: dict | None = None  # streamed (Network.deferred): device -> (pre, post, global synapse index)
    fan: np.ndarray | None = None  # streamed: (D,) largest row of any presynaptic neuron on each device
    fan_in: int = 0  # streamed: largest fan-in of a postsynaptic neuron (plastic projections; else 0)
    counts: np.ndarray | None = None  # streamed: (D,) synapses onto each device's neurons


def _stored(conn: Any) -> bool:
    """Whether a projection's connector stores its synapse list (split by postsynaptic device here), or draws it in
    every step (``STORED = False``, :class:`snnjax.jitconn.JitFixedProb`: each device draws its local targets,
    ``conn.local``)."""
    return getattr(conn, "STORED", True)


def _check_population(name: str, pop: Any, devices: int) -> None:
    if len(pop.shape) != 1:
        raise ValueError(
            f"devices: population {name!r} has shape {pop.shape}; a sharded network splits 1-D populations only "
            "(flatten it: e.g. LIF(28 * 28) instead of LIF((28, 28)))"
        )
    fields = {f.name for f in dataclasses.fields(pop)} if dataclasses.is_dataclass(pop) else set()
    if "size" not in fields or not population.hook(pop, "SPLITTABLE"):
        raise ValueError(
            f"devices: population {name!r} ({type(pop).__name__}) cannot be split (its spikes are given by "
            "neuron index, or it has no size= field); sharded networks take neuron models and PoissonGroup; drive "
            "them with a current input instead"
        )
    if pop.count < devices:
        raise ValueError(
            f"devices: population {name!r} has {pop.count} neurons, fewer than the {devices} devices it would be "
            "split over; use fewer devices (or a larger population)"
        )


def _local_population(pop: Any, split: PopulationSplit, d: int) -> Any:
    """Device ``d``'s part of ``pop``: ``size = P``; per-neuron parameters ``(n,)`` cut to its slots."""
    changes = {"size": split.slots}
    for f in dataclasses.fields(pop):
        if f.name == "size" or not f.metadata.get("pytree_node", True):
            continue
        value = getattr(pop, f.name)
        if hasattr(value, "shape") and np.ndim(value) >= 1:  # a scalar or the population's shape (checked): per neuron
            changes[f.name] = jnp.asarray(split.local(np.asarray(value), d))
    return dataclasses.replace(pop, **changes)


@dataclasses.dataclass(frozen=True)
class SpikeExchange:
    """The spike exchange of a sharded step (:meth:`Network.step`'s ``exchange``, inside ``shard_map``): every
    device's spikes of a population, gathered once per step (or once per ``n`` steps) into a delay buffer of the
    whole padded population on every device, where the projections read them, lag 1 included.

    Attributes:
      splits: ``(name, PopulationSplit)`` of every population.
      every: ``(name, n)`` of the sending populations exchanged every ``n > 1`` steps
        (:attr:`ShardedNetwork.every`); the others are exchanged every step, all in one all-gather.
    """

    splits: tuple
    every: tuple

    def view(self, delays: dict, step: jax.Array) -> dict:
        # a population exchanged every n steps: its buffer's newest entry is k = step % n steps old, so the
        # projections read it through a view whose head is k entries ahead (lags >= n only reach exchanged steps)
        delays = dict(delays)
        for name, n in self.every:
            delays[name] = delays[name].replace(head=delays[name].head + step % n)
        return delays

    def now(self, name: str, delays: dict, own: jax.Array) -> jax.Array:
        return delays[name].read(1)  # the last step's gathered spikes (every sending group has a buffer)

    def write(self, delays: dict, step: jax.Array, spikes: dict) -> dict:
        out = {}
        flat = {name: spikes[name] for name in delays if not name.endswith(PENDING)}
        every = dict(self.every)
        now = [name for name in flat if every.get(name, 1) == 1]  # exchanged every step: one all-gather for all
        if now:
            for name, got in zip(now, self._exchange_many(now, [flat[n] for n in now])):
                out[name] = delays[name].write(got)
        for name, n in self.every:
            buf = delays[name]
            k = step % n
            buf = buf.replace(head=(buf.head - k) % buf.max_lag)  # the view of view() undone
            pending = delays[name + PENDING]
            data = jax.lax.dynamic_update_index_in_dim(pending.data, flat[name] != 0, k, 0)

            def exchange(b, data=data, name=name, n=n):
                block = self._exchange_many([name], [data])[0]  # every device's n steps at once: (n, *batch, D * P)
                return jax.lax.fori_loop(0, n, lambda i, b: b.write(block[i]), b)

            out[name] = jax.lax.cond(k == n - 1, exchange, lambda b: b, buf)
            out[name + PENDING] = pending.replace(data=data)
        return out

    def _exchange_many(self, names: list[str], spikes: list[jax.Array]) -> list[jax.Array]:
        """Every device's spikes of the populations ``names`` (local ``(..., P)`` each, same leading axes) in one
        all-gather of their bits: ``(..., D * P)`` each, in the padded numbering; ghosts never fire."""
        splits = dict(self.splits)
        d = jax.lax.axis_index(AXIS)
        bits = []
        for name, s in zip(names, spikes):
            sp = splits[name]
            valid = jnp.arange(sp.slots) < jnp.asarray(sp.counts)[d]
            bits.append(jnp.packbits((s != 0) & valid, axis=-1))  # (..., ceil(P / 8)) uint8
        every = jax.lax.all_gather(jnp.concatenate(bits, axis=-1), AXIS, axis=0)  # (D, ..., total bytes)
        out, start = [], 0
        for name, s, b in zip(names, spikes, bits):
            sp, width = splits[name], b.shape[-1]
            full = jnp.unpackbits(every[..., start : start + width], axis=-1, count=sp.slots).astype(bool)
            out.append(jnp.moveaxis(full, 0, -2).reshape(*s.shape[:-1], sp.padded))  # (D, ..., P) -> (..., D * P)
            start += width
        return out


class ShardedNetwork:
    """``net`` partitioned over the devices of a 1-D mesh (see the module docstring for the layout).

    Built by ``Runner(net, devices=...)`` and ``simulate(..., devices=...)``; also usable directly:
    ``sn = ShardedNetwork(net, jax.devices())``, ``state = sn.init(key, dt=0.1)``, ``sn.gather_state(state)``.

    Args:
      net: the network (its projections bound; the synapse lists are read from it on the host, or streamed from
        the connectors for a :meth:`Network.deferred <snnjax.network.Network.deferred>` one).
      devices: a list of devices or a ``jax.sharding.Mesh`` with an axis ``"neurons"`` (:func:`make_mesh`).
      dt: the step, ms, that sizes the delay buffers (one per sending population, at least 1 step deep).

    Attributes:
      mesh: the 1-D mesh.
      splits: population name -> :class:`PopulationSplit`.
      every: sending population name -> steps between its spike exchanges (its projections' shortest lag at
        ``dt``; 1 for lag-1 or traced delays).
      local_leaves: the array leaves of the network each device runs, stacked: ``(D, ...)``, sharded.
      exchange: the :class:`SpikeExchange` each device's step runs with (``Network.step(..., exchange=)``).
    """

    def __init__(self, net: Network, devices: Any, dt: float = DEFAULT_DT):
        if not isinstance(net, Network):
            raise TypeError(f"devices: net must be an snnjax.Network, got {type(net).__name__}")
        self.net = net
        self.dt = float(dt)
        self.mesh = make_mesh(devices)
        n_dev = self.mesh.shape[AXIS]
        self.n_devices = n_dev
        for name, pop in net.populations.items():
            _check_population(name, pop, n_dev)
        self.splits = {name: PopulationSplit.of(name, pop.count, n_dev) for name, pop in net.populations.items()}
        self.senders = tuple(sorted({p.pre for p in net.projections.values()}))
        lags = net.lags(self.dt)
        every: dict[str, int] = {}
        for name, proj in net.projections.items():
            lag = lags[name]
            m = 1 if lag is None or not np.size(lag) or proj.ring_delivery else int(np.min(lag))
            every[proj.pre] = min(every.get(proj.pre, m), m)
        # steps between exchanges of each sending population: its shortest lag (1: every step)
        self.every = {name: every[name] for name in self.senders}
        self.exchange = SpikeExchange(
            splits=tuple(sorted(self.splits.items())),
            every=tuple((name, n) for name, n in self.every.items() if n > 1),
        )
        depths = net.delay_depths(self.dt)
        self.depths = {name: max(1, depths.get(name) or 1) for name in self.senders}
        self._local_devices = {
            d for d, dev in enumerate(self.mesh.devices.ravel()) if dev.process_index == jax.process_index()
        }
        self._proj = {name: self._split_projection(name, proj) for name, proj in net.projections.items()}
        self._layouts: dict[tuple[str, int], tuple] = {}
        self._local_cache: dict[int, Network] = {}
        self._template = self._local(min(self._local_devices))  # the structure every device shares
        leaves, self._net_treedef = jax.tree.flatten(self._template)
        # every leaf is stacked over the devices (Python numbers too: inside shard_map they are traced values, as
        # they are when the one-device run passes the network to jit)
        self.local_leaves = [self._stacked(_shape(x), functools.partial(self._net_leaf, i)) for i, x in
                             enumerate(leaves)]  # fmt: skip
        self._local_cache = {}  # the stacked arrays hold the other devices' networks now
        self._kinds = None
        self._compiled: dict[Any, Any] = {}

    # -- layout ------------------------------------------------------------------------------------
    def __repr__(self):
        pops = ", ".join(
            f"{n}: {s.n} = {'+'.join(map(str, sorted(set(s.counts), reverse=True)))} per device, padded to {s.slots}"
            f" ({s.padded - s.n} ghosts)"
            for n, s in self.splits.items()
        )
        return f"ShardedNetwork({self.n_devices} devices over axis {AXIS!r}; {pops})"

    def _split_projection(self, name: str, proj: Projection) -> _ProjectionSplit:
        """Each synapse's device (that of its postsynaptic neuron) and the common padded length."""
        if not _stored(proj.conn):
            return _ProjectionSplit(n_syn=0, k_local=0, device=np.zeros(0, np.int64))
        if proj.deferred is not None:
            return self._stream(proj, self._local_devices)
        post = np.asarray(proj.topology.post)
        dev = self.splits[proj.post].device_of(post)
        per_dev = np.bincount(dev, minlength=self.n_devices)
        return _ProjectionSplit(n_syn=int(post.size), k_local=max(1, int(per_dev.max())), device=dev)

    def _stream(self, proj: Projection, keep: Any) -> _ProjectionSplit:
        """One pass over a deferred projection's connector (:meth:`snnjax.conn.Connector.blocks`): the synapses
        onto the neurons of the devices ``keep`` (with their global index), and what every device needs to know
        of the others (synapses per device, widest row per device, widest fan-in). Memory: the kept synapses, one
        piece of the stream, and ``n_pre x D`` row counts; the whole list is never held."""
        n_dev, pre_split, post_split = self.n_devices, self.splits[proj.pre], self.splits[proj.post]
        counts = np.zeros(n_dev, np.int64)
        fan = np.zeros((pre_split.n, n_dev), np.int32)
        fan_in = np.zeros(post_split.n, np.int32) if proj.plasticity is not None else None
        kept: dict[int, list] = {d: [] for d in keep}
        offset = 0
        for pre, post in proj.deferred.blocks(pre_split.n, post_split.n):
            if not pre.size:
                continue
            dev = post_split.device_of(post)
            counts += np.bincount(dev, minlength=n_dev)
            lo, hi = int(pre.min()), int(pre.max()) + 1  # a piece spans few rows: the stream is sorted by pre
            fan[lo:hi] += np.bincount((pre - lo) * n_dev + dev, minlength=(hi - lo) * n_dev).reshape(hi - lo, n_dev)
            if fan_in is not None:
                fan_in += np.bincount(post, minlength=post_split.n).astype(np.int32)
            for d in kept:
                sel = np.flatnonzero(dev == d)
                kept[d].append((pre[sel], post[sel], sel + offset))
            offset += pre.size
        if offset != proj.topology.n_syn:
            raise ValueError(  # pragma: no cover - a connector whose blocks differ from its count
                f"devices: the connector of {proj.pre}->{proj.post} streamed {offset} synapses, {proj.topology.n_syn} "
                "when the network was built"
            )
        lists = {
            d: tuple(np.concatenate([piece[i] for piece in parts]) if parts else np.zeros(0, np.int64)
                     for i in range(3))
            for d, parts in kept.items()
        }  # fmt: skip
        return _ProjectionSplit(
            n_syn=offset,
            k_local=max(1, int(counts.max())),
            device=None,
            counts=counts,
            lists=lists,
            fan=fan.max(axis=0) if pre_split.n else np.zeros(n_dev, np.int32),
            fan_in=int(fan_in.max()) if fan_in is not None and fan_in.size else 0,
        )

    def _global_part(self, name: str, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Device ``d``'s synapses of projection ``name`` in the global numbering: ``(pre, post, k)``, ``k`` the
        index of each in the global list (ascending). Called once per device (:meth:`_layout` caches)."""
        proj, sp = self.net.projections[name], self._proj[name]
        if sp.lists is None:
            idx = np.flatnonzero(sp.device == d)
            return np.asarray(proj.topology.pre_index())[idx], np.asarray(proj.topology.post)[idx], idx
        if d not in sp.lists:  # another host's device (a gather): one more pass over the connector
            return self._stream(proj, [d]).lists[d]
        return sp.lists.pop(d)  # the layout built from it is cached (_layout): not kept twice

    def _layout(self, name: str, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Device ``d``'s synapse list of projection ``name``: ``(pre, post, slots)``, ``pre`` in the padded
        numbering of the presynaptic group, ``post`` local, ``slots`` the global synapse of each entry (-1: a
        dummy), sorted by ``pre`` with the global order kept within a row."""
        key = (name, d)
        if key in self._layouts:
            return self._layouts[key]
        proj, sp = self.net.projections[name], self._proj[name]
        pre_split, post_split = self.splits[proj.pre], self.splits[proj.post]
        l_pre, l_post, idx = self._global_part(name, d)
        n_dummy = sp.k_local - idx.size
        # dummies: weight 0, from real presynaptic rows spread evenly, onto the device's ghost slots
        rows = (np.arange(n_dummy) * pre_split.n) // max(n_dummy, 1)
        ghosts = post_split.slots - post_split.counts[d]
        dummy_post = post_split.counts[d] + np.arange(n_dummy) % ghosts
        pre = np.concatenate([pre_split.positions[l_pre], pre_split.positions[rows]])
        post = np.concatenate([l_post - post_split.starts[d], dummy_post])
        slots = np.concatenate([idx, np.full(n_dummy, -1)]).astype(np.int32 if sp.n_syn < 2**31 else np.int64)
        order = np.argsort(pre, kind="stable")
        out = (pre[order].astype(np.int32), post[order].astype(np.int32), slots[order])
        self._layouts[key] = out
        return out

    def _local_projection(self, name: str, proj: Projection, d: int) -> Projection:
        sp = self._proj[name]
        pre_split, post_split = self.splits[proj.pre], self.splits[proj.post]
        if not _stored(proj.conn):  # nothing stored: each device keeps its rows' local targets
            info = proj.info(pre_split.padded, post_split.slots, 0)
            targets = proj.conn.local(pre_split, post_split, AXIS)
            prop = proj.propagator.local(targets)  # the format's propagator, drawing the device's local targets
            empty = np.zeros(0, np.int32)
            topo = ops.Topology.from_lists(empty, empty, info.n_pre, info.n_post, on_device=False, ell=False)
            return proj.replace(topology=topo, propagator=prop)
        pre, post, slots = self._layout(name, d)
        info = proj.info(pre_split.padded, post_split.slots, sp.k_local)
        if getattr(proj.propagator, "max_events", None):  # the one-device run's bound: the same loop
            info = dataclasses.replace(info, max_events=int(proj.propagator.max_events))
        prop = proj.propagator.bind(info)
        topo = prop.build(pre, post, info)  # the format's own tables (plastic ones with their transposed tables)
        changes: dict[str, Any] = {"topology": topo, "propagator": prop, "deferred": None}
        for field in ("weight", "delay"):
            value = getattr(proj, field)
            if field == "weight" and np.ndim(value) == 2:
                value = proj.synapse_weights()
            if np.ndim(value) == 1:
                changes[field] = self._to_local(("syn", name), value, d)
        presyn = "syn" if proj.per_synapse_delay else "pre"
        for part_name in ("synapse", "output", "stp", "plasticity"):
            part = getattr(proj, part_name)
            if part is None or not dataclasses.is_dataclass(part):
                continue
            sub = {}
            for f in dataclasses.fields(part):
                value = getattr(part, f.name)
                if not f.metadata.get("pytree_node", True) or not hasattr(value, "shape") or np.ndim(value) < 1:
                    continue
                # the part says what a parameter array runs over (its shape was checked against that state)
                if part_name == "output" or (part_name == "synapse" and proj.align == "post"):
                    kind = "pop"
                elif part_name in ("synapse", "stp"):
                    kind = presyn
                else:  # a rule's parameters are scalars (checked by its _validate)
                    kind = None
                if kind is not None:
                    target = {"pop": proj.post, "pre": proj.pre, "syn": name}[kind]
                    sub[f.name] = self._to_local((kind, target), value, d, fill="edge")
            if sub:
                changes[part_name] = dataclasses.replace(part, **sub)
        return proj.replace(**changes)

    def _local_drive(self, drive: Any, d: int) -> Any:
        """Device ``d``'s part of a drive (:class:`snnjax.inputs.PoissonInput`): per-neuron values cut to its slots,
        and the global index of each slot as the generator's counter (so every neuron draws the numbers of the
        one-device run; ghosts repeat their device's last neuron)."""
        split = self.splits[drive.post]
        changes = {"index": split.local(np.arange(split.n, dtype=np.uint32), d)}
        for name in ("n", "rate", "weight"):
            value = getattr(drive, name)
            if np.ndim(value) >= 1:  # scalar or the population's shape (checked): per neuron
                changes[name] = split.local(np.asarray(value), d)
        return drive.replace(**changes)

    def _local(self, d: int) -> Network:
        """Device ``d``'s network (host arrays), tables padded to the widths every device shares."""
        if d in self._local_cache:
            return self._local_cache[d]
        net = object.__new__(Network)
        net.populations = {n: _local_population(p, self.splits[n], d) for n, p in self.net.populations.items()}
        net.projections = {n: self._local_projection(n, p, d) for n, p in self.net.projections.items()}
        net.drives = {n: self._local_drive(p, d) for n, p in self.net.drives.items()}
        net = self._pad_tables(net)
        self._local_cache[d] = net
        return net

    @functools.cached_property
    def _table_widths(self) -> dict[tuple[str, str], int]:
        """Width of every row table every device pads to: the widest over the devices (known on every process
        from the global synapse list, without building the other devices' tables)."""
        widths: dict[tuple[str, str], int] = {}
        for name, proj in self.net.projections.items():
            if not _stored(proj.conn):
                continue
            pre_split, post_split = self.splits[proj.pre], self.splits[proj.post]
            sp = self._proj[name]
            if sp.lists is None:
                g_pre, g_post = np.asarray(proj.topology.pre_index()), np.asarray(proj.topology.post)
                dev = post_split.device_of(g_post)
                fan = np.bincount(g_pre * self.n_devices + dev, minlength=pre_split.n * self.n_devices)
                fan = fan.reshape(pre_split.n, self.n_devices).max(axis=0)
                per_dev = np.bincount(dev, minlength=self.n_devices)
                fan_in = int(np.bincount(g_post, minlength=post_split.n).max()) if g_post.size else 0
            else:  # streamed: the counts of the one pass
                fan, fan_in = sp.fan, sp.fan_in
                per_dev = sp.counts
            n_dummy = sp.k_local - per_dev
            extra = -(-n_dummy // pre_split.n)  # dummies per presynaptic row, at most
            widths[(name, "ell")] = max(1, int((fan + extra).max()))
            ghosts = post_split.slots - np.asarray(post_split.counts)
            widths[(name, "in")] = max(1, fan_in, int((-(-n_dummy // ghosts)).max()))
        return widths

    def _pad_tables(self, net: Network) -> Network:
        """Every device's row tables padded to the widths shared by all devices (:meth:`ops.Topology.padded`)."""
        projs = {}
        for name, proj in net.projections.items():
            widths = self._table_widths.get((name, "ell")), self._table_widths.get((name, "in"))
            topo = proj.topology.padded(*widths)
            projs[name] = proj if topo is proj.topology else proj.replace(topology=topo)
        net.projections = projs
        return net

    # -- stacked device arrays ----------------------------------------------------------------------
    def _sharding(self) -> NamedSharding:
        return NamedSharding(self.mesh, P(AXIS))

    def _stacked(self, shape_dtype: tuple, part: Any) -> jax.Array:
        """A ``(D, *shape)`` array sharded over :data:`AXIS` whose block ``d`` is ``part(d)`` (called for this
        process's devices only)."""
        shape, dtype = shape_dtype

        def block(index):
            d = index[0].start or 0
            return np.asarray(part(d))[None].astype(dtype)

        if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
            sample = jax.random.key_data(part(min(self._local_devices)))
            data = self._stacked((sample.shape, sample.dtype), lambda d: jax.random.key_data(part(d)))
            return jax.random.wrap_key_data(data, impl=jax.random.key_impl(part(min(self._local_devices))))
        return jax.make_array_from_callback((self.n_devices, *shape), self._sharding(), block)

    def local_net(self, leaves: list) -> Network:
        """One device's network from its blocks of :attr:`local_leaves` (inside ``shard_map``)."""
        return jax.tree.unflatten(self._net_treedef, list(leaves))

    def _net_leaf(self, i: int, d: int) -> np.ndarray:
        return np.asarray(jax.tree.leaves(self._local(d))[i])

    # -- states -------------------------------------------------------------------------------------
    def _state_kinds(self, batch_shape: tuple[int, ...]):
        """Kinds of every leaf of the neuron and synapse states: ``("pop", name)``, ``("syn", projection)``,
        ``("pre", population)``, ``("key",)`` or ``("rep",)``, as each leaf declares them (:mod:`snnjax.axes`):
        a population's leaves run over its neurons (keys excepted), a projection's as
        :meth:`~snnjax.projection.Projection.state_axes` says. Nothing is inferred from a length."""
        key = (batch_shape,)
        if self._kinds is not None and self._kinds[0] == key:
            return self._kinds[1]
        net = self.net
        kinds: dict[str, list] = {"neurons": {}, "synapses": {}}
        for name, pop in net.populations.items():
            g = jax.eval_shape(lambda p=pop: p.init(batch_shape, key=jax.random.key(0)))
            kinds["neurons"][name] = [
                ("key",) if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key) else ("pop", name)
                for leaf in jax.tree.leaves(g)
            ]
        where = {axes.POST: lambda p, n: ("pop", p.post), axes.PRE: lambda p, n: ("pre", p.pre),
                 axes.SYN: lambda p, n: ("syn", n), axes.REP: lambda p, n: ("rep",)}  # fmt: skip
        for name, proj in net.projections.items():
            post = net.populations[proj.post]
            g = jax.eval_shape(lambda p=proj, shape=post.shape: p.init_state(shape, batch_shape, self.dt))
            kinds["synapses"][name] = [where[a](proj, name) for a in jax.tree.leaves(proj.state_axes(g))]
        for name, drive in net.drives.items():
            post = net.populations[drive.post]
            g = jax.eval_shape(lambda p=drive, shape=post.shape: p.init_state(shape, batch_shape, jax.random.key(0)))
            kinds["synapses"][name] = [where[a](drive, name) for a in jax.tree.leaves(drive.state_axes(g))]
        self._kinds = (key, kinds)
        return kinds

    def _local_init(self, name: str, batch: tuple[int, ...], kinds: list) -> Any:
        """Projection ``name``'s initial state built on each device from its own synapses (the template
        device's ``init_state``: it depends on the synapse count, equal on every device, and on the scalar
        weight), per-synapse leaves 0 on the dummies as :meth:`_to_local` makes them."""
        proj = self._template.projections[name]
        template = proj.init_state((self.splits[proj.post].slots,), batch, self.dt)
        leaves, treedef = jax.tree.flatten(template)
        out = []
        for (kind, _), leaf in zip(kinds, leaves, strict=True):
            leaf = np.asarray(leaf)
            if kind == "syn":
                part = functools.partial(
                    lambda x, d: np.where(self._layout(name, d)[2] >= 0, x, 0).astype(x.dtype), leaf
                )
            else:
                part = functools.partial(lambda x, d: x, leaf)
            out.append(self._stacked((leaf.shape, leaf.dtype), part))
        return jax.tree.unflatten(treedef, out)

    def _to_local(self, kind: tuple, a: Any, d: int, fill: str = "zero") -> Any:
        """Device ``d``'s block of ``a`` (last axis over the kind's neurons or synapses); dummies and ghosts of
        ``"pre"`` arrays are 0 (``fill="edge"``: the first value, for parameters)."""
        k = kind[0]
        if k == "pop":
            return self.splits[kind[1]].local(np.asarray(a), d)
        if k == "syn":
            slots = self._layout(kind[1], d)[2]
            a = np.asarray(a)
            dummy = a[..., :1] if fill == "edge" and a.shape[-1] else np.zeros((), a.dtype)
            return np.where(slots >= 0, a[..., np.maximum(slots, 0)], dummy).astype(a.dtype)
        if k == "pre":
            a = np.asarray(a)
            return self.splits[kind[1]].to_padded(a, fill=a.reshape(-1)[0] if fill == "edge" else 0)
        if k == "key":
            if not d:
                return a
            flat = jnp.reshape(a, (-1,))
            return jnp.reshape(jax.vmap(lambda k_: jax.random.fold_in(k_, d))(flat), jnp.shape(a))
        return a

    def _to_global(self, kind: tuple, stacked: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`_to_local` over all devices: ``(D, ..., local)`` -> ``(..., global)``."""
        k = kind[0]
        if k == "pop":
            return self.splits[kind[1]].join(stacked)
        if k == "syn":
            out = np.zeros((*stacked.shape[1:-1], self._proj[kind[1]].n_syn), stacked.dtype)
            for d in range(self.n_devices):
                slots = self._layout(kind[1], d)[2]
                real = slots >= 0
                out[..., slots[real]] = stacked[d][..., real]
            return out
        if k == "pre":
            return self.splits[kind[1]].from_padded(stacked[0])
        return stacked[0]

    def _convert(self, state: NetworkState, batch: tuple[int, ...], fn: Any, group: str) -> dict:
        """``state.<group>`` (``"neurons"`` or ``"synapses"``) with every leaf replaced by ``fn(kind, leaf)``
        (a projection's state ``None``: its initial state made on each device, see :meth:`init`)."""
        kinds = self._state_kinds(batch)
        out = {}
        for name, sub in getattr(state, group).items():
            if sub is None:
                out[name] = self._local_init(name, batch, kinds[group][name])
                continue
            leaves, treedef = jax.tree.flatten(sub)
            out[name] = jax.tree.unflatten(treedef, [fn(k, x) for k, x in zip(kinds[group][name], leaves, strict=True)])
        return out

    def shard_state(self, state: NetworkState) -> NetworkState:
        """A one-device state (``net.init(...)`` or a previous run's) in the sharded layout: every leaf
        ``(D, ...)`` sharded over :data:`AXIS`. Delay buffers cover every sending population."""
        spike = next(iter(state.neurons.values())).spike

        def stack(kind, leaf):
            local0 = self._to_local(kind, leaf, 0)
            dtype = local0.dtype if hasattr(local0, "dtype") else np.asarray(local0).dtype
            return self._stacked((tuple(np.shape(local0)), dtype), lambda d: self._to_local(kind, leaf, d))

        convert = functools.partial(self._convert, state, tuple(np.shape(spike))[: np.ndim(spike) - 1], stack)

        delays = {}
        for name in self.senders:
            split = self.splits[name]
            if name in state.delays:
                buf = state.delays[name]
                data = split.to_padded(np.asarray(buf.data, bool), fill=False)
                head = np.asarray(buf.head, np.int32)
            else:  # lag 1 only: a one-step buffer holding the spike state
                s = np.asarray(state.neurons[name].spike) != 0
                data = split.to_padded(s.reshape(*s.shape[: s.ndim - 1], -1), fill=False)[None]
                head = np.zeros((), np.int32)
            depth = self.depths[name]
            if data.shape[0] < depth:  # pragma: no cover - the state was checked against dt
                raise ValueError(f"devices: the delay buffer of {name!r} holds {data.shape[0]} steps, needs {depth}")
            n = self.every[name]
            k = int(np.asarray(state.step)) % n
            if n > 1:  # the last k steps are not exchanged yet: each device holds its own, pending
                pending = np.zeros((n, *data.shape[1:-1], split.n), bool)
                for i in range(k):  # step s - k + i, k - 1 - i entries before the newest
                    pending[i] = np.asarray(buf.data)[(int(head) - (k - 1 - i)) % data.shape[0]]
                head = np.asarray((int(head) - k) % data.shape[0], np.int32)
                delays[name + PENDING] = DelayBuffer(
                    data=self._stacked(
                        ((n, *data.shape[1:-1], split.slots), bool), lambda d, x=pending, sp=split: sp.local(x, d)
                    ),
                    head=self._stacked(((), np.int32), lambda d: np.zeros((), np.int32)),
                )
            delays[name] = DelayBuffer(
                data=self._stacked((data.shape, bool), lambda d, x=data: x),
                head=self._stacked(((), np.int32), lambda d, x=head: x),
            )
        step = np.asarray(state.step, np.int32)
        return NetworkState(
            neurons=convert("neurons"),
            synapses=convert("synapses"),
            delays=delays,
            step=self._stacked(((), np.int32), lambda d: step),
        )

    def gather_state(self, state: NetworkState) -> NetworkState:
        """The one-device state (``net.init`` layout, ghosts and dummies left out) of a sharded one, on every
        process (multi-host: gathered with ``multihost_utils.process_allgather``)."""
        spike = next(iter(state.neurons.values())).spike

        def join(kind, leaf):
            return leaf[0] if kind[0] == "key" else jnp.asarray(self._to_global(kind, _fetch(leaf)))

        convert = functools.partial(self._convert, state, tuple(np.shape(spike))[1 : np.ndim(spike) - 1], join)

        delays = {}
        step = int(_fetch(state.step)[0])
        for name in self.net.buffered(self.dt):
            buf = state.delays[name]
            split = self.splits[name]
            data = split.from_padded(_fetch(buf.data)[0])
            head = int(_fetch(buf.head)[0])
            n = self.every.get(name, 1)
            if n > 1:  # enter the steps each device still holds (pending) as the newest entries
                k = step % n
                pending = _fetch(state.delays[name + PENDING].data)  # (D, n, *batch, P)
                for i in range(k):
                    data[(head + 1 + i) % data.shape[0]] = split.join(pending[:, i])
                head = (head + k) % data.shape[0]
            delays[name] = DelayBuffer(data=jnp.asarray(data), head=jnp.asarray(head, jnp.int32))
        return NetworkState(
            neurons=convert("neurons"),
            synapses=convert("synapses"),
            delays=delays,
            step=jnp.asarray(step, jnp.int32),
        )

    def init(self, key: jax.Array | None = None, batch_shape: tuple[int, ...] = (), dt: float | None = None):
        """``shard_state(net.init(key, batch_shape, dt))``, except that the per-synapse states of plastic
        projections whose lists are built per device (:meth:`Network.deferred`) are made on each device from its
        own synapses (the initial weights, 0 on the dummies), never whole."""
        dt = self.dt if dt is None else dt
        local = {n for n, p in self.net.projections.items() if p.deferred is not None and p.plasticity is not None}
        if not local:
            return self.shard_state(self.net.init(key, batch_shape, dt=dt))
        rest = object.__new__(Network)  # the network without them: neurons, the other projections, no lists
        rest.populations = self.net.populations
        rest.projections = {n: p for n, p in self.net.projections.items() if n not in local}
        rest.drives = self.net.drives
        state = rest.init(key, batch_shape, dt=dt)
        whole = self.net.buffered(dt)  # the delay buffers every sending population needs (N-sized)
        delays = {
            name: state.delays.get(name) or DelayBuffer.create(d, jnp.zeros((*batch_shape, self.splits[name].n), bool))
            for name, d in whole.items()
        }
        state = state.replace(synapses={**state.synapses, **dict.fromkeys(local)}, delays=delays)
        return self.shard_state(state)

    def record_kind(self, path: str) -> tuple:
        """The layout of a monitored state field ``'<population>.<field>'`` / ``'<projection>.<field>'``."""
        name, field = path.split(".", 1)
        if name in self.net.populations:
            return ("pop", name)
        if name in self.net.drives:  # a drive's fields are its kinetics', over the target's neurons
            return ("pop", self.net.drives[name].post)
        proj = self.net.projections[name]
        state = jax.eval_shape(lambda: proj.init_state(self.net.populations[proj.post].shape, (), self.dt))
        if field == "ring":
            return ("pop", proj.post)
        flat = []
        for part in ("kinetics", "stp", "plasticity"):
            sub = getattr(state, part)
            if sub is not None:
                flat += [(f.name, getattr(sub, f.name)) for f in dataclasses.fields(sub)]
        kinds = self._state_kinds(())["synapses"][name]
        names = [n for n, v in flat if v is not None]
        return kinds[names.index(field)]

    # -- memory and traffic --------------------------------------------------------------------------
    def bytes_per_device(self, state: NetworkState) -> int:
        """Bytes one device holds for the network (synapse lists, weights, parameters) and the state, the
        largest over the devices (every device holds blocks of one shape)."""
        leaves = list(self.local_leaves) + jax.tree.leaves(state)
        total = 0
        for x in leaves:
            if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
                x = jax.random.key_data(x)
            total += x.nbytes // self.n_devices
        return int(total)

    def host_list_bytes(self) -> int:
        """Bytes of synapse lists this process holds outside the devices' blocks: the one-device network's
        (``Network(...)`` builds them whole, ``Network.deferred`` holds none) plus the per-device lists kept on
        the host (streamed parts and layouts, for this process's devices)."""
        total = 0
        for proj in self.net.projections.values():
            for x in jax.tree.leaves(proj.topology):
                if not (isinstance(x, np.ndarray) and 0 in x.strides):  # a deferred stand-in holds no memory
                    total += x.nbytes
        for sp in self._proj.values():
            total += sum(a.nbytes for part in (sp.lists or {}).values() for a in part)
        total += sum(a.nbytes for layout in self._layouts.values() for a in layout)
        return int(total)

    def exchange_bytes_per_step(self, batch_shape: tuple[int, ...] = ()) -> int:
        """Bytes each device receives per step from the spike all-gathers: ``D * ceil(P / 8)`` per sending
        population and batch element (its own block included); a population exchanged every ``n`` steps sends
        ``n`` steps at once, the same bytes per step."""
        b = int(np.prod(batch_shape)) if batch_shape else 1
        return int(sum(self.n_devices * math.ceil(self.splits[n].slots / 8) * b for n in self.senders))

    def exchanges_per_step(self) -> float:
        """All-gathers per step: one for all the sending populations exchanged every step, and one per other
        sending population every ``every[name]`` steps (its shortest lag)."""
        each = any(self.every[n] == 1 for n in self.senders)
        return float(each + sum(1.0 / self.every[n] for n in self.senders if self.every[n] > 1))


def _shape(x: Any) -> tuple:
    return tuple(np.shape(x)), jnp.asarray(x).dtype


def _fetch(x: jax.Array) -> np.ndarray:
    if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
        x = jax.random.key_data(x)
    if getattr(x, "is_fully_addressable", True):
        return np.asarray(jax.device_get(x))
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(x, tiled=True))


# -- running -------------------------------------------------------------------------------------------


def check_monitors(records: tuple, owner: str) -> None:
    """Sharded runs record state paths and the per-neuron reducers (``SpikeCount``, ``Mean``, ``ExpTrace``, whose
    accumulators have the field's layout); probes and functions would see one device's neurons only."""
    for name, kind, payload in records:
        if kind == "path" or (kind == "reducer" and type(payload) in _REDUCERS):
            continue
        what = type(payload).__name__ if kind != "fn" else "function"
        raise ValueError(
            f"{owner}: monitor {name!r} is a {what}; with devices= only state paths ('E.v', 'E.spike', 'EE.w', "
            "with index subsets) and the reducers SpikeCount, Mean and ExpTrace can be recorded (each device sees "
            "its own neurons only)"
        )


def _reducer_kind(shard: ShardedNetwork, r: Any) -> tuple:
    return ("pop", r.population) if isinstance(r, monitors_mod.SpikeCount) else shard.record_kind(r.path)


def init_reducers(shard: ShardedNetwork, static: Any, template: NetworkState) -> dict:
    """The reducers' accumulators in the sharded layout (``(D, ...)`` blocks of the field's layout)."""
    acc = {}
    for name, kind, r in static.records:
        if kind != "reducer":
            continue
        shapes = jax.eval_shape(r.init, template)
        k = _reducer_kind(shard, r)
        acc[name] = jax.tree.map(
            lambda a, k=k: shard._stacked(
                (np.shape(shard._to_local(k, np.zeros(a.shape, a.dtype), 0)), a.dtype),
                lambda d, a=a, k=k: shard._to_local(k, np.zeros(a.shape, a.dtype), d),
            ),
            shapes,
        )
    return acc


def gather_reducers(shard: ShardedNetwork, static: Any, acc: dict) -> dict:
    """The accumulators in the one-device layout (host arrays), for ``Reducer.result``."""
    out = {}
    for name, kind, r in static.records:
        if kind == "reducer":
            k = _reducer_kind(shard, r)
            out[name] = jax.tree.map(lambda a, k=k: jnp.asarray(shard._to_global(k, _fetch(a))), acc[name])
    return out


def _input_kind(shard: ShardedNetwork, target: str, value: Any, over_time: bool) -> tuple:
    if target in shard.splits and np.ndim(value) >= 1 + over_time and np.shape(value)[-1] == shard.splits[target].n:
        return ("pop", target)
    return ("rep",)


class _LocalInput:
    """A callable input ``f(t)`` of the whole population, cut to the device's slots inside ``shard_map``."""

    def __init__(self, fn: Any, split: PopulationSplit, batch_shape: tuple[int, ...]):
        self.fn, self.split, self.batch_shape = fn, split, batch_shape

    def __call__(self, t):
        s = self.split
        v = jnp.broadcast_to(self.fn(t), (*self.batch_shape, s.n))
        v = jnp.concatenate([v, jnp.broadcast_to(v[..., -1:], (*self.batch_shape, s.slots))], axis=-1)
        start = jnp.asarray(s.starts)[jax.lax.axis_index(AXIS)]
        return jax.lax.dynamic_slice_in_dim(v, start, s.slots, axis=-1)


def _compiled(shard: ShardedNetwork, static: Any, batch_shape: tuple[int, ...], host: bool):
    key = (static, batch_shape, host)
    if key in shard._compiled:
        return shard._compiled[key]
    local = dataclasses.replace(
        static,
        records=tuple((n, kind, (p[0], None) if kind == "path" else p) for n, kind, p in static.records),
        inputs=tuple(
            (
                pop,
                mode,
                _LocalInput(fn, shard.splits[pop], batch_shape) if mode == "func" and pop in shard.splits else fn,
            )
            for pop, mode, fn in static.inputs
        ),  # fmt: skip
        field_ndim=(),
        depths=tuple((name, shard.depths[name]) for name in shard.senders),
    )

    def body(net, state, acc, values, lag_arrays):
        first = functools.partial(jax.tree.map, lambda x: x[0])
        net = shard.local_net(first(net))
        args = (net, first(state), first(acc), first(values), first(lag_arrays))
        # the one-device loop with the sharded spike exchange; host: spikes as bool (counts with every > 1)
        state, acc, rec = _run_chunk(*args, spec=local, host=host, exchange=shard.exchange)
        return jax.tree.map(lambda x: x[None], (state, acc, rec))

    spec = P(AXIS)
    fn = jax.jit(jax.shard_map(body, mesh=shard.mesh, in_specs=(spec,) * 5, out_specs=spec, check_vma=False))
    shard._compiled[key] = fn
    return fn


def run_chunk(shard: ShardedNetwork, static: Any, state: NetworkState, acc: dict, values: list, lag_arrays: dict,
              host: bool = True) -> tuple[NetworkState, dict, dict]:  # fmt: skip
    """``static.n_steps`` steps of the sharded network from the sharded ``state`` and reducer accumulators
    ``acc`` (:func:`init_reducers`): returns the new sharded state and accumulators, and the records in the
    one-device layout (numpy; ``host``: spike states as bool)."""
    spike = next(iter(state.neurons.values())).spike
    batch = tuple(spike.shape[1:-1])
    fn = _compiled(shard, static, batch, host)
    sharding = NamedSharding(shard.mesh, P(AXIS))
    stacked = []
    for (pop, mode, _), v in zip(static.inputs, values):
        if mode == "func":
            stacked.append(None)
            continue
        v = np.asarray(v)
        kind = _input_kind(shard, pop, v, mode == "iter")
        local0 = np.asarray(shard._to_local(kind, v, 0))
        stacked.append(
            shard._stacked((local0.shape, local0.dtype), lambda d, k=kind, x=v: shard._to_local(k, x, d, "edge"))
        )
    lags = {}
    for name, a in lag_arrays.items():
        host = np.asarray(a)
        lags[name] = shard._stacked(
            ((shard._proj[name].k_local,), np.int32),
            lambda d, n=name, x=host: shard._to_local(("syn", n), x, d, "edge"),
        )
    state = jax.tree.map(lambda x: x if getattr(x, "sharding", None) == sharding else jax.device_put(x, sharding),
                         state)  # fmt: skip
    state, acc, rec = fn(shard.local_leaves, state, acc, stacked, lags)
    out = {}
    for name, kind, payload in static.records:
        if kind == "reducer":
            if payload.recorded:
                out[name] = shard._to_global(_reducer_kind(shard, payload), _fetch(rec[name]))
            continue
        path, index = payload
        v = shard._to_global(shard.record_kind(path), _fetch(rec[name]))
        if index is not None:
            v = v[..., np.asarray(index)]
        out[name] = v
    out["ts"] = _fetch(rec["ts"])[0]
    if "_finite" in rec:
        out["_finite"] = np.all(_fetch(rec["_finite"]), axis=0)
    return state, acc, out


_CACHE: dict[tuple, tuple] = {}


def cached(net: Network, devices: Any, dt: float) -> ShardedNetwork:
    """The :class:`ShardedNetwork` of ``net`` over ``devices`` at ``dt``, reused while ``net`` lives (``simulate``
    calls it for every run)."""
    import weakref

    mesh = make_mesh(devices)
    key = (id(net), tuple(d.id for d in mesh.devices.ravel()), float(dt))
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is net:
        return hit[1]
    shard = ShardedNetwork(net, mesh, dt)
    _CACHE[key] = (weakref.ref(net), shard)
    while len(_CACHE) > 8:
        _CACHE.pop(next(iter(_CACHE)))
    return shard


# -- checkpoints: each process saves and loads the blocks of its own devices ---------------------------------------


def _shard_file(path: Any) -> Path:
    return Path(f"{path}.process{jax.process_index()}.npz")


def save_shards(path: Any, state: NetworkState) -> str:
    """Save a sharded state: every process writes the blocks of its own devices to ``{path}.process{i}.npz`` (no
    array crosses hosts). Returns this process's file name. Resume with :func:`load_shards` on the same mesh;
    on one host ``snnjax.checkpoint.save_state`` also works (it gathers the blocks)."""
    blocks = {}
    for kp, leaf in jax.tree_util.tree_flatten_with_path(state)[0]:
        name = jax.tree_util.keystr(kp)
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            leaf = jax.random.key_data(leaf)
        for shard in leaf.addressable_shards:
            blocks[f"{name}|{shard.index[0].start or 0}"] = np.asarray(shard.data)
    fn = _shard_file(path)
    with open(fn, "wb") as f:
        np.savez(f, **blocks)
    return str(fn)


def load_shards(path: Any, like: NetworkState) -> NetworkState:
    """The sharded state :func:`save_shards` wrote, each process reading its own file; ``like`` (e.g. a fresh
    ``Runner(..., devices=...).state``) gives the structure, shapes and sharding. ``ValueError`` if a block is
    missing or has another shape (another network or mesh)."""
    fn = _shard_file(path)
    with np.load(fn) as f:
        blocks = {k: f[k] for k in f.files}
    leaves, treedef = jax.tree_util.tree_flatten_with_path(like)
    out = []
    for kp, leaf in leaves:
        name = jax.tree_util.keystr(kp)
        is_key = jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)
        data = jax.random.key_data(leaf) if is_key else leaf

        def block(index, name=name, data=data):
            key = f"{name}|{index[0].start or 0}"
            if key not in blocks:
                raise ValueError(f"load_shards: {fn} has no block {key!r}; was it saved from this network and mesh?")
            b = blocks[key]
            if b.shape != (1, *data.shape[1:]):
                raise ValueError(
                    f"load_shards: block {key!r} of {fn} has shape {b.shape}, expected {(1, *data.shape[1:])}"
                )
            return b.astype(data.dtype)

        arr = jax.make_array_from_callback(data.shape, data.sharding, block)
        out.append(jax.random.wrap_key_data(arr, impl=jax.random.key_impl(leaf)) if is_key else arr)
    return jax.tree.unflatten(treedef, out)
