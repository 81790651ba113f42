"""Networks: named populations and projections, and one pure step function."""

from __future__ import annotations

import dataclasses
import keyword
import zlib
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from snnjax import ops
from snnjax.delays import DelayBuffer
from snnjax.inputs import PoissonInput
from snnjax.neurons.base import check_population
from snnjax.population import MEMBERS, hook
from snnjax.projection import Projection

DEFAULT_DT = 0.1  # ms, BrainPy's default


@struct.dataclass
class NetworkState:
    """Complete simulation state (a pytree).

    Attributes:
      neurons: population name -> that model's state.
      synapses: projection name -> its :class:`~snnjax.projection.ProjectionState` (kinetics, STP ``u``/``x``,
        plastic weights ``w`` and traces; every field reads as ``state.synapses[name].<field>``).
      delays: presynaptic population name -> :class:`DelayBuffer` of whether its neurons spiked,
        bool ``(L, *batch, count)``, for the populations read with a lag of two steps or more (lag-1 reads
        take the population's ``spike`` state).
      step: int32 number of steps simulated so far; the next step runs at ``t = step * dt`` ms.
    """

    neurons: dict[str, Any]
    synapses: dict[str, Any]
    delays: dict[str, DelayBuffer]
    step: jax.Array


def _check_target(what: str, post: str, target: str | None, pops: dict) -> None:
    """The population ``post`` can take input at ``target`` (``"input"``, or a state field a synapse can jump);
    ``None`` (a projection without output, that only learns) targets nothing and may end at a spike source."""
    if target is None:
        return
    if not hook(pops[post], "TAKES_INPUT"):  # a spike source: its spikes are given, not computed from input
        raise ValueError(
            f"Network: {what} targets {post!r}, a {type(pops[post]).__name__} (a spike source, which takes no "
            "input: its spikes are given); give the projection output=None if it only learns (a rule on "
            "prescribed spike trains)"
        )
    if target != "input":  # a jump into a state field: the field must exist (shapes only, no compile)
        post_state = jax.eval_shape(lambda p=pops[post]: p.init(key=jax.random.key(0)))
        fields = [f.name for f in dataclasses.fields(post_state) if f.name != "spike"]
        if target not in fields:  # a state *field* (not a property, not the spike output)
            raise ValueError(
                f"Network: {what} has output target={target!r}, but {post}'s state has no field {target!r} a synapse "
                f"can jump; use target='input' (a current) or one of {fields}"
            )


class LocalExchange:
    """How a one-device step sees and stores spikes: :meth:`Network.step`'s default ``exchange``.

    A step reads each population's spikes of the last step (:meth:`now`) and its delay buffer (after :meth:`view`),
    and ends by entering the new spikes in the buffers (:meth:`write`). A placement over several devices gives its
    own exchange (:class:`snnjax.sharding.SpikeExchange`: every device's spikes, gathered), the rest of the step
    unchanged.
    """

    def view(self, delays: dict, step: jax.Array) -> dict:
        """The delay buffers as this step's projections read them (here: as they are)."""
        return delays

    def now(self, name: str, delays: dict, own: jax.Array) -> jax.Array:
        """The spikes population ``name`` emitted in the last step as its projections see them, ``(*batch, n)``;
        ``own`` is its spike state, flattened (here: that)."""
        return own

    def write(self, delays: dict, step: jax.Array, spikes: dict) -> dict:
        """The delay buffers after the step: ``delays`` as :meth:`view` gave them, ``spikes`` each population's
        new spikes, flattened ``(*batch, count)``."""
        return {name: buf.write(spikes[name]) for name, buf in delays.items()}


_LOCAL = LocalExchange()


def _is_population(obj) -> bool:
    return all(hasattr(obj, a) for a in MEMBERS) and not isinstance(obj, Projection)


