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

The class is defined in :mod:`snnjax.conn` with the other connectors (so that ``snnjax.conn`` exports it without
importing this module back); this module keeps the name.
"""

from snnjax.conn import Conv2D

__all__ = ["Conv2D"]
