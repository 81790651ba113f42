"""Convolutional connectivity as a Projection's ``conn``: the synapse list of a 2-D convolution.

``Conv2D(in_shape=(C, H, W), filters=F, kernel=(kH, kW), stride=, padding=, dilation=)`` connects input
neuron ``(c, y s0 + i d0 - p0, x s1 + j d1 - p1)`` to output neuron ``(f, y, x)`` for every kernel tap
``(f, c, i, j)`` that falls inside the input (zero padding: taps outside connect nothing), in C order on
both sides, as ``torch.nn.Conv2d`` and the Inferno view's :class:`snnjax.connections.Conv2D`. The weights
are shared: :meth:`Conv2D.expand` turns a kernel ``(F, C, kH, kW)`` into the per-synapse weights ``(K,)``
in the connector's order (differentiable: train the kernel, expand it inside the loss), e.g.::

    conv = sj.conn.Conv2D(in_shape=(1, 8, 8), filters=4, kernel=3, padding=1)  # = snnjax.convolution.Conv2D
    proj = sj.Projection("inp", "hid", conn=conv, weight=conv.expand(kernel))   # hid: LIF((4, 8, 8))

Each synapse is one kernel tap, so the event-driven propagators run a convolution of sparse spikes in
time proportional to spikes x fan-out; :class:`snnjax.connections.Conv2D` (``lax.conv``) is the dense view.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from snnjax.conn import Connector, _as_index, _check_int


def _pair(name, value, low):
    v = (value, value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else tuple(value)
    if len(v) != 2:
        raise ValueError(f"Conv2D: {name} must be an int or a pair of ints, got {value!r}")
    for x in v:
        _check_int("Conv2D", name, x, low)
    return tuple(int(x) for x in v)


@dataclasses.dataclass(frozen=True)
class Conv2D(Connector):
    """The synapse list of a 2-D convolution (see the module docstring).

    Args:
      in_shape: ``(C, H, W)`` of the presynaptic group (flattened in C order).
      filters: output channels ``F``; the postsynaptic group has ``(F, Ho, Wo)`` neurons,
        ``Ho = (H + 2 p0 - d0 (kH - 1) - 1) // s0 + 1`` (:attr:`out_shape`).
      kernel, stride, padding, dilation: ints or pairs.
    """

    in_shape: tuple = (1, 1, 1)
    filters: int = 1
    kernel: tuple | int = 1
    stride: tuple | int = 1
    padding: tuple | int = 0
    dilation: tuple | int = 1

    def __post_init__(self):
        shape = tuple(self.in_shape)
        if len(shape) != 3:
            raise ValueError(f"Conv2D: in_shape must be (C, H, W), got {self.in_shape!r}")
        for x in shape:
            _check_int("Conv2D", "in_shape", x, 1)
        _check_int("Conv2D", "filters", self.filters, 1)
        object.__setattr__(self, "in_shape", tuple(int(x) for x in shape))
        for name, low in (("kernel", 1), ("stride", 1), ("padding", 0), ("dilation", 1)):
            object.__setattr__(self, name, _pair(name, getattr(self, name), low))
        if min(self.out_shape) < 1:
            raise ValueError(f"Conv2D: kernel {self.kernel} does not fit the padded input {self.in_shape}")

    @property
    def out_shape(self) -> tuple[int, int, int]:
        """``(F, Ho, Wo)``."""
        _, h, w = self.in_shape
        (kh, kw), (s0, s1), (p0, p1), (d0, d1) = self.kernel, self.stride, self.padding, self.dilation
        return (self.filters, (h + 2 * p0 - d0 * (kh - 1) - 1) // s0 + 1, (w + 2 * p1 - d1 * (kw - 1) - 1) // s1 + 1)

    def _lists(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c, h, w = self.in_shape
        f, ho, wo = self.out_shape
        (kh, kw), (s0, s1), (p0, p1), (d0, d1) = self.kernel, self.stride, self.padding, self.dilation
        ff, cc, ii, jj, yy, xx = np.meshgrid(
            np.arange(f), np.arange(c), np.arange(kh), np.arange(kw), np.arange(ho), np.arange(wo), indexing="ij"
        )
        yin, xin = yy * s0 + ii * d0 - p0, xx * s1 + jj * d1 - p1
        inside = (yin >= 0) & (yin < h) & (xin >= 0) & (xin < w)
        pre = ((cc * h + yin) * w + xin)[inside]
        post = ((ff * ho + yy) * wo + xx)[inside]
        tap = (((ff * c + cc) * kh + ii) * kw + jj)[inside]
        order = np.lexsort((post, pre))
        return pre[order], post[order], tap[order]

    def build(self, n_pre: int, n_post: int) -> tuple[np.ndarray, np.ndarray]:
        want = (int(np.prod(self.in_shape)), int(np.prod(self.out_shape)))
        if (n_pre, n_post) != want:
            raise ValueError(
                f"Conv2D: in_shape {self.in_shape} -> out_shape {self.out_shape} needs groups of "
                f"{want[0]} -> {want[1]} neurons, got {n_pre} -> {n_post}"
            )
        pre, post, _ = self._lists()
        return _as_index(pre), _as_index(post)

    def kernel_index(self) -> np.ndarray:
        """For each synapse (the connector's order), its flat index into the kernel ``(F, C, kH, kW)``."""
        return _as_index(self._lists()[2])

    def expand(self, kernel) -> jnp.ndarray:
        """Per-synapse weights ``(K,)`` from a shared kernel ``(F, C, kH, kW)`` (differentiable in ``kernel``)."""
        want = (self.filters, self.in_shape[0], *self.kernel)
        if tuple(np.shape(kernel)) != want:
            raise ValueError(f"Conv2D.expand: kernel must have shape {want}, got {tuple(np.shape(kernel))}")
        return jnp.reshape(jnp.asarray(kernel), (-1,))[self.kernel_index()]
