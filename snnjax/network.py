"""Networks: named populations and projections, and one pure step function."""

from __future__ import annotations

import dataclasses
import keyword
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from snnjax.delays import DelayBuffer
from snnjax.projection import Projection

DEFAULT_DT = 0.1  # ms, BrainPy's default


@struct.dataclass
class NetworkState:
    """Complete simulation state (a pytree).

    Attributes:
      neurons: population name -> that model's state.
      synapses: projection name -> its synapse state (:meth:`Projection.init_state`): the kinetics' state,
        plus fields ``u`` and ``x`` when the projection has short-term plasticity.
      delays: presynaptic population name -> :class:`DelayBuffer` of its spikes, ``(L, *batch, count)``.
      step: int32 number of steps simulated so far; the next step runs at ``t = step * dt`` ms.
    """

    neurons: dict[str, Any]
    synapses: dict[str, Any]
    delays: dict[str, DelayBuffer]
    step: jax.Array


def _is_population(obj) -> bool:
    return all(hasattr(obj, a) for a in ("init", "update", "shape")) and not isinstance(obj, Projection)


@jax.tree_util.register_pytree_node_class
class Network:
    """A network of named populations (neuron groups) and projections between them.

    ``Network(E=lif_e, I=lif_i, EE=Projection("E", "E", ...), ...)``: keyword names are how inputs
    (``"E.input"``), monitors (``"E.v"``, ``"EE.g"``) and projections refer to the components. Building a
    network builds every projection's synapse list (``conn``) once, on the host.

    The network is a pytree: its parameters (and connectivity index arrays) are leaves, so it can be
    passed through ``jit``, ``vmap`` and ``grad``; :func:`snnjax.trainable` separates the float leaves.
    """

    def __init__(self, **components: Any):
        pops, projs = {}, {}
        for name, obj in components.items():
            if not name.isidentifier() or keyword.iskeyword(name) or name == "ts":
                raise ValueError(f"Network: component name {name!r} must be a Python identifier other than 'ts'")
            if isinstance(obj, Projection):
                projs[name] = obj
            elif _is_population(obj):
                pops[name] = obj
            else:
                raise TypeError(
                    f"Network: component {name!r} must be a neuron model (snnjax.neurons) or a Projection, "
                    f"got {type(obj).__name__}"
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
            target = proj.output.target
            if target != "input":  # a jump into a state field: the field must exist (shapes only, no compile)
                post_state = jax.eval_shape(lambda p=pops[proj.post]: p.init(key=jax.random.key(0)))
                if not hasattr(post_state, target):
                    raise ValueError(
                        f"Network: projection {name!r} has output target={target!r}, but {proj.post}'s state has no "
                        f"field {target!r}; use target='input' (a current) or one of "
                        f"{[f.name for f in dataclasses.fields(post_state)]}"
                    )
            projs[name] = proj.bind(pops[proj.pre].count, pops[proj.post].count, pops[proj.post].shape)
        self.populations = pops
        self.projections = projs

    # -- pytree ----------------------------------------------------------------------------------
    def tree_flatten(self):
        return (self.populations, self.projections), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        net = object.__new__(cls)
        net.populations, net.projections = children
        return net

    def __repr__(self):
        pops = ", ".join(f"{k}={type(v).__name__}({v.count})" for k, v in self.populations.items())
        projs = ", ".join(
            f"{k}={p.pre}->{p.post}[{p.method}, "
            + (f"p={p.conn.p}]" if p.method == "jit" else f"{p.topology.n_syn} syn]")
            for k, p in self.projections.items()
        )
        return f"Network({pops}; {projs})"

    # -- checks ----------------------------------------------------------------------------------
    def _validate(self, dt: float | None = None) -> None:
        """Complete checks on the concrete tree; ``simulate`` and ``Runner`` call it before tracing, with their
        ``dt`` (ms) so that populations with a ``check_dt`` (e.g. a Poisson rate above 1000 / dt) are checked."""
        for pop in self.populations.values():
            if hasattr(pop, "_validate"):
                pop._validate()
            if dt is not None and hasattr(pop, "check_dt"):
                pop.check_dt(dt)
        for proj in self.projections.values():
            proj._validate()

    def input_paths(self) -> list[str]:
        """Valid input targets: ``'<population>.input'`` (current added to that population, nA)."""
        return [f"{name}.input" for name in self.populations]

    def monitor_paths(self, state: NetworkState | None = None) -> list[str]:
        """Valid monitor paths: ``population.field`` and ``projection.field`` of the state."""
        state = state if state is not None else jax.eval_shape(lambda: self.init(key=jax.random.key(0)))
        paths = []
        for group in (state.neurons, state.synapses):
            for name, sub in group.items():
                paths += [f"{name}.{f}" for f, v in vars(sub).items() if v is not None]
        return paths

    # -- simulation ------------------------------------------------------------------------------
    def delay_depths(self, dt: float) -> dict[str, int | None]:
        """Longest lag (steps) read from each presynaptic population at ``dt`` (``None``: unknown, traced)."""
        depth: dict[str, int | None] = {}
        for proj in self.projections.values():
            d = proj.max_lag(dt)
            old = depth.get(proj.pre, 1)
            depth[proj.pre] = None if d is None or old is None else max(old, d)
        return depth

    def init(
        self, key: jax.Array | None = None, batch_shape: tuple[int, ...] = (), dt: float = DEFAULT_DT
    ) -> NetworkState:
        """Initial state. ``dt`` (ms) sizes the delay buffers; ``key`` feeds random initial values;
        ``batch_shape`` prefixes every state array (independent copies of the network)."""
        batch_shape = tuple(batch_shape)
        keys = dict(zip(self.populations, jax.random.split(key, len(self.populations)))) if key is not None else {}
        neurons = {n: p.init(batch_shape, key=keys.get(n)) for n, p in self.populations.items()}
        synapses = {n: p.init_state(self.populations[p.post].shape, batch_shape) for n, p in self.projections.items()}
        depths = self.delay_depths(dt)
        for name, d in depths.items():
            if d is None:
                raise ValueError(
                    f"Network.init: a projection from {name!r} has a traced delay (built inside jit/vmap/grad), so "
                    "its delay buffer cannot be sized; pass max_delay=<ms> to that Projection"
                )
        bounds: dict[str, int] = {}
        for proj in self.projections.values():
            b = proj.event_bound()
            if b is not None:
                bounds[proj.pre] = max(bounds.get(proj.pre, 0), b)
        delays = {
            name: DelayBuffer.create(
                d, jnp.zeros((*batch_shape, self.populations[name].count), neurons[name].spike.dtype), bounds.get(name)
            )
            for name, d in depths.items()
        }
        return NetworkState(neurons=neurons, synapses=synapses, delays=delays, step=jnp.zeros((), jnp.int32))

    def prepare(self, dt: float) -> dict:
        """Per-run arrays of every projection (dense weight matrices, delay steps)."""
        return {name: proj.prepare(dt) for name, proj in self.projections.items()}

    def step(self, prep: dict, state: NetworkState, inputs: dict[str, jax.Array], *, dt: float) -> NetworkState:
        """Advance the whole network by one step of ``dt`` ms.

        Args:
          prep: ``self.prepare(dt)``.
          state: current state.
          inputs: population name -> external current (nA) for this step, broadcastable to the state.
          dt: step, ms.
        """
        drive: dict[str, dict[str, jax.Array]] = {name: {} for name in self.populations}
        for name, value in inputs.items():
            drive[name]["input"] = value
        synapses = {}
        for name, proj in self.projections.items():
            post = self.populations[proj.post]
            post_state = state.neurons[proj.post]
            syn, g = proj.transmit(
                prep[name], state.synapses[name], state.delays[proj.pre], dt=dt, post_shape=post.shape
            )
            synapses[name] = syn
            c = proj.output.contribution(g, post_state)
            target = proj.output.target
            drive[proj.post][target] = drive[proj.post][target] + c if target in drive[proj.post] else c
        neurons = {}
        for name, pop in self.populations.items():
            s = state.neurons[name]
            jumps = {f: getattr(s, f) + v for f, v in drive[name].items() if f != "input"}
            if jumps:
                s = s.replace(**jumps)
            neurons[name] = pop.update(s, drive[name].get("input", 0.0), dt=dt)
        delays = {
            name: buf.write(
                neurons[name].spike.reshape(*neurons[name].spike.shape[: -len(self.populations[name].shape)], -1)
            )
            for name, buf in state.delays.items()
        }
        return NetworkState(neurons=neurons, synapses=synapses, delays=delays, step=state.step + 1)
