"""Projections: presynaptic spikes -> connectivity x weights (after a delay) -> kinetics -> output."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.typing import ArrayLike

from snnjax import _checks, jitconn, ops
from snnjax import conn as _conn
from snnjax.delays import DelayBuffer, delay_lag, lag_of
from snnjax.outputs import CUBA
from snnjax.synapses import Delta
from snnjax.synapses import stp as _stp

METHODS = ("auto", "dense", "sparse", "event", "jit")


DEFAULT_ACTIVITY = 0.01  # fraction of a presynaptic group assumed to spike per step when no hint is given
JIT_ABOVE_SYNAPSES = 2**28  # 'auto' regenerates FixedProb connectivity on the fly above this many synapses

# Cost model of one propagation step on CPU, ns, fitted to `python benchmarks/kernels.py` (2-core x86-64 VM,
# jax 0.10.2; table in benchmarks/README.md). Only the ratios matter: they place the crossovers.
_DENSE_NS = (0.1, 0.15)  # per matrix entry, matrix <= 2**20 entries (in cache) / larger
_SPARSE_NS = 1.5  # per synapse (gather + scatter-add of every synapse)
_EVENT_NS = (4000.0, 1.0, 1.5, 350.0)  # fixed, per presynaptic neuron (compaction), per synaptic event, per spike
_DENSE_MAX = 2**24  # largest n_pre * n_post that 'auto' turns into a dense matrix (64 MB of float32)


def default_max_events(n_pre: int, activity: float | None = None) -> int:
    """Default event bound: twice the expected spikes per step (``activity`` x ``n_pre``, ``activity``
    default :data:`DEFAULT_ACTIVITY`), at least 32, at most ``n_pre``. Steps with more spikes are still
    exact, only slower (the spikes beyond the list are found one by one: :func:`snnjax.ops.spike_rows`)."""
    a = DEFAULT_ACTIVITY if activity is None else float(activity)
    return int(min(n_pre, max(32, math.ceil(2.0 * n_pre * a))))


def kernel_costs(
    n_pre: int, n_post: int, n_syn: int, activity: float | None = None, align: str = "post"
) -> dict[str, float]:
    """Estimated CPU cost (ns per step) of each kernel that can run this projection (see
    :func:`choose_method`): ``dense`` only when the matrix has at most 2**24 entries, ``event`` only for
    post-aligned kinetics (pre-aligned ones send a value from every presynaptic neuron every step)."""
    a = DEFAULT_ACTIVITY if activity is None else float(activity)
    costs = {"sparse": 2000.0 + _SPARSE_NS * n_syn}
    entries = n_pre * n_post
    if entries <= _DENSE_MAX:
        costs["dense"] = 1000.0 + _DENSE_NS[entries > 2**20] * entries
    if align == "post":
        fixed, per_neuron, per_event, per_spike = _EVENT_NS
        costs["event"] = fixed + per_neuron * n_pre + per_event * a * n_syn + per_spike * a * n_pre
    return costs


def choose_method(
    n_pre: int,
    n_post: int,
    n_syn: int,
    activity: float | None = None,
    align: str = "post",
    per_synapse_delay: bool = False,
) -> str:
    """The kernel ``method="auto"`` picks for a stored synapse list: the cheapest by :func:`kernel_costs`.

    Args:
      n_pre, n_post: group sizes.
      n_syn: number of synapses ``K``.
      activity: expected fraction of the presynaptic group spiking in one step (rate in Hz x dt in ms /
        1000; e.g. 20 Hz at dt = 0.1 ms is 0.002); default :data:`DEFAULT_ACTIVITY` (0.01).
      align: ``"post"`` or ``"pre"`` (the synapse's ``align``).
      per_synapse_delay: per-synapse delays read one value per synapse: always ``"sparse"``.

    Returns:
      ``"dense"``, ``"sparse"`` or ``"event"``. The model was fitted on CPU (``benchmarks/kernels.py``):
      event-driven below about 10-20% activity, dense for small dense matrices at high activity, sparse
      for large, very active projections. (Just-in-time connectivity is chosen in :meth:`Projection.bind`,
      from memory, not speed: see :data:`JIT_ABOVE_SYNAPSES`.)
    """
    if per_synapse_delay:
        return "sparse"
    costs = kernel_costs(n_pre, n_post, n_syn, activity, align)
    return min(costs, key=costs.get)


def _take(values: Any, order: np.ndarray) -> Any:
    """``values[order]`` on the host for concrete values (no device op), on the device for traced ones."""
    if isinstance(values, jax.core.Tracer):
        return jnp.asarray(values)[order]
    return np.asarray(values)[order]


def _leaves(part: Any) -> list[tuple[str, Any]]:
    """``(field name, value)`` of a flax.struct model's pytree fields that hold arrays or numbers."""
    if not dataclasses.is_dataclass(part):
        return []
    out = []
    for f in dataclasses.fields(part):
        value = getattr(part, f.name)
        if f.metadata.get("pytree_node", True) and (isinstance(value, (int, float)) or hasattr(value, "shape")):
            out.append((f.name, value))
    return out


def _as_connector(conn: Any) -> _conn.Connector:
    if isinstance(conn, _conn.Connector):
        return conn
    if isinstance(conn, tuple) and len(conn) == 2:
        return _conn.FromIndices(np.asarray(conn[0]), np.asarray(conn[1]))
    if isinstance(conn, (np.ndarray, jax.Array)) and np.ndim(conn) == 2:
        return _conn.from_matrix(conn)
    raise TypeError(
        "Projection: conn must be an snnjax.conn connector (All2All, One2One, FixedProb, FixedPostNum, "
        f"FixedPreNum), a (pre_idx, post_idx) tuple of int arrays, or a 2-D 0/1 matrix; got {type(conn).__name__}"
    )


@struct.dataclass
class Projection:
    """A projection from population ``pre`` to population ``post`` (names in the :class:`Network`).

    Each step, the spikes that ``pre`` emitted ``delay`` ms earlier (see :mod:`snnjax.delays`) are
    multiplied by ``weight`` and summed per postsynaptic neuron; the ``synapse`` kinetics integrate that
    sum into ``g``; the ``output`` turns ``g`` into a current (or a voltage jump) for ``post``.

    Args:
      pre: name of the presynaptic population.
      post: name of the postsynaptic population.
      conn: an ``snnjax.conn`` connector, a ``(pre_idx, post_idx)`` tuple of int arrays, a dense
        ``(n_pre, n_post)`` 0/1 matrix, or ``snnjax.jitconn.JitFixedProb(p, seed)`` (connectivity regenerated
        in every step, never stored: for networks whose synapse lists would not fit in memory).
      weight: synaptic weight, in the unit of the output (nA for CUBA currents, mV for
        ``CUBA(target="v")``, conductance for COBA): a scalar, one per synapse ``(K,)`` in the
        connector's order, or a dense ``(n_pre, n_post)`` matrix read at the connected pairs.
      delay: transmission delay, ms, >= 0: a scalar, or one per synapse ``(K,)``. A spike emitted at
        step ``s`` acts at step ``s + max(1, round(delay / dt))`` (see :mod:`snnjax.delays`).
      synapse: kinetics (``snnjax.synapses``), default ``Delta()``. Post-aligned (linear) kinetics
        integrate the summed weighted input per postsynaptic neuron; pre-aligned ones (``align = "pre"``:
        ``AMPA``, ``GABAa``, ``NMDA``) keep one state per presynaptic neuron (per synapse with per-synapse
        delays), driven by its delayed spikes, and the projection sends ``sum_j w_ij g_j`` every step
        (dense or sparse kernel; ``method="event"`` is refused for them).
      output: ``snnjax.outputs.CUBA()`` (default), ``COBA(E)`` or ``MgBlock(...)``.
      stp: optional short-term plasticity, ``snnjax.synapses.STP(U, tau_f, tau_d)``: its ``u`` and ``x``
        (one per presynaptic neuron, or per synapse with per-synapse delays) are updated by the delayed
        spikes and each spike's weight is multiplied by its efficacy (see :class:`snnjax.synapses.STP`).
        They are stored as fields ``u`` and ``x`` of the projection's synapse state (monitor ``'EE.u'``).
      method: propagation kernel: ``"dense"``, ``"sparse"``, ``"event"`` (see :mod:`snnjax.ops`), ``"jit"``
        (just-in-time connectivity, for ``conn=snnjax.jitconn.JitFixedProb``), or ``"auto"`` (default): the
        cheapest of dense / sparse / event by a CPU cost model of the sizes and the expected ``activity``
        (:func:`choose_method`); ``"jit"`` for ``JitFixedProb``; and, for a ``FixedProb`` whose expected
        synapse count exceeds :data:`JIT_ABOVE_SYNAPSES` (2**28, several GB of index arrays), a
        ``JitFixedProb`` with the same ``p``, ``seed`` and ``include_self`` (a different draw of the same
        random graph; give ``method="event"`` to keep the stored one). ``repr(network)`` shows the choice.
        The model prices one unbatched forward step on CPU: for batched (``batch_shape``, ``vmap``) or
        trained dense layers with more than ~0.5% activity, ``"dense"`` is faster (``benchmarks/README.md``).
      max_events: with ``"event"`` or ``"jit"``, how many presynaptic spikes per step the compaction lists
        (the rest are found one by one: exact, slower; default :func:`default_max_events`: twice the expected
        spikes per step, at least 32). The presynaptic group is compacted once per step for all its event
        projections, with the largest of their bounds.
      activity: expected fraction of the presynaptic group that spikes in one step (rate in Hz x dt in ms
        / 1000: 20 Hz at dt = 0.1 ms is 0.002), in (0, 1]; a hint for ``"auto"`` and the default
        ``max_events`` only (results never depend on it). Default ``None``: 0.01.
      max_delay: longest delay (ms) the buffer must hold, needed only when ``delay`` is traced (e.g.
        built inside ``vmap``); otherwise taken from ``delay``.
    """

    pre: str = struct.field(pytree_node=False)
    post: str = struct.field(pytree_node=False)
    conn: Any = struct.field(pytree_node=False, default=None)
    weight: ArrayLike = 1.0
    delay: ArrayLike = 0.0
    synapse: Any = Delta()
    output: Any = CUBA()
    method: str = struct.field(pytree_node=False, default="auto")
    max_events: int | None = struct.field(pytree_node=False, default=None)
    max_delay: float | None = struct.field(pytree_node=False, default=None)
    activity: float | None = struct.field(pytree_node=False, default=None)
    topology: ops.Topology | None = None
    stp: Any = None

    _FIELDS = dict(weight=None, delay="nonnegative")

    def __post_init__(self):
        for name in ("pre", "post"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"Projection: {name} must be a population name (str), got {getattr(self, name)!r}")
        if self.method not in METHODS:
            raise ValueError(f"Projection: method must be one of {METHODS}, got {self.method!r}")
        if self.max_events is not None and (
            isinstance(self.max_events, bool) or not isinstance(self.max_events, int) or self.max_events < 1
        ):
            raise ValueError(f"Projection: max_events must be an int >= 1 or None, got {self.max_events!r}")
        _checks.check_fields(self, self._FIELDS, strict=False)
        if self.activity is not None and (
            isinstance(self.activity, bool)
            or not isinstance(self.activity, (int, float, np.floating))
            or not 0.0 < float(self.activity) <= 1.0
        ):
            raise ValueError(
                "Projection: activity (expected fraction of the presynaptic group spiking per step) must be a "
                f"number in (0, 1] or None, got {self.activity!r}"
            )
        if self.max_delay is not None:
            if isinstance(self.max_delay, bool) or not isinstance(self.max_delay, (int, float, np.number)):
                raise TypeError(f"Projection: max_delay must be None or a number of ms, got {self.max_delay!r}")
            _checks.check_real("Projection", "max_delay", float(self.max_delay), nonnegative=True)
        if not all(hasattr(self.synapse, a) for a in ("init", "update")):
            raise TypeError(
                "Projection: synapse must be a kinetics model from snnjax.synapses (Delta(), Exponential(tau), ...), "
                f"got {self.synapse!r}"
            )
        if not (hasattr(self.output, "contribution") and hasattr(self.output, "target")):
            raise TypeError(
                f"Projection: output must be snnjax.outputs.CUBA(), COBA(E) or MgBlock(...), got {self.output!r}"
            )
        if self.topology is None and self.conn is None:
            raise TypeError("Projection: conn is required (e.g. snnjax.conn.All2All())")
        if self.stp is not None and not isinstance(self.stp, _stp.STP):
            raise TypeError(f"Projection: stp must be None or snnjax.synapses.STP(...), got {type(self.stp).__name__}")

    @property
    def align(self) -> str:
        """``"pre"`` when the kinetics keep one state per presynaptic neuron, else ``"post"``."""
        return getattr(self.synapse, "align", "post")

    # -- binding -------------------------------------------------------------------------------
    def bind(self, n_pre: int, n_post: int, post_shape: tuple[int, ...] | None = None) -> Projection:
        """Build the synapse list for groups of ``n_pre`` and ``n_post`` neurons (done by ``Network``).

        Every check runs on the host before the synapse list is moved to the device, so a bad projection
        fails before anything is compiled. ``post_shape`` (default ``(n_post,)``) is the postsynaptic
        group's shape, against which the synapse's and output's parameter shapes are checked.
        """
        if self.topology is not None:
            return self
        if isinstance(self.conn, jitconn.JitFixedProb):
            return self._bind_jit(n_pre, n_post, post_shape)
        connector = _as_connector(self.conn)
        jit_conn = self._auto_jit(connector, n_pre, n_post)
        if jit_conn is not None:
            return self.replace(conn=jit_conn)._bind_jit(n_pre, n_post, post_shape)
        pre, post = connector.build(n_pre, n_post)
        weight, delay = self.weight, self.delay
        if isinstance(connector, _conn.FromIndices):  # per-synapse values follow the user's order
            order = connector.order(n_pre, n_post)
            k = order.size
            weight = _take(weight, order) if np.ndim(weight) == 1 and np.shape(weight)[0] == k else weight
            delay = _take(delay, order) if np.ndim(delay) == 1 and np.shape(delay)[0] == k else delay
        topo = ops.Topology.from_lists(pre, post, n_pre, n_post, on_device=False)
        method = self.method
        if method == "auto":
            method = choose_method(
                n_pre, n_post, pre.size, self.activity, align=self.align, per_synapse_delay=np.ndim(delay) == 1
            )
        if method == "jit":
            raise ValueError(
                f"Projection {self.pre}->{self.post}: method='jit' needs conn=snnjax.jitconn.JitFixedProb(p, seed), "
                f"got {type(connector).__name__}"
            )
        bound = self.replace(conn=None, topology=topo, weight=weight, delay=delay, method=method)
        bound._validate(post_shape)
        return bound.replace(topology=jax.tree.map(jnp.asarray, topo))

    def _auto_jit(self, connector: _conn.Connector, n_pre: int, n_post: int) -> jitconn.JitFixedProb | None:
        """For ``method="auto"``, the ``JitFixedProb`` (same ``p``, ``seed`` and ``include_self``) that replaces a
        ``FixedProb`` whose expected synapse count exceeds :data:`JIT_ABOVE_SYNAPSES`, when the projection is
        one that just-in-time connectivity can run; otherwise None (the synapse list is stored)."""
        if self.method != "auto" or type(connector) is not _conn.FixedProb or not 0.0 < connector.p:
            return None
        if connector.p * n_pre * n_post <= JIT_ABOVE_SYNAPSES:
            return None
        if np.ndim(self.weight) != 0 or np.ndim(self.delay) != 0 or self.align != "post":
            return None
        conn = jitconn.JitFixedProb(float(connector.p), connector.seed, connector.include_self)
        try:
            jitconn.check_sizes("", conn, n_post)
        except ValueError:
            return None
        return conn

    def _bind_jit(self, n_pre: int, n_post: int, post_shape: tuple[int, ...] | None) -> Projection:
        """Just-in-time connectivity: no synapse list is stored (an empty topology carries the sizes)."""
        if self.method not in ("auto", "jit"):
            raise ValueError(
                f"Projection {self.pre}->{self.post}: conn=JitFixedProb propagates with method='jit' (or 'auto'), "
                f"got {self.method!r}"
            )
        jitconn.check_sizes(f"Projection {self.pre}->{self.post}", self.conn, n_post)
        empty = np.zeros(0, np.int32)
        topo = ops.Topology.from_lists(empty, empty, n_pre, n_post, on_device=False)
        bound = self.replace(topology=topo, method="jit")
        bound._validate(post_shape)
        return bound.replace(topology=jax.tree.map(jnp.asarray, topo))

    def _validate(self, post_shape: tuple[int, ...] | None = None) -> None:
        """Complete checks on a bound projection (concrete values)."""
        topo, k = self.topology, self.topology.n_syn
        n_pre, n_post = topo.n_pre, topo.n_post
        wshape = tuple(np.shape(self.weight))
        if self.method != "jit" and wshape not in ((), (k,), (n_pre, n_post)):
            raise ValueError(
                f"Projection {self.pre}->{self.post}: weight must be a scalar, one per synapse ({k},) or dense "
                f"({n_pre}, {n_post}); got shape {wshape}"
            )
        dshape = tuple(np.shape(self.delay))
        if self.method != "jit" and dshape not in ((), (k,)):
            raise ValueError(
                f"Projection {self.pre}->{self.post}: delay must be a scalar or one per synapse ({k},) in ms; "
                f"got shape {dshape}"
            )
        if dshape == (k,) and self.method in ("dense", "event"):
            raise ValueError(
                f"Projection {self.pre}->{self.post}: per-synapse delay values need method='sparse' or 'auto', "
                f"got {self.method!r}"
            )
        if self.method == "jit" and (
            wshape != () or dshape != () or self.align == "pre" or not isinstance(self.conn, jitconn.JitFixedProb)
        ):
            raise ValueError(
                f"Projection {self.pre}->{self.post}: just-in-time connectivity (conn=JitFixedProb) takes a scalar "
                f"weight and delay and a post-aligned synapse (Delta, Exponential, Alpha, DualExponential); got weight "
                f"shape {wshape}, delay shape {dshape}, synapse {type(self.synapse).__name__}"
            )
        if self.align == "pre" and self.method == "event":
            raise ValueError(
                f"Projection {self.pre}->{self.post}: method='event' cannot drive the pre-aligned synapse "
                f"{type(self.synapse).__name__} (its g is nonzero between spikes); use 'dense', 'sparse' or 'auto'"
            )
        if self.stp is not None:
            n = self._presyn_shape()
            for name in ("U", "tau_f", "tau_d"):
                got = tuple(np.shape(getattr(self.stp, name)))
                if got not in ((), n):
                    raise ValueError(
                        f"Projection {self.pre}->{self.post}: stp.{name} must be a scalar or have shape {n} "
                        f"(one per presynaptic neuron, or per synapse with per-synapse delays); got shape {got}"
                    )
        _checks.check_fields(self, self._FIELDS, strict=True)
        for part in (self.synapse, self.output, self.stp):
            if hasattr(part, "_validate"):
                part._validate()
        post_shape = (n_post,) if post_shape is None else tuple(post_shape)
        kinetics_shape = self._presyn_shape() if self.align == "pre" else post_shape
        for what, part, shape in (("synapse", self.synapse, kinetics_shape), ("output", self.output, post_shape)):
            for name, value in _leaves(part):
                got = tuple(np.shape(value))
                if len(got) > len(shape) or any(a not in (1, b) for a, b in zip(got[::-1], shape[::-1])):
                    raise ValueError(
                        f"Projection {self.pre}->{self.post}: {what}.{name} must be a scalar or broadcast to the "
                        f"shape {shape} of the state it acts on; got shape {got}"
                    )

    # -- simulation ----------------------------------------------------------------------------
    def max_lag(self, dt: float) -> int | None:
        """Longest lag (steps) this projection reads at ``dt``, from ``max_delay`` or the concrete
        ``delay``; ``None`` when ``delay`` is traced and no ``max_delay`` was given."""
        if self.max_delay is not None:
            return lag_of(self.max_delay, dt)
        if isinstance(self.delay, jax.core.Tracer):
            return None
        d = np.asarray(self.delay)
        return lag_of(d.max(), dt) if d.size else 1

    def synapse_weights(self) -> jax.Array:
        """Weights as a scalar or per synapse ``(K,)`` (a dense matrix is read at the connected pairs)."""
        w = jnp.asarray(self.weight)
        if w.ndim == 2:
            return w[self.topology.pre, self.topology.post]
        return w

    def prepare(self, dt: float) -> dict:
        """Arrays the kernel uses every step, computed once per run (differentiable in weight)."""
        topo = self.topology
        w = self.synapse_weights()
        lag = delay_lag(self.delay, dt)
        if isinstance(self.delay, jax.core.Tracer) and self.max_delay is not None:
            # traced delays cannot be checked before the run: they are bounded by the declared max_delay
            lag = jnp.minimum(lag, lag_of(self.max_delay, dt))
        prep = {"lag": lag}
        if self.method == "dense":
            if jnp.ndim(self.weight) == 2 and topo.n_syn == topo.n_pre * topo.n_post:
                prep["w"] = jnp.asarray(self.weight)
            else:
                wk = jnp.broadcast_to(w, (topo.n_syn,))
                prep["w"] = jnp.zeros((topo.n_pre, topo.n_post), wk.dtype).at[topo.pre, topo.post].add(wk)
        else:
            prep["w"] = w
        return prep

    def _presyn_shape(self) -> tuple[int]:
        """Shape of presynaptic-side states: ``(K,)`` with per-synapse delays, else ``(n_pre,)``."""
        return (self.topology.n_syn,) if jnp.ndim(self.delay) == 1 else (self.topology.n_pre,)

    def init_state(self, post_shape: tuple[int, ...], batch_shape: tuple[int, ...] = ()) -> Any:
        """The synapse state: the kinetics' state (postsynaptic ``(*batch, *post_shape)``, or presynaptic
        ``(*batch, n_pre)`` / ``(*batch, K)`` when pre-aligned), with ``u`` and ``x`` ``(*batch, n_pre)`` (or
        ``(*batch, K)``) added when ``stp`` is set."""
        shape = self._presyn_shape() if self.align == "pre" else tuple(post_shape)
        kinetics = self.synapse.init(shape, batch_shape)
        if self.stp is None:
            return kinetics
        return _stp.attach(kinetics, self.stp.init(self._presyn_shape(), batch_shape))

    def _kernel(self, prep: dict, values: jax.Array, per_synapse: bool, events) -> jax.Array:
        topo, w = self.topology, prep["w"]
        if per_synapse:
            return ops.delayed(values, topo, w)
        if self.method == "dense":
            return ops.dense(values, w)
        if self.method == "jit":
            return jitconn.event_jit(values, w, self.conn, topo.n_post, self.event_bound(), events=events)
        if self.method == "sparse" or self.align == "pre":
            return ops.sparse(values, topo, w)
        return ops.event(values, topo, w, self.event_bound(), events=events)

    def transmit(
        self, prep: dict, state: Any, buffer: DelayBuffer, *, dt: float, post_shape: tuple[int, ...]
    ) -> tuple[Any, jax.Array]:
        """One step of the projection: delayed spikes -> (STP) -> kernel and kinetics.

        Args:
          prep: ``self.prepare(dt)``.
          state: the synapse state (:meth:`init_state`).
          buffer: the presynaptic population's delay buffer.
          dt: step, ms.
          post_shape: shape of the postsynaptic group.

        Returns:
          ``(new_state, g)``: ``g`` ``(*batch, *post_shape)`` is what the output turns into a current.
        """
        per_synapse = jnp.ndim(prep["lag"]) == 1
        kinetics, plastic = _stp.detach(state) if self.stp is not None else (state, None)
        if per_synapse:
            spikes, events = buffer.read_at(prep["lag"], self.topology.pre), None
        else:
            spikes = buffer.read(prep["lag"])
            events = buffer.read_events(prep["lag"]) if self.method in ("event", "jit") else None
        if self.align == "pre":
            if plastic is not None:
                plastic, _ = self.stp.update(plastic, spikes, dt=dt)
            kinetics = self.synapse.update(kinetics, spikes, dt=dt)
            values = kinetics.g if plastic is None else kinetics.g * plastic.u * plastic.x
            inp = self._kernel(prep, values, per_synapse, None)
            g = inp.reshape(*inp.shape[:-1], *post_shape)
        else:
            if plastic is not None:
                plastic, spikes = self.stp.update(plastic, spikes, dt=dt)  # spikes now carry their efficacy
            inp = self._kernel(prep, spikes, per_synapse, events)
            kinetics = self.synapse.update(kinetics, inp.reshape(*inp.shape[:-1], *post_shape), dt=dt)
            g = kinetics.g
        return (kinetics if plastic is None else _stp.attach(kinetics, plastic)), g

    def event_bound(self) -> int | None:
        """Spikes per step the event-driven path takes (``max_events`` or its default); None if not 'event'."""
        if self.method not in ("event", "jit") or jnp.ndim(self.delay) == 1 or self.align == "pre":
            return None
        n_pre = self.topology.n_pre
        return min(self.max_events, n_pre) if self.max_events else default_max_events(n_pre, self.activity)
