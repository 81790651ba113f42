"""A convolutional connector as a Projection's conn equals lax.conv (the Inferno view's Conv2D)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj
from snnjax.convolution import Conv2D


@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, 1, 1), (1, 2, 2)])
@pytest.mark.parametrize("method", ["sparse", "event", "vector_event", "dense"])
def test_conv_projection_equals_lax_conv(stride, padding, dilation, method):
    rng = np.random.default_rng(0)
    conv = Conv2D(in_shape=(2, 7, 6), filters=3, kernel=3, stride=stride, padding=padding, dilation=dilation)
    kernel = rng.normal(size=(3, 2, 3, 3)).astype(np.float32)
    net = sj.Network(
        a=sj.neurons.LIF((2, 7, 6)),
        b=sj.neurons.LIF(conv.out_shape),
        p=sj.Projection("a", "b", conn=conv, weight=conv.expand(kernel), method=method),
    )
    proj = net.projections["p"]
    s = (rng.random((4, 2 * 7 * 6)) < 0.3).astype(np.float32)  # a batch of 4 spike patterns
    w = proj.propagator.prepare(proj.topology, proj.weight)
    index = sj.ops.compact(jnp.asarray(s), 5) if proj.propagator.index_bound else None
    got = proj.propagator.propagate(proj.topology, w, jnp.asarray(s), index)
    want = jax.lax.conv_general_dilated(
        jnp.asarray(s).reshape(4, 2, 7, 6), jnp.asarray(kernel), (stride, stride), [(padding, padding)] * 2,
        rhs_dilation=(dilation, dilation), dimension_numbers=("NCHW", "OIHW", "NCHW"),
    )  # fmt: skip
    np.testing.assert_allclose(np.asarray(got).reshape(want.shape), want, atol=1e-5)


def test_expand_is_differentiable_and_shapes_are_checked():
    conv = Conv2D(in_shape=(1, 5, 5), filters=2, kernel=(3, 2))
    k = jnp.ones((2, 1, 3, 2))
    g = jax.grad(lambda k: conv.expand(k).sum())(k)
    np.testing.assert_array_equal(g, np.bincount(conv.kernel_index(), minlength=12).reshape(2, 1, 3, 2))
    with pytest.raises(ValueError, match="kernel must have shape"):
        conv.expand(jnp.ones((2, 1, 3, 3)))
    with pytest.raises(ValueError, match="needs groups of 25 -> 24"):
        sj.Network(a=sj.neurons.LIF(25), b=sj.neurons.LIF(20), p=sj.Projection("a", "b", conn=conv))
    with pytest.raises(ValueError, match="does not fit"):
        Conv2D(in_shape=(1, 2, 2), kernel=3)


def test_conv2d_is_reachable_as_sj_conn_conv2d():
    assert sj.conn.Conv2D is Conv2D
