"""The propagator protocol and the registry that maps names to propagators.

A propagator turns one step of presynaptic spikes into the summed synaptic input of each postsynaptic
neuron, ``out[..., j] = sum_k w_k s[..., pre_k]`` over the synapses ``k`` onto ``j``. It is an object
(hashable: a frozen dataclass) with these methods; :class:`Propagator` is a base class with defaults, but
any object that has them works (``Projection(method=obj)``; :func:`check_protocol` names what is missing):

``supports(info) -> str | None``
    ``None`` when it can run the projection described by :class:`ProjectionInfo`, else the reason it cannot.
``cost(info, backend) -> float``
    Estimated time of one step, ns, on ``backend`` (``jax.default_backend()``: ``"cpu"``, ``"gpu"``, ``"tpu"``).
    ``method="auto"`` takes the cheapest registered propagator that supports the projection.
``bind(info) -> Propagator``
    The propagator configured for this projection (e.g. with its event bound); default: itself.
``build(pre, post, info) -> snnjax.ops.Topology``
    The connectivity formats it needs, from the synapse list (host NumPy int arrays, connector order),
    on the host (``on_device=False``).
``prepare(topo, weight) -> weights``
    Per-run arrays from the weights (a scalar, ``(K,)``, or a dense ``(n_pre, n_post)`` matrix), once per
    run, differentiable in ``weight``.
``propagate(topo, w, spikes, index) -> (*batch, n_post)``
    One step: ``spikes`` float ``(*batch, n_pre)`` (0 = no spike; values may carry STP efficacy or a
    pre-aligned conductance), ``w`` from ``prepare`` (or plastic weights ``(*batch, K)``), ``index`` the
    compacted spikes ``(idx (*batch, M), count (*batch,))`` of :func:`snnjax.ops.compact` when
    ``index_bound`` is set, else ``None``.
``index_bound: int | None``
    (attribute, after ``bind``) how many spikes per step the compacted index should list, or ``None``
    for a propagator that takes no index. ``Network.step`` compacts each presynaptic group once per step
    and lag for all its projections (with the largest bound); the index is a temporary, never state.

Optional: ``propagate_synapses(topo, w, values) -> (*batch, n_post)`` for per-synapse values ``(*batch, K)``
(per-synapse delays read from the delay buffer, every synapse every step; :class:`~snnjax.formats.sparse.Sparse` has
it); ``deliver(topo, w, lag, ring, head, spikes, index) -> (ring, now)`` for per-synapse delays delivered once, at
emission, into a ring buffer of future input ``(*batch, D, n_post)``, with ``now`` what arrives at the current step
``(*batch, n_post)`` (:func:`snnjax.formats.rows.loops.ring_deliver`; ``event`` and ``vector_event`` have it, and a
projection whose propagator has it reads the last step's spikes and keeps the ring in its state); ``event_driven =
True`` when plasticity on the projection visits only the synapses of the spiking neurons (its ``build`` makes the
tables that needs when ``info.plastic``: the row format's row and transposed tables) instead of every synapse; how a
plasticity rule (:class:`snnjax.plasticity.Rule`) is traversed on the format: ``learn_pre(topo, rule, st, arrivals,
index, *, per_synapse, voltage) -> st`` (``rule.on_pre`` at the synapses of the arriving spikes) and ``learn_post(topo,
rule, st, post_spikes, *, per_synapse, voltage, post_bound) -> st`` (``rule.on_post`` at the synapses of the
postsynaptic spikes; ``sparse``, ``event`` and ``vector_event`` have them, a propagator without them gets ``sparse``'s
pass over every synapse); and ``propagate_plastic(topo, spikes, index, rule_state, rule) -> (out, rule_state)``, which
transmits with the plastic weights ``rule_state.w`` ``(*batch, K)`` and applies ``rule.on_pre`` to each transmitted row
in the same pass (``event`` and ``vector_event`` have it); ``local(targets)`` for connectivity that is drawn, not
stored (a connector with ``STORED = False``, whose ``local(pre_split, post_split, axis)`` gives ``targets``): the
propagator on one device of a split network (``jit`` has it).

Costs are estimates in ns per step; only their ratios matter. The CPU constants were fitted with
``python benchmarks/kernels.py`` (``benchmarks/README.md``); those of accelerators are first guesses
(a kernel launch costs microseconds, so per-spike loops are avoided there), not measurements.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from snnjax import ops
from snnjax.jitconn import JitFixedProb

DEFAULT_ACTIVITY = 0.01  # fraction of a presynaptic group assumed to spike per step when no hint is given
ACCELERATORS = ("gpu", "cuda", "rocm", "tpu", "METAL")

PROTOCOL = ("supports", "cost", "bind", "build", "prepare", "propagate")


@dataclasses.dataclass(frozen=True)
class ProjectionInfo:
    """What a propagator is told about a projection (host numbers, fixed when the Network is built).

    Attributes:
      n_pre, n_post: group sizes.
      n_syn: number of synapses ``K`` (for just-in-time connectivity, the expected number).
      activity: expected fraction of the presynaptic group spiking per step (a hint; default 0.01).
      align: ``"post"`` (the kinetics sum the weighted spikes per postsynaptic neuron) or ``"pre"`` (one
        kinetics state per presynaptic neuron; its value is sent every step).
      per_synapse_delay: one delay per synapse (the spikes arrive as ``(*batch, K)`` values).
      weight_ndim: 0 (scalar), 1 (per synapse) or 2 (dense matrix).
      plastic: the weights change during the run (a plasticity rule; they live in the state).
      connector: the projection's connector (e.g. :class:`snnjax.jitconn.JitFixedProb`).
      max_events: the user's event bound, or None.
      stp: the projection has short-term plasticity (``Projection(stp=...)``).
      delay_interp: ``"step"`` (whole-step lags) or ``"linear"`` (learnable delays read between two lags).
    """

    n_pre: int
    n_post: int
    n_syn: int
    activity: float = DEFAULT_ACTIVITY
    align: str = "post"
    per_synapse_delay: bool = False
    weight_ndim: int = 0
    plastic: bool = False
    connector: Any = None
    max_events: int | None = None
    stp: bool = False
    delay_interp: str = "step"

    @property
    def expected_spikes(self) -> float:
        """Expected presynaptic spikes per step."""
        return self.activity * self.n_pre


def default_max_events(n_pre: int, activity: float | None = None) -> int:
    """Default event bound: twice the expected spikes per step (``activity`` x ``n_pre``, ``activity``
    default :data:`DEFAULT_ACTIVITY`), at least 32, at most ``n_pre``. Steps with more spikes are still
    exact, only slower."""
    a = DEFAULT_ACTIVITY if activity is None else float(activity)
    return int(min(n_pre, max(32, math.ceil(2.0 * n_pre * a))))


@dataclasses.dataclass(frozen=True)
class Propagator:
    """Base class of propagators (see the module docstring for the protocol)."""

    name = "propagator"
    index_bound = None
    event_driven = False

    def supports(self, info: ProjectionInfo) -> str | None:
        """``None`` when this propagator can run the projection, else why it cannot."""
        if isinstance(info.connector, JitFixedProb):
            return "conn=JitFixedProb (just-in-time connectivity) runs with method='jit'"
        if info.per_synapse_delay:
            return (
                "per-synapse delay values need method='sparse', 'event' or 'vector_event' (delay has one value per "
                "synapse)"
            )
        return None

    def cost(self, info: ProjectionInfo, backend: str) -> float:  # pragma: no cover - abstract
        """Estimated ns per step on ``backend``."""
        raise NotImplementedError

    def bind(self, info: ProjectionInfo) -> Propagator:
        """This propagator configured for the projection ``info``."""
        return self

    def build(self, pre: np.ndarray, post: np.ndarray, info: ProjectionInfo) -> ops.Topology:
        """The plain synapse list (no row tables); for plastic weights on a propagator that says ``event_driven``, the
        row and transposed tables its ``learn_pre`` / ``learn_post`` visit."""
        if info.plastic and getattr(self, "event_driven", False):
            return ops.Topology.from_lists(pre, post, info.n_pre, info.n_post, on_device=False, transposed=True)
        return ops.Topology.from_lists(pre, post, info.n_pre, info.n_post, on_device=False, ell=False)

    def prepare(self, topo: ops.Topology, weight: jax.Array) -> jax.Array:
        """Weights as a scalar or per synapse ``(K,)`` (a dense matrix is read at the connected pairs)."""
        return synapse_weights(topo, weight)

    def propagate(self, topo, w, spikes, index):  # pragma: no cover - abstract
        """``(*batch, n_post)`` summed input from ``spikes (*batch, n_pre)``."""
        raise NotImplementedError


def per_batch(fn, tree, *arrays):
    """``fn(tree, *arrays)`` on unbatched data, vmapped over the flattened leading batch axes (those of
    ``arrays[0]`` beyond its last axis) otherwise; outputs are reshaped back."""
    batch = arrays[0].shape[:-1]
    if not batch:
        return fn(tree, *arrays)
    flat = lambda x: None if x is None else x.reshape(-1, *x.shape[len(batch) :])  # noqa: E731
    fl = lambda x: x.reshape(-1) if x.shape == batch else flat(x)  # noqa: E731
    out = jax.vmap(fn)(jax.tree.map(flat, tree), *(fl(a) for a in arrays))
    return jax.tree.map(lambda x: x.reshape(*batch, *x.shape[1:]), out)


def synapse_weights(topo: ops.Topology, weight: jax.Array) -> jax.Array:
    """A scalar, per-synapse ``(K,)`` or dense ``(n_pre, n_post)`` weight as a scalar or ``(K,)``."""
    w = jnp.asarray(weight)
    return w[topo.pre_index(), topo.post] if w.ndim == 2 else w


_REGISTRY: dict[str, Any] = {}


def check_protocol(obj: Any, owner: str = "method") -> None:
    """TypeError naming the missing part of the protocol, if ``obj`` is not a usable propagator."""
    missing = [m for m in PROTOCOL if not callable(getattr(obj, m, None))]
    if not isinstance(getattr(obj, "name", None), str):
        missing.append("name (str)")
    if missing:
        raise TypeError(
            f"{owner}: a propagator object must have {', '.join(PROTOCOL)} and a name (see snnjax.propagators); "
            f"{type(obj).__name__} lacks {', '.join(missing)}"
        )
    try:
        hash(obj)
    except TypeError:
        raise TypeError(
            f"{owner}: a propagator object must be hashable (e.g. a frozen dataclass), got {type(obj).__name__}"
        ) from None


def register(propagator: Any, name: str | None = None) -> Any:
    """Add ``propagator`` to the registry under ``name`` (default ``propagator.name``); returns it.

    Registered propagators are what ``Projection(method="<name>")`` finds and what ``method="auto"`` compares.
    """
    check_protocol(propagator, "register")
    key = propagator.name if name is None else name
    if not isinstance(key, str) or not key or key == "auto":
        raise ValueError(f"register: name must be a non-empty str other than 'auto', got {key!r}")
    _REGISTRY[key] = propagator
    return propagator


def unregister(name: str) -> None:
    """Remove a registered propagator (``KeyError`` if absent)."""
    del _REGISTRY[name]


def names() -> tuple[str, ...]:
    """Registered names (``"auto"`` is always accepted as well)."""
    return tuple(_REGISTRY)


def get(name: str) -> Any:
    """The registered propagator called ``name``; ValueError listing the names otherwise."""
    if name not in _REGISTRY:
        raise ValueError(f"method must be one of {('auto', *names())} or a propagator object, got {name!r}")
    return _REGISTRY[name]


def costs(info: ProjectionInfo, backend: str | None = None, auto_only: bool = True) -> dict[str, float]:
    """Estimated ns per step of every registered propagator that supports ``info`` on ``backend``
    (default ``jax.default_backend()``); with ``auto_only``, only those ``auto`` may pick."""
    backend = jax.default_backend() if backend is None else backend
    out = {}
    for key, prop in _REGISTRY.items():
        if auto_only and not getattr(prop, "auto", True):
            continue
        if prop.supports(info) is None:
            out[key] = float(prop.cost(info, backend))
    return out


def choose(info: ProjectionInfo, backend: str | None = None) -> Any:
    """The registered propagator ``method="auto"`` picks: the cheapest by :func:`costs` (ties: first registered)."""
    c = costs(info, backend)
    if not c:
        why = "; ".join(f"{k}: {p.supports(info)}" for k, p in _REGISTRY.items() if getattr(p, "auto", True))
        raise ValueError(f"method='auto': no registered propagator can run this projection ({why})")
    return _REGISTRY[min(c, key=c.get)]


def is_accelerator(backend: str) -> bool:
    """True for GPU and TPU backends."""
    return backend in ACCELERATORS
