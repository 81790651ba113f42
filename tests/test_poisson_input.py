"""sj.inputs.PoissonInput: a Poisson count per neuron and step from n inputs at a rate, without synapses."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj
from snnjax import random as counter_rng


def drive_net(n=4000, inputs=1600, rate=8.0, weight=1.0, delay=0.0, **kw):
    # a neuron that never fires, so 'ext.g' (Delta kinetics: g = this step's weight x count) is the count itself
    return sj.Network(
        E=sj.neurons.LIF(n, v_th=1e9),
        ext=sj.inputs.PoissonInput("E", n=inputs, rate=rate, weight=weight, delay=delay, **kw),
    )


def counts(net, steps=500, key=0, batch=()):
    state = net.init(key=jax.random.key(key), dt=0.1, batch_shape=batch)
    _, rec = sj.simulate(net, state, duration=steps * 0.1, dt=0.1, monitors=["ext.g"])
    return np.asarray(rec["ext.g"], np.float64)


def test_counts_have_the_poisson_mean_variance_and_law():
    lam = 1600 * 8.0 * 0.1 / 1000  # 1.28 expected inputs per neuron and step
    c = counts(drive_net(), steps=500)[1:]  # step 0 is before the drive's lag of one step
    assert np.all(c == np.round(c)) and c.min() >= 0
    n = c.size  # 2e6 draws: mean and variance within 5 standard errors
    assert abs(c.mean() - lam) < 5 * np.sqrt(lam / n)
    assert abs(c.var() - lam) < 5 * np.sqrt(2 * lam**2 / n + lam / n)
    # the whole law: frequencies of 0..6 against the Poisson probabilities (chi-square, 7 cells, p > 1e-4)
    k = np.arange(7)
    p = np.exp(-lam) * lam**k / np.cumprod(np.r_[1, k[1:]])
    observed = np.array([(c == i).sum() for i in k])
    chi2 = np.sum((observed - n * p) ** 2 / (n * p))
    assert chi2 < 33.0  # the 1e-4 quantile of chi-square with 6 degrees of freedom is 27.9 ... 33 at 1e-5


def test_per_neuron_n_and_rate_and_weight():
    n = np.array([100, 2000] * 500, np.int32)
    rate = np.where(np.arange(1000) < 500, 10.0, 4.0)
    net = drive_net(1000, inputs=jnp.asarray(n), rate=jnp.asarray(rate), weight=2.0)
    c = counts(net, 400)[1:] / 2.0
    lam = n * rate * 1e-4
    np.testing.assert_allclose(c.mean(axis=0).reshape(2, -1, 2).mean(axis=1), lam.reshape(2, -1, 2).mean(axis=1),
                               rtol=0.05)  # fmt: skip


def test_the_drive_starts_after_its_delay_and_resumes_bit_identical():
    net = drive_net(500, delay=1.5)  # 15 steps
    c = counts(net, 100)
    assert c[:15].sum() == 0 and c[15:].sum() > 0 and c[15].sum() > 0
    state = net.init(key=jax.random.key(0), dt=0.1)
    a, ra = sj.simulate(net, state, duration=10.0, dt=0.1, monitors=["ext.g"])
    b, rb = sj.simulate(net, state, duration=5.0, dt=0.1, monitors=["ext.g"])
    b, rb2 = sj.simulate(net, b, duration=5.0, dt=0.1, monitors=["ext.g"])
    np.testing.assert_array_equal(np.concatenate([rb["ext.g"], rb2["ext.g"]]), ra["ext.g"])


def test_batch_elements_draw_independently_and_vmap_equals_a_loop():
    c = counts(drive_net(300), 50, batch=(2,))
    assert not np.array_equal(c[:, 0], c[:, 1])

    def mean_count(rate):
        net = sj.Network(E=sj.neurons.LIF(300, v_th=1e9), ext=sj.inputs.PoissonInput("E", n=100, rate=rate))
        _, rec = sj.simulate(net, net.init(key=jax.random.key(0), dt=0.1), duration=5.0, dt=0.1,
                             monitors=["ext.g"])  # fmt: skip
        return rec["ext.g"]

    rates = jnp.array([5.0, 40.0])
    swept = jax.vmap(mean_count)(rates)
    for i in range(2):
        np.testing.assert_array_equal(swept[i], mean_count(rates[i]))


def test_counts_drive_the_kinetics_and_output():
    net = sj.Network(E=sj.neurons.LIF(200, v_rest=0.0, v_th=1e9, tau=10.0),
                     ext=sj.inputs.PoissonInput("E", n=1000, rate=10.0, weight=0.5,
                                                synapse=sj.synapses.Exponential(5.0)))  # fmt: skip
    _, rec = sj.simulate(net, net.init(key=jax.random.key(0), dt=0.1), duration=200.0, dt=0.1,
                         monitors=["ext.g", "E.v"])  # fmt: skip
    g = np.asarray(rec["ext.g"])[1000:]
    # stationary mean of g = w lam / (1 - exp(-dt / tau)); of v (r = 1): the mean current
    expected = 0.5 * 1.0 / (1.0 - np.exp(-0.1 / 5.0))
    assert abs(g.mean() / expected - 1.0) < 0.02
    assert abs(np.asarray(rec["E.v"])[1000:].mean() / expected - 1.0) < 0.03


def test_large_means_use_an_exact_sampler():
    c = counts(drive_net(500, inputs=50_000, rate=10.0), 200)[1:]  # lam = 50 per step: above the inversion
    assert abs(c.mean() - 50.0) < 0.2 and abs(c.var() / 50.0 - 1.0) < 0.05


def test_philox_known_answers():
    # Random123's kat_vectors for philox4x32_10
    cases = [((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
             ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
             ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
              (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1))]  # fmt: skip
    for ctr, key, want in cases:
        assert tuple(int(x) for x in counter_rng.philox4x32(ctr, key)) == want
    u = np.asarray(counter_rng.uniform((1, 2), jnp.arange(200_000, dtype=jnp.uint32), 7))
    assert 0.0 <= u.min() and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.003
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01  # neighbouring neurons are not correlated


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(n=0), "n must be a positive integer"),
        (dict(n=2.5), "n must be a positive integer"),
        (dict(n=np.array([1, -1, 2])), "n must be a positive integer"),
        (dict(rate=-1.0), "rate must be >= 0"),
        (dict(rate=np.full(4, 3.0)), "rate must be a scalar or have the population's shape"),
        (dict(delay=-0.1), "delay must be a number of ms >= 0"),
        (dict(synapse=sj.synapses.AMPA()), "synapse must be post-aligned"),
    ],
)
def test_bad_input_names_the_argument(kw, match):
    args = dict(n=10, rate=5.0) | kw
    with pytest.raises((ValueError, TypeError), match=match):
        sj.Network(E=sj.neurons.LIF(3), ext=sj.inputs.PoissonInput("E", **args))


def test_unknown_target_and_missing_key():
    with pytest.raises(ValueError, match="post='F', which is not a population"):
        sj.Network(E=sj.neurons.LIF(3), ext=sj.inputs.PoissonInput("F", n=3))
    net = sj.Network(E=sj.neurons.LIF(3), ext=sj.inputs.PoissonInput("E", n=3))
    with pytest.raises(ValueError, match="key is required"):
        net.init(dt=0.1)


def test_compiled_generator_draws_the_xla_numbers(monkeypatch):
    if not sj.kernels.active():
        pytest.skip(f"no compiled kernels here: {sj.kernels.status()}")
    key = jnp.array([[7, 9], [1, 2]], jnp.uint32)
    idx = jnp.arange(1000, dtype=jnp.uint32)
    args = (key, jnp.uint32(17), jnp.array([0, 1], jnp.uint32), idx)
    np.testing.assert_array_equal(sj.kernels.uniform(*args), sj.kernels.uniform_xla(*args))
    runs = {}
    for mode in ("auto", "xla"):
        monkeypatch.setenv("SNNJAX_KERNELS", mode)
        runs[mode] = counts(drive_net(700), 60, batch=(2,))
    np.testing.assert_array_equal(runs["auto"], runs["xla"])
