"""snnjax.analysis against closed forms.

Spike trains are drawn with NumPy (independent of the simulator) as Bernoulli(p) per step, the exact binning of a
Poisson process: in discrete time the ISI is geometric, so CV = sqrt(1 - p) and the Fano factor is 1 - p.
Statistical bounds are 5 standard errors of the estimator (given in each test), so a correct implementation
fails with probability ~1e-6 while a wrong formula (std instead of var, a missing 1/dt) misses by far more.
"""

import numpy as np
import pytest

import snnjax as sj
from snnjax import analysis as an

DT = 0.1  # ms


def poisson(rate_hz, n, steps, seed=0):
    p = rate_hz * DT / 1000.0
    return np.random.default_rng(seed).random((steps, n)) < p, p


def regular(period_ms, n, steps, offset=0):
    r = np.zeros((steps, n), bool)
    k = int(round(period_ms / DT))
    r[offset::k] = True
    return r


# -- rates ----------------------------------------------------------------------------------------------------


def test_firing_rates_and_population_rate_units():
    r = regular(10.0, 3, 10_000)  # 100 Hz for 1 s
    np.testing.assert_allclose(an.firing_rates(r, DT), [100.0, 100.0, 100.0])
    pop = an.population_rate(r, DT)
    assert pop.shape == (10_000,)
    assert pop[0] == pytest.approx(1.0 / (DT / 1000.0))  # every neuron fires in step 0: 1 / dt = 10 kHz
    assert pop.mean() == pytest.approx(100.0)


def test_rates_from_runner_events_match_the_raster():
    net = sj.Network(P=sj.inputs.PoissonGroup((4, 5), rate=30.0))
    runner = sj.Runner(net, dt=DT, monitors=["P.spike"])
    runner.run(2000.0)
    ev, dense = runner.mon.spikes("P.spike"), runner.mon["P.spike"]
    rates = an.firing_rates(ev)  # dt read from the time stamps
    assert rates.shape == (4, 5)
    np.testing.assert_allclose(rates, an.firing_rates(dense, DT))
    np.testing.assert_allclose(an.cv(ev), an.cv(dense, DT))
    # 30 Hz x 2 s x 20 neurons = 1200 spikes: relative SE 1/sqrt(1200) ~ 3 %, 5 SE = 15 %
    assert rates.mean() == pytest.approx(30.0, rel=0.15)


# -- smoothing ------------------------------------------------------------------------------------------------


def test_box_smoothed_rate_integrates_to_the_spike_count():
    r, _ = poisson(80.0, 50, 20_000, seed=1)
    r[:200] = r[-200:] = False  # no spikes within a window of the edges (zero padding would cut them)
    n_spikes = r.sum()
    for window in ("flat", "box"):
        rate = an.population_rate(r, DT, window=window, width=15.0)
        # rate (Hz) x time (s) x neurons = spikes; float64 sums: 1e-9 relative
        assert rate.sum() * DT / 1000.0 * 50 == pytest.approx(n_spikes, rel=1e-9)
    raw = an.population_rate(r, DT)
    assert raw.sum() * DT / 1000.0 * 50 == pytest.approx(n_spikes, rel=1e-9)


def test_gaussian_smoothing_of_a_constant_rate():
    rate = np.full(5000, 40.0)
    out = an.smooth_rate(rate, DT, "gaussian", width=3.0)
    inner = slice(int(2 * 3.0 / DT), -int(2 * 3.0 / DT))  # the window reaches +-2 width
    np.testing.assert_allclose(out[inner], 40.0, rtol=1e-12)
    assert out[0] < 40.0 * 0.6  # zero padding at the edges: half the window is outside
    flat = an.smooth_rate(rate, DT, "flat", width=3.0)
    np.testing.assert_allclose(flat[20:-20], 40.0, rtol=1e-12)


def test_smoothing_equals_numpy_convolve_brian2_windows():
    rate = np.random.default_rng(2).random((300, 2)) * 100
    width = 1.3
    half = int(np.round(2 * width / DT))
    g = np.exp(-(np.arange(-half, half + 1) ** 2) / (2 * (width / DT) ** 2))
    box = np.ones(int(width / 2 / DT) * 2 + 1)
    for name, kernel in (("gaussian", g), ("flat", box)):
        out = an.smooth_rate(rate, DT, name, width)
        for col in range(2):
            want = np.convolve(rate[:, col], kernel / kernel.sum(), mode="same")
            np.testing.assert_allclose(out[:, col], want, rtol=1e-12, atol=1e-12)


# -- ISI, CV, Fano -------------------------------------------------------------------------------------------


def test_isi_of_a_hand_made_raster():
    r = np.zeros((12, 3), bool)
    r[[1, 4, 10], 0] = True
    r[[5], 1] = True
    r[[0, 2], 2] = True
    intervals, neuron = an.isi(r, 0.5)
    np.testing.assert_allclose(intervals, [1.5, 3.0, 1.0])
    np.testing.assert_array_equal(neuron, [0, 0, 2])


