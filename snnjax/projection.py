"""Projections: presynaptic spikes -> connectivity x weights (after a delay) -> kinetics -> output."""

from __future__ import annotations

import dataclasses
import weakref
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.typing import ArrayLike

from snnjax import _checks, axes, jitconn, ops, propagators, stages
from snnjax import conn as _conn
from snnjax.convolution import Conv2D as _Conv2D
from snnjax.delays import check_lag, device_lag, lag_steps
from snnjax.outputs import CUBA
from snnjax.plasticity.rule import Rule as _Rule
from snnjax.propagators.base import DEFAULT_ACTIVITY, ProjectionInfo, default_max_events
from snnjax.synapses import Delta
from snnjax.synapses import stp as _stp

METHODS = ("auto", *propagators.names())  # the registered names at import (``propagators.names()`` for now)

JIT_ABOVE_SYNAPSES = 2**28  # 'auto' regenerates FixedProb connectivity on the fly above this many synapses

__all__ = ["DEFAULT_ACTIVITY", "JIT_ABOVE_SYNAPSES", "Projection", "ProjectionState", "choose_method",
           "default_max_events", "kernel_costs"]  # fmt: skip


def kernel_costs(
    n_pre: int, n_post: int, n_syn: int, activity: float | None = None, align: str = "post", backend: str = "cpu"
) -> dict[str, float]:
    """Estimated cost (ns per step) on ``backend`` of each registered propagator that can run a projection
    with a stored synapse list of these sizes (see :func:`snnjax.propagators.costs`); infinite costs (e.g.
    ``dense`` above 2**24 entries on CPU) are left out."""
    info = ProjectionInfo(n_pre, n_post, n_syn, DEFAULT_ACTIVITY if activity is None else float(activity), align)
    return {k: v for k, v in propagators.costs(info, backend).items() if np.isfinite(v)}


def choose_method(
    n_pre: int,
    n_post: int,
    n_syn: int,
    activity: float | None = None,
    align: str = "post",
    per_synapse_delay: bool = False,
    backend: str = "cpu",
) -> str:
    """The name of the propagator ``method="auto"`` picks for a stored synapse list: the cheapest registered one
    by its cost model (:func:`snnjax.propagators.choose`).

    Args:
      n_pre, n_post: group sizes.
      n_syn: number of synapses ``K``.
      activity: expected fraction of the presynaptic group spiking in one step (rate in Hz x dt in ms /
        1000; e.g. 20 Hz at dt = 0.1 ms is 0.002); default :data:`DEFAULT_ACTIVITY` (0.01).
      align: ``"post"`` or ``"pre"`` (the synapse's ``align``).
      per_synapse_delay: one delay per synapse (delivered into a ring by ``"event"``, read per synapse by ``"sparse"``).
      backend: ``"cpu"`` (the model fitted with ``benchmarks/kernels.py``), ``"gpu"`` or ``"tpu"``.

    Returns:
      A registered name. On CPU: event-driven below about 10-20% activity, dense for small dense matrices
      at high activity, sparse for large, very active projections; on GPU/TPU ``vector_event`` replaces
      the per-spike loop of ``event``.
    """
    a = DEFAULT_ACTIVITY if activity is None else float(activity)
    info = ProjectionInfo(n_pre, n_post, n_syn, a, align, per_synapse_delay)
    return propagators.choose(info, backend).name


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


_LAG_CACHE: dict = {}  # (id(delay), dt) -> (weakref to delay, lags): per-synapse lags are computed once per dt
_LAG_CHUNK = 1 << 22


def _synapse_lags(delay: Any, dt: float) -> np.ndarray:
    """Per-synapse lags (:func:`snnjax.delays.lag_steps`) in the narrowest integer type, computed in chunks (a list
    of 3e8 delays needs no float64 copy of it) and kept for the same delay array and ``dt``."""
    key = (id(delay), float(dt))
    hit = _LAG_CACHE.get(key)
    if hit is not None and hit[0]() is delay:
        return hit[1]
    values = np.asarray(delay)
    top = int(lag_steps(values.max(), dt)) if values.size else 1  # lags grow with the delay
    out = np.empty(values.shape, ops.lag_dtype(top))
    for start in range(0, values.size, _LAG_CHUNK):
        out[start : start + _LAG_CHUNK] = lag_steps(values[start : start + _LAG_CHUNK], dt)
    try:
        ref = weakref.ref(delay)
    except TypeError:  # a NumPy array or a list: not kept
        return out
    for stale in [k for k, (r, _) in _LAG_CACHE.items() if r() is None]:
        del _LAG_CACHE[stale]
    _LAG_CACHE[key] = (ref, out)
    return out


_DEVICE_LAGS: dict = {}  # id(host lags) -> (weakref, device array): moved to the device once, not per run


