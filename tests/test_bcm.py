"""The BCM rule with a sliding threshold (snnjax.plasticity.BCM, a rule written on the contract) against an independent
NumPy implementation of its equations on a small network, and the same weights on every format."""

import numpy as np
import pytest

import snnjax as sj

DT = 0.1  # ms
T = 4000  # steps: 400 ms
PARAMS = dict(eta=0.02, tau_pre=20.0, tau_post=50.0, tau_theta=100.0, y0=2.0, theta0=0.3, w_min=0.0, w_max=2.0)


def numpy_bcm(arrive, post, w0, pre_idx, post_idx, p, dt):
    """The BCM equations in float64, step by step: arrivals ``(T, n_pre)`` (after the delay), post spikes
    ``(T, n_post)``. Returns the weights after every step ``(T, K)`` and the thresholds ``(T, n_post)``."""
    w = w0.astype(np.float64).copy()
    apre, apost = np.zeros(arrive.shape[1]), np.zeros(post.shape[1])
    theta = np.full(post.shape[1], p["theta0"])
    ws, thetas = [], []
    for t in range(arrive.shape[0]):
        e = np.exp(-dt / p["tau_theta"])
        theta = theta * e + (1 - e) * apost**2 / p["y0"]  # relaxes to apost^2 / y0 (apost at the step's start)
        apre *= np.exp(-dt / p["tau_pre"])
        apost *= np.exp(-dt / p["tau_post"])
        apre += arrive[t]
        fired = post[t, post_idx] > 0
        dw = p["eta"] * apre[pre_idx] * (apost[post_idx] - theta[post_idx])
        w = np.where(fired, np.clip(w + dw, p["w_min"], p["w_max"]), w)
        apost += post[t]
        ws.append(w.copy())
        thetas.append(theta.copy())
    return np.asarray(ws), np.asarray(thetas)


def network(method="event"):
    """40 Poisson inputs (half at 10 Hz, half at 40 Hz) onto 4 LIF neurons through the plastic projection itself:
    the weights drive the postsynaptic spikes that move them."""
    rates = np.repeat([10.0, 40.0], 20)
    pre = sj.inputs.PoissonGroup(40, rate=rates)
    post = sj.neurons.LIF(4, v_rest=0.0, v_reset=0.0, v_th=1.0, tau=10.0, tau_ref=2.0, v_init=0.0)
    pre_idx, post_idx = sj.conn.FixedProb(0.5, seed=3).build(40, 4)
    w0 = np.random.default_rng(0).uniform(0.05, 0.25, pre_idx.size)
    proj = sj.Projection("pre", "post", conn=(pre_idx, post_idx), weight=w0, delay=1.0, method=method,
                         output=sj.outputs.CUBA(target="v"), plasticity=sj.plasticity.BCM(**PARAMS))  # fmt: skip
    return sj.Network(pre=pre, post=post, PQ=proj), pre_idx, post_idx, w0


@pytest.mark.parametrize("method", ["sparse", "event"])
def test_bcm_in_a_network_equals_its_equations(method):
    import jax

    net, pre_idx, post_idx, w0 = network(method)
    state = net.init(key=jax.random.key(1), dt=DT)
    _, rec = sj.simulate(net, state, duration=T * DT, dt=DT, inputs=[("post.input", 0.0)],
                         monitors=["pre.spike", "post.spike", "PQ.w", "PQ.theta"])  # fmt: skip
    pre, post = np.asarray(rec["pre.spike"], np.float64), np.asarray(rec["post.spike"], np.float64)
    lag = sj.delays.lag_of(1.0, DT)
    arrive = np.zeros_like(pre)
    arrive[lag:] = pre[:-lag]
    want_w, want_theta = numpy_bcm(arrive, post, w0, pre_idx, post_idx, PARAMS, DT)
    assert post.sum() > 20  # the neurons fire...
    assert np.abs(want_theta[-1] - PARAMS["theta0"]).max() > 0.2  # ... the thresholds slide ...
    dw = want_w[-1] - w0
    assert dw.max() > 0.05 and dw.min() < -0.05  # ... and the weights move both ways
    # float32 against float64 over 4000 steps and ~1000 updates of eta * O(1)
    np.testing.assert_allclose(rec["PQ.theta"], want_theta, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(rec["PQ.w"], want_w, atol=1e-4, rtol=0)


def test_bcm_has_the_same_weights_on_every_format():
    # fixed trains on both sides (the projection only learns): every format sees the same spikes
    rng = np.random.default_rng(4)
    n_pre, n_post, steps = 30, 6, 3000
    pre_t = np.nonzero(rng.random((steps, n_pre)) < 0.003)
    post_t = np.nonzero(rng.random((steps, n_post)) < 0.003)
    pre_idx, post_idx = sj.conn.FixedProb(0.4, seed=2).build(n_pre, n_post)

    def run(method):
        net = sj.Network(
            a=sj.inputs.SpikeTimeGroup(n_pre, indices=pre_t[1], times=pre_t[0] * DT),
            b=sj.inputs.SpikeTimeGroup(n_post, indices=post_t[1], times=post_t[0] * DT),
            p=sj.Projection("a", "b", conn=(pre_idx, post_idx), weight=0.5, delay=0.5, output=None, method=method,
                            plasticity=sj.plasticity.BCM(**PARAMS)),
        )  # fmt: skip
        return np.asarray(sj.simulate(net, net.init(dt=DT), duration=steps * DT, dt=DT, monitors=["p.w"])[1]["p.w"])

    got = {m: run(m) for m in ("sparse", "event", "vector_event")}
    assert np.abs(got["sparse"][-1] - 0.5).max() > 0.05
    # the same arithmetic per synapse; XLA may contract w + eta apre (...) into a fused multiply-add in one program
    # and not in another (the built-in rules round their products first to rule that out): 1 ulp apart at most
    for method in ("event", "vector_event"):
        np.testing.assert_allclose(got[method], got["sparse"], atol=1e-6, rtol=0, err_msg=method)
