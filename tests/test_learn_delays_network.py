"""Learnable delays inside a Network (Projection(delay_interp="linear")): exact at whole steps, piecewise linear
in between, and a gradient that matches finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj

DT = 0.1
N = 60


def net_for(delay, interp="linear", k=3):
    return sj.Network(
        a=sj.neurons.LIF(1, v_th=1.0, tau_ref=1000.0),
        b=sj.neurons.LIF(k, v_th=1e9, tau=10.0),
        p=sj.Projection(
            "a",
            "b",
            conn=(np.zeros(k, np.int32), np.arange(k)),
            weight=1.0,
            delay=delay,
            max_delay=3.0,
            delay_interp=interp,
            synapse=sj.synapses.Exponential(tau=2.0),
        ),  # fmt: skip
    )


def trace(delay, interp="linear"):
    net = net_for(delay, interp, k=np.size(delay))
    pulse = np.zeros((N, 1), np.float32)
    pulse[0] = 1e4
    _, rec = sj.simulate(net, net.init(dt=DT), duration=N * DT, dt=DT, inputs=[("a.input", pulse, "iter")],
                         monitors=["b.v"])  # fmt: skip
    return rec["b.v"]


def test_whole_step_delays_arrive_as_with_step_lags():
    d = jnp.asarray([0.0, 0.5, 1.2, 2.9])
    np.testing.assert_allclose(trace(d, "linear"), trace(np.asarray(d), "step"), atol=1e-6)


def test_in_between_delays_interpolate_the_arrival_linearly():
    lo, hi = trace(jnp.asarray([1.0]))[:, 0], trace(jnp.asarray([1.1]))[:, 0]
    mid = trace(jnp.asarray([1.03]))[:, 0]
    np.testing.assert_allclose(mid, 0.7 * lo + 0.3 * hi, atol=1e-5)  # linear in the delay between two steps


def test_gradient_wrt_the_delays_is_nonzero_and_matches_finite_differences():
    def loss(d):
        v = trace(d)
        return jnp.sum(v[20:40] ** 2)

    d = jnp.asarray([0.53, 1.27, 2.04])
    g = jax.grad(loss)(d)
    assert np.all(np.abs(np.asarray(g)) > 0)
    eps = 1e-3  # inside one step: the loss is linear in each delay there
    fd = [(loss(d.at[i].add(eps)) - loss(d.at[i].add(-eps))) / (2 * eps) for i in range(3)]
    np.testing.assert_allclose(g, fd, rtol=2e-2)


def test_linear_delays_need_max_delay_and_refuse_plasticity():
    with pytest.raises(ValueError, match="needs max_delay"):
        sj.Projection("a", "b", conn=sj.conn.All2All(), delay=1.0, delay_interp="linear")
    with pytest.raises(ValueError, match="delay_interp"):
        sj.Projection("a", "b", conn=sj.conn.All2All(), delay=1.0, delay_interp="cubic")
    with pytest.raises(ValueError, match="plasticity"):
        sj.Projection("a", "b", conn=sj.conn.All2All(), delay=1.0, max_delay=2.0, delay_interp="linear",
                      plasticity=sj.plasticity.STDP())  # fmt: skip
