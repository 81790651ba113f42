"""Spike-train statistics on monitor records: rates, smoothed population rate, ISI, CV, Fano factor, spike-count
correlation and synchrony.

Every function takes the spikes of one population in either form a run returns:

* a raster, ``(T, *shape)`` or ``(T, *batch, *shape)`` (``rec["E.spike"]`` of :func:`snnjax.simulate`,
  ``runner.mon["E.spike"]``), with ``dt`` the time between its rows, ms;
* the compact events of a :class:`~snnjax.Runner` spike monitor, ``runner.mon.spikes("E.spike")``
  (:class:`~snnjax.monitors.SpikeEvents`); ``dt`` is then read from its time stamps unless given.

A record made with ``every=k > 1`` holds spike counts per window of ``k`` steps (``simulate`` and ``Runner`` sum a
spike monitor over each window), so pass ``dt = k * dt_step`` for a raster (read from the time stamps for
:class:`~snnjax.monitors.SpikeEvents`): rates, counts, Fano factors, correlations and synchrony are then exact at that
resolution, while :func:`isi` and :func:`cv`, which need spike times, refuse such events.

The axes after time are all treated as neurons (a batched record is ``B * n`` neurons; pass ``rec[:, b]`` for one
batch element). Results are NumPy arrays on the host: these are post-hoc measurements, not part of a simulation.
Nothing here loops over neurons in Python.

Units: times and widths in ms, rates in Hz.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from snnjax import _checks
from snnjax.delays import steps_of

__all__ = [
    "cv",
    "fano_factor",
    "firing_rates",
    "isi",
    "population_rate",
    "smooth_rate",
    "spike_count_correlation",
    "spike_counts",
    "synchrony",
]

_WINDOWS = ("gaussian", "flat", "box")


def _positive(owner: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.generic)):
        raise TypeError(f"{owner}: {name} must be a number in ms, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{owner}: {name} must be a finite number of ms > 0, got {value!r}")
    return v


def _raster(owner: str, spikes: Any, dt: float | None) -> tuple[np.ndarray, float]:
    """-> (raster ``(T, N)``, bool or real as given: no float copy of a large bool raster; dt ms)."""
    if hasattr(spikes, "to_dense") and hasattr(spikes, "ts"):  # SpikeEvents
        ts = np.asarray(spikes.ts, dtype=float)
        if dt is None:
            if ts.size < 2:
                raise ValueError(f"{owner}: dt is required for a record of fewer than 2 time stamps")
            dt = float(ts[1] - ts[0])
        spikes = spikes.to_dense()
    if dt is None:
        raise ValueError(f"{owner}: dt (ms between the raster's rows) is required for a spike array")
    dt = _positive(owner, "dt", dt)
    arr = np.asarray(spikes)
    if arr.ndim < 2:
        raise ValueError(f"{owner}: spikes must be a raster (T, *shape) with time on axis 0, got shape {arr.shape}")
    if not (_checks.is_real_dtype(arr.dtype) or arr.dtype == bool):
        raise TypeError(f"{owner}: spikes must be a bool or real array, got dtype {arr.dtype}")
    return arr.reshape(arr.shape[0], -1), dt


def _need_times(owner: str, spikes: Any) -> None:
    """ValueError for events recorded with ``every > 1``: they hold counts per window, not spike times."""
    every = getattr(spikes, "every", 1)
    if every > 1:
        raise ValueError(
            f"{owner}: these spikes were recorded with every={every}, as counts per window of {every} steps, so their "
            "times (and intervals) are known to the window only; record the spike monitor with every=1"
        )


def _steps(owner: str, name: str, width: Any, dt: float, n: int) -> int:
    """A window in ms as a whole number (>= 1) of steps of ``dt``, at most ``n``."""
    w = _positive(owner, name, width)
    k = steps_of(w, dt)  # the one rule from ms to steps (snnjax.delays.time_steps)
    if k < 1 or abs(k * dt - w) > 1e-6 * max(w, dt):
        raise ValueError(f"{owner}: {name} must be a whole multiple of dt={dt:g} ms, got {width!r} ms")
    if k > n:
        raise ValueError(f"{owner}: {name}={width!r} ms is longer than the record ({n} steps of {dt:g} ms)")
    return k


def spike_counts(spikes: Any, bin: float, dt: float | None = None) -> np.ndarray:
    """Spike counts in consecutive bins of ``bin`` ms (an incomplete last bin is dropped).

    Args:
      spikes: raster ``(T, *shape)`` or :class:`~snnjax.monitors.SpikeEvents`.
      bin: bin width, ms, a whole multiple of ``dt``.
      dt: time between raster rows, ms.

    Returns:
      float array ``(T // k, N)``, ``k = bin / dt`` steps, ``N`` the number of neurons (non-time axes flattened).
    """
    r, dt = _raster("spike_counts", spikes, dt)
    return _counts("spike_counts", "bin", r, bin, dt)


def _counts(owner: str, name: str, r: np.ndarray, width: Any, dt: float) -> np.ndarray:
    k = _steps(owner, name, width, dt, r.shape[0])
    m = r.shape[0] // k
    return r[: m * k].reshape(m, k, -1).sum(axis=1, dtype=float)


def firing_rates(spikes: Any, dt: float | None = None) -> np.ndarray:
    """Mean firing rate of each neuron over the record, Hz.

    Args:
      spikes: raster ``(T, *shape)`` (values are counted, so graded spikes count with their value) or
        :class:`~snnjax.monitors.SpikeEvents`.
      dt: time between raster rows, ms.

    Returns:
      float array ``shape`` (the raster's non-time axes): spike count / (``T dt`` / 1000).
    """
    shape = tuple(spikes.shape[1:]) if hasattr(spikes, "to_dense") else np.shape(spikes)[1:]
    r, dt = _raster("firing_rates", spikes, dt)
    return (r.sum(axis=0, dtype=float) / (r.shape[0] * dt / 1000.0)).reshape(shape)


def population_rate(
    spikes: Any, dt: float | None = None, *, window: str | None = None, width: float | None = None
) -> np.ndarray:
    """Population rate per step, Hz: the fraction of neurons that spike in a step divided by ``dt`` (Brian2's
    ``PopulationRateMonitor.rate``), optionally smoothed (:func:`smooth_rate`).

    Args:
      spikes: raster ``(T, *shape)`` or :class:`~snnjax.monitors.SpikeEvents`.
      dt: time between raster rows, ms.
      window: None (no smoothing), ``'gaussian'`` or ``'flat'``/``'box'``.
      width: window width, ms (required with ``window``; see :func:`smooth_rate`).

    Returns:
      float array ``(T,)``, Hz.
    """
    r, dt = _raster("population_rate", spikes, dt)
    rate = r.mean(axis=1, dtype=float) / (dt / 1000.0)
    if window is None:
        if width is not None:
            raise ValueError("population_rate: width is given without a window; pass window='gaussian' or 'flat'")
        return rate
    return smooth_rate(rate, dt, window=window, width=width)


def smooth_rate(rate: Any, dt: float, window: str = "gaussian", width: float | None = None) -> np.ndarray:
    """Smooth a rate trace by convolution with a normalised window, as Brian2's
    ``PopulationRateMonitor.smooth_rate``.

    ``'gaussian'``: ``width`` is the standard deviation (ms); the window extends to +-2 ``width`` (rounded to
    whole steps as Brian2 does, ``round(2 width / dt)``, half to even). ``'flat'`` (alias ``'box'``): a box of
    ``width`` ms, rounded to an odd number of steps ``2 floor(width / (2 dt)) + 1`` so it is centred, as Brian2's.
    (These two window sizes keep Brian2's rounding, so that the same ``width`` gives Brian2's window; every other
    time in ms becomes steps by the package's one rule, :func:`snnjax.delays.time_steps`.) The window sums to
    one (the smoothed trace has the
    same integral as the input, except for the mass within half a window of the edges, where the trace is
    zero-padded: ``np.convolve(..., mode='same')``).

    Args:
      rate: ``(T,)`` or ``(T, ...)`` trace, Hz (time on axis 0; other axes smoothed independently).
      dt: time step of the trace, ms.
      window: ``'gaussian'``, ``'flat'`` or ``'box'``.
      width: window width, ms, > 0.

    Returns:
      float array, the shape of ``rate``, Hz.
    """
    dt = _positive("smooth_rate", "dt", dt)
    if window not in _WINDOWS:
        raise ValueError(f"smooth_rate: window must be one of {_WINDOWS}, got {window!r}")
    if width is None:
        raise ValueError("smooth_rate: width (ms) is required")
    width = _positive("smooth_rate", "width", width)
    rate = np.asarray(rate, dtype=float)
    if rate.ndim < 1:
        raise ValueError(f"smooth_rate: rate must have time on axis 0, got shape {rate.shape}")
    if window == "gaussian":
        half = int(np.round(2 * width / dt))
        kernel = np.exp(-(np.arange(-half, half + 1) ** 2) / (2 * (width / dt) ** 2))
    else:
        kernel = np.ones(int(width / 2 / dt) * 2 + 1)
    kernel /= kernel.sum()
    flat = rate.reshape(rate.shape[0], -1)
    # np.convolve(mode='same') of every column at once (the kernel is odd-length and symmetric)
    n, half = flat.shape[0], kernel.size // 2
    padded = np.pad(flat, ((half, half), (0, 0)))
    out = np.zeros_like(flat)
    for m, c in enumerate(kernel[::-1]):  # one pass per window tap, memory O(T x columns)
        out += c * padded[m : m + n]
    return out.reshape(rate.shape)


def isi(spikes: Any, dt: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Inter-spike intervals of every neuron, ms.

    Spike times are the raster's row times ``i dt`` (every nonzero entry is one spike: a count raster of a
    record with ``every > 1`` gives wrong intervals; events recorded so are refused).

    Args:
      spikes: raster ``(T, *shape)`` or :class:`~snnjax.monitors.SpikeEvents`.
      dt: time between raster rows, ms.

    Returns:
      ``(intervals, neuron)``: float array ``(M,)`` of intervals, ms, and int array ``(M,)`` of the flat
      neuron index each belongs to (neurons in increasing order, intervals in time order within a neuron).
    """
    _need_times("isi", spikes)
    r, dt = _raster("isi", spikes, dt)
    rt = np.ascontiguousarray(r.T)  # by neuron, then by time (np.nonzero of a 2-D array is ~20x slower than this)
    neuron, step = np.unravel_index(np.flatnonzero(rt), rt.shape)
    same = neuron[1:] == neuron[:-1]
    return (np.diff(step) * dt)[same], neuron[1:][same]


def cv(spikes: Any, dt: float | None = None) -> np.ndarray:
    """Coefficient of variation of the inter-spike intervals of each neuron: ``std(ISI) / mean(ISI)``
    (population standard deviation, ``ddof = 0``, as Elephant's ``cv``).

    1 for a Poisson process (in discrete time ``sqrt(1 - p)``, ``p`` the spike probability per step), 0 for a
    regular train. The estimate from ``n`` intervals of a Poisson train has standard error ``1 / sqrt(n)``.

    Args:
      spikes: raster ``(T, *shape)`` or :class:`~snnjax.monitors.SpikeEvents`.
      dt: time between raster rows, ms.

    Returns:
      float array ``(N,)`` (flat neurons): NaN where a neuron has fewer than two intervals.
    """
    _need_times("cv", spikes)
    r, dt = _raster("cv", spikes, dt)
    intervals, neuron = isi(r, dt)
    n = r.shape[1]
    count = np.bincount(neuron, minlength=n).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(neuron, intervals, minlength=n) / count
        var = np.bincount(neuron, (intervals - mean[neuron]) ** 2, minlength=n) / count
        out = np.sqrt(var) / mean
    return np.where(count >= 2, out, np.nan)


def fano_factor(spikes: Any, window: float, dt: float | None = None) -> np.ndarray:
    """Fano factor of each neuron's spike count in consecutive windows of ``window`` ms: ``var / mean`` of the
    counts (sample variance, ``ddof = 1``).

    1 for a Poisson process (``1 - p`` in discrete time), tending to 0 for a regular train as the window grows
    (exactly 0 when the window is a multiple of its period). With ``K`` windows of mean count ``m`` a Poisson
    train's estimate has standard error about ``sqrt(2 / (K - 1) + 1 / (m K))``.

    Args:
      spikes: raster ``(T, *shape)`` or :class:`~snnjax.monitors.SpikeEvents`.
      window: counting window, ms, a whole multiple of ``dt``; the record must hold at least two.
      dt: time between raster rows, ms.

    Returns:
      float array ``(N,)`` (flat neurons); NaN for a neuron without spikes.
    """
    r, dt = _raster("fano_factor", spikes, dt)
    counts = _counts("fano_factor", "window", r, window, dt)
    if counts.shape[0] < 2:
        raise ValueError(f"fano_factor: window={window!r} ms leaves fewer than two windows in the record")
    mean = counts.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mean > 0, counts.var(axis=0, ddof=1) / mean, np.nan)


def spike_count_correlation(spikes: Any, bin: float, dt: float | None = None) -> np.ndarray:
    """Pairwise Pearson correlation of the neurons' spike counts in bins of ``bin`` ms.

    Args:
      spikes: raster ``(T, *shape)`` or :class:`~snnjax.monitors.SpikeEvents`.
      bin: bin width, ms, a whole multiple of ``dt``; the record must hold at least two bins.
      dt: time between raster rows, ms.

    Returns:
      float array ``(N, N)``, symmetric, 1 on the diagonal; NaN in the rows and columns of neurons whose
      count does not vary (e.g. silent ones).
    """
    r, dt = _raster("spike_count_correlation", spikes, dt)
    counts = _counts("spike_count_correlation", "bin", r, bin, dt)
    if counts.shape[0] < 2:
        raise ValueError(f"spike_count_correlation: bin={bin!r} ms leaves fewer than two bins in the record")
    z = counts - counts.mean(axis=0)
    sd = np.sqrt((z**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = z / sd
    return z.T @ z


def synchrony(signals: Any, dt: float | None = None, bin: float | None = None) -> float:
    """Golomb's synchrony measure chi (Golomb & Rinzel 1993, Physica D 72:259; Golomb 2007, Scholarpedia 2:1347).

    ``chi**2 = Var_t[mean_i x_i(t)] / mean_i Var_t[x_i(t)]``, in ``[0, 1]``: 1 when every neuron's signal is the
    same, about ``1 / sqrt(N)`` for ``N`` independent neurons (``chi**2 = 1 / N`` in expectation), so 0 in the
    limit of a large population.

    Args:
      signals: the neurons' signals ``x_i(t)``: with ``bin`` a spike raster ``(T, *shape)`` or
        :class:`~snnjax.monitors.SpikeEvents` whose counts in bins of ``bin`` ms are used; without ``bin`` any
        traces ``(T, *shape)`` (e.g. membrane potentials, mV), used as they are.
      dt: time between rows, ms (needed with ``bin`` only).
      bin: bin width for spike counts, ms, a whole multiple of ``dt``.

    Returns:
      chi, a float; NaN if no neuron's signal varies.
    """
    if bin is not None:
        r, dt = _raster("synchrony", signals, dt)
        x = _counts("synchrony", "bin", r, bin, dt)
    else:
        x = np.asarray(signals, dtype=float)
        x = x.reshape(x.shape[0], -1) if x.ndim >= 1 else x
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"synchrony: signals must be (T, *shape) with at least two time points, got {x.shape}")
    total = x.var(axis=0).mean()
    if total == 0:
        return float("nan")
    return float(np.sqrt(x.mean(axis=1).var() / total))
