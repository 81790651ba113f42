"""Plots of monitor records: spike rasters, population rates, voltage traces, weights, f-I curves (``sj.plot``).

Every function takes the records as a run returns them: a :class:`snnjax.Runner`'s ``runner.mon`` (compact spike
monitors are used as they are, without a dense raster) or the record dict of :func:`snnjax.simulate` (with its
``"ts"``), and returns what it drew on (a matplotlib ``Axes`` or ``Figure``), to be refined with the usual
matplotlib calls. Axes in ms, mV, nA and Hz. All axes of a record after time are treated as neurons (a batched
record shows ``B * n`` rows; pass ``rec`` of one batch element to show one).

matplotlib is an optional dependency (``pip install snnjax[plot]``), imported by these functions only, so
``import snnjax`` does not need it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from snnjax import analysis

__all__ = ["fi_curve", "population_rate", "raster", "voltage", "weights"]


def _plt():
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover -- depends on the environment
        raise ImportError("snnjax.plot needs matplotlib: pip install snnjax[plot]") from None
    return plt


def _axes(ax):
    return _plt().subplots()[1] if ax is None else ax


def _ts(mon: Any) -> np.ndarray:
    ts = getattr(mon, "ts", None)
    if ts is None:
        if not isinstance(mon, Mapping) or "ts" not in mon:
            raise TypeError(
                "snnjax.plot: mon must be a Runner's monitors (runner.mon) or the record dict of sj.simulate "
                f"(with 'ts'), got {type(mon).__name__}"
            )
        ts = mon["ts"]
    return np.asarray(ts, dtype=float)


def _paths(mon: Any, paths: str | Sequence[str] | None, field: str) -> list[str]:
    """Monitor paths from paths or population names (``"E"`` -> ``"E.spike"``); default: every ``*.field``."""
    _ts(mon)  # a record at all
    keys = [k for k in mon if k != "ts"]
    if paths is None:
        paths = [k for k in keys if k.endswith(f".{field}")]
        if not paths:
            raise ValueError(f"snnjax.plot: the record has no '<population>.{field}' monitor; it has {keys}")
        return paths
    out = []
    for p in [paths] if isinstance(paths, str) else list(paths):
        p = p if "." in p else f"{p}.{field}"
        if p not in mon:
            raise ValueError(f"snnjax.plot: paths: {p!r} is not in the record; recorded are {keys}")
        out.append(p)
    return out


def _label(path: str, field: str) -> str:
    return path[: -len(field) - 1] if path.endswith(f".{field}") else path


def _dt(ts: np.ndarray) -> float:
    if ts.size < 2:
        raise ValueError("snnjax.plot: the record needs at least two time stamps")
    return float(ts[1] - ts[0])


def _spike_rows(mon: Any, path: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(times ms, flat row index of every spike, number of rows) of one spike monitor."""
    if callable(getattr(mon, "spikes", None)):  # a Runner's Monitors: spike monitors are compact already
        try:
            ev = mon.spikes(path)
        except KeyError:  # a spike state monitored with an index subset: a dense record
            ev = None
        if ev is not None:
            n = math.prod(ev.shape[1:])
            return ev.times, np.ravel_multi_index(ev.index, ev.shape[1:]).astype(np.int64), n
    arr = np.asarray(mon[path])
    flat = arr.reshape(arr.shape[0], -1)
    step, row = np.unravel_index(np.flatnonzero(flat), flat.shape)  # np.nonzero of a 2-D array is ~20x slower
    return _ts(mon)[step], row, flat.shape[1]


def raster(
    mon: Any,
    paths: str | Sequence[str] | None = None,
    ax=None,
    *,
    neurons: int | Mapping[str, int] | None = None,
    colors: Sequence[str] | None = None,
    marker: str = "|",
    markersize: float = 2.0,
):
    """Spike raster, one colour per population, populations stacked from the bottom in the order given.

    Args:
      mon: ``runner.mon`` or the record dict of :func:`snnjax.simulate`.
      paths: spike monitors, as paths (``"E.spike"``) or population names (``"E"``); default every
        ``*.spike`` monitor in the record.
      ax: matplotlib Axes to draw on (default: a new figure).
      neurons: show only the first ``neurons`` neurons (flat index) of each population, or a dict from
        population name to that number.
      colors: one matplotlib colour per population (default the ``tab10`` cycle).
      marker, markersize: of the spike marks (points).

    Returns:
      the Axes; one ``Line2D`` per population whose data are the spike times (x, ms) and rows (y).
    """
    ax = _axes(ax)
    paths = _paths(mon, paths, "spike")
    colors = list(colors) if colors is not None else [f"C{k % 10}" for k in range(len(paths))]
    if len(colors) < len(paths):
        raise ValueError(f"raster: colors must give one colour per population ({len(paths)}), got {len(colors)}")
    offset = 0
    ticks = []
    for path, color in zip(paths, colors):
        name = _label(path, "spike")
        times, rows, n = _spike_rows(mon, path)
        shown = neurons.get(name, n) if isinstance(neurons, Mapping) else (n if neurons is None else neurons)
        if isinstance(shown, bool) or not isinstance(shown, (int, np.integer)) or shown < 1:
            raise ValueError(f"raster: neurons must be an int >= 1 (or a dict of them), got {shown!r} for {name!r}")
        shown = min(int(shown), n)
        keep = rows < shown
        ax.plot(times[keep], rows[keep] + offset, marker, ms=markersize, color=color, linestyle="none", label=name)
        ticks.append(offset + shown / 2)
        offset += shown
    ax.set_yticks(ticks, [_label(p, "spike") for p in paths])
    ax.set(xlabel="time (ms)", ylabel="neuron", ylim=(-0.5, offset - 0.5))
    ts = _ts(mon)
    if ts.size:
        ax.set_xlim(ts[0], ts[-1] + (_dt(ts) if ts.size > 1 else 0))
    return ax


