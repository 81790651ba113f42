"""Connections with Inferno's shape contract: a synapse group, weights, optional biases and delays.

A connection owns a synapse (:class:`snnjax.synapses.inferno.SingleExponentialCurrent` or anything with
its ``init``/``update``/``current_at``/``spike_at``) shaped for its inputs, and maps the synaptic
currents to postsynaptic currents. Everything is pure: the state is the synapse's state.

Shapes (``B`` is the batch size, ``I``/``O`` the flattened input/output sizes, ``L`` a connection-dependent
receptive dimension):

================  ==================  ==================  ===================  =========================
\\                 ``LinearDense``      ``LinearDirect``     ``Conv2D``
================  ==================  ==================  ===================  =========================
input             ``B x *inshape``     ``B x *inshape``     ``B x C x H x W``
synaptic          ``B x I``            ``B x I``            ``B x C x H x W``
syncurrent        ``B x I [x O]``      ``B x I``            ``B x C x H x W``
weight            ``O x I``            ``I``                ``F x C x kH x kW``
presyn_receptive  ``B x (1|O) x I x 1``  ``B x I x 1``      ``B x 1 x C x kH x kW x L``
postsyn_receptive ``B x O x 1 x 1``    ``B x I x 1``        ``B x F x 1 x 1 x 1 x L``
output            ``B x *outshape``    ``B x *outshape``    ``B x F x Ho x Wo``
================  ==================  ==================  ===================  =========================

(``[x O]``: only with delays, one delayed read per connection.) ``presyn_receptive(pre) *
postsyn_receptive(post)`` broadcasts to ``B x *weight.shape x L``, so a pre-post rule such as STDP,
``dw = (post_receptive * pre_receptive).sum(-1).mean(0)``, is written once for all three.

Every data argument carries exactly one leading batch dimension ``B`` (Inferno's convention; ``init()``
gives the synapse state with ``B = batchsz``). The synapse's ``init``/``update(state, spikes)`` contract
is Inferno's (its step is fixed by ``step_time``), not that of the post-aligned kinetics used by
:class:`snnjax.Projection`.

The view is an adapter over the network engine: the synapse record is a ring buffer of
:func:`snnjax.delays.ring_write` / :func:`~snnjax.delays.ring_read` (as :class:`snnjax.DelayBuffer`), the
dense products are :func:`snnjax.ops.dense` (the ``dense`` propagator's kernel), the bounds of the local
rules are those of the projection rules, and every connection converts to a :class:`snnjax.Projection`
with :meth:`to_projection` (weights ``(O, I)`` -> one synapse per entry in row-major order, ``K = O I``;
``delay`` -> the projection's per-synapse delays plus one step; see ``docs/engine.md``, "The Inferno view"),
so a connection built here runs inside a :class:`snnjax.Network` with ``Runner``, checkpoints, sweeps and
projection plasticity.

One meaning of ``delay`` everywhere: the delay of a synapse, in ms. ``create(delay=D)`` is Inferno's
spelling of the largest delay the record holds (the projection's ``max_delay``); the connection's
``delay`` field holds the per-synapse delays (``delay_init`` at creation).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from snnjax import _checks, ops
from snnjax.convolution import Conv2D as Conv2DConnector
from snnjax.outputs import CUBA
from snnjax.projection import Projection
from snnjax.synapses import Exponential
from snnjax.synapses.inferno import SingleExponentialCurrent, SingleExponentialCurrentState


def _shape(owner: str, name: str, value: Any) -> tuple[int, ...]:
    try:
        return _checks.normalize_shape(owner, value)
    except ValueError:
        raise ValueError(f"{owner}: {name} must be a positive int or a tuple of positive ints, got {value!r}") from None


def _check_array(owner: str, name: str, value: Any, shape: tuple[int, ...], *, allow_scalar: bool = False) -> None:
    if not hasattr(value, "shape"):  # None, or an int leaf of a vmap axis tree / jax.tree.map: nothing to check
        return
    if tuple(value.shape) != shape and not (allow_scalar and tuple(value.shape) == ()):
        raise ValueError(f"{owner}: {name} must have shape {shape}, got shape {tuple(value.shape)}")


def _check_data(owner: str, name: str, data: jax.Array, tail: tuple[int, ...]) -> None:
    if data.ndim != len(tail) + 1 or tuple(data.shape[1:]) != tail:
        raise ValueError(f"{owner}: {name} must have shape (B, {', '.join(map(str, tail))}), got {tuple(data.shape)}")


def _delays(owner: str, delay: Any, delay_init: Any, shape: tuple[int, ...]) -> jax.Array | None:
    if delay is None:
        return None
    _checks.check_real(owner, "delay", float(delay), nonnegative=True)
    init = jnp.broadcast_to(jnp.asarray(delay_init, jnp.result_type(float)), shape)
    if init.size and not (bool(jnp.all(init >= 0)) and bool(jnp.all(init <= delay))):
        raise ValueError(
            f"{owner}: delay_init must lie in [0, delay={delay}] ms, got values in [{float(init.min()):g}, "
            f"{float(init.max()):g}]"
        )
    return init


def _weights(key, weight, shape):
    if weight is not None:
        return jnp.asarray(weight, jnp.result_type(float))
    if key is None:
        raise ValueError("create: pass weight=... or key=jax.random.key(...) for the default uniform [0, 1) weights")
    return jax.random.uniform(key, shape, jnp.result_type(float))


class _Connection:
    """Methods shared by every connection (Inferno's ``Connection``); subclasses are flax.struct dataclasses."""

    @property
    def batchsz(self) -> int:
        """Batch size (the synapse's ``batch_size``)."""
        return self.synapse.batchsz

    @property
    def batched_inshape(self) -> tuple[int, ...]:
        """``(batchsz, *inshape)``."""
        return (self.batchsz, *self.inshape)

    @property
    def batched_outshape(self) -> tuple[int, ...]:
        """``(batchsz, *outshape)``."""
        return (self.batchsz, *self.outshape)

    @property
    def insize(self) -> int:
        """Number of inputs (without batch)."""
        return math.prod(self.inshape)

    @property
    def outsize(self) -> int:
        """Number of outputs (without batch)."""
        return math.prod(self.outshape)

    @property
    def biased(self) -> bool:
        """Whether the connection has biases."""
        return self.bias is not None

    @property
    def delayedby(self) -> float | None:
        """Largest valid delay, ms (the synapse's ``delay``), or None without delays."""
        return None if self.delay is None else float(self.synapse.delay)

    def _validate(self) -> None:
        """Complete checks on concrete values: the synapse's, and delays >= 0 ms."""
        self.synapse._validate()
        _checks.check_real(type(self).__name__, "delay", self.delay, nonnegative=True)

    def init(self, batch_shape: tuple[int, ...] | None = None, key: jax.Array | None = None):
        """Resting synapse state (Inferno's ``clear``); ``batch_shape=None`` means ``(batchsz,)``."""
        self._validate()
        return self.synapse.init(batch_shape, key)

    def syncurrent(self, state: SingleExponentialCurrentState) -> jax.Array:
        """Synaptic currents, nA, at the connection's delays (the present ones without delays)."""
        return state.current if self.delay is None else self.synapse.current_at(state, self.selector)

    def synspike(self, state: SingleExponentialCurrentState) -> jax.Array:
        """Synaptic spikes (bool) at the connection's delays (the present ones without delays)."""
        return state.spike if self.delay is None else self.synapse.spike_at(state, self.selector)

    def to_projection(self, pre: str, post: str, *, output: Any = None, method: Any = "auto",
                      plasticity: Any = None, max_events: int | None = None) -> Any:  # fmt: skip
        """This connection as a :class:`snnjax.Projection` from population ``pre`` to ``post`` of a Network.

        The synapse :class:`~snnjax.synapses.inferno.SingleExponentialCurrent` (charge ``Q``, time constant
        ``tau``) becomes the post-aligned :class:`snnjax.synapses.Exponential` with ``tau`` and per-synapse
        weights ``w Q / tau`` (its current jumps by ``Q / tau`` nA per spike), which sums the same currents:
        ``sum_i w_oi I_i`` is linear in the per-input currents and they share ``tau``.

        Timing: the view applies a connection's output in the step of the presynaptic spike (delay 0 ms is the
        same step); in a Network a projection acts at least one step later. The projection's delays are the
        connection's plus ``step_time`` (lag ``d / dt + 1``), so the network's postsynaptic input at step
        ``n`` is the connection's output at step ``n - 1``. Delays between steps are read exactly by the
        view's exponential interpolation but rounded to whole steps by the engine
        (:func:`snnjax.delays.lag_steps`); a synapse with ``current_interp_mode="linear"`` becomes
        ``delay_interp="linear"`` (learnable delays; the engine interpolates the spikes, the view the
        currents, which differ by at most ``dt / tau`` of a jump between steps).

        Args:
          pre, post: names of the presynaptic and postsynaptic populations (``inshape`` and ``outshape``
            neurons).
          output: the projection's output, default :class:`snnjax.outputs.CUBA` (a current, nA).
          method, plasticity, max_events: as :class:`snnjax.Projection`.

        Raises:
          ValueError: a synapse other than ``SingleExponentialCurrent``, a time constant that differs between
            inputs, or a nonzero bias (a projection has none: give the bias as a constant input ``(post +
            ".input", bias)``).
        """
        owner = f"{type(self).__name__}.to_projection"
        syn = self.synapse
        if not isinstance(syn, SingleExponentialCurrent):
            raise ValueError(f"{owner}: synapse must be a SingleExponentialCurrent, got {type(syn).__name__}")
        tau = np.asarray(syn.time_constant, np.float64)
        if tau.size > 1 and not np.all(tau == tau.flat[0]):
            raise ValueError(
                f"{owner}: the synapse's time_constant differs between inputs; a projection's Exponential "
                "kinetics are per postsynaptic neuron, so time_constant must be one value (ms)"
            )
        if self.bias is not None and not isinstance(self.bias, jax.core.Tracer) and np.any(np.asarray(self.bias)):
            raise ValueError(
                f"{owner}: bias is nonzero, and a Projection has no bias; give it as a constant input "
                f'("{post}.input", bias) and build the connection with bias=False'
            )
        conn, pre_idx, weight, delay = self._synapse_list()
        charge = jnp.asarray(syn.spike_charge, jnp.result_type(float)) / float(tau.flat[0])
        scale = charge.reshape(-1)[pre_idx] if charge.ndim else charge
        step = float(syn.step_time)
        linear = syn.current_interp_mode == "linear" and delay is not None
        return Projection(
            pre, post, conn=conn, weight=weight * scale, synapse=Exponential(tau=float(tau.flat[0])),
            output=CUBA() if output is None else output, method=method, plasticity=plasticity,
            max_events=max_events, delay=0.0 if delay is None else delay + step,
            max_delay=syn.delay + step if linear else None, delay_interp="linear" if linear else "step",
        )  # fmt: skip

    def update(self, state: SingleExponentialCurrentState, inputs: jax.Array):
        """One step: ``inputs`` (spikes, ``B x *inshape``) into the synapse, then the weighted output.

        Returns:
          ``(new_state, output)``, output shape ``B x *outshape`` (nA, in the weights' scale).
        """
        state = self.synapse.update(state, self.like_synaptic(inputs))
        return state, self(self.syncurrent(state))


@struct.dataclass
class LinearDense(_Connection):
    """All-to-all connection: ``out[b, o] = sum_i weight[o, i] I_i(t - delay[o, i]) + bias[o]``.

    Build it with :meth:`create`. Fields: ``in_shape``/``out_shape`` (static), ``synapse`` of shape
    ``(I,)``, ``weight`` ``(O, I)``, ``bias`` ``(O,)`` or None, ``delay`` ``(O, I)`` ms or None.
    """

    in_shape: tuple[int, ...] = struct.field(pytree_node=False)
    out_shape: tuple[int, ...] = struct.field(pytree_node=False)
    synapse: Any
    weight: jax.Array
    bias: jax.Array | None = None
    delay: jax.Array | None = None

    def __post_init__(self):
        o, i = self.outsize, self.insize
        if tuple(self.synapse.shape) != (i,):
            raise ValueError(f"LinearDense: synapse must have shape ({i},), got {tuple(self.synapse.shape)}")
        _check_array("LinearDense", "weight", self.weight, (o, i))
        _check_array("LinearDense", "bias", self.bias, (o,))
        _check_array("LinearDense", "delay", self.delay, (o, i))
        _checks.check_real("LinearDense", "delay", self.delay, nonnegative=True, strict=False)

    @classmethod
    def create(cls, in_shape, out_shape, step_time, *, synapse, key=None, weight=None, bias=False,
               delay=None, delay_init=0.0, batch_size=1) -> LinearDense:  # fmt: skip
        """Inferno-style constructor.

        Args:
          in_shape, out_shape: shapes of the input and output groups (ints or tuples).
          step_time: simulation step, ms.
          synapse: a synapse constructor ``f(shape, step_time, delay, batch_size)``, e.g.
            ``SingleExponentialCurrent.partialconstructor(spike_charge=1., time_constant=5.)``.
          key: PRNG key for the default weights (uniform in [0, 1)) when ``weight`` is None.
          weight: initial weights ``(O, I)``.
          bias: False (none), True (zeros) or an array ``(O,)``.
          delay: maximum learnable delay, ms, or None for no delays.
          delay_init: initial delays, ms, in ``[0, delay]``, scalar or ``(O, I)`` (only with ``delay``). A
            delay later moved (e.g. learned) beyond ``[0, delay]`` reads the synapse's overbound values.
          batch_size: batch size.
        """
        ins, outs = _shape("LinearDense", "in_shape", in_shape), _shape("LinearDense", "out_shape", out_shape)
        i, o = math.prod(ins), math.prod(outs)
        syn = synapse((i,), step_time, 0.0 if delay is None else delay, batch_size)
        d = _delays("LinearDense", delay, delay_init, (o, i))
        b = jnp.zeros((o,)) if bias is True else (None if bias is False else jnp.asarray(bias))
        return cls(ins, outs, syn, _weights(key, weight, (o, i)), b, d)

    @property
    def inshape(self) -> tuple[int, ...]:
        """Shape of the inputs, without batch."""
        return tuple(self.in_shape)

    @property
    def outshape(self) -> tuple[int, ...]:
        """Shape of the outputs, without batch."""
        return tuple(self.out_shape)

    @property
    def selector(self) -> jax.Array | None:
        """Delays as a synapse selector, ``(I, O)`` ms, or None."""
        return None if self.delay is None else self.delay.T

    def _synapse_list(self):
        """``(conn, pre_index, weight (K,), delay (K,) or None)``, one synapse per weight, ``K = O I`` row-major."""
        o, i = np.meshgrid(np.arange(self.outsize), np.arange(self.insize), indexing="ij")
        pre, post = i.reshape(-1), o.reshape(-1)
        delay = None if self.delay is None else self.delay.reshape(-1)
        return (pre, post), pre, self.weight.reshape(-1), delay

    def like_synaptic(self, data: jax.Array) -> jax.Array:
        """``B x *inshape`` -> ``B x I``."""
        _check_data("LinearDense.like_synaptic", "data", data, self.inshape)
        return data.reshape(data.shape[0], self.insize)

    def like_input(self, data: jax.Array) -> jax.Array:
        """``B x I`` -> ``B x *inshape``."""
        _check_data("LinearDense.like_input", "data", data, (self.insize,))
        return data.reshape(data.shape[0], *self.inshape)

    def like_bias(self, data: jax.Array) -> jax.Array:
        """``O x 1 x 1`` (a reduced postsyn_receptive) -> ``O`` like ``bias``."""
        return data.reshape(self.outsize)

    def presyn_receptive(self, data: jax.Array) -> jax.Array:
        """``B x I`` (or ``B x I x O`` with delays) -> ``B x 1 x I x 1`` (``B x O x I x 1``)."""
        if data.ndim == 3:
            _check_data("LinearDense.presyn_receptive", "data", data, (self.insize, self.outsize))
            return jnp.swapaxes(data, 1, 2)[..., None]
        _check_data("LinearDense.presyn_receptive", "data", data, (self.insize,))
        return data[:, None, :, None]

    def postsyn_receptive(self, data: jax.Array) -> jax.Array:
        """``B x *outshape`` -> ``B x O x 1 x 1``."""
        _check_data("LinearDense.postsyn_receptive", "data", data, self.outshape)
        return data.reshape(data.shape[0], self.outsize, 1, 1)

    def __call__(self, data: jax.Array) -> jax.Array:
        """Synaptic currents ``B x I`` (``B x I x O`` with delays) -> output ``B x *outshape``."""
        if data.ndim == 3:
            _check_data("LinearDense", "data", data, (self.insize, self.outsize))
            out = jnp.einsum("bio,oi->bo", data, self.weight)
        else:
            _check_data("LinearDense", "data", data, (self.insize,))
            out = ops.dense(data, self.weight.T)
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(data.shape[0], *self.outshape)


@struct.dataclass
class LinearDirect(_Connection):
    """One-to-one connection: ``out[b, n] = weight[n] I_n(t - delay[n]) + bias[n]``.

    Build it with :meth:`create`. ``inshape == outshape``; ``synapse`` ``(N,)``, ``weight``, ``bias`` and
    ``delay`` (ms) ``(N,)`` with ``N`` the flattened size.
    """

    in_shape: tuple[int, ...] = struct.field(pytree_node=False)
    synapse: Any
    weight: jax.Array
    bias: jax.Array | None = None
    delay: jax.Array | None = None

    def __post_init__(self):
        n = self.insize
        if tuple(self.synapse.shape) != (n,):
            raise ValueError(f"LinearDirect: synapse must have shape ({n},), got {tuple(self.synapse.shape)}")
        for name in ("weight", "bias", "delay"):
            _check_array("LinearDirect", name, getattr(self, name), (n,))
        _checks.check_real("LinearDirect", "delay", self.delay, nonnegative=True, strict=False)

    @classmethod
    def create(cls, shape, step_time, *, synapse, key=None, weight=None, bias=False, delay=None,
               delay_init=0.0, batch_size=1) -> LinearDirect:  # fmt: skip
        """Inferno-style constructor; arguments as :meth:`LinearDense.create` with every array ``(N,)``."""
        s = _shape("LinearDirect", "shape", shape)
        n = math.prod(s)
        syn = synapse((n,), step_time, 0.0 if delay is None else delay, batch_size)
        d = _delays("LinearDirect", delay, delay_init, (n,))
        b = jnp.zeros((n,)) if bias is True else (None if bias is False else jnp.asarray(bias))
        return cls(s, syn, _weights(key, weight, (n,)), b, d)

    @property
    def inshape(self) -> tuple[int, ...]:
        """Shape of the inputs, without batch."""
        return tuple(self.in_shape)

    @property
    def outshape(self) -> tuple[int, ...]:
        """Shape of the outputs (equal to ``inshape``)."""
        return tuple(self.in_shape)

    @property
    def selector(self) -> jax.Array | None:
        """Delays as a synapse selector, ``(N,)`` ms, or None."""
        return self.delay

    def _synapse_list(self):
        """``(conn, pre_index, weight (N,), delay (N,) or None)``: synapse ``n`` from input ``n`` to output ``n``."""
        n = np.arange(self.insize)
        return (n, n), n, self.weight, self.delay

    def like_synaptic(self, data: jax.Array) -> jax.Array:
        """``B x *inshape`` -> ``B x N``."""
        _check_data("LinearDirect.like_synaptic", "data", data, self.inshape)
        return data.reshape(data.shape[0], self.insize)

    def like_input(self, data: jax.Array) -> jax.Array:
        """``B x N`` -> ``B x *inshape``."""
        _check_data("LinearDirect.like_input", "data", data, (self.insize,))
        return data.reshape(data.shape[0], *self.inshape)

    def like_bias(self, data: jax.Array) -> jax.Array:
        """``N x 1`` or ``N`` -> ``N`` like ``bias``."""
        return data.reshape(self.insize)

    def presyn_receptive(self, data: jax.Array) -> jax.Array:
        """``B x N`` -> ``B x N x 1``."""
        _check_data("LinearDirect.presyn_receptive", "data", data, (self.insize,))
        return data[..., None]

    def postsyn_receptive(self, data: jax.Array) -> jax.Array:
        """``B x *outshape`` -> ``B x N x 1``."""
        _check_data("LinearDirect.postsyn_receptive", "data", data, self.outshape)
        return data.reshape(data.shape[0], self.insize, 1)

    def __call__(self, data: jax.Array) -> jax.Array:
        """Synaptic currents ``B x N`` -> output ``B x *outshape``."""
        _check_data("LinearDirect", "data", data, (self.insize,))
        out = data * self.weight
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(data.shape[0], *self.outshape)


def _pair(owner: str, name: str, value: Any, minimum: int) -> tuple[int, int]:
    v = (value, value) if isinstance(value, int) else tuple(value)
    if len(v) != 2 or not all(isinstance(x, int) and not isinstance(x, bool) and x >= minimum for x in v):
        raise ValueError(f"{owner}: {name} must be an int >= {minimum} or a pair of them, got {value!r}")
    return v


@struct.dataclass
class Conv2D(_Connection):
    """2-D convolution (cross-correlation, as ``torch.nn.Conv2d``) of the synaptic currents.

    ``out[b, f, y, x] = sum_{c, i, j} weight[f, c, i, j] I[b, c, y s0 + i d0 - p0, x s1 + j d1 - p1] + bias[f]``
    (zero outside the input), via ``jax.lax.conv_general_dilated``. Build it with :meth:`create`.
    ``inshape = (C, H, W)``, ``outshape = (F, Ho, Wo)``, ``Ho = (H + 2 p0 - d0 (kH - 1) - 1) // s0 + 1``.
    Delays are not supported (``delay`` is always None).
    """

    in_shape: tuple[int, int, int] = struct.field(pytree_node=False)
    filters: int = struct.field(pytree_node=False)
    kernel: tuple[int, int] = struct.field(pytree_node=False)
    stride: tuple[int, int] = struct.field(pytree_node=False)
    padding: tuple[int, int] = struct.field(pytree_node=False)
    dilation: tuple[int, int] = struct.field(pytree_node=False)
    synapse: Any
    weight: jax.Array
    bias: jax.Array | None = None
    delay: None = struct.field(pytree_node=False, default=None)

    def __post_init__(self):
        if tuple(self.synapse.shape) != tuple(self.in_shape):
            raise ValueError(f"Conv2D: synapse must have shape {tuple(self.in_shape)}, got {tuple(self.synapse.shape)}")
        if self.delay is not None:
            raise ValueError(f"Conv2D: delay is not supported, must be None, got {self.delay!r}")
        if min(self.outshape) < 1:
            raise ValueError(f"Conv2D: kernel {self.kernel} does not fit the padded input {self.in_shape}")
        _check_array("Conv2D", "weight", self.weight, (self.filters, self.in_shape[0], *self.kernel))
        _check_array("Conv2D", "bias", self.bias, (self.filters,))

    @classmethod
    def create(cls, height, width, channels, filters, step_time, *, kernel, synapse, stride=1, padding=0,
               dilation=1, key=None, weight=None, bias=False, delay=None, batch_size=1) -> Conv2D:  # fmt: skip
        """Inferno-style constructor (Inferno's ``Conv2D(height, width, channels, filters, step_time, ...)``).

        Args:
          height, width, channels: input shape ``(channels, height, width)``.
          filters: number of output channels ``F``.
          step_time: simulation step, ms.
          kernel, stride, padding, dilation: ints or pairs (padding is zeros on both sides).
          synapse: a synapse constructor ``f(shape, step_time, delay, batch_size)``.
          key, weight, bias, batch_size: as :meth:`LinearDense.create`; weight ``(F, C, kH, kW)``.
          delay: must be None (delays are not implemented for convolutions).
        """
        owner = "Conv2D"
        if delay is not None:
            raise ValueError(f"Conv2D: delay is not supported, must be None, got {delay!r}")
        ins = _shape(owner, "(channels, height, width)", (channels, height, width))
        f = _shape(owner, "filters", filters)[0]
        k = _pair(owner, "kernel", kernel, 1)
        syn = synapse(ins, step_time, 0.0, batch_size)
        b = jnp.zeros((f,)) if bias is True else (None if bias is False else jnp.asarray(bias))
        w = _weights(key, weight, (f, ins[0], *k))
        return cls(ins, f, k, _pair(owner, "stride", stride, 1), _pair(owner, "padding", padding, 0),
                   _pair(owner, "dilation", dilation, 1), syn, w, b)  # fmt: skip

    @property
    def inshape(self) -> tuple[int, ...]:
        """``(C, H, W)``."""
        return tuple(self.in_shape)

    @property
    def outshape(self) -> tuple[int, ...]:
        """``(F, Ho, Wo)``."""
        _, h, w = self.in_shape
        size = [
            (n + 2 * p - d * (k - 1) - 1) // s + 1
            for n, p, d, k, s in zip((h, w), self.padding, self.dilation, self.kernel, self.stride)
        ]
        return (self.filters, *size)

    @property
    def selector(self) -> None:
        """No delays: None."""
        return None

    def _conv_args(self):
        return dict(
            window_strides=self.stride,
            padding=[(p, p) for p in self.padding],
            rhs_dilation=self.dilation,
            dimension_numbers=("NCHW", "OIHW", "NCHW"),
        )

    def _synapse_list(self):
        """``(conn, pre_index, weight (K,), None)``: the convolution's synapse list (:class:`snnjax.conn.Conv2D`)."""
        conn = Conv2DConnector(self.in_shape, self.filters, self.kernel, self.stride, self.padding, self.dilation)
        pre, _ = conn.build(self.insize, self.outsize)
        return conn, pre, conn.expand(self.weight), None

    def like_synaptic(self, data: jax.Array) -> jax.Array:
        """``B x C x H x W`` -> the same (the synapse is shaped like the input)."""
        _check_data("Conv2D.like_synaptic", "data", data, self.inshape)
        return data

    def like_input(self, data: jax.Array) -> jax.Array:
        """``B x C x H x W`` -> the same."""
        _check_data("Conv2D.like_input", "data", data, self.inshape)
        return data

    def like_bias(self, data: jax.Array) -> jax.Array:
        """``F x 1 x 1 x 1`` (a reduced postsyn_receptive) -> ``F`` like ``bias``."""
        return data.reshape(self.filters)

    def presyn_receptive(self, data: jax.Array) -> jax.Array:
        """``B x C x H x W`` -> ``B x 1 x C x kH x kW x L`` (input patches, ``L = Ho Wo``, zero padding)."""
        _check_data("Conv2D.presyn_receptive", "data", data, self.inshape)
        patches = jax.lax.conv_general_dilated_patches(data, self.kernel, **self._conv_args())
        return patches.reshape(data.shape[0], 1, self.in_shape[0], *self.kernel, -1)

    def postsyn_receptive(self, data: jax.Array) -> jax.Array:
        """``B x F x Ho x Wo`` -> ``B x F x 1 x 1 x 1 x L``."""
        _check_data("Conv2D.postsyn_receptive", "data", data, self.outshape)
        return data.reshape(data.shape[0], self.filters, 1, 1, 1, -1)

    def __call__(self, data: jax.Array) -> jax.Array:
        """Synaptic currents ``B x C x H x W`` -> output ``B x F x Ho x Wo``."""
        _check_data("Conv2D", "data", data, self.inshape)
        out = jax.lax.conv_general_dilated(data, self.weight.astype(data.dtype), **self._conv_args())
        if self.bias is not None:
            out = out + self.bias[:, None, None]
        return out