def device_lags(lags: np.ndarray) -> jax.Array:
    """Host lags (:meth:`Projection.lags`) on the default device, the same array for the same host array (a list of
    3e8 lags is copied once, not at every ``run``)."""
    hit = _DEVICE_LAGS.get(id(lags))
    if hit is not None and hit[0]() is lags:
        return hit[1]
    dev = jax.device_put(lags)
    try:
        ref = weakref.ref(lags)
    except TypeError:  # pragma: no cover - NumPy arrays take weak references
        return dev
    for stale in [k for k, (r, _) in _DEVICE_LAGS.items() if r() is None]:
        del _DEVICE_LAGS[stale]
    _DEVICE_LAGS[id(lags)] = (ref, dev)
    return dev


def _to_device(a: np.ndarray) -> jax.Array:
    """A host array on the default device; on a CPU the device array shares the NumPy buffer (no copy of a
    synapse list), where ``jnp.asarray`` would copy it."""
    return jax.device_put(np.ascontiguousarray(a))


def _ndim(value: Any) -> int:
    """Dimensions of a weight or delay: 1 for values drawn per synapse (:class:`snnjax.conn.Normal`)."""
    return 1 if isinstance(value, _conn.Normal) else int(np.ndim(value))


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


_PARTS = ("kinetics", "stp", "plasticity")


@struct.dataclass
class ProjectionState:
    """The state of one projection: its synapse kinetics, short-term plasticity and plasticity.

    Every field of the parts reads as an attribute of the whole (``state.g``, ``state.u``, ``state.w``), and
    ``'<projection>.<field>'`` is a monitor path.

    Attributes:
      kinetics: the synapse model's state (e.g. ``g``: ``(*batch, *post_shape)``, or ``(*batch, n_pre)`` /
        ``(*batch, K)`` for pre-aligned kinetics).
      stp: :class:`snnjax.synapses.STPState` (``u``, ``x``: ``(*batch, n_pre)`` or ``(*batch, K)``), or None.
      plasticity: the rule's state (``w`` ``(*batch, K)`` in the connector's order, and its traces), or None.
      ring: with per-synapse delays delivered at emission (the ``event`` and ``vector_event`` propagators), the
        summed weight arriving at each postsynaptic neuron in each of the next ``D`` steps, ``(*batch, D,
        n_post)`` (slot ``a % D`` for step ``a``; ``D`` the longest lag; after step ``t`` the slot of step ``t``
        still holds what that step took, and is cleared at the start of step ``t + 1``), else None. Monitor path
        ``'<projection>.ring'``.
    """

    kinetics: Any
    stp: Any = None
    plasticity: Any = None
    ring: Any = None

    def __getattr__(self, name: str):
        if name.startswith("_") or name in _PARTS or name == "ring":
            raise AttributeError(name)
        for part in (self.kinetics, self.stp, self.plasticity):
            if part is not None and name in _field_names(part):
                return getattr(part, name)
        raise AttributeError(f"{type(self).__name__} has no field {name!r}; fields are {list(self.fields())}")

    def fields(self) -> dict[str, Any]:
        """Field name -> value, over the kinetics, STP and plasticity states (None-valued fields left out)."""
        out = {}
        for part in (self.kinetics, self.stp, self.plasticity):
            if part is not None:
                out.update({f: getattr(part, f) for f in _field_names(part) if getattr(part, f) is not None})
        if self.ring is not None:
            out["ring"] = self.ring
        return out


def _field_names(part: Any) -> tuple[str, ...]:
    if dataclasses.is_dataclass(part):
        return tuple(f.name for f in dataclasses.fields(part))
    return tuple(getattr(part, "_fields", ()))


