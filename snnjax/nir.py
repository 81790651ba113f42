"""NIR (Neuromorphic Intermediate Representation) import and export: :func:`from_nir`, :func:`to_nir`,
:func:`load_nir`, :func:`save_nir`, and a pure function ``(params, spikes[T, ...]) -> outputs[T, ...]`` of an
imported graph (:meth:`NIRNetwork.function`). Needs the optional extra: ``pip install "snnjax[nir]"``.

An imported graph is an ordinary :class:`snnjax.Network` (run it with ``Runner``/``simulate``, monitor it, train
it): neuron nodes become populations, the linear nodes between two neuron nodes become one projection::

    net = snnjax.nir.load_nir("model.nir", dt=1.0)          # NIRNetwork
    net.inputs   # {'input': 'input'}           NIR Input node -> SpikeArray population ('<pop>.input' path)
    net.outputs  # {'output': 'lif2.spike'}     NIR Output node -> monitor path
    net.latency  # {'output': 2}                steps the Network's output lags the graph's (see below)
    params, fn = net.function()                 # fn(params, spikes (T, *batch, *in_shape)) -> (T, *batch, *out)
    snnjax.nir.save_nir("back.nir", net, dt=1.0)

Mapping (NIR -> snnjax; ``ts`` = ``time_scale``, ms per NIR time unit, default 1000: snnTorch and Norse write
seconds). NIR's voltages and currents are unitless; they are taken as mV and nA, ``r`` as MOhm:

======================  ============================================================================================
NIR node                snnjax
======================  ============================================================================================
``Input``               ``inputs.SpikeArray(shape)`` (its spikes are the array given at ``"<name>.input"``)
``LIF``                 ``neurons.LIF``: ``tau = tau ts``, ``r``, ``v_rest = v_leak``, ``v_th = v_threshold``
                        (strict, below), ``v_reset``, ``reset_mode='value'``, ``tau_ref = 0``; projections into
                        it use ``synapses.Delta`` + ``outputs.CUBA`` (the input current ``I`` is held over a step)
``CubaLIF``             ``neurons.LIF`` (``tau = tau_mem ts``) fed through ``synapses.Exponential(tau_syn ts)``
                        + ``outputs.CUBA``; ``w_in`` and the input gain (below) are folded into the weights
``IF``                  ``neurons.IF`` (``r / ts`` per ms, ``v_th``, ``v_reset``, ``v_init = 0``: NIR's IF starts
                        at 0, not at ``v_reset``)
``LI`` / ``CubaLI``     ``neurons.LI`` (``tau ts``, ``r``, ``v_rest = v_leak``), through ``Exponential`` for CubaLI
``I`` / ``Integrator``  ``neurons.Integrator`` (``r / ts``)
``Threshold``           ``neurons.LIF`` with ``tau = dt / 1000`` (``exp(-dt/tau)`` is exactly 0: no memory),
                        ``r = 1``, ``v_rest = v_reset = 0``: it spikes when its input is above ``threshold``
``Affine`` / ``Linear`` a projection ``conn=All2All()`` with the dense weight ``W.T`` ``(n_pre, n_post)``; an
                        Affine's ``bias`` is a projection from the :class:`Bias` source (one neuron firing every
                        step) with weight ``b`` and the same kinetics as the weights: once per node (however many
                        edges feed it), mapped by the linear nodes after it and delayed by the Delay nodes after it
``Scale``               per-neuron factors multiplied into the weights of the path
``Conv2d`` / ``Conv1d`` ``conn.Conv2D`` (channels first ``(C, H, W)``, weights ``Conv2D.expand(kernel)``; Conv1d is a
                        one-row Conv2D; ``groups`` via a kernel that is zero across groups); bias as Affine's
``SumPool2d``/``AvgPool2d``  a ``Conv2D`` with a fixed channel-diagonal kernel of ones (``1 / (kh kw)``)
``Flatten``             nothing (populations are flat in C order; shapes follow ``input_type``/``output_type``)
``Delay``               added to the projection's delay (``delay ts`` ms; uniform delays only); before an Output,
                        the output's delay (``NIRNetwork.output_delays``, taken off ``latency``)
``Output``              a monitor path: ``'<pop>.spike'``, or ``'<pop>.v'`` for LI and Integrator
nested ``NIRGraph``     inlined (node names ``'<sub>.<node>'`` sanitised); cycles are recurrent projections
======================  ============================================================================================

Several linear nodes in a row between two neuron nodes (e.g. Conv2d -> SumPool2d) are multiplied into one dense
map. A graph whose Output is fed by a linear node, a linear node feeding another without a neuron between them in a
cycle, and any unknown node type are refused with a ``ValueError`` naming the node.

The traps, and what is done about them:

* **Discretisation.** NIR nodes are continuous-time ODEs; each population integrates its own ODE exactly over a step
  with its input held constant (the zoo's scheme; ``integration="exact"``, default). ``integration="euler"``
  reproduces tools that take forward-Euler steps (snnTorch, Norse): ``v <- v + dt/tau (v_leak - v + r I)`` is the
  exact update with ``tau' = -dt / log(1 - dt/tau)`` (needs ``dt < tau``), so only the time constants change.
* **Synaptic input (CubaLIF/CubaLI).** ``tau_syn dI/dt = -I + w_in S``: with ``S`` held over a step, a step of input
  raises ``I`` by ``gain w_in S``, ``gain = 1 - exp(-dt/tau_syn)`` (exact) or ``dt/tau_syn`` (euler). snnTorch's
  export follows that (``w_in = tau_syn/dt`` so ``gain w_in = 1``); Norse's ``LIFCell`` instead adds ``S`` itself
  and writes ``w_in = 1``: ``synapse_input="jump"`` (``gain = 1``) reproduces it. The gain times ``w_in`` is
  multiplied into the weights of every projection into the population; :func:`to_nir` divides it out again.
* **Threshold.** NIR fires when ``v > v_threshold``, snnjax when ``v - v_th >= 0``, and XLA (on CPU) flushes
  subnormal floats (below ``tiny``, 1.2e-38 in float32) to 0. The import sets ``v_th`` (in the default float dtype)
  to the next float above ``v_threshold``, where floats are ``tiny`` or more apart (``|v_threshold| >= 2**-103``,
  1e-31 in float32), and otherwise to ``p + tiny`` rounded up, ``p`` the largest float XLA holds (0 or normal) not
  above ``v_threshold``: ``tiny`` for a threshold of 0 (the next float, 1e-45, is flushed to 0 and ``v = 0`` would
  fire). Both fire for the same ``v`` for every threshold but the few that no ``v_th`` can meet through a flushed
  difference (within ``tiny`` below a power of two under 2**-103, or in (-2 tiny, -tiny)): those never fire at or
  below the threshold and at most ``tiny`` above it (as every threshold under 2**-103 on a backend that keeps
  subnormals). Export inverts it (``tiny`` -> 0).
* **Weights** are ``(out, in)`` in NIR (``y = W x``), ``(n_pre, n_post)`` in snnjax; conv kernels are
  ``(C_out, C_in, kH, kW)`` channels first in both.
* **Time.** A snnjax projection delivers a spike one step after it was emitted (lag 1, as Brian2's ``on_pre``);
  NIR's edges are instantaneous (a spike crosses a whole feed-forward graph in one step), except around a cycle
  where the tools read the previous step. The import gives every projection ``lag = depth(post) - depth(pre) +
  delay steps`` (``+1`` more on a back edge of a cycle), where ``depth`` is the longest count of neuron nodes from
  an Input: then every population's spikes are exactly the graph's, ``depth`` steps later, and biases are switched
  on at step ``depth`` (their projection's delay), so the transient matches too. ``NIRNetwork.latency`` holds the
  shift of each output and :meth:`NIRNetwork.function` removes it (it runs ``T + latency`` steps and returns the
  last ``T``); a ``Delay`` between a population and an Output delays that output instead (``latency`` is less by
  its steps, negative when it is longer than the depth: the graph's output is then the monitor's shifted later,
  zeros first). A cycle through several populations cannot keep this exactly (its back edge would need a negative
  lag): it gets lag 1 and a warning. Export maps lag 1 to a plain edge and ``lag > 1`` to a ``Delay`` of
  ``(lag - 1) dt``, so snnjax -> NIR -> snnjax gives the same lags for layered networks (every path between two
  populations has the same length), the usual feed-forward and self-recurrent ones.
* **Export** (:func:`to_nir`) fuses ``LIF`` + ``Exponential`` + ``CUBA`` into ``CubaLIF`` (all projections into a
  population must share the kinetics), writes projections as ``Linear`` (``Affine`` with a :class:`Bias`
  projection) with dense weights (a sparse or convolutional synapse list becomes its dense matrix; multi-dimensional
  populations are written flat, with a ``Flatten`` before the weights), and refuses with a ``ValueError`` what NIR
  cannot express: COBA/MgBlock outputs, voltage jumps, STP, plasticity, Alpha and other kinetics, refractory
  periods, reset by subtraction, per-synapse delays, neuron models other than LIF/LI/IF/Integrator (HH, AdEx...), and
  a population that does not start where NIR's node does (NIR has no initial state: LIF/LI start at ``v_leak``,
  IF/I at 0; so a ``v_init`` elsewhere, or an IF starting at ``v_reset != 0``, is refused). An imported Delay
  before an Output is written back. Each population is written by the exporter registered for its class
  (:func:`register_exporter`, looked up along the MRO): a model class of one's own is exported by registering a
  function. Import looks each node type up in a table (``_importers``) the same way.
"""