def test_poisson_cv_and_fano_are_one():
    r, p = poisson(100.0, 20, 100_000, seed=3)  # 10 s, ~1000 spikes per neuron
    c = an.cv(r, DT)
    # SE of a Poisson CV from n intervals is 1/sqrt(n); averaged over 20 independent neurons
    se = 1.0 / np.sqrt(r.sum(axis=0).mean()) / np.sqrt(20)
    assert c.mean() == pytest.approx(np.sqrt(1 - p), abs=5 * se)
    f = an.fano_factor(r, window=50.0, dt=DT)  # K = 200 windows of mean count m = 5
    k, m = 200, 5.0
    se = np.sqrt(2 / (k - 1) + 1 / (m * k)) / np.sqrt(20)
    assert f.shape == (20,)
    assert f.mean() == pytest.approx(1 - p, abs=5 * se)


def test_regular_train_cv_zero_and_fano_to_zero():
    r = regular(10.0, 4, 50_000, offset=3)
    np.testing.assert_allclose(an.cv(r, DT), 0.0, atol=1e-12)
    np.testing.assert_allclose(an.fano_factor(r, 50.0, DT), 0.0, atol=1e-12)  # 5 periods per window
    # other windows: counts differ by at most one, var <= 1/4 (x K/(K-1)), so F <= ~0.25 / mean -> 0
    for window in (25.0, 105.0, 333.3):
        mean = window / 10.0
        assert np.all(an.fano_factor(r, window, DT) <= 0.26 / mean)


def test_cv_needs_two_intervals():
    r = np.zeros((100, 2), bool)
    r[[10, 20, 40], 0] = True
    r[[5, 50], 1] = True
    c = an.cv(r, DT)
    assert c[0] == pytest.approx(0.5 / 1.5)  # intervals 1 and 2 ms: std 0.5, mean 1.5
    assert np.isnan(c[1])


# -- correlation and synchrony -------------------------------------------------------------------------------


def test_spike_count_correlation():
    r, _ = poisson(50.0, 30, 50_000, seed=4)
    r[:, 1] = r[:, 0]  # identical trains
    c = an.spike_count_correlation(r, bin=10.0, dt=DT)
    assert c.shape == (30, 30)
    np.testing.assert_allclose(np.diag(c), 1.0)
    assert c[0, 1] == pytest.approx(1.0)
    np.testing.assert_allclose(c, c.T)
    # independent pairs: K = 500 bins, SE of a correlation 1/sqrt(K); 5 SE bounds every one of ~400 pairs
    # with probability ~1 - 400 * 6e-7
    off = c[2:, 2:][~np.eye(28, dtype=bool)]
    assert np.max(np.abs(off)) < 5 / np.sqrt(500)


def test_synchrony_identical_and_independent():
    r, _ = poisson(50.0, 100, 100_000, seed=5)
    same = np.repeat(r[:, :1], 20, axis=1)
    assert an.synchrony(same, DT, bin=5.0) == pytest.approx(1.0)
    chi = an.synchrony(r, DT, bin=10.0)
    # independent: chi^2 = 1/N in expectation; K = 1000 bins give chi^2 a relative SE sqrt(2/K) = 4.5 %,
    # chi half of it
    assert chi * np.sqrt(100) == pytest.approx(1.0, abs=5 * 0.5 * np.sqrt(2 / 1000))
    assert chi < 0.15
    # traces used as they are (e.g. voltages, mV)
    t = np.arange(1000) * DT
    v = np.stack([np.sin(t / 5.0)] * 4, axis=1)
    assert an.synchrony(v) == pytest.approx(1.0)
    shifted = np.stack([np.sin(t / 5.0 + ph) for ph in np.linspace(0, 2 * np.pi, 8, endpoint=False)], axis=1)
    assert an.synchrony(shifted) < 0.05  # evenly spread phases cancel in the mean


# -- bad input ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda r: an.smooth_rate(np.ones(10), DT, "gaussian", width=-1.0), ValueError, "width"),
        (lambda r: an.smooth_rate(np.ones(10), DT, "hann", width=1.0), ValueError, "window"),
        (lambda r: an.smooth_rate(np.ones(10), DT, "flat"), ValueError, "width"),
        (lambda r: an.population_rate(r, DT, window="triangle", width=2.0), ValueError, "window"),
        (lambda r: an.population_rate(r, DT, width=2.0), ValueError, "width"),
        (lambda r: an.firing_rates(r), ValueError, "dt"),
        (lambda r: an.firing_rates(r, -0.1), ValueError, "dt"),
        (lambda r: an.fano_factor(r, 0.25, DT), ValueError, "window"),
        (lambda r: an.fano_factor(r, -5.0, DT), ValueError, "window"),
        (lambda r: an.fano_factor(r, 60.0, DT), ValueError, "window"),
        (lambda r: an.spike_count_correlation(r, 0.15, DT), ValueError, "bin"),
        (lambda r: an.spike_counts(r, 1000.0, DT), ValueError, "bin"),
        (lambda r: an.cv(np.zeros(5), DT), ValueError, "spikes"),
    ],
)
def test_bad_input_names_the_argument(call, exc, match):
    r = np.zeros((1000, 3), bool)
    with pytest.raises(exc, match=match):
        call(r)