def population_rate(
    mon: Any,
    paths: str | Sequence[str] | None = None,
    ax=None,
    *,
    window: str | None = "gaussian",
    width: float | None = 1.0,
    colors: Sequence[str] | None = None,
):
    """Population firing rate over time, Hz, one line per population (:func:`snnjax.analysis.population_rate`).

    Args:
      mon: ``runner.mon`` or the record dict of :func:`snnjax.simulate`.
      paths: spike monitors or population names (default every ``*.spike`` monitor).
      ax: matplotlib Axes (default: a new figure).
      window: smoothing window, ``'gaussian'``, ``'flat'``/``'box'`` or None (the raw rate per step).
      width: window width, ms (the Gaussian's standard deviation; see :func:`snnjax.analysis.smooth_rate`).
      colors: one colour per population.

    Returns:
      the Axes; one ``Line2D`` per population with one point per record time (ms, Hz).
    """
    ax = _axes(ax)
    paths = _paths(mon, paths, "spike")
    ts = _ts(mon)
    dt = _dt(ts)
    colors = list(colors) if colors is not None else [f"C{k % 10}" for k in range(len(paths))]
    for path, color in zip(paths, colors):
        times, rows, n = _spike_rows(mon, path)
        # per-step counts from the events (no dense raster): rows of the record at each spike time
        steps = np.rint((times - ts[0]) / dt).astype(np.int64)
        rate = np.bincount(steps, minlength=ts.size)[: ts.size] / n / (dt / 1000.0)
        if window is not None:
            rate = analysis.smooth_rate(rate, dt, window=window, width=width)
        ax.plot(ts, rate, color=color, lw=1.0, label=_label(path, "spike"))
    ax.set(xlabel="time (ms)", ylabel="rate (Hz)")
    if len(paths) > 1:
        ax.legend(loc="upper right")
    return ax


def voltage(
    mon: Any,
    paths: str | Sequence[str] | None = None,
    ax=None,
    *,
    neurons: int | Sequence[int] = 5,
    threshold: float | None = None,
):
    """Membrane potential traces, mV.

    Args:
      mon: ``runner.mon`` or the record dict of :func:`snnjax.simulate`.
      paths: voltage monitors (``"E.v"``) or population names (``"E"`` -> ``"E.v"``); default every ``*.v``.
      ax: matplotlib Axes (default: a new figure).
      neurons: how many neurons to draw from each path (the first ones, flat index), or their flat indices.
      threshold: draw a dashed horizontal line at this potential, mV.

    Returns:
      the Axes; one ``Line2D`` per drawn neuron (x: ms, y: mV), labelled ``"<path>[i]"``.
    """
    ax = _axes(ax)
    paths = _paths(mon, paths, "v")
    ts = _ts(mon)
    for path in paths:
        v = np.asarray(mon[path], dtype=float)
        v = v.reshape(v.shape[0], -1)
        idx = np.arange(min(int(neurons), v.shape[1])) if np.ndim(neurons) == 0 else np.asarray(neurons)
        if idx.size and (idx.min() < 0 or idx.max() >= v.shape[1]):
            raise ValueError(f"voltage: neurons must be indices in [0, {v.shape[1]}) for {path!r}, got {list(idx)}")
        lines = ax.plot(ts, v[:, idx], lw=1.0)
        for line, i in zip(lines, idx):
            line.set_label(f"{path}[{i}]")
    if threshold is not None:
        ax.axhline(threshold, color="gray", ls="--", lw=0.8)
    ax.set(xlabel="time (ms)", ylabel="membrane potential (mV)")
    ax.legend(loc="upper right", fontsize="small")
    return ax