@struct.dataclass
class Projection:
    """A projection from population ``pre`` to population ``post`` (names in the :class:`Network`).

    Each step, the spikes that ``pre`` emitted ``delay`` ms earlier (see :mod:`snnjax.delays`) are
    multiplied by ``weight`` and summed per postsynaptic neuron by the propagator (``method``); the
    ``synapse`` kinetics integrate that sum into ``g``; the ``output`` turns ``g`` into a current (or a
    voltage jump) for ``post``; an optional ``plasticity`` rule then updates the weights.

    Args:
      pre: name of the presynaptic population.
      post: name of the postsynaptic population.
      conn: an ``snnjax.conn`` connector, a ``(pre_idx, post_idx)`` tuple of int arrays (kept in the given
        order: synapse ``k`` is ``pre_idx[k] -> post_idx[k]``), a dense ``(n_pre, n_post)`` 0/1 matrix, or
        ``snnjax.jitconn.JitFixedProb(p, seed)`` (connectivity regenerated in every step, never stored).
      weight: synaptic weight, in the unit of the output (nA for CUBA currents, mV for
        ``CUBA(target="v")``, conductance for COBA): a scalar, one per synapse ``(K,)`` in the
        connector's order, a dense ``(n_pre, n_post)`` matrix read at the connected pairs, or a distribution
        drawn per synapse when the projection is built (:class:`snnjax.conn.Normal`).
      delay: transmission delay, ms, >= 0: a scalar, one per synapse ``(K,)``, or a distribution drawn per
        synapse (:class:`snnjax.conn.Normal`). A spike emitted at step ``s`` acts at step ``s + lag`` with
        ``lag = max(1, floor(delay / dt + 1/2))`` decided on the host (:func:`snnjax.delays.lag_steps`).
        Per-synapse delays are delivered at emission into a ring of future input by the event propagators
        (``auto``'s choice; :func:`snnjax.formats.rows.loops.ring_deliver`), or read per synapse every step by
        ``sparse``.
      synapse: kinetics (``snnjax.synapses``), default ``Delta()``. Post-aligned (linear) kinetics
        integrate the summed weighted input per postsynaptic neuron; pre-aligned ones (``align = "pre"``:
        ``AMPA``, ``GABAa``, ``NMDA``) keep one state per presynaptic neuron (per synapse with per-synapse
        delays), driven by its delayed spikes, and the projection sends ``sum_j w_ij g_j`` every step
        (dense or sparse propagators).
      output: ``snnjax.outputs.CUBA()`` (default), ``COBA(E)``, ``MgBlock(...)``, or ``None``: a projection that only
        learns (it adds nothing to ``post``, which may then be a spike source such as ``SpikeTimeGroup``, so a rule
        runs on prescribed pre and post trains).
      stp: optional short-term plasticity, ``snnjax.synapses.STP(U, tau_f, tau_d)``: its ``u`` and ``x``
        (one per presynaptic neuron, or per synapse with per-synapse delays) are updated by the delayed
        spikes and each spike's weight is multiplied by its efficacy (monitor ``'EE.u'``).
      plasticity: optional rule, a :class:`snnjax.plasticity.Rule` (``STDP``, ``TripletSTDP``, ``MSTDPET`` with a
        reward input ``"<name>.reward"``, ``VogelsSprekeler``, ``BCM``, or your own): the weights then live in the
        state (``state.synapses[name].w``, ``(*batch, K)`` in the connector's order, monitor ``'<name>.w'``) with the
        rule's state, and the rule updates them after every step from the spikes arriving at each synapse (after its
        delay) and the postsynaptic spikes. The propagator decides which synapses it visits: ``sparse`` every
        synapse every step, the event-driven ones (``event``, ``vector_event``) only the synapses of the arriving
        and the postsynaptic spikes (row and transposed tables). Its functions are checked when the projection is
        bound (``jax.eval_shape``).
      method: the propagator: ``"auto"`` (default), a registered name (``"dense"``, ``"sparse"``,
        ``"event"``, ``"vector_event"``, ``"jit"``; :mod:`snnjax.propagators`) or a propagator object.
        ``"auto"`` takes the cheapest registered propagator for ``jax.default_backend()`` by its cost model
        of the sizes and the expected ``activity``; ``"jit"`` for ``conn=JitFixedProb``; and, for a
        ``FixedProb`` whose expected synapse count exceeds :data:`JIT_ABOVE_SYNAPSES` (2**28), a
        ``JitFixedProb`` with the same ``p``, ``seed`` and ``include_self`` (a different draw of the same
        random graph; give ``method="event"`` to keep the stored one). ``repr(network)`` shows the choice.
        After binding, ``method`` is the propagator's name and ``propagator`` the configured object.
      max_events: with event-driven propagators, how many presynaptic spikes per step the compacted index
        lists (steps with more are exact, only slower; default: twice the expected spikes per step, at
        least 32). A performance hint: never part of the state.
      activity: expected fraction of the presynaptic group that spikes in one step (rate in Hz x dt in ms
        / 1000: 20 Hz at dt = 0.1 ms is 0.002), in (0, 1]; a hint for ``"auto"`` and the default
        ``max_events`` only (results never depend on it). Default ``None``: 0.01.
      max_delay: longest delay (ms) the buffer must hold, needed only when ``delay`` is traced (e.g.
        built inside ``vmap``, or learned); otherwise taken from ``delay``. A traced delay beyond it is a
        runtime error.
      delay_interp: ``"step"`` (default: whole-step lags by the rule above) or ``"linear"``: learnable,
        continuous delays. A spike is read ``q = max(delay / dt, 1)`` steps late, split between the whole lags
        ``floor(q)`` and ``floor(q) + 1`` in proportion (``1 - frac(q)``, ``frac(q)``), so what arrives is
        piecewise linear in ``delay`` and ``jax.grad`` reaches the delays (Inferno's
        ``current_interp_mode="linear"``). Needs ``max_delay``; whole-step delays arrive exactly as with
        ``"step"``. Not with a plasticity rule.

    Set when the projection is bound into a Network (not an argument): ``structure``, the connector when it has a
    structure worth keeping beside the synapse list (a :class:`snnjax.conn.Conv2D`, so that exports such as
    :func:`snnjax.nir.to_nir` can write a convolution instead of a dense matrix), else ``None``; ``deferred``,
    the connector whose synapse list each device builds for itself (:meth:`Network.deferred`), else ``None``.
    """

    pre: str = struct.field(pytree_node=False)
    post: str = struct.field(pytree_node=False)
    conn: Any = struct.field(pytree_node=False, default=None)
    weight: ArrayLike = 1.0
    delay: ArrayLike = 0.0
    synapse: Any = Delta()
    output: Any = CUBA()
    method: Any = struct.field(pytree_node=False, default="auto")
    max_events: int | None = struct.field(pytree_node=False, default=None)
    max_delay: float | None = struct.field(pytree_node=False, default=None)
    activity: float | None = struct.field(pytree_node=False, default=None)
    topology: ops.Topology | None = None
    stp: Any = None
    plasticity: Any = None
    propagator: Any = struct.field(pytree_node=False, default=None)
    delay_interp: str = struct.field(pytree_node=False, default="step")
    structure: Any = struct.field(pytree_node=False, default=None)
    deferred: Any = struct.field(pytree_node=False, default=None)

    _FIELDS = dict(weight=None, delay="nonnegative")

    def __post_init__(self):
        for name in ("pre", "post"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"Projection: {name} must be a population name (str), got {getattr(self, name)!r}")
        if self.propagator is not None:
            pass  # bound: method is the configured propagator's name
        elif isinstance(self.method, str):
            if self.method != "auto" and self.method not in propagators.names():
                raise ValueError(
                    f"Projection: method must be one of {('auto', *propagators.names())} or a propagator object, "
                    f"got {self.method!r}"
                )
        else:
            propagators.check_protocol(self.method, "Projection: method")
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
        if self.output is not None and not (hasattr(self.output, "contribution") and hasattr(self.output, "target")):
            raise TypeError(
                "Projection: output must be snnjax.outputs.CUBA(), COBA(E), MgBlock(...) or None (a projection that "
                f"only learns), got {self.output!r}"
            )
        if self.topology is None and self.conn is None:
            raise TypeError("Projection: conn is required (e.g. snnjax.conn.All2All())")
        _checks.check_choice("Projection", "delay_interp", self.delay_interp, ("step", "linear"))
        if self.delay_interp == "linear" and self.max_delay is None:
            raise ValueError("Projection: delay_interp='linear' (learnable delays) needs max_delay=<ms>")
        if self.delay_interp == "linear" and self.plasticity is not None:
            raise ValueError("Projection: delay_interp='linear' cannot be combined with a plasticity rule")
        if self.stp is not None and not isinstance(self.stp, _stp.STP):
            raise TypeError(f"Projection: stp must be None or snnjax.synapses.STP(...), got {type(self.stp).__name__}")
        if self.plasticity is not None and not isinstance(self.plasticity, _Rule):
            raise TypeError(
                "Projection: plasticity must be None or a rule of snnjax.plasticity (a snnjax.plasticity.Rule: STDP, "
                f"TripletSTDP, MSTDPET, VogelsSprekeler, BCM or your own), got {type(self.plasticity).__name__}"
            )

    @property
    def align(self) -> str:
        """``"pre"`` when the kinetics keep one state per presynaptic neuron, else ``"post"``."""
        return getattr(self.synapse, "align", "post")

    @property
    def per_synapse_delay(self) -> bool:
        """Whether the delays are one per synapse."""
        return jnp.ndim(self.delay) == 1

    @property
    def ring_delivery(self) -> bool:
        """Whether per-synapse delays are delivered once, at emission, into a ring of future input in the state
        (the propagator has ``deliver``: ``event``, ``vector_event``), rather than read per synapse from the
        presynaptic delay buffer every step (``sparse``)."""
        return (
            self.per_synapse_delay
            and self.delay_interp == "step"
            and callable(getattr(self.propagator, "deliver", None))
        )

    def buffer_lag(self, dt: float) -> int | None:
        """Longest lag (steps) this projection reads from the presynaptic delay buffer at ``dt``: 1 with ring
        delivery (it reads the last step's spikes), else :meth:`max_lag`."""
        return 1 if self.ring_delivery else self.max_lag(dt)

    # -- binding -------------------------------------------------------------------------------
    def bind(self, n_pre: int, n_post: int, post_shape: tuple[int, ...] | None = None) -> Projection:
        """Build the synapse list and the propagator for groups of ``n_pre`` and ``n_post`` neurons (done by
        ``Network``).

        Every check runs on the host before the synapse list is moved to the device, so a bad projection
        fails before anything is compiled. ``post_shape`` (default ``(n_post,)``) is the postsynaptic
        group's shape, against which the synapse's and output's parameter shapes are checked. A projection
        bound already is checked against the sizes (a group of another size is an error, not ignored).
        """
        if self.topology is not None:
            if (self.topology.n_pre, self.topology.n_post) != (n_pre, n_post):
                raise ValueError(
                    f"Projection {self.pre}->{self.post}: it was built for groups of {self.topology.n_pre} -> "
                    f"{self.topology.n_post} neurons, but the network's are {n_pre} -> {n_post}; make a new "
                    "Projection with the connector (conn=...) instead of reusing a bound one"
                )
            return self
        if isinstance(self.conn, jitconn.JitFixedProb):
            connector, pre, post = self.conn, np.zeros(0, np.int32), np.zeros(0, np.int32)
        else:
            connector = _as_connector(self.conn)
            jit_conn = self._auto_jit(connector, n_pre, n_post)
            if jit_conn is not None:
                return self.replace(conn=jit_conn).bind(n_pre, n_post, post_shape)
            if isinstance(connector, _conn.FromIndices):  # checked, kept in the user's order
                connector.order(n_pre, n_post)
                pre, post = (np.asarray(a, np.int32) for a in (connector.pre, connector.post))
            else:
                pre, post = connector.build(n_pre, n_post)
        drawn = {  # per-synapse values drawn from their specs now that the list exists, in its order
            name: _to_device(getattr(self, name).draw(pre, post))
            for name in ("weight", "delay")
            if isinstance(getattr(self, name), _conn.Normal)
        }
        if drawn and isinstance(connector, jitconn.JitFixedProb):
            raise ValueError(
                f"Projection {self.pre}->{self.post}: {sorted(drawn)} drawn per synapse (snnjax.conn.Normal) need a "
                "stored synapse list, but conn=JitFixedProb stores none; give a scalar or a stored connector"
            )
        self = self.replace(**drawn) if drawn else self  # the projection with its drawn values
        info = self.info(n_pre, n_post, pre.size, connector)
        prop = self._resolve(info)
        topo = prop.build(np.asarray(pre, np.int32), np.asarray(post, np.int32), info)  # the format's own tables
        conn = connector if isinstance(connector, jitconn.JitFixedProb) else None
        structure = connector if isinstance(connector, _Conv2D) else None
        bound = self.replace(conn=conn, topology=topo, method=prop.name, propagator=prop, structure=structure)
        bound._validate(post_shape)
        return bound.replace(topology=jax.tree.map(_to_device, topo))

    def bind_deferred(self, n_pre: int, n_post: int, post_shape: tuple[int, ...] | None = None) -> Projection:
        """Like :meth:`bind`, but the synapse list is left to the devices (``Runner``/``simulate`` with
        ``devices=``; :mod:`snnjax.sharding`): each builds the synapses onto its own neurons from the connector's
        seed (:meth:`snnjax.conn.Connector.blocks`), and no host holds the whole list.

        Here the connector is only counted, piece by piece (``K``, for the propagator's choice and the state's
        shapes); the topology is a stand-in of ``K`` synapses that holds no memory (``pre`` and ``post`` read 0),
        and :meth:`prepare` refuses to run it. Needs a scalar ``weight`` and ``delay`` (per-synapse arrays are
        whole lists already: build the Network normally). Just-in-time connectivity (``JitFixedProb``, or
        ``method="auto"`` choosing it) stores nothing and is bound as usual.
        """
        where = f"Network.deferred: projection {self.pre}->{self.post}"
        if self.topology is not None:
            raise ValueError(f"{where} is bound already; pass a Projection with its connector (conn=...)")
        if isinstance(self.conn, jitconn.JitFixedProb):
            return self.bind(n_pre, n_post, post_shape)
        connector = _as_connector(self.conn)
        if self._auto_jit(connector, n_pre, n_post) is not None:
            return self.bind(n_pre, n_post, post_shape)
        for name in ("weight", "delay"):
            if np.ndim(getattr(self, name)) != 0 or isinstance(getattr(self, name), _conn.Normal):
                raise ValueError(
                    f"{where}: {name} must be a scalar to build the synapse list per device (got shape "
                    f"{np.shape(getattr(self, name))}: an array per synapse is a whole list already); build the "
                    "Network normally (snnjax.Network(...)) to give one"
                )
        if self.delay_interp != "step":
            raise ValueError(f"{where}: delay_interp must be 'step' (learnable delays are per synapse), got "
                             f"{self.delay_interp!r}")  # fmt: skip
        n_syn = sum(int(pre.size) for pre, _ in connector.blocks(n_pre, n_post))
        info = self.info(n_pre, n_post, n_syn, connector)
        prop = self._resolve(info)
        stand_in = np.broadcast_to(np.zeros((), np.int32), (n_syn,))  # K synapses, no memory
        topo = ops.Topology(pre=stand_in, post=stand_in, n_pre=int(n_pre), n_post=int(n_post))
        bound = self.replace(conn=None, topology=topo, method=prop.name, propagator=prop, deferred=connector)
        bound._validate(post_shape)
        return bound

    def info(self, n_pre: int, n_post: int, n_syn: int, connector: Any = None) -> ProjectionInfo:
        """The :class:`~snnjax.propagators.ProjectionInfo` propagators are told about this projection."""
        if isinstance(connector, jitconn.JitFixedProb):
            n_syn = int(round(connector.p * n_pre * n_post))
        return ProjectionInfo(
            n_pre=int(n_pre),
            n_post=int(n_post),
            n_syn=int(n_syn),
            activity=DEFAULT_ACTIVITY if self.activity is None else float(self.activity),
            align=self.align,
            per_synapse_delay=bool(_ndim(self.delay) == 1),
            weight_ndim=int(_ndim(self.weight)),
            plastic=self.plasticity is not None,
            connector=connector,
            max_events=self.max_events,
            stp=self.stp is not None,
            delay_interp=self.delay_interp,
        )

    def _resolve(self, info: ProjectionInfo) -> Any:
        """The configured propagator: the registry's pick for 'auto', the named one, or the user's object."""
        where = f"Projection {self.pre}->{self.post}"
        if isinstance(self.method, str) and self.method == "auto":
            try:
                prop = propagators.choose(info)
            except ValueError as err:
                raise ValueError(f"{where}: {err}") from None
        else:
            prop = propagators.get(self.method) if isinstance(self.method, str) else self.method
            why = prop.supports(info)
            if why is not None:
                raise ValueError(f"{where}: method={prop.name!r} cannot run this projection: {why}")
        bound = prop.bind(info)
        propagators.check_protocol(bound, f"{where}: {type(prop).__name__}.bind(...)")
        return bound

    def _auto_jit(self, connector: _conn.Connector, n_pre: int, n_post: int) -> jitconn.JitFixedProb | None:
        """For ``method="auto"``, the ``JitFixedProb`` (same ``p``, ``seed`` and ``include_self``) that replaces a
        ``FixedProb`` whose expected synapse count exceeds :data:`JIT_ABOVE_SYNAPSES`, when the projection is
        one that just-in-time connectivity can run; otherwise None (the synapse list is stored)."""
        if self.method != "auto" or type(connector) is not _conn.FixedProb or not 0.0 < connector.p:
            return None
        if connector.p * n_pre * n_post <= JIT_ABOVE_SYNAPSES:
            return None
        conn = jitconn.JitFixedProb(float(connector.p), connector.seed, connector.include_self)
        if propagators.get("jit").supports(self.info(n_pre, n_post, 0, conn)) is not None:
            return None
        try:
            jitconn.check_sizes("", conn, n_post)
        except ValueError:
            return None
        return conn

    def _validate(self, post_shape: tuple[int, ...] | None = None) -> None:
        """Complete checks on a bound projection (concrete values)."""
        topo, k = self.topology, self.topology.n_syn
        n_pre, n_post = topo.n_pre, topo.n_post
        where = f"Projection {self.pre}->{self.post}"
        jit = isinstance(self.conn, jitconn.JitFixedProb)
        wshape = tuple(np.shape(self.weight))
        if not jit and wshape not in ((), (k,), (n_pre, n_post)):
            raise ValueError(
                f"{where}: weight must be a scalar, one per synapse ({k},) or dense ({n_pre}, {n_post}); got shape "
                f"{wshape}"
            )
        dshape = tuple(np.shape(self.delay))
        if not jit and dshape not in ((), (k,)):
            raise ValueError(f"{where}: delay must be a scalar or one per synapse ({k},) in ms; got shape {dshape}")
        if self.max_delay is not None and not isinstance(self.delay, jax.core.Tracer) and np.size(self.delay):
            longest = float(np.max(np.asarray(self.delay, np.float64)))
            if longest > float(self.max_delay) * (1 + 1e-9):
                raise ValueError(
                    f"{where}: delay (up to {longest} ms) exceeds max_delay={self.max_delay} ms, the buffer it asks "
                    "for; raise max_delay (a delay is never wrapped around the buffer)"
                )
        if self.stp is not None:
            n = self._presyn_shape()
            for name in ("U", "tau_f", "tau_d"):
                got = tuple(np.shape(getattr(self.stp, name)))
                if got not in ((), n):
                    raise ValueError(
                        f"{where}: stp.{name} must be a scalar or have shape {n} "
                        f"(one per presynaptic neuron, or per synapse with per-synapse delays); got shape {got}"
                    )
        if self.plasticity is not None:
            w0 = self.weight  # a dense matrix is checked where the rule reads it: at the connected pairs
            if wshape == (n_pre, n_post):
                traced = any(isinstance(a, jax.core.Tracer) for a in (w0, topo.pre, topo.post))
                w0 = None if traced else np.asarray(w0)[np.asarray(topo.pre), np.asarray(topo.post)]
            self.plasticity._validate(where, (k,), w0, pre_shape=self._presyn_shape(), n_post=n_post)
        _checks.check_fields(self, self._FIELDS, strict=True)
        if callable(getattr(self.output, "check_weight", None)):  # e.g. COBA: conductances are >= 0
            self.output.check_weight(self.weight)
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
                        f"{where}: {what}.{name} must be a scalar or broadcast to the "
                        f"shape {shape} of the state it acts on; got shape {got}"
                    )

    # -- simulation ----------------------------------------------------------------------------
    def lags(self, dt: float) -> int | np.ndarray | None:
        """The lag(s) in steps at ``dt``, decided on the host (:func:`snnjax.delays.lag_steps`): a Python int
        for a scalar delay, a ``(K,)`` array for per-synapse delays in the narrowest integer type that holds them
        (:func:`snnjax.ops.lag_dtype`: uint8 up to 255 steps), ``None`` when ``delay`` is traced
        (then the device computes them from ``delay``, bounded by ``max_delay``)."""
        if isinstance(self.delay, jax.core.Tracer) or self.delay_interp == "linear":
            return None
        if np.ndim(self.delay) == 0:
            return int(lag_steps(np.asarray(self.delay), dt))
        return _synapse_lags(self.delay, dt)

    def max_lag(self, dt: float) -> int | None:
        """Longest lag (steps) this projection reads at ``dt``: from ``max_delay`` when given, else from the
        concrete ``delay``; ``None`` when ``delay`` is traced and no ``max_delay`` was given."""
        if self.max_delay is not None:
            lag = self.lags(dt)
            bound = int(lag_steps(float(self.max_delay), dt)) + (self.delay_interp == "linear")
            return bound if lag is None else max(bound, int(np.max(lag)) if np.size(lag) else 1)
        lag = self.lags(dt)
        if lag is None:
            return None
        return int(np.max(lag)) if np.size(lag) else 1

    def synapse_weights(self) -> jax.Array:
        """Weights as a scalar or per synapse ``(K,)`` (a dense matrix is read at the connected pairs)."""
        return propagators.base.synapse_weights(self.topology, self.weight)

    def prepare(self, dt: float, lag: Any = None, depth: int | None = None) -> dict:
        """Arrays used every step, computed once per run: ``{"lag", "w"}``.

        Args:
          dt: step, ms.
          lag: the host lags (:meth:`lags`); ``None``: computed here, on the device if ``delay`` is traced.
          depth: the presynaptic delay buffer's depth (steps), against which device lags are checked (with ring
            delivery, the ring's depth, :meth:`max_lag`, is used).
        """
        if self.deferred is not None:
            raise ValueError(
                f"Projection {self.pre}->{self.post}: its synapse list is built per device (Network.deferred), so the "
                "network runs only split over devices: Runner(net, ..., devices=...) or simulate(..., devices=...)"
            )
        if lag is None:
            lag = self.lags(dt)
        if lag is None and self.delay_interp == "linear":  # continuous lags q >= 1 (float), read in between
            lag = jnp.maximum(jnp.asarray(self.delay, jnp.result_type(float)) / dt, 1.0)
            if depth is not None:
                check_lag(jnp.floor(lag).astype(jnp.int32) + 1, depth)  # an effect: kept although unused
        elif lag is None:  # traced delay: the device applies the rule, and a lag beyond the buffer raises
            lag = device_lag(self.delay, dt)
            if self.ring_delivery:
                depth = self.max_lag(dt) if depth is None else depth
                if depth is None:
                    raise ValueError(
                        f"Projection {self.pre}->{self.post}: a traced per-synapse delay needs max_delay=<ms> (or a "
                        "state with its ring) to size the ring of future input"
                    )
                lag = check_lag(lag, depth)
            elif depth is not None:
                lag = check_lag(lag, depth)
        w = None if self.plasticity is not None else self.propagator.prepare(self.topology, self.weight)
        return {"lag": lag, "w": w}

    def _presyn_shape(self) -> tuple[int]:
        """Shape of presynaptic-side states: ``(K,)`` with per-synapse delays, else ``(n_pre,)``."""
        return (self.topology.n_syn,) if jnp.ndim(self.delay) == 1 else (self.topology.n_pre,)

    def init_state(
        self,
        post_shape: tuple[int, ...],
        batch_shape: tuple[int, ...] = (),
        dt: float | None = None,
        ring_depth: int | None = None,
    ) -> ProjectionState:
        """The projection's state: the kinetics' state (postsynaptic ``(*batch, *post_shape)``, or presynaptic
        ``(*batch, n_pre)`` / ``(*batch, K)`` when pre-aligned), the STP variables ``u``, ``x`` ``(*batch, n_pre)``
        (or ``(*batch, K)``) when ``stp`` is set, the plasticity rule's weights and traces when set, and with ring
        delivery the ring ``(*batch, D, n_post)`` of future input, ``D`` the longest lag at ``dt`` (ms; default
        ``snnjax.network.DEFAULT_DT``) unless ``ring_depth`` gives it (a traced delay cannot size it)."""
        shape = self._presyn_shape() if self.align == "pre" else tuple(post_shape)
        kinetics = self.synapse.init(shape, batch_shape)
        stp = None if self.stp is None else self.stp.init(self._presyn_shape(), batch_shape)
        plastic = None
        if self.plasticity is not None:
            w = jnp.broadcast_to(self.synapse_weights(), (self.topology.n_syn,))
            plastic = self.plasticity.init(w, self._presyn_shape(), self.topology.n_post, batch_shape)
        names = [set(_field_names(p)) for p in (kinetics, stp, plastic) if p is not None]
        clash = set.intersection(*names) if len(names) > 1 else set()
        for a, b in ((0, 1), (0, 2), (1, 2)):
            if a < len(names) and b < len(names):
                clash |= names[a] & names[b]
        if clash:
            raise TypeError(
                f"Projection {self.pre}->{self.post}: the synapse, STP and plasticity states share field(s) "
                f"{sorted(clash)}; monitor paths would be ambiguous"
            )
        ring = None
        if self.ring_delivery:
            depth = self.max_lag(0.1 if dt is None else dt) if ring_depth is None else int(ring_depth)
            if depth is None:
                raise ValueError(
                    f"Projection {self.pre}->{self.post}: a traced per-synapse delay (built inside jit/vmap/grad) "
                    "cannot size the ring of future input; pass max_delay=<ms>"
                )
            dtype = jnp.result_type(float)
            ring = jnp.zeros((*tuple(batch_shape), depth, self.topology.n_post), dtype)
        return ProjectionState(kinetics=kinetics, stp=stp, plasticity=plastic, ring=ring)

    def state_axes(self, state: ProjectionState) -> ProjectionState:
        """``state`` with every leaf replaced by the axis its last dimension runs over (:mod:`snnjax.axes`):
        ``"post"`` for post-aligned kinetics and the ring, ``"pre"`` (``"syn"`` with per-synapse delays) for
        pre-aligned kinetics and STP, and what the plasticity rule's state declares (``axes.field``)."""
        presyn = axes.SYN if self.per_synapse_delay else axes.PRE
        kinetics = axes.POST if self.align == "post" else presyn
        rule = axes.declared(state.plasticity, f"Projection {self.pre}->{self.post}: plasticity")
        if rule is not None and self.per_synapse_delay:
            rule = jax.tree.map(lambda a: axes.SYN if a == axes.PRE else a, rule)
        return ProjectionState(
            kinetics=jax.tree.map(lambda _: kinetics, state.kinetics),
            stp=jax.tree.map(lambda _: presyn, state.stp),
            plasticity=rule,
            ring=None if state.ring is None else axes.POST,
        )

    def field_ndim(self, field: str, post_ndim: int) -> int:
        """Trailing neuron/synapse axes of the state field ``field`` (after the batch axes)."""
        if self.align == "post" and field in _field_names(jax.eval_shape(lambda: self.synapse.init((1,), ()))):
            return post_ndim
        return 1

    def transmit(
        self,
        prep: dict,
        state: ProjectionState,
        spikes: jax.Array,
        index: Any,
        *,
        dt: float,
        post_shape,
        step: jax.Array | None = None,
    ) -> tuple[ProjectionState, jax.Array]:
        """One step of the projection: delayed spikes -> (STP) -> propagator and kinetics, composed as
        :func:`snnjax.stages.transmission` picks for it (:class:`~snnjax.stages.PostAligned`,
        :class:`~snnjax.stages.PreAligned`, :class:`~snnjax.stages.RingDelivered` or
        :class:`~snnjax.stages.FusedPlastic`).

        Args:
          prep: ``self.prepare(dt)``.
          state: the projection state (:meth:`init_state`).
          spikes: the delayed presynaptic spikes, float ``(*batch, n_pre)``, or ``(*batch, K)`` (each synapse's
            own delayed spike) with per-synapse delays read from the buffer; with ring delivery, the spikes of the
            last step ``(*batch, n_pre)`` (delivered now, acting after each synapse's lag).
          index: the compacted spikes (``snnjax.ops.compact``) when the propagator takes an index, else None.
          dt: step, ms.
          post_shape: shape of the postsynaptic group.
          step: the number of the step being run (int32 scalar, ``state.step`` of the network), needed with ring
            delivery (slot ``step % D`` is read).

        Returns:
          ``(new_state, g)``: ``g`` ``(*batch, *post_shape)`` is what the output turns into a current.
        """
        path = stages.transmission(self, index)
        return path.transmit(self, prep, state, spikes, index, dt=dt, post_shape=post_shape, step=step)

    def learn(
        self,
        state: ProjectionState,
        arrivals: jax.Array,
        index: Any,
        post_spikes: jax.Array,
        *,
        dt: float,
        reward: Any = None,
        post_state: Any = None,
    ) -> ProjectionState:
        """The plasticity rule's update after a step (weights and its state; no-op without a rule), in the order of
        :class:`snnjax.plasticity.Rule`: decay, the arrivals (``on_pre``, then ``pre_spike``; done in
        :meth:`transmit` when fused with the transmission), the postsynaptic spikes (``on_post``), the per-step terms
        (``on_step``, every synapse), the postsynaptic jumps (``post_spike``): the stage
        :class:`snnjax.stages.Learning`. The propagator (the connectivity format) decides which synapses each function
        visits (``learn_pre`` / ``learn_post``).

        Args:
          state: the projection state after :meth:`transmit`.
          arrivals: the spikes that reached the synapses this step (as given to :meth:`transmit`).
          index: their compacted index, or None.
          post_spikes: the postsynaptic spikes of this step, ``(*batch, n_post)``.
          dt: step, ms.
          reward: this step's reward for a rule that needs one (``MSTDPET``), scalar or ``(*batch,)``; None is 0.
          post_state: the postsynaptic population's state after this step (its ``v`` is read by a rule that needs
            the voltage).
        """
        return stages.LEARNING.learn(
            self, state, arrivals, index, post_spikes, dt=dt, reward=reward, post_state=post_state
        )

    def event_bound(self) -> int | None:
        """Spikes per step the propagator's compacted index lists, or None if it takes no index."""
        if self.propagator is None or (self.per_synapse_delay and not self.ring_delivery):
            return None
        return self.propagator.index_bound
