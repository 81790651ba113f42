"""sj.plot on real Runner / simulate records (Agg backend): each function draws what the record holds -- one mark per
spike, one point per record time, one line per neuron, one matrix cell per synapse."""

import jax
import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import snnjax as sj  # noqa: E402
from snnjax import analysis  # noqa: E402

DT = 0.1  # ms
CURRENTS = np.linspace(0.0, 60.0, 8)  # nA into a 1 MOhm membrane: rheobase 20 nA, so some neurons stay silent


@pytest.fixture(scope="module")
def net():
    return sj.Network(
        P=sj.inputs.PoissonGroup(12, rate=40.0),
        E=sj.neurons.LIF(8, v_rest=0.0, v_reset=0.0, v_th=20.0, tau=10.0, tau_ref=2.0),
        PE=sj.Projection("P", "E", conn=sj.conn.FixedProb(0.5, seed=1), weight=0.3, synapse=sj.synapses.Exponential()),
    )


@pytest.fixture(scope="module")
def mon(net):
    runner = sj.Runner(
        net, dt=DT, inputs=[("E.input", CURRENTS)], monitors=["E.spike", "E.v", "P.spike"], key=jax.random.key(0)
    )
    return runner.run(100.0)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_raster_one_mark_per_spike(mon):
    ax = sj.plot.raster(mon, ["E", "P.spike"])
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["E", "P"]
    for line, path, offset in zip(lines, ["E.spike", "P.spike"], [0, 8]):
        ev = mon.spikes(path)
        assert len(ev) > 10
        np.testing.assert_allclose(line.get_xdata(), ev.times)
        np.testing.assert_array_equal(line.get_ydata(), ev.neuron + offset)
    assert lines[0].get_color() != lines[1].get_color()
    # only the first neurons of P
    ax = sj.plot.raster(mon, ["P"], neurons=3)
    assert len(ax.get_lines()[0].get_xdata()) == int((mon.spikes("P.spike").neuron < 3).sum())


def test_raster_from_a_simulate_record(net, mon):
    _, rec = sj.simulate(
        net,
        net.init(key=jax.random.key(0), dt=DT),
        duration=100.0,
        dt=DT,
        inputs=[("E.input", CURRENTS)],
        monitors=["E.spike", "P.spike"],
    )
    ax = sj.plot.raster(rec)  # every spike monitor, dense float records
    assert [len(line.get_xdata()) for line in ax.get_lines()] == [len(mon.spikes(p)) for p in ["E.spike", "P.spike"]]


def test_population_rate_lines(mon):
    ax = sj.plot.population_rate(mon, ["E", "P"], window=None)
    lines = ax.get_lines()
    assert len(lines) == 2
    for line, path, n in zip(lines, ["E.spike", "P.spike"], [8, 12]):
        assert len(line.get_xdata()) == len(mon.ts)
        # raw rate: Hz x s x neurons = spikes
        np.testing.assert_allclose(np.sum(line.get_ydata()) * DT / 1000.0 * n, len(mon.spikes(path)))
        np.testing.assert_allclose(line.get_ydata(), analysis.population_rate(mon[path], DT))
    smooth = sj.plot.population_rate(mon, "P", window="gaussian", width=2.0).get_lines()[-1].get_ydata()
    np.testing.assert_allclose(smooth, analysis.population_rate(mon["P.spike"], DT, window="gaussian", width=2.0))


def test_voltage_one_line_per_neuron(mon):
    ax = sj.plot.voltage(mon, "E.v", neurons=3, threshold=20.0)
    traces = [line for line in ax.get_lines() if line.get_label().startswith("E.v")]
    assert len(traces) == 3
    for i, line in enumerate(traces):
        np.testing.assert_allclose(line.get_ydata(), mon["E.v"][:, i])
    ax = sj.plot.voltage(mon, "E", neurons=[1, 6])
    assert [line.get_label() for line in ax.get_lines()] == ["E.v[1]", "E.v[6]"]
    with pytest.raises(ValueError, match="neurons"):
        sj.plot.voltage(mon, "E", neurons=[8])


def test_weights_matrix_and_projection(net):
    w = np.arange(12.0).reshape(3, 4)
    fig = sj.plot.weights(w, bins=6)
    ax_m, ax_h = fig.axes[:2]
    np.testing.assert_array_equal(ax_m.get_images()[0].get_array(), w)
    assert len(ax_h.patches) == 6 and sum(p.get_height() for p in ax_h.patches) == 12
    proj = net.projections["PE"]
    fig = sj.plot.weights(proj, bins=5)
    matrix = np.asarray(fig.axes[0].get_images()[0].get_array().filled(np.nan))
    k = int(np.asarray(proj.topology.pre).size)
    assert matrix.shape == (12, 8) and np.isfinite(matrix).sum() == k
    np.testing.assert_allclose(matrix[np.isfinite(matrix)], 0.3)
    assert sum(p.get_height() for p in fig.axes[1].patches) == k
    with pytest.raises(ValueError, match="projection="):
        sj.plot.weights(np.ones(k))


def test_fi_curve_from_monitors(mon):
    ax = sj.plot.fi_curve(CURRENTS, mon=mon, path="E")
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_xdata(), CURRENTS)
    rates = line.get_ydata()
    np.testing.assert_allclose(rates, analysis.firing_rates(mon.spikes("E.spike")))
    assert rates[0] == 0.0 and rates[-1] > rates[4] > 0  # silent below rheobase, increasing above
    ax = sj.plot.fi_curve([1.0, 2.0], [3.0, 4.0])
    assert len(ax.get_lines()[0].get_xdata()) == 2
    with pytest.raises(ValueError, match="rates or mon"):
        sj.plot.fi_curve(CURRENTS)


def test_bad_paths(mon):
    with pytest.raises(ValueError, match="not in the record"):
        sj.plot.raster(mon, ["X"])
    with pytest.raises(TypeError, match="runner.mon"):
        sj.plot.raster([1, 2, 3])