@jax.tree_util.register_pytree_node_class
class Network:
    """A network of named populations (neuron groups) and projections between them.

    ``Network(E=lif_e, I=lif_i, EE=Projection("E", "E", ...), ...)``: keyword names are how inputs
    (``"E.input"``), monitors (``"E.v"``, ``"EE.g"``) and projections refer to the components. Building a
    network builds every projection's synapse list (``conn``) once, on the host (:meth:`deferred`: per device, when
    it runs split over devices). Drives without synapses (:class:`snnjax.inputs.PoissonInput`) are components
    too: their state sits beside the projections' (``state.synapses[name]``, monitor ``"<name>.g"``).

    The network is a pytree: its parameters (and connectivity index arrays) are leaves, so it can be
    passed through ``jit``, ``vmap`` and ``grad``; :func:`snnjax.trainable` separates the float leaves.
    """

    def __init__(self, **components: Any):
        self._build(components, deferred=False)

    @classmethod
    def deferred(cls, **components: Any) -> Network:
        """A network whose stored synapse lists are built per device, never whole on one host.

        Takes the components of ``Network(...)``. Each stored-list projection is checked and its connector
        counted (:meth:`Projection.bind_deferred`), but its list is built only by ``Runner(net, ...,
        devices=...)`` / ``simulate(..., devices=...)``: every process streams the connector from its seed
        (:meth:`snnjax.conn.Connector.blocks`) and keeps the synapses onto its own devices' neurons
        (:mod:`snnjax.sharding`). The lists, and so every run, are those of ``Network(...)``. Such a network runs
        only with ``devices=``; its projections need scalar ``weight`` and ``delay``.
        """
        net = object.__new__(cls)
        net._build(components, deferred=True)
        return net

    def _build(self, components: dict, deferred: bool) -> None:
        pops, projs, drives = {}, {}, {}
        for name, obj in components.items():
            if not name.isidentifier() or keyword.iskeyword(name) or name == "ts":
                raise ValueError(f"Network: component name {name!r} must be a Python identifier other than 'ts'")
            if isinstance(obj, Projection):
                projs[name] = obj
            elif isinstance(obj, PoissonInput):
                drives[name] = obj
            elif _is_population(obj):
                pops[name] = obj
            elif any(hasattr(obj, m) for m in ("init", "update", "shape", "count")):  # a population, incomplete
                check_population(obj, f"Network: component {name!r}")
            else:
                raise TypeError(
                    f"Network: component {name!r} must be a neuron model (snnjax.neurons), a Projection or a "
                    f"PoissonInput, got {type(obj).__name__}"
                )
        if not pops:
            raise ValueError("Network: at least one population is required")
        for name, proj in projs.items():
            for end in ("pre", "post"):
                if getattr(proj, end) not in pops:
                    raise ValueError(
                        f"Network: projection {name!r} has {end}={getattr(proj, end)!r}, which is not a population; "
                        f"populations are {sorted(pops)}"
                    )
            target = None if proj.output is None else proj.output.target
            _check_target(f"projection {name!r}", proj.post, target, pops)
            bind = proj.bind_deferred if deferred else proj.bind
            projs[name] = bind(pops[proj.pre].count, pops[proj.post].count, pops[proj.post].shape)
        for name, drive in drives.items():
            if drive.post not in pops:
                raise ValueError(
                    f"Network: PoissonInput {name!r} has post={drive.post!r}, which is not a population; populations "
                    f"are {sorted(pops)}"
                )
            _check_target(f"PoissonInput {name!r}", drive.post, drive.output.target, pops)
            drive._validate(pops[drive.post].shape)
            drives[name] = drive.bind()
        self.populations = pops
        self.projections = projs
        self.drives = drives

    # -- pytree ----------------------------------------------------------------------------------
    def tree_flatten(self):
        return (self.populations, self.projections, self.drives), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        net = object.__new__(cls)
        net.populations, net.projections, net.drives = children
        return net

    def __repr__(self):
        pops = ", ".join(f"{k}={type(v).__name__}({v.count})" for k, v in self.populations.items())
        projs = ", ".join(
            f"{k}={p.pre}->{p.post}[{p.method}, "
            + (f"p={p.conn.p}]" if p.conn is not None else f"{p.topology.n_syn} syn]")  # jit: nothing stored
            for k, p in self.projections.items()
        )
        parts = [projs] + [f"{k}=PoissonInput->{d.post}" for k, d in self.drives.items()]
        return f"Network({pops}; {', '.join(p for p in parts if p)})"

    # -- checks ----------------------------------------------------------------------------------
    def _validate(self, dt: float | None = None, sharded: bool = False) -> None:
        """Complete checks on the concrete tree; ``simulate`` and ``Runner`` call it before tracing, with their
        ``dt`` (ms) so that populations with a ``check_dt`` (e.g. a Poisson rate above 1000 / dt) are checked,
        and ``sharded`` (whether the run is split over devices, which a :meth:`deferred` network needs)."""
        deferred = [name for name, p in self.projections.items() if p.deferred is not None]
        if deferred and not sharded:
            raise ValueError(
                f"devices: the network was built with Network.deferred (projections {deferred} have their synapse "
                "lists built per device), so it runs only split over devices: pass devices=[...] to Runner or "
                "simulate, or build it with snnjax.Network(...)"
            )
        for pop in self.populations.values():
            if hasattr(pop, "_validate"):
                pop._validate()
            if dt is not None and hasattr(pop, "check_dt"):
                pop.check_dt(dt)
        for proj in self.projections.values():
            proj._validate(self.populations[proj.post].shape)  # N-D targets: parameters shaped like the group
        for drive in self.drives.values():
            drive._validate(self.populations[drive.post].shape)

    def input_paths(self) -> list[str]:
        """Valid input targets: ``'<population>.input'`` (current added to that population, nA) and
        ``'<projection>.reward'`` for projections with a reward-modulated rule (``MSTDPET``; dimensionless)."""
        rewarded = [f"{n}.reward" for n, p in self.projections.items() if getattr(p.plasticity, "needs_reward", 0)]
        return [f"{name}.input" for name in self.populations] + rewarded

    def input_shape(self, path: str) -> tuple[int, ...]:
        """Shape of one step of the input at ``path`` (without batch axes): the population's shape for
        ``'<population>.input'``, ``()`` for a reward."""
        name = path.split(".")[0]
        return tuple(self.populations[name].shape) if name in self.populations else ()

    def monitor_paths(self, state: NetworkState | None = None) -> list[str]:
        """Valid monitor paths: ``population.field`` and ``projection.field`` of the state."""
        state = state if state is not None else jax.eval_shape(lambda: self.init(key=jax.random.key(0)))
        paths = []
        for group in (state.neurons, state.synapses):
            for name, sub in group.items():
                fields = sub.fields() if callable(getattr(sub, "fields", None)) else vars(sub)
                paths += [f"{name}.{f}" for f, v in fields.items() if v is not None]
        return paths

    # -- simulation ------------------------------------------------------------------------------
    def lags(self, dt: float) -> dict[str, int | np.ndarray | None]:
        """Each projection's lag(s) in steps at ``dt``, decided on the host (:meth:`Projection.lags`): an int,
        an int32 ``(K,)`` array for per-synapse delays, or ``None`` for a traced delay."""
        return {name: proj.lags(dt) for name, proj in self.projections.items()}

    def delay_depths(self, dt: float) -> dict[str, int | None]:
        """Longest lag (steps) read from each presynaptic population at ``dt`` (``None``: unknown, traced)."""
        depth: dict[str, int | None] = {}
        for proj in self.projections.values():
            d = proj.buffer_lag(dt)
            old = depth.get(proj.pre, 1)
            depth[proj.pre] = None if d is None or old is None else max(old, d)
        return depth

    def buffered(self, dt: float) -> dict[str, int]:
        """Populations that need a delay buffer at ``dt`` and its depth (steps): those read with a lag of two
        steps or more, per synapse, or traced. Raises ``ValueError`` for a traced delay without ``max_delay``."""
        out: dict[str, int] = {}
        depths = self.delay_depths(dt)
        for proj in self.projections.values():
            d = depths[proj.pre]
            if d is None:
                raise ValueError(
                    f"Network.init: a projection from {proj.pre!r} has a traced delay (built inside jit/vmap/grad), "
                    "so its delay buffer cannot be sized; pass max_delay=<ms> to that Projection"
                )
            if proj.ring_delivery:  # reads the last step's spikes: no buffer for it
                continue
            lag = proj.lags(dt)
            if not isinstance(lag, int) or lag > 1:
                out[proj.pre] = d
        return out

    def init(
        self, key: jax.Array | None = None, batch_shape: tuple[int, ...] = (), dt: float = DEFAULT_DT
    ) -> NetworkState:
        """Initial state. ``dt`` (ms) sizes the delay buffers; ``key`` feeds random initial values (each population
        gets ``fold_in(key, crc32(name))``, so its values do not depend on the other populations); ``batch_shape``
        (a tuple of ints >= 1) prefixes every state array (independent copies of the network)."""
        if isinstance(batch_shape, (int, np.integer)) or not all(
            isinstance(b, (int, np.integer)) and not isinstance(b, bool) and b >= 1 for b in tuple(batch_shape)
        ):
            raise ValueError(
                f"Network.init: batch_shape must be a tuple of ints >= 1 (e.g. () or (8,)), got {batch_shape!r}"
            )
        batch_shape = tuple(int(b) for b in batch_shape)
        # each population's stream depends on its name only: adding, removing or reordering populations leaves
        # the others' initial values as they were
        keys = (
            {n: jax.random.fold_in(key, zlib.crc32(n.encode()) & 0x7FFFFFFF) for n in (*self.populations, *self.drives)}
            if key is not None
            else {}
        )
        neurons = {n: p.init(batch_shape, key=keys.get(n)) for n, p in self.populations.items()}
        synapses = {
            n: p.init_state(self.populations[p.post].shape, batch_shape, dt) for n, p in self.projections.items()
        }
        for n, drive in self.drives.items():
            synapses[n] = drive.init_state(self.populations[drive.post].shape, batch_shape, key=keys.get(n))
        delays = {
            name: DelayBuffer.create(d, jnp.zeros((*batch_shape, self.populations[name].count), bool))
            for name, d in self.buffered(dt).items()
        }
        return NetworkState(neurons=neurons, synapses=synapses, delays=delays, step=jnp.zeros((), jnp.int32))

    def prepare(self, dt: float, lags: dict | None = None, depths: dict | None = None) -> dict:
        """Per-run arrays of every projection (:meth:`Projection.prepare`: lags and weights in the propagator's
        format). ``lags``: host lags by projection name (default :meth:`lags`); ``depths``: delay buffer depth
        by population (1 for a population without a buffer) and ring depth by projection (ring delivery), against
        which lags computed on the device (traced delays) are checked."""
        lags = self.lags(dt) if lags is None else lags
        depths = {} if depths is None else depths
        prep = {
            name: proj.prepare(dt, lags.get(name), depths.get(name) if proj.ring_delivery else depths.get(proj.pre, 1))
            for name, proj in self.projections.items()
        }
        for name, drive in self.drives.items():
            prep[name] = drive.prepare(dt, self.populations[drive.post].count)
        return prep

    def _read(self, proj: Projection, lag, state: NetworkState, exchange: Any = _LOCAL) -> jax.Array:
        """The spikes ``proj`` receives this step: ``(*batch, n_pre)`` (or ``(*batch, K)`` per synapse), float;
        with ring delivery, the spikes of the last step (delivered at emission)."""
        now = exchange.now(proj.pre, state.delays, self._flat_spikes(proj.pre, state.neurons))
        dtype = now.dtype if jnp.issubdtype(now.dtype, jnp.floating) else jnp.result_type(float)
        now = now.astype(dtype)
        if proj.ring_delivery:
            return now
        if proj.delay_interp == "linear":  # continuous lag q: between whole lags floor(q) and floor(q) + 1
            return self._read_linear(proj, lag, state, now)
        if jnp.ndim(lag) == 1:  # per synapse: lag-1 synapses read the spike state (keeps its gradient)
            pre = proj.topology.pre
            if proj.pre not in state.delays:
                return now[..., pre]
            old = state.delays[proj.pre].read_at(lag, pre).astype(dtype)
            return jnp.where(lag == 1, now[..., pre], old)
        if isinstance(lag, (int, np.integer)) and int(lag) == 1:
            return now
        if proj.pre not in state.delays:  # a traced lag, checked against a depth of 1 (Network.prepare)
            return now
        old = state.delays[proj.pre].read(lag).astype(dtype)
        if isinstance(lag, (int, np.integer)):
            return old
        return jnp.where(lag == 1, now, old)  # a traced lag of 1 keeps the spikes' gradient

    def _flat_spikes(self, name: str, neurons: dict) -> jax.Array:
        """``neurons[name].spike`` with the population's axes flattened: ``(*batch, count)``."""
        spike = neurons[name].spike
        return spike.reshape(*spike.shape[: spike.ndim - len(self.populations[name].shape)], -1)

    def _read_linear(self, proj: Projection, q: jax.Array, state: NetworkState, now: jax.Array) -> jax.Array:
        """Spikes read ``q`` (float, >= 1) steps late: ``(1 - frac) s[floor(q)] + frac s[floor(q) + 1]``."""
        buf = state.delays[proj.pre]
        lo = jnp.floor(q)
        frac = q - lo
        lo = lo.astype(jnp.int32)
        if jnp.ndim(q) == 1:
            pre = proj.topology.pre
            first = jnp.where(lo == 1, now[..., pre], buf.read_at(lo, pre).astype(now.dtype))
            second = buf.read_at(lo + 1, pre).astype(now.dtype)
        else:
            first = jnp.where(lo == 1, now, buf.read(lo).astype(now.dtype))
            second = buf.read(lo + 1).astype(now.dtype)
        return (1.0 - frac) * first + frac * second

    def step(
        self, prep: dict, state: NetworkState, inputs: dict[str, jax.Array], *, dt: float, exchange: Any = None
    ) -> NetworkState:
        """Advance the whole network by one step of ``dt`` ms.

        Each projection reads the spikes emitted ``lag`` steps earlier; propagators that take a compacted
        index get one built here (a temporary, never state), once per presynaptic group and lag for all its
        projections; then the groups update, the plasticity rules see the arrivals and the new postsynaptic
        spikes, and the new spikes enter the delay buffers.

        Args:
          prep: ``self.prepare(dt)``.
          state: current state.
          inputs: population name -> external current (nA) for this step, broadcastable to the state; projection
            name -> reward (reward-modulated plasticity), scalar or ``(*batch,)``.
          dt: step, ms.
          exchange: how the step sees the last step's spikes and stores the new ones (:class:`LocalExchange`, the
            default; a placement over devices gives its own: :class:`snnjax.sharding.SpikeExchange`).
        """
        exchange = _LOCAL if exchange is None else exchange
        state = state.replace(delays=exchange.view(state.delays, state.step))
        drive: dict[str, dict[str, jax.Array]] = {name: {} for name in self.populations}
        rewards: dict[str, jax.Array] = {}
        for name, value in inputs.items():
            if name in self.populations:
                drive[name]["input"] = value
            else:  # '<projection>.reward'
                rewards[name] = value
        # which (group, lag) reads share one compacted index: static lags only (traced ones get their own)
        bounds: dict[Any, int] = {}
        keys: dict[str, Any] = {}
        for name, proj in self.projections.items():
            b = proj.event_bound()
            if b is None:
                continue
            lag = prep[name]["lag"]
            if proj.ring_delivery:  # reads the last step's spikes, as a lag-1 projection does
                keys[name] = (proj.pre, 1)
            elif isinstance(lag, (int, np.integer)):
                keys[name] = (proj.pre, int(lag))
            elif proj.pre not in state.delays:  # traced, but without a buffer it can only be 1 (checked)
                keys[name] = (proj.pre, 1)
            else:
                keys[name] = name
            bounds[keys[name]] = max(bounds.get(keys[name], 0), b)
        reads: dict[Any, jax.Array] = {}
        indexes: dict[Any, Any] = {}
        arrived: dict[str, tuple] = {}
        synapses = {}
        for name, proj in self.projections.items():
            lag = prep[name]["lag"]
            key = keys.get(name, None)
            if key is not None and key in reads:
                spikes = reads[key]
            else:
                spikes = self._read(proj, lag, state, exchange)
                if key is not None:
                    reads[key] = spikes
            index = None
            if key is not None:
                if key not in indexes:
                    indexes[key] = ops.compact(spikes, min(bounds[key], spikes.shape[-1]))
                index = indexes[key]
            post = self.populations[proj.post]
            syn, g = proj.transmit(
                prep[name], state.synapses[name], spikes, index, dt=dt, post_shape=post.shape, step=state.step
            )
            synapses[name] = syn
            arrived[name] = (spikes, index)
            if proj.output is None:  # a projection that only learns
                continue
            c = proj.output.contribution(g, state.neurons[proj.post])
            target = proj.output.target
            drive[proj.post][target] = drive[proj.post][target] + c if target in drive[proj.post] else c
        for name, ext in self.drives.items():
            post = self.populations[ext.post]
            synapses[name], g = ext.transmit(
                prep[name], state.synapses[name], step=state.step, dt=dt, post_shape=post.shape
            )
            c = ext.output.contribution(g, state.neurons[ext.post])
            target = ext.output.target
            drive[ext.post][target] = drive[ext.post][target] + c if target in drive[ext.post] else c
        neurons = {}
        for name, pop in self.populations.items():
            s = state.neurons[name]
            jumps = {f: getattr(s, f) + v for f, v in drive[name].items() if f != "input"}
            if jumps:
                s = s.replace(**jumps)
            neurons[name] = pop.update(s, drive[name].get("input", 0.0), dt=dt)
        for name, proj in self.projections.items():
            if proj.plasticity is not None:
                post_spikes = self._flat_spikes(proj.post, neurons)
                synapses[name] = proj.learn(
                    synapses[name],
                    *arrived[name],
                    post_spikes,
                    dt=dt,
                    reward=rewards.get(name),
                    post_state=neurons[proj.post],
                )
        spikes = {name: self._flat_spikes(name, neurons) for name in self.populations if name in state.delays}
        delays = exchange.write(state.delays, state.step, spikes)
        return NetworkState(neurons=neurons, synapses=synapses, delays=delays, step=state.step + 1)