from __future__ import annotations

import dataclasses
import functools
import keyword
import re
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from snnjax import conn as _conn
from snnjax import inputs as _inputs
from snnjax import neurons as _neurons
from snnjax import outputs as _outputs
from snnjax import synapses as _synapses
from snnjax.conn import Conv2D
from snnjax.network import Network
from snnjax.projection import Projection
from snnjax.runner import simulate
from snnjax.training import trainable

__all__ = [
    "Bias",
    "BiasState",
    "ExportContext",
    "NIRNetwork",
    "from_nir",
    "load_nir",
    "register_exporter",
    "save_nir",
    "to_nir",
]

INTEGRATIONS = ("exact", "euler")
SYNAPSE_INPUTS = ("held", "jump")


def _nir():
    try:
        import nir
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError('snnjax.nir needs the "nir" package (and h5py): pip install "snnjax[nir]"') from err
    return nir


# -- the bias source ------------------------------------------------------------------------------------------------
@struct.dataclass
class BiasState:
    """``spike``: 1.0 after the first step, shape ``(*batch_shape, *shape)``."""

    spike: jax.Array


@struct.dataclass
class Bias:
    """A source that emits 1 in every step from step 0 on: a projection from it with weight ``b`` (nA) and lag
    ``d`` adds ``b`` to its target from step ``d`` on (how :func:`from_nir` places an ``Affine`` bias).

    Args:
      size: number of neurons (int) or shape (tuple); one is enough.
    """

    size: Any = struct.field(pytree_node=False, default=1)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the group (without batch dimensions)."""
        return (self.size,) if isinstance(self.size, int) else tuple(self.size)

    @property
    def count(self) -> int:
        """Number of neurons."""
        return int(np.prod(self.shape))

    def init(self, batch_shape: tuple[int, ...] = (), key: jax.Array | None = None) -> BiasState:
        """No spike yet."""
        return BiasState(spike=jnp.zeros((*tuple(batch_shape), *self.shape), jnp.result_type(float)))

    def update(self, state: BiasState, current: Any = 0.0, *, dt: float) -> BiasState:
        """Spike (1.0) in every step; ``current`` is ignored."""
        return BiasState(spike=jnp.ones_like(state.spike))


# -- the imported network -------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class NIRNetwork:
    """A NIR graph as a snnjax :class:`~snnjax.Network` (made by :func:`from_nir`).

    Attributes:
      network: the network.
      dt: the step it was discretised for, ms.
      inputs: NIR Input node name -> its ``SpikeArray`` population (drive it at ``'<pop>.input'``).
      outputs: NIR Output node name -> monitor path (``'<pop>.spike'`` or ``'<pop>.v'``).
      latency: NIR Output node name -> steps by which the network's output lags the graph's (its depth, less the
        ``output_delays``): the graph's output at step ``t`` is the monitor at ``t + latency`` (0 before step 0).
      input_shapes: NIR Input node name -> shape of one step of its spikes.
      output_delays: NIR Output node name -> steps of the ``Delay`` nodes between its population and it (0 mostly).
    """

    network: Network
    dt: float
    inputs: dict[str, str]
    outputs: dict[str, str]
    latency: dict[str, int]
    input_shapes: dict[str, tuple[int, ...]]
    output_delays: dict[str, int] = dataclasses.field(default_factory=dict)

    def function(self, where: Callable[[str, Any], bool] | None = None) -> tuple[Any, Callable]:
        """The graph as a pure function of its parameters and input spikes.

        Args:
          where: which float leaves are parameters (as :func:`snnjax.trainable`; default all trainable ones).

        Returns:
          ``(params, fn)``: ``fn(params, spikes)`` with ``spikes`` of shape ``(T, *batch, *in_shape)`` (or a dict
          Input name -> array for several inputs) returns the outputs ``(T, *batch, *out_shape)`` (a dict Output
          name -> array for several outputs) aligned to the graph's own time (the latency removed). ``jit``,
          ``vmap`` and ``grad`` (w.r.t. ``params``) compose with it.
        """
        params, rebuild = trainable(self.network, where)
        dt = self.dt
        pad = max([0, *self.latency.values()])
        paths = sorted(set(self.outputs.values()))

        def fn(params, spikes):
            net = rebuild(params)
            given = spikes if isinstance(spikes, dict) else {next(iter(self.inputs)): spikes}
            if set(given) != set(self.inputs):
                raise ValueError(f"NIRNetwork.function: spikes must be given for the inputs {sorted(self.inputs)}")
            feeds, batch, n = [], None, None
            for name, x in given.items():
                x = jnp.asarray(x)
                shape = self.input_shapes[name]
                n = x.shape[0]
                batch = tuple(x.shape[1 : x.ndim - len(shape)])
                x = jnp.reshape(x, (n, *batch, *shape))
                x = jnp.concatenate([x, jnp.zeros((pad, *x.shape[1:]), x.dtype)]) if pad else x
                feeds.append((f"{self.inputs[name]}.input", x.astype(jnp.result_type(float)), "iter"))
            state = net.init(batch_shape=batch, dt=dt)
            _, rec = simulate(net, state, duration=(n + pad) * dt, dt=dt, inputs=feeds, monitors=paths)
            out = {k: _shifted(rec[p], self.latency[k], n) for k, p in self.outputs.items()}
            return next(iter(out.values())) if len(out) == 1 else out

        return params, fn


def _shifted(x: jax.Array, lat: int, n: int) -> jax.Array:
    """``x[lat : lat + n]``, zeros where ``lat + t < 0`` (a Delay before an Output: the graph's output is later)."""
    if lat >= 0:
        return x[lat : lat + n]
    head = min(-lat, n)
    return jnp.concatenate([jnp.zeros((head, *x.shape[1:]), x.dtype), x[: n - head]])


# -- import ---------------------------------------------------------------------------------------------------------
_PASS = object()  # Input/Output nodes of an inlined subgraph: identities


def _flatten_graph(nir, graph, prefix=""):
    """Inline nested graphs: ``(nodes name -> node or _PASS, edges)``."""
    nodes, edges, io = {}, [], {}
    for name, node in graph.nodes.items():
        full = prefix + name
        if isinstance(node, nir.NIRGraph):
            sub_nodes, sub_edges = _flatten_graph(nir, node, full + ".")
            ins = [full + "." + k for k, v in node.nodes.items() if isinstance(v, nir.Input)]
            outs = [full + "." + k for k, v in node.nodes.items() if isinstance(v, nir.Output)]
            for k in ins + outs:
                sub_nodes[k] = _PASS
            nodes.update(sub_nodes)
            edges += sub_edges
            io[full] = (ins, outs)
        else:
            nodes[full] = node
    for src, dst in graph.edges:
        src, dst = prefix + src, prefix + dst
        srcs = io[src][1] if src in io else [src]
        dsts = io[dst][0] if dst in io else [dst]
        edges += [(a, b) for a in srcs for b in dsts]
    for a, b in edges:
        for end in (a, b):
            if end not in nodes:
                raise ValueError(f"from_nir: an edge ({a!r}, {b!r}) names {end!r}, which is not a node of the graph")
    return nodes, edges


def _shape_of(x) -> tuple[int, ...] | None:
    if x is None:
        return None
    a = np.asarray(x)
    if a.dtype == object or a.ndim != 1:
        return None
    return tuple(int(v) for v in a)


def _pair(x) -> tuple[int, int]:
    a = np.asarray(x).reshape(-1)
    return (int(a[0]), int(a[0])) if a.size == 1 else (int(a[0]), int(a[1]))


def _conv_padding(padding, kernel, dilation, name):
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0)
        if any(k % 2 == 0 for k in kernel):
            raise ValueError(f"from_nir: {name}: padding='same' with an even kernel {kernel} is not supported")
        return tuple((k - 1) * d // 2 for k, d in zip(kernel, dilation))
    return _pair(padding)


# Linear nodes: fn(nir, name, node, in_shape) -> (out_shape, conn, pre, post, w, bias), the synapse list ``pre ->
# post`` of weights ``w`` (float64), ``bias`` ``(n_out,)`` or None; ``conn`` the connector to give a projection when
# the node is alone on its path.
def _import_dense(nir, name, node, in_shape, *, bias: bool):
    n_in = int(np.prod(in_shape))
    w = np.asarray(node.weight, np.float64)
    if w.ndim != 2 or w.shape[1] != n_in:
        raise ValueError(f"from_nir: {name}: weight {w.shape} does not take an input of shape {in_shape}")
    pre, post = np.meshgrid(np.arange(n_in), np.arange(w.shape[0]), indexing="ij")
    b = np.asarray(node.bias, np.float64).reshape(-1) if bias else None
    return (w.shape[0],), _conn.All2All(), pre.ravel(), post.ravel(), w.T.ravel(), b


def _import_scale(nir, name, node, in_shape):
    n_in = int(np.prod(in_shape))
    s = np.broadcast_to(np.asarray(node.scale, np.float64), in_shape).ravel()
    idx = np.arange(n_in)
    return in_shape, _conn.One2One(), idx, idx, s, None


def _import_conv(nir, name, node, in_shape, *, one: bool):
    n_in = int(np.prod(in_shape))
    w = np.asarray(node.weight, np.float64)
    if one:  # Conv1d: a one-row Conv2D
        w = w[:, :, None, :]
        c, length = (in_shape if len(in_shape) == 2 else (w.shape[1] * node.groups, n_in // (w.shape[1])))[:2]
        shape3 = (int(c), 1, int(length))
        stride, dil = (1, int(np.ravel(node.stride)[0])), (1, int(np.ravel(node.dilation)[0]))
        pad = (0, _conv_padding(node.padding, (w.shape[3],), (dil[1],), name)[0])
    else:
        if len(in_shape) != 3:
            raise ValueError(f"from_nir: {name}: Conv2d needs a (C, H, W) input, got shape {in_shape}")
        shape3 = tuple(int(v) for v in in_shape)
        stride, dil = _pair(node.stride), _pair(node.dilation)
        pad = _conv_padding(node.padding, w.shape[2:], dil, name)
    groups = int(node.groups)
    f, cg = w.shape[:2]
    if cg * groups != shape3[0]:
        raise ValueError(f"from_nir: {name}: weight {w.shape} with groups={groups} needs {cg * groups} channels")
    full = np.zeros((f, shape3[0], *w.shape[2:]))
    per = f // groups
    for g in range(groups):  # a few groups at most: the kernel is built once, on the host
        full[g * per : (g + 1) * per, g * cg : (g + 1) * cg] = w[g * per : (g + 1) * per]
    conv = Conv2D(in_shape=shape3, filters=f, kernel=w.shape[2:], stride=stride, padding=pad, dilation=dil)
    out3 = conv.out_shape
    pre, post = conv.build(int(np.prod(shape3)), int(np.prod(out3)))
    wk = full.reshape(-1)[np.asarray(conv.kernel_index())]
    bias = None
    if getattr(node, "bias", None) is not None and np.size(node.bias):
        bias = np.repeat(np.asarray(node.bias, np.float64).reshape(-1), out3[1] * out3[2])
    out_shape = (out3[0], out3[2]) if one else out3
    return out_shape, conv, np.asarray(pre), np.asarray(post), wk, bias


def _import_pool(nir, name, node, in_shape, *, average: bool):
    if len(in_shape) != 3:
        raise ValueError(f"from_nir: {name}: pooling needs a (C, H, W) input, got shape {in_shape}")
    n_in = int(np.prod(in_shape))
    k, s, p = _pair(node.kernel_size), _pair(node.stride), _pair(node.padding)
    c = int(in_shape[0])
    kern = np.zeros((c, c, *k))
    kern[np.arange(c), np.arange(c)] = 1.0 / (k[0] * k[1]) if average else 1.0
    conv = Conv2D(in_shape=tuple(int(v) for v in in_shape), filters=c, kernel=k, stride=s, padding=p)
    pre, post = conv.build(n_in, int(np.prod(conv.out_shape)))
    wk = kern.reshape(-1)[np.asarray(conv.kernel_index())]
    return conv.out_shape, conv, np.asarray(pre), np.asarray(post), wk, None


# Pass-through nodes (and Output): fn(nir, name, node, in_shape) -> out_shape.
def _import_flatten(nir, name, node, in_shape):
    nd = len(in_shape)
    a, b = node.start_dim % nd, node.end_dim % nd
    return (*in_shape[:a], int(np.prod(in_shape[a : b + 1])), *in_shape[b + 1 :])


def _same_shape(nir, name, node, in_shape):
    return in_shape


def _above(x) -> np.ndarray:
    """``v_th`` such that snnjax's ``v >= v_th`` is NIR's ``v > x`` for every ``v`` XLA computes, in the default
    float dtype. snnjax fires when ``v - v_th >= 0``, and XLA on CPU flushes subnormal results (and operands) to
    zero: no ``v`` is subnormal, and a difference below ``tiny`` (the smallest normal float) is 0. With ``m``
    the smallest zero-or-normal float above ``x`` and ``p`` the largest below ``m``, ``v_th = max(m, p + tiny)``
    (rounded up, and never subnormal): where floats are ``tiny`` or more apart (``|x| >= 2**-103`` in float32) that
    is the next float above ``x``; near 0 it keeps ``v = p`` silent although ``p - v_th`` would flush to 0 (``x =
    0``: ``v_th = tiny``; the next float, 1e-45, is itself flushed to 0, and ``v = 0`` would fire). Where no float
    meets both ``m`` and ``p`` (the module docstring says which), ``m`` stays silent: late, never early."""
    dtype = np.dtype(jnp.result_type(float))
    x = np.asarray(x, dtype)
    tiny, inf = np.finfo(dtype).tiny, np.asarray(np.inf, dtype)

    def normal(y, up: bool):  # a subnormal y to the zero-or-normal float next to it, upwards or downwards
        sub = np.abs(y) < tiny
        toward = (y > 0) if up else (y < 0)  # away from 0 in this direction, else to 0
        return np.where(sub & toward, tiny if up else -tiny, np.where(sub, 0, y))

    m = normal(np.nextafter(x, inf), True).astype(dtype)
    p = normal(np.nextafter(m, -inf), False).astype(dtype)
    q = (p + tiny).astype(dtype)  # rounded up to a float >= p + tiny (q - p is exact: Sterbenz, or cancellation)
    q = np.where((q - p).astype(dtype) < tiny, np.nextafter(q, inf), q)
    return normal(np.maximum(m, q), True).astype(dtype)


def _below(x) -> np.ndarray:
    """NIR's ``v_threshold`` for ``v_th`` (the inverse of :func:`_above`): ``v_th - tiny`` near 0 (0 for
    ``v_th = tiny``), else the next float below."""
    dtype = np.dtype(jnp.result_type(float))
    x = np.asarray(x, dtype)
    near = (x.astype(np.float64) - float(np.finfo(dtype).tiny)).astype(dtype)
    down = np.nextafter(x, np.asarray(-np.inf, dtype))
    return np.where(_above(near) == x, near, down).astype(np.float64)


def _delay_steps(name: str, node: Any, ts: float, dt: float) -> int:
    """Whole steps of a NIR ``Delay`` node (uniform delays only)."""
    d = np.asarray(node.delay, np.float64)
    if d.size and not np.all(d == d.reshape(-1)[0]):
        raise ValueError(f"from_nir: Delay node {name!r} has unequal delays; only uniform delays map")
    return int(np.floor(float(d.reshape(-1)[0]) * ts / dt + 0.5)) if d.size else 0


def _carried_bias(nir, chain: list, nodes: dict, ops: dict, ts: float, dt: float) -> tuple[np.ndarray, int]:
    """The bias of the linear node ``chain[0]`` as it reaches the end of ``chain``: mapped by the linear nodes after
    it (their own biases are theirs) and ``(bias (n_out,), delay steps)`` of the Delay nodes after it."""
    b, steps = ops[chain[0]][5], 0
    for c in chain[1:]:
        if c in ops:
            out = np.zeros(int(np.prod(ops[c][0])))
            _, _, cp, cq, cw, _ = ops[c]
            np.add.at(out, cq, b[cp] * cw)
            b = out
        elif isinstance(nodes[c], nir.Delay):
            steps += _delay_steps(c, nodes[c], ts, dt)
    return b, steps


def _ident(name: str, taken: set) -> str:
    s = re.sub(r"\W", "_", name)
    if not s or s[0].isdigit() or keyword.iskeyword(s) or s == "ts":
        s = "n_" + s
    out, i = s, 1
    while out in taken:
        i += 1
        out = f"{s}_{i}"
    taken.add(out)
    return out


def from_nir(
    graph: Any,
    dt: float,
    *,
    time_scale: float = 1000.0,
    integration: str = "exact",
    synapse_input: str = "held",
) -> NIRNetwork:
    """A NIR graph as a snnjax network (the mapping and its traps are in the module docstring).

    Args:
      graph: a ``nir.NIRGraph``.
      dt: simulation step, ms, > 0 (the graph is discretised for it).
      time_scale: ms per NIR time unit (1000: the graph's times are in seconds, as snnTorch and Norse write them).
      integration: ``"exact"`` (default: each node's ODE solved exactly over a step with its input held, as the
        zoo) or ``"euler"`` (forward Euler, as snnTorch and Norse step their neurons).
      synapse_input: how an input step drives a CubaLIF/CubaLI current: ``"held"`` (default: the NIR ODE with the
        input held over the step) or ``"jump"`` (the current jumps by ``w_in`` times the input, Norse's LIFCell).

    Returns:
      A :class:`NIRNetwork` (``network``, ``inputs``, ``outputs``, ``latency``, ...).

    Raises:
      ValueError: a node type with no snnjax counterpart, an Output fed by a linear node, bad shapes, ``dt`` not
        below a time constant with ``integration="euler"``, or an unknown option.
    """
    nir = _nir()
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"from_nir: graph must be a nir.NIRGraph, got {type(graph).__name__}")
    dt = float(dt)
    if not dt > 0:
        raise ValueError(f"from_nir: dt must be > 0 (ms), got {dt!r}")
    if integration not in INTEGRATIONS:
        raise ValueError(f"from_nir: integration must be one of {INTEGRATIONS}, got {integration!r}")
    if synapse_input not in SYNAPSE_INPUTS:
        raise ValueError(f"from_nir: synapse_input must be one of {SYNAPSE_INPUTS}, got {synapse_input!r}")
    ts = float(time_scale)
    nodes, edges = _flatten_graph(nir, graph)
    table = _importers(nir)  # node type -> how it is imported: no chain of isinstance tests
    imps, kind = {}, {}
    for name, node in nodes.items():
        if node is _PASS:
            kind[name] = "pass"
            continue
        imps[name] = _importer(table, node)
        if imps[name] is None:
            raise ValueError(
                f"from_nir: node {name!r} is a {type(node).__name__}, which snnjax cannot import (supported: "
                "Input, Output, LIF, CubaLIF, IF, LI, CubaLI, I, Integrator, Threshold, Affine, Linear, Scale, "
                "Conv1d, Conv2d, SumPool2d, AvgPool2d, Flatten, Delay, nested graphs)"
            )
        kind[name] = imps[name].kind
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        succ[a].append(b)

    # shapes, propagated from the Input nodes (a node's own parameters fix its shape where they are not scalars)
    shapes: dict[str, tuple[int, ...]] = {}
    for name, node in nodes.items():
        if isinstance(node, nir.Input):
            shapes[name] = _shape_of(node.input_type["input"])
    ops: dict[str, tuple] = {}
    changed = True
    while changed:
        changed = False
        for a, b in edges:
            if a not in shapes or b in shapes:
                continue
            node, s = nodes[b], shapes[a]
            if kind[b] == "linear":
                ops[b] = imps[b].fn(nir, b, node, s)
                shapes[b] = tuple(ops[b][0])
            elif kind[b] == "pop":
                own = _param_shape(node)
                if own is not None and int(np.prod(own)) != int(np.prod(s)):
                    raise ValueError(f"from_nir: node {b!r} has parameters of shape {own}, but receives {s}")
                shapes[b] = own if own is not None and len(own) >= len(s) else s
            else:
                shapes[b] = imps[b].fn(nir, b, node, s) if node is not _PASS else s
            changed = True
    for name in nodes:
        if name not in shapes:
            raise ValueError(f"from_nir: node {name!r} is not reachable from an Input node (its shape is unknown)")

    # paths pop -> [linear/pass nodes] -> pop (or Output)
    paths, out_paths = [], []

    def walk(src, node, chain):
        for nxt in succ[node]:
            if kind[nxt] == "pop":
                paths.append((src, chain, nxt))
            elif kind[nxt] == "output":
                out_paths.append((src, chain, nxt))
            elif nxt in chain:
                raise ValueError(f"from_nir: node {nxt!r} is on a cycle without a neuron node")
            else:
                walk(src, nxt, [*chain, nxt])

    pop_names = [n for n in nodes if kind[n] == "pop"]
    for p in pop_names:
        walk(p, p, [])

    # depths (longest path in neuron nodes from an Input) over the forward edges; back edges found by DFS
    fwd = {p: [] for p in pop_names}
    back = set()
    state: dict[str, int] = {}

    def dfs(u):
        state[u] = 1
        for _, _, v in (q for q in paths if q[0] == u):
            if state.get(v) == 1:
                back.add((u, v))
            elif v not in state:
                dfs(v)
            if (u, v) not in back and v not in fwd[u]:
                fwd[u].append(v)
        state[u] = 2

    for p in pop_names:
        if isinstance(nodes[p], nir.Input) and p not in state:
            dfs(p)
    for p in pop_names:
        if p not in state:
            dfs(p)
    indeg = {p: 0 for p in pop_names}
    for u in pop_names:
        for v in fwd[u]:
            indeg[v] += 1
    depth = {p: 0 for p in pop_names}
    order = [p for p in pop_names if indeg[p] == 0]
    for u in order:
        for v in fwd[u]:
            depth[v] = max(depth[v], depth[u] + 1)
            indeg[v] -= 1
            if indeg[v] == 0:
                order.append(v)

    # populations
    taken: set = set()
    pname = {p: _ident(p, taken) for p in pop_names}
    bias_name = _ident("nir_bias", taken)
    pops, syn, scale = {}, {}, {}
    for p in pop_names:
        pops[pname[p]], syn[p], scale[p] = _population(
            nir, imps[p], p, nodes[p], shapes[p], dt, ts, integration, synapse_input
        )

    # projections
    projs, used_bias = {}, False
    biased: set = set()  # (chain from a biased linear node on, target): its bias is added once, whatever feeds it
    for u, chain, v in paths:
        n_pre = int(np.prod(shapes[u]))
        linear = [c for c in chain if kind[c] == "linear"]
        delay_steps = sum(_delay_steps(c, nodes[c], ts, dt) for c in chain if isinstance(nodes[c], nir.Delay))
        if len(linear) == 1:
            _, conn, pre, post, w, _ = ops[linear[0]]
        elif not linear:
            conn, pre, post, w = _conn.One2One(), np.arange(n_pre), np.arange(n_pre), np.ones(n_pre)
        else:  # several linear nodes in a row: one dense map
            m = np.eye(n_pre)
            for c in linear:
                _, _, cp, cq, cw, _ = ops[c]
                mc = np.zeros((m.shape[1], int(np.prod(ops[c][0]))))
                np.add.at(mc, (cp, cq), cw)
                m = m @ mc
            pre, post = np.nonzero(m)
            w, conn = m[pre, post], None
        n_post = int(np.prod(shapes[v]))
        if w.size and (post.max() >= n_post or pre.max() >= n_pre):
            raise ValueError(f"from_nir: the path {u!r} -> {v!r} does not fit the shapes {shapes[u]} -> {shapes[v]}")
        s = scale[v]
        w = w * s[post]
        nir_lag = delay_steps + (1 if (u, v) in back else 0)
        lag = nir_lag + depth[v] - depth[u]
        if lag < 1:
            warnings.warn(
                f"from_nir: the cycle through {u!r} -> {v!r} spans several neuron nodes; its back edge gets lag "
                f"{max(lag, 1 + delay_steps)} instead of {lag}, so the network's spikes differ from the graph's",
                stacklevel=2,
            )
            lag = 1 + delay_steps
        name = _ident(linear[0] if len(linear) == 1 else f"{u}_to_{v}", taken)
        dtype = jnp.result_type(float)
        if isinstance(conn, _conn.All2All):
            weight = jnp.asarray(w.reshape(n_pre, n_post), dtype)
        elif isinstance(conn, (_conn.One2One, Conv2D)):
            weight = jnp.asarray(w, dtype)
        else:
            conn, weight = (np.asarray(pre, np.int32), np.asarray(post, np.int32)), jnp.asarray(w, dtype)
        projs[name] = Projection(
            pname[u], pname[v], conn=conn, weight=weight, delay=lag * dt, synapse=syn[v], method="dense"
            if isinstance(conn, _conn.All2All) else "auto"
        )  # fmt: skip
        # each Affine/conv bias on the path, carried through the nodes after it and delayed by the Delays after it
        # (NIR sums a node's inputs, so a bias reached by several paths from the same node on counts once)
        for i, c in enumerate(chain):
            if kind[c] != "linear" or ops[c][5] is None or (tuple(chain[i:]), v) in biased:
                continue
            biased.add((tuple(chain[i:]), v))
            bias, bias_delay = _carried_bias(nir, chain[i:], nodes, ops, ts, dt)
            if not np.any(bias != 0):
                continue
            used_bias = True
            b = np.broadcast_to(bias, (n_post,)) * s
            projs[_ident(f"{name}_bias", taken)] = Projection(
                bias_name, pname[v], conn=_conn.All2All(), weight=jnp.asarray(b[None, :], dtype),
                delay=max(depth[v] + bias_delay, 1) * dt, synapse=syn[v], method="dense",
            )  # fmt: skip
    if used_bias:
        pops[bias_name] = Bias(1)

    outputs, latency = {}, {}
    output_delays = {}
    for u, chain, o in out_paths:
        if any(kind[c] == "linear" for c in chain):
            raise ValueError(f"from_nir: Output {o!r} is fed by a linear node; snnjax outputs are neuron states")
        field = imps[u].output
        outputs[o] = f"{pname[u]}.{field}"
        # Delay nodes before an Output shift the output: the graph's output is the population's, later
        output_delays[o] = sum(_delay_steps(c, nodes[c], ts, dt) for c in chain if isinstance(nodes[c], nir.Delay))
        latency[o] = depth[u] - output_delays[o]
    inputs = {p: pname[p] for p in pop_names if isinstance(nodes[p], nir.Input)}
    return NIRNetwork(
        network=Network(**pops, **projs),
        dt=dt,
        inputs=inputs,
        outputs=outputs,
        latency=latency,
        input_shapes={p: shapes[p] for p in inputs},
        output_delays=output_delays,
    )


def _param_shape(node) -> tuple[int, ...] | None:
    for f in ("tau", "tau_mem", "r", "v_threshold", "threshold"):
        x = getattr(node, f, None)
        if x is not None and np.size(x) > 1:
            return tuple(np.shape(x))
    return None


@dataclasses.dataclass(frozen=True)
class _Discretisation:
    """How one neuron node is imported: its name and shape, ``dt`` (ms), ``ts`` (ms per NIR time unit) and the
    options of :func:`from_nir`."""

    name: str
    shape: tuple[int, ...]
    dt: float
    ts: float
    integration: str
    synapse_input: str

    def arr(self, x) -> np.ndarray:
        n = int(np.prod(self.shape))
        a = np.asarray(x, np.float64)
        if a.size == n and a.shape != tuple(self.shape):
            a = a.reshape(self.shape)
        return np.broadcast_to(a, self.shape)

    def f(self, x) -> jax.Array:
        return jnp.asarray(self.arr(x), jnp.result_type(float))

    def tau(self, x, what: str) -> np.ndarray:
        """A NIR time constant in ms, for the integration asked for."""
        t = self.arr(x) * self.ts
        if not np.all(t > 0):
            raise ValueError(f"from_nir: node {self.name!r}: {what} must be > 0, got {np.min(t)}")
        if self.integration == "euler":
            if not np.all(t > self.dt):
                raise ValueError(f"from_nir: node {self.name!r}: integration='euler' needs {what} > dt = {self.dt} ms")
            t = -self.dt / np.log1p(-self.dt / t)
        return t

    def synaptic(self, node) -> tuple[Any, np.ndarray]:
        """A CubaLIF/CubaLI node's input: ``(Exponential kinetics, per-neuron input scale (n,))``."""
        tau_s = self.tau(node.tau_syn, "tau_syn")
        if self.synapse_input == "jump":
            gain = np.ones(int(np.prod(self.shape)))
        elif self.integration == "euler":
            gain = (self.dt / (self.arr(node.tau_syn) * self.ts)).ravel()
        else:
            gain = -np.expm1(-self.dt / tau_s).ravel()
        syn = _synapses.Exponential(tau=jnp.asarray(tau_s, jnp.result_type(float)))
        return syn, gain * self.arr(node.w_in).ravel()


# Neuron nodes: fn(node, d: _Discretisation) -> population.
def _import_input(node, d):
    return _inputs.SpikeArray(d.shape)


def _import_lif(node, d, *, tau: str):
    return _neurons.LIF(
        d.shape, v_rest=d.f(node.v_leak), v_reset=d.f(node.v_reset), v_th=jnp.asarray(_above(d.arr(node.v_threshold))),
        tau=jnp.asarray(d.tau(getattr(node, tau), "tau"), jnp.result_type(float)), tau_ref=0.0, r=d.f(node.r),
        reset_mode="value",
    )  # fmt: skip


def _import_li(node, d, *, tau: str):
    tau = jnp.asarray(d.tau(getattr(node, tau), "tau"), jnp.result_type(float))
    return _neurons.LI(d.shape, tau=tau, r=d.f(node.r), v_rest=d.f(node.v_leak))


def _import_if(node, d):  # NIR's IF starts at v = 0 (dv/dt = r I from 0), snnjax's at v_reset by default
    return _neurons.IF(d.shape, r=d.f(d.arr(node.r) / d.ts), v_th=jnp.asarray(_above(d.arr(node.v_threshold))),
                       v_reset=d.f(node.v_reset), v_init=0.0)  # fmt: skip


def _import_threshold(node, d):
    return _neurons.LIF(d.shape, v_rest=0.0, v_reset=0.0, v_th=jnp.asarray(_above(d.arr(node.threshold))),
                        tau=d.dt / 1000.0, tau_ref=0.0, r=1.0)  # fmt: skip


def _import_integrator(node, d):
    return _neurons.Integrator(d.shape, r=d.f(d.arr(node.r) / d.ts))


@dataclasses.dataclass(frozen=True)
class _Importer:
    """How one NIR node type is imported: ``kind`` ``"pop"`` (a population: ``fn(node, d)``), ``"linear"`` (weights
    of a projection) or ``"pass"`` / ``"output"`` (its output shape); ``output``: the field an Output after a
    population reads; ``synaptic``: a node with a synaptic current (CubaLIF, CubaLI)."""

    kind: str
    fn: Callable
    output: str = "spike"
    synaptic: bool = False


def _importers(nir) -> dict[type, _Importer]:
    """NIR node type -> its :class:`_Importer` (a node's importer is that of the first class of its MRO listed)."""
    p = functools.partial
    table = {
        "Input": _Importer("pop", _import_input),
        "LIF": _Importer("pop", p(_import_lif, tau="tau")),
        "CubaLIF": _Importer("pop", p(_import_lif, tau="tau_mem"), synaptic=True),
        "IF": _Importer("pop", _import_if),
        "LI": _Importer("pop", p(_import_li, tau="tau"), output="v"),
        "CubaLI": _Importer("pop", p(_import_li, tau="tau_mem"), output="v", synaptic=True),
        "I": _Importer("pop", _import_integrator, output="v"),
        "Integrator": _Importer("pop", _import_integrator, output="v"),
        "Threshold": _Importer("pop", _import_threshold),
        "Affine": _Importer("linear", p(_import_dense, bias=True)),
        "Linear": _Importer("linear", p(_import_dense, bias=False)),
        "Scale": _Importer("linear", _import_scale),
        "Conv1d": _Importer("linear", p(_import_conv, one=True)),
        "Conv2d": _Importer("linear", p(_import_conv, one=False)),
        "SumPool2d": _Importer("linear", p(_import_pool, average=False)),
        "AvgPool2d": _Importer("linear", p(_import_pool, average=True)),
        "Flatten": _Importer("pass", _import_flatten),
        "Delay": _Importer("pass", _same_shape),
        "Output": _Importer("output", _same_shape),
    }
    out = {getattr(nir, name): imp for name, imp in table.items() if hasattr(nir, name)}
    identity = getattr(getattr(getattr(nir, "ir", None), "graph", None), "Identity", None)
    if identity is not None:
        out[identity] = _Importer("pass", _same_shape)
    return out


def _importer(table: dict, node: Any) -> _Importer | None:
    return next((table[k] for k in type(node).__mro__ if k in table), None)


def _population(nir, imp: _Importer, name, node, shape, dt, ts, integration, synapse_input):
    """``(population, synapse of its incoming projections, per-neuron input scale (n,))``."""
    d = _Discretisation(name, tuple(int(v) for v in shape), dt, ts, integration, synapse_input)
    syn, scale = d.synaptic(node) if imp.synaptic else (_synapses.Delta(), np.ones(int(np.prod(shape))))
    return imp.fn(node, d), syn, scale


# -- export ---------------------------------------------------------------------------------------------------------
def _np(x) -> np.ndarray:
    return np.asarray(jax.device_get(x), np.float64)


def to_nir(
    net: Network | NIRNetwork,
    params: Any = None,
    dt: float | None = None,
    *,
    time_scale: float = 1000.0,
    outputs: dict[str, str] | None = None,
) -> Any:
    """A snnjax network as a ``nir.NIRGraph`` (mapping: module docstring; exact integration, held input).

    Args:
      net: a :class:`~snnjax.Network` or a :class:`NIRNetwork` (its ``dt`` and Output names are then the defaults).
      params: optional trained parameters: the ``params`` tree of ``snnjax.trainable(net)`` (``None`` leaves keep
        the network's values).
      dt: step, ms, the network is simulated with (it sets the input gain of CubaLIF weights and Delay lengths).
      time_scale: ms per NIR time unit (1000: the graph is written in seconds).
      outputs: NIR Output name -> ``'<pop>.spike'``/``'<pop>.v'``; default: a NIR Output ``'<pop>_output'`` for each
        population without outgoing projections.

    Raises:
      ValueError: for any component without a NIR node (named, with the reason).
    """
    nir = _nir()
    output_delays: dict[str, float] = {}  # Output name -> ms
    if isinstance(net, NIRNetwork):
        dt = net.dt if dt is None else dt
        outputs = dict(net.outputs) if outputs is None else outputs
        # an imported Delay before an Output is written back (whole steps of the dt it was imported for)
        output_delays = {
            k: d * net.dt for k, d in net.output_delays.items() if d and outputs.get(k) == net.outputs.get(k)
        }
        net = net.network
    if dt is None or not float(dt) > 0:
        raise ValueError(f"to_nir: dt (ms, > 0) is required, got {dt!r}")
    dt, ts = float(dt), float(time_scale)
    if params is not None:
        net = jax.tree.map(lambda p, x: x if p is None else p, params, net, is_leaf=lambda x: x is None)
    pops, projs = net.populations, net.projections
    incoming: dict[str, list] = {p: [] for p in pops}
    for name, proj in projs.items():
        _check_projection(name, proj, pops)
        incoming[proj.post].append(proj)
    nodes, edges, taus = {}, [], {}
    for name, pop in pops.items():
        kinds = {type(p.synapse).__name__ for p in incoming[name]}
        if len(kinds) > 1:
            raise ValueError(
                f"to_nir: population {name!r} receives projections with different kinetics {sorted(kinds)}; a NIR "
                "neuron node has one synaptic input"
            )
        tau_s = None
        if kinds == {"Exponential"}:
            all_tau = [np.broadcast_to(_np(p.synapse.tau), pop.shape) for p in incoming[name]]
            if any(not np.array_equal(t, all_tau[0]) for t in all_tau):
                raise ValueError(f"to_nir: projections into {name!r} have different Exponential tau; CubaLIF has one")
            tau_s = all_tau[0]
        taus[name] = tau_s
        node = _export_population(name, pop, tau_s, dt, ts)  # by the exporter registered for its class
        if node is not None:
            nodes[name] = node
    biases: dict[str, np.ndarray] = {}
    first: dict[str, str] = {}
    for name, proj in projs.items():
        if proj.deferred is not None:
            raise ValueError(
                f"to_nir: projection {name!r} is from a Network.deferred (synapse lists only per device); export "
                "the network built with snnjax.Network(...)"
            )
        pre_pop, post_pop = pops[proj.pre], pops[proj.post]
        n_pre, n_post = pre_pop.count, post_pop.count
        w = np.broadcast_to(_np(proj.synapse_weights()), (proj.topology.n_syn,))
        pre_i, post_i = np.asarray(proj.topology.pre_index()), np.asarray(proj.topology.post)
        gain = np.ones(n_post) if taus[proj.post] is None else -np.expm1(-dt / taus[proj.post].ravel())
        w = w / gain[post_i]
        if isinstance(pre_pop, Bias):
            b = np.zeros(n_post)
            np.add.at(b, post_i, w)
            biases[proj.post] = biases.get(proj.post, 0.0) + b
            continue
        lag = proj.lags(dt)
        if np.ndim(lag) or lag is None:
            raise ValueError(f"to_nir: projection {name!r} has per-synapse or traced delays; NIR Delay is per edge")
        src = proj.pre
        if lag > 1:
            nodes[f"{name}_delay"] = nir.Delay(delay=np.full(pre_pop.shape, (lag - 1) * dt / ts))
            edges.append((src, f"{name}_delay"))
            src = f"{name}_delay"
        if n_pre == n_post and w.size == n_pre and np.array_equal(pre_i, post_i) and np.allclose(w, 1, rtol=1e-6):
            edges.append((src, proj.post))  # a one-to-one edge of weight 1: no node
            continue
        kernel = _shared_kernel(proj, w)
        if kernel is not None:  # a convolution (sj.conn.Conv2D) whose weights are one shared kernel: a Conv2d node
            conv = proj.structure
            nodes[name] = nir.Conv2d(
                input_shape=tuple(int(v) for v in conv.in_shape[1:]), weight=kernel, stride=conv.stride,
                padding=conv.padding, dilation=conv.dilation, groups=1, bias=np.zeros(conv.filters),
            )  # fmt: skip
            edges += [(src, name), (name, proj.post)]
            first.setdefault(proj.post, name)
            continue
        if len(pre_pop.shape) > 1:
            nodes[f"{name}_flatten"] = nir.Flatten(input_type={"input": np.array(pre_pop.shape)}, start_dim=0)
            edges.append((src, f"{name}_flatten"))
            src = f"{name}_flatten"
        m = np.zeros((n_post, n_pre))
        np.add.at(m, (post_i, pre_i), w)
        nodes[name] = nir.Linear(weight=m)
        edges += [(src, name), (name, proj.post)]
        first.setdefault(proj.post, name)
    for post, b in biases.items():
        if post not in first:
            raise ValueError(f"to_nir: the Bias projection into {post!r} has no weight node to become an Affine bias")
        node = nodes[first[post]]
        if isinstance(node, nir.Conv2d):  # one bias per filter, the same at every position
            per_filter = b.reshape(node.weight.shape[0], -1)
            if not np.allclose(per_filter, per_filter[:, :1]):
                raise ValueError(f"to_nir: the bias into {post!r} varies with position; a Conv2d bias is per filter")
            nodes[first[post]] = nir.Conv2d(
                input_shape=node.input_shape, weight=node.weight, stride=node.stride, padding=node.padding,
                dilation=node.dilation, groups=node.groups, bias=per_filter[:, 0],
            )  # fmt: skip
            continue
        nodes[first[post]] = nir.Affine(weight=node.weight, bias=b)
    if outputs is None:
        has_out = {p.pre for p in projs.values()}
        outputs = {}
        for name, pop in pops.items():
            field = _exporter(name, pop).output  # the field its exporter names (None: sources)
            if name not in has_out and field is not None:
                outputs[f"{name}_output"] = f"{name}.{field}"
    for oname, path in outputs.items():
        pop = path.split(".")[0]
        if pop not in nodes:
            raise ValueError(f"to_nir: output {oname!r} -> {path!r} does not name an exported population")
        nodes[oname] = nir.Output(output_type={"output": np.array([pops[pop].count])})
        src = pop
        if output_delays.get(oname):
            src = f"{oname}_delay"
            while src in nodes:
                src += "_"
            nodes[src] = nir.Delay(delay=np.full(pops[pop].shape, output_delays[oname] / ts))
            edges.append((pop, src))
        edges.append((src, oname))
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def _shared_kernel(proj, w: np.ndarray) -> np.ndarray | None:
    """The ``(F, C, kH, kW)`` kernel of a projection built from :class:`snnjax.conn.Conv2D` whose per-synapse
    weights ``w`` (after the input gain) are that kernel expanded, else ``None`` (then a dense ``Linear``)."""
    conv = getattr(proj, "structure", None)
    if not isinstance(conv, Conv2D):
        return None
    taps = np.asarray(conv.kernel_index())
    kernel = np.zeros(conv.filters * conv.in_shape[0] * conv.kernel[0] * conv.kernel[1])
    kernel[taps] = w
    if not np.allclose(kernel[taps], w, rtol=1e-6, atol=0):  # trained per synapse: no longer one kernel
        return None
    return kernel.reshape(conv.filters, conv.in_shape[0], *conv.kernel)


def _check_projection(name, proj, pops):
    why = None
    if not isinstance(proj.output, _outputs.CUBA):
        why = f"its output {type(proj.output).__name__} is conductance-based; NIR nodes take currents only"
    elif proj.output.target != "input":
        why = f"it jumps the state field {proj.output.target!r}; NIR edges carry input currents only"
    elif proj.stp is not None:
        why = "it has short-term plasticity (STP), which NIR cannot express"
    elif proj.plasticity is not None:
        why = f"it has a plasticity rule ({type(proj.plasticity).__name__}), which NIR cannot express"
    elif not isinstance(proj.synapse, (_synapses.Delta, _synapses.Exponential)):
        why = f"its kinetics {type(proj.synapse).__name__} have no NIR node (Delta and Exponential only)"
    elif proj.delay_interp != "step":
        why = "its delays are continuous (delay_interp='linear'); NIR Delay is read in whole steps here"
    if why is not None:
        raise ValueError(f"to_nir: projection {name!r} ({proj.pre} -> {proj.post}) cannot be exported: {why}")


def _check_start(name, pop, default, nir_start, where):
    """NIR nodes have no initial state (LIF/LI start at ``v_leak``, IF/I at 0): refuse a population that starts
    elsewhere (its ``v_init``, or ``default`` when that is ``None``), as the graph would run from another state."""
    start = default if pop.v_init is None else pop.v_init
    try:
        same = np.array_equal(np.broadcast_to(_np(start), pop.shape), np.broadcast_to(_np(nir_start), pop.shape))
    except (TypeError, ValueError):  # an snnjax.init spec (random or not): not a NIR state either
        same = False
    if not same:
        got = f"v_init={pop.v_init!r}" if pop.v_init is not None else "v_init=None (v = v_reset)"
        raise ValueError(
            f"to_nir: population {name!r} ({type(pop).__name__}) has {got}; NIR nodes have no initial state and "
            f"start {where}, so its output would change"
        )


@dataclasses.dataclass(frozen=True)
class ExportContext:
    """What an exporter (:func:`register_exporter`) gets besides the population.

    Attributes:
      name: the population's name in the network.
      shape: the population's shape (its NIR node's parameters have this shape).
      dt: the step the network is simulated with, ms.
      time_scale: ms per NIR time unit (a time constant ``tau`` ms is written ``tau / time_scale``).
      tau_syn: the time constant, ms, of the ``Exponential`` kinetics of the projections into the population, as an
        array of its shape, or None (``Delta`` kinetics, or no projection into it). Only an exporter registered with
        ``synaptic=True`` sees a value here (it writes a node with a synaptic current, e.g. ``CubaLIF``).
    """

    name: str
    shape: tuple[int, ...]
    dt: float
    time_scale: float
    tau_syn: np.ndarray | None = None

    def array(self, x: Any) -> np.ndarray:
        """A parameter (scalar or per neuron) as a float64 numpy array of the population's shape."""
        return np.array(np.broadcast_to(_np(x), self.shape))


@dataclasses.dataclass(frozen=True)
class _Exporter:
    fn: Callable
    output: str | None
    synaptic: bool


_EXPORTERS: dict[type, _Exporter] = {}
OUTPUT_FIELDS = ("spike", "v", None)


def register_exporter(cls: type, fn: Callable | None = None, *, output: str | None = "spike", synaptic: bool = False):
    """Export the populations of class ``cls`` with ``fn(pop, ctx) -> nir node`` in :func:`to_nir`.

    The exporter of a population is that of the first class of its MRO with one, so a subclass is exported as its
    base unless it registers its own; registering a class again replaces its exporter. Usable as a decorator,
    ``@register_exporter(MyNeuron)``. The neuron models NIR has nodes for (``LIF``, ``LI``, ``IF``, ``Integrator``),
    ``SpikeArray`` (an ``Input``) and :class:`Bias` are registered by this module.

    Args:
      cls: the population class.
      fn: ``fn(pop, ctx)`` with ``ctx`` an :class:`ExportContext`: returns the population's NIR node (e.g.
        ``nir.LIF(tau=ctx.array(pop.tau) / ctx.time_scale, ...)``), or None for a source that has no node of its own
        (as :class:`Bias`, whose projections become the bias of an ``Affine``); raises a ``ValueError`` naming
        ``ctx.name`` for an instance NIR cannot express.
      output: the state field a default NIR ``Output`` reads (for a population without outgoing projections):
        ``"spike"``, ``"v"`` (non-spiking models), or None (no default output: inputs, sources).
      synaptic: whether ``fn`` writes the ``Exponential`` kinetics of the projections into the population
        (``ctx.tau_syn``) into its node; if False, such a population is refused.

    Returns:
      ``fn``, or the decorator when ``fn`` is None.
    """
    if not isinstance(cls, type):
        raise TypeError(f"register_exporter: cls must be a class, got {cls!r}")
    if output not in OUTPUT_FIELDS:
        raise ValueError(f"register_exporter: output must be one of {OUTPUT_FIELDS}, got {output!r}")
    if not isinstance(synaptic, bool):
        raise TypeError(f"register_exporter: synaptic must be True or False, got {synaptic!r}")

    def register(fn: Callable) -> Callable:
        if not callable(fn):
            raise TypeError(f"register_exporter: fn must be a callable fn(pop, ctx), got {fn!r}")
        _EXPORTERS[cls] = _Exporter(fn, output, synaptic)
        return fn

    return register if fn is None else register(fn)


def _exporter(name: str, pop: Any) -> _Exporter:
    for klass in type(pop).__mro__:
        if klass in _EXPORTERS:
            return _EXPORTERS[klass]
    cls = type(pop).__name__
    raise ValueError(
        f"to_nir: population {name!r} is a {cls}, which has no NIR node (NIR has LIF, CubaLIF, IF, LI, CubaLI, I, "
        "Threshold and Input; conductance, adaptation, exponential or Hodgkin-Huxley models do not map); for a class "
        f"of your own, register how to write it: snnjax.nir.register_exporter({cls}, fn) with fn(pop, ctx) -> a nir "
        "node (docs/nir.md)"
    )


def _export_population(name: str, pop: Any, tau_s: np.ndarray | None, dt: float, ts: float) -> Any:
    """The NIR node of population ``name`` (None: a source without a node), by its class's exporter."""
    exporter = _exporter(name, pop)
    ctx = ExportContext(name=name, shape=tuple(pop.shape), dt=dt, time_scale=ts, tau_syn=tau_s)
    node = exporter.fn(pop, ctx if exporter.synaptic else dataclasses.replace(ctx, tau_syn=None))
    if tau_s is not None and not exporter.synaptic:  # after fn: its own refusals come first
        raise ValueError(f"to_nir: population {name!r} ({type(pop).__name__}) cannot take Exponential synapses in NIR")
    return node


def _check_reset(pop: Any, ctx: ExportContext) -> None:
    if pop.reset_mode != "value":
        raise ValueError(f"to_nir: population {ctx.name!r} resets by subtraction; NIR neurons reset to v_reset")


@register_exporter(_inputs.SpikeArray, output=None)
def _export_spike_array(pop: Any, ctx: ExportContext) -> Any:
    return _nir().Input(input_type={"input": np.array(pop.shape)})


@register_exporter(Bias, output=None)
def _export_bias(pop: Bias, ctx: ExportContext) -> None:
    return None  # its projections become the bias of the Affine node of their target (to_nir)


@register_exporter(_neurons.LIF, synaptic=True)
def _export_lif(pop: Any, ctx: ExportContext) -> Any:
    nir = _nir()
    _check_reset(pop, ctx)
    _check_start(ctx.name, pop, pop.v_rest, pop.v_rest, "at rest (v = v_leak)")
    if np.any(_np(pop.tau_ref) > 0):
        raise ValueError(f"to_nir: population {ctx.name!r} has a refractory period (tau_ref); NIR LIF has none")
    tau, ts = ctx.array(pop.tau), ctx.time_scale
    thr = _below(ctx.array(pop.v_th))
    if (
        ctx.tau_syn is None
        and np.all(tau <= ctx.dt / 700)
        and np.all(ctx.array(pop.r) == 1)
        and not np.any(ctx.array(pop.v_rest))
        and not np.any(ctx.array(pop.v_reset))
    ):
        return nir.Threshold(threshold=thr)
    common = dict(r=ctx.array(pop.r), v_leak=ctx.array(pop.v_rest), v_threshold=thr, v_reset=ctx.array(pop.v_reset))
    if ctx.tau_syn is None:
        return nir.LIF(tau=tau / ts, **common)
    return nir.CubaLIF(tau_syn=ctx.array(ctx.tau_syn) / ts, tau_mem=tau / ts, w_in=np.ones(pop.shape), **common)


@register_exporter(_neurons.LI, output="v", synaptic=True)
def _export_li(pop: Any, ctx: ExportContext) -> Any:
    nir = _nir()
    _check_start(ctx.name, pop, pop.v_rest, pop.v_rest, "at rest (v = v_leak)")
    tau, r, v_leak, ts = ctx.array(pop.tau), ctx.array(pop.r), ctx.array(pop.v_rest), ctx.time_scale
    if ctx.tau_syn is None:
        return nir.LI(tau=tau / ts, r=r, v_leak=v_leak)
    return nir.CubaLI(tau_syn=ctx.array(ctx.tau_syn) / ts, tau_mem=tau / ts, r=r, v_leak=v_leak,
                      w_in=np.ones(pop.shape))  # fmt: skip


@register_exporter(_neurons.IF)
def _export_if(pop: Any, ctx: ExportContext) -> Any:
    _check_reset(pop, ctx)
    _check_start(ctx.name, pop, pop.v_reset, 0.0, "at v = 0")
    return _nir().IF(r=ctx.array(pop.r) * ctx.time_scale, v_threshold=_below(ctx.array(pop.v_th)),
                     v_reset=ctx.array(pop.v_reset))  # fmt: skip


@register_exporter(_neurons.Integrator, output="v")
def _export_integrator(pop: Any, ctx: ExportContext) -> Any:
    _check_start(ctx.name, pop, 0.0, 0.0, "at v = 0")
    return _nir().I(r=ctx.array(pop.r) * ctx.time_scale)


# -- files ----------------------------------------------------------------------------------------------------------
def save_nir(path: str, model: Any, dt: float | None = None, **kwargs: Any) -> Any:
    """Write ``model`` (a ``nir.NIRGraph``, a ``Network`` or a :class:`NIRNetwork`, exported by :func:`to_nir` with
    ``dt`` ms and ``kwargs``) to ``path`` with ``nir.write`` (HDF5). Returns the graph written."""
    nir = _nir()
    graph = model if isinstance(model, nir.NIRGraph) else to_nir(model, dt=dt, **kwargs)
    nir.write(path, graph)
    return graph


def load_nir(path: str, dt: float, **kwargs: Any) -> NIRNetwork:
    """Read a NIR file with ``nir.read`` and import it with :func:`from_nir` at step ``dt`` ms (``kwargs``:
    ``time_scale``, ``integration``, ``synapse_input``)."""
    return from_nir(_nir().read(path), dt, **kwargs)