def _weight_matrix(w: Any, projection: Any) -> tuple[np.ndarray | None, np.ndarray]:
    """(dense matrix with NaN where unconnected, or None; the synapses' weights)."""
    if hasattr(w, "synapse_weights") and hasattr(w, "topology"):  # a bound Projection
        projection, w = w, w.synapse_weights()
    elif hasattr(w, "plasticity") and hasattr(w, "kinetics"):  # a ProjectionState
        if w.plasticity is None or not hasattr(w.plasticity, "w"):
            raise ValueError("weights: this projection state has no plastic weights 'w'; pass the Projection")
        w = w.plasticity.w
    w = np.asarray(w, dtype=float)
    if projection is None:
        if w.ndim != 2:
            raise ValueError(
                f"weights: a matrix (n_pre, n_post) is needed, got shape {w.shape}; for weights per synapse pass "
                "projection= (a Projection of a built Network, e.g. net.projections['EE'])"
            )
        return w, w.ravel()
    topo = projection.topology
    if topo is None:
        raise ValueError("weights: the projection has no synapse list yet; take it from a Network (net.projections)")
    if projection.deferred is not None:
        raise ValueError("weights: the projection is from a Network.deferred: its synapse lists exist per device only")
    pre, post = np.asarray(topo.pre_index()), np.asarray(topo.post)
    if w.ndim == 2 and w.shape == (topo.n_pre, topo.n_post):
        w = w[pre, post]
    w = np.broadcast_to(w.reshape(-1, w.shape[-1])[0] if w.ndim > 1 else w, pre.shape)
    dense = np.full((topo.n_pre, topo.n_post), np.nan)
    dense[pre, post] = w
    return dense, np.asarray(w)


def weights(w: Any, projection: Any = None, *, bins: Any = 50, cmap: str = "viridis", fig=None):
    """Weight matrix (presynaptic rows, postsynaptic columns; blank where unconnected) and weight histogram.

    Args:
      w: a matrix ``(n_pre, n_post)``; a :class:`snnjax.Projection` of a built network (``net.projections["EE"]``);
        a :class:`snnjax.ProjectionState` with plastic weights (``runner.state.synapses["EE"]``, first batch
        element), or weights per synapse ``(K,)`` — the last two need ``projection`` for the synapse list.
      projection: the Projection whose synapse list places per-synapse weights in the matrix.
      bins: histogram bins: a number, or the bin edges.
      cmap: colour map of the matrix.
      fig: matplotlib Figure to draw on (default: a new one).

    Returns:
      the Figure: ``fig.axes[0]`` the matrix (an ``AxesImage``), ``fig.axes[1]`` the histogram of the synapses'
      weights (in the weights' unit, e.g. nA for CUBA or relative to leak for COBA), ``fig.axes[2]`` the colour
      bar.
    """
    plt = _plt()
    matrix, values = _weight_matrix(w, projection)
    fig = plt.figure(figsize=(9, 3.8)) if fig is None else fig
    ax_m, ax_h = fig.subplots(1, 2, width_ratios=[1.2, 1])
    im = ax_m.imshow(matrix, aspect="auto", interpolation="nearest", cmap=cmap, origin="upper")
    fig.colorbar(im, ax=ax_m, label="weight")
    ax_m.set(xlabel="postsynaptic neuron", ylabel="presynaptic neuron")
    finite = values[np.isfinite(values)]
    ax_h.hist(finite, bins=bins, color="C0")
    ax_h.set(xlabel="weight", ylabel="synapses")
    return fig


def fi_curve(
    currents: Any,
    rates: Any = None,
    ax=None,
    *,
    mon: Any = None,
    path: str | None = None,
    label: str | None = None,
):
    """Firing rate against input current (f-I curve).

    Either give the rates, or a record in which neuron ``i`` of a population was driven by ``currents[i]`` (e.g.
    ``inputs=[("E.input", currents)]`` for a population of ``len(currents)`` neurons): its rates are computed over
    the whole record (:func:`snnjax.analysis.firing_rates`).

    Args:
      currents: input currents, nA, ``(n,)``.
      rates: firing rates, Hz, ``(n,)``.
      ax: matplotlib Axes (default: a new figure).
      mon: ``runner.mon`` or the record of :func:`snnjax.simulate`, instead of ``rates``.
      path: the spike monitor in ``mon`` (``"E.spike"`` or ``"E"``).
      label: legend label.

    Returns:
      the Axes; one ``Line2D`` with ``n`` points (nA, Hz).
    """
    ax = _axes(ax)
    currents = np.asarray(currents, dtype=float).ravel()
    if (rates is None) == (mon is None):
        raise ValueError("fi_curve: give either rates or mon (with path)")
    if mon is not None:
        if path is None:
            raise ValueError("fi_curve: path (the spike monitor, e.g. 'E.spike') is required with mon")
        ts = _ts(mon)
        _, rows, n = _spike_rows(mon, _paths(mon, path, "spike")[0])
        rates = np.bincount(rows, minlength=n) / (ts.size * _dt(ts) / 1000.0)
    rates = np.asarray(rates, dtype=float).ravel()
    if rates.shape != currents.shape:
        raise ValueError(f"fi_curve: rates {rates.shape} and currents {currents.shape} must have the same length")
    ax.plot(currents, rates, "o-", ms=3, label=label)
    ax.set(xlabel="input current (nA)", ylabel="firing rate (Hz)")
    return ax
