"""What to record: monitor specs, read only by ``simulate`` and ``Runner`` (diffrax's ``SaveAt`` idea).

A monitor is one of

* a state path, ``'<population>.<field>'`` or ``'<projection>.<field>'``, optionally with an index
  subset of the (flattened) neurons: ``'E.v[0:10]'``, ``'E.v[::100]'``, ``'E.v[3]'``, ``'E.v[1,5,9]'``;
  recorded every ``every`` steps, time on axis 0 (a population's spike state, ``'E.spike'``, is not sampled
  but summed over the ``every`` steps of each record: spike counts per window, so rates stay exact);
* a ``(name, fn)`` pair, ``fn(state) -> array`` computed on the device at every record;
* a :class:`Probe` (e.g. :class:`PopulationRate`): like ``(name, fn)`` but also given ``dt``;
* a :class:`Reducer` (:class:`SpikeCount`, :class:`Mean`, :class:`ExpTrace`): a summary accumulated on
  the device over every step of the run, without any trace; its result has no time axis (or, for
  ``ExpTrace``, is recorded like a trace).

Long runs: the reducers accumulate with compensated (Kahan) summation in the state's float dtype (float32
unless ``jax_enable_x64``), so a sum over ``n`` steps keeps a relative error of about ``2 eps + n eps**2``
(``eps = 6e-8``): below 1e-6 up to ~2.5e8 steps and below 1e-5 for the longest run the int32 step counter
allows (2**31 - 1 steps), where a plain float32 sum drifts by up to ``n eps`` (a constant -65.3 mV
averaged to -64.4 mV over 2e6 steps).
"""

from __future__ import annotations

import dataclasses
import re

import jax
import jax.numpy as jnp
import numpy as np

_PATH = re.compile(r"^(?P<path>[A-Za-z_]\w*\.[A-Za-z_]\w*)(?:\[(?P<index>[^\]]*)\])?$")


def parse_path(path: str) -> tuple[str, slice | np.ndarray | None]:
    """``'E.v[0:10]'`` -> ``('E.v', slice(0, 10))``; ``'E.v[1,5]'`` -> ``('E.v', array([1, 5]))``."""
    m = _PATH.match(path.replace(" ", ""))
    if m is None:
        raise ValueError(
            f"monitors: {path!r} is not a path of the form 'population.field' or 'population.field[index]'"
        )
    index = m.group("index")
    if index is None:
        return m.group("path"), None
    try:
        if ":" in index:
            parts = [int(p) if p else None for p in index.split(":")]
            if len(parts) > 3:
                raise ValueError
            return m.group("path"), slice(*parts)
        return m.group("path"), np.array([int(p) for p in index.split(",")], dtype=np.int64)
    except ValueError:
        raise ValueError(f"monitors: bad index in {path!r}; use [a:b], [a:b:step], [i] or [i,j,k]") from None


def read_field(state, path: str) -> jax.Array:
    """The state array at ``'name.field'`` (neuron or synapse state)."""
    name, field = path.split(".", 1)
    group = state.neurons if name in state.neurons else state.synapses
    return getattr(group[name], field)


def _flat(x: jax.Array, n_trailing: int) -> jax.Array:
    return x.reshape(*x.shape[: x.ndim - n_trailing], -1)


def _kahan_add(total: jax.Array, comp: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Compensated sum: ``(total, comp) + x``; the exact sum is ``total - comp`` up to ``eps**2`` terms.

    ``comp`` holds the low-order bits that ``total`` lost in the last addition (Kahan 1965); XLA does not
    reassociate floating-point additions, so ``(t - total) - y`` is not folded to 0.
    """
    y = x - comp
    t = total + y
    return t, (t - total) - y


def _float_zeros(x: jax.Array) -> jax.Array:
    dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.result_type(float)
    return jnp.zeros(x.shape, dtype)


@dataclasses.dataclass(frozen=True)
class Probe:
    """Base class of per-record values computed from the state and ``dt`` (ms)."""

    name: str

    def bind(self, net) -> Probe:
        """The probe with what it needs from the network (``simulate`` and ``Runner`` call it); default: itself."""
        return self

    def __call__(self, state, dt: float) -> jax.Array:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class PopulationRate(Probe):
    """Instantaneous population rate (Hz) of ``population``: fraction of its neurons spiking in the step / dt.

    Shape ``(*batch,)`` per record, whatever the population's shape (an ``LIF((10, 10))`` averages over
    its 100 neurons). With ``every=k`` it is sampled (not averaged) every k steps; for averages over a
    run use :class:`SpikeCount`.

    ``neuron_ndim`` (the population's number of axes) is filled in from the network by ``simulate`` and
    ``Runner``; called directly on a state it defaults to 1 (a 1-D population).
    """

    population: str = ""
    neuron_ndim: int | None = dataclasses.field(default=None, repr=False)

    def bind(self, net) -> PopulationRate:
        return dataclasses.replace(self, neuron_ndim=len(net.populations[self.population].shape))

    def __call__(self, state, dt):
        s = _flat(state.neurons[self.population].spike, 1 if self.neuron_ndim is None else self.neuron_ndim)
        return s.sum(-1) / s.shape[-1] / (dt * 1e-3)


@dataclasses.dataclass(frozen=True)
class Reducer:
    """Base class of summaries accumulated over every step: ``init``, ``update``, ``result``.

    The accumulator (``init``'s value) is any pytree of arrays; ``result(acc, n_steps, dt)`` turns it into
    the reported value. ``recorded = True`` (``ExpTrace``) records the running value every ``every``
    steps, time on axis 0; otherwise only the result at the end of the run is returned.
    """

    name: str
    recorded = False

    def init(self, state):  # pragma: no cover - abstract
        raise NotImplementedError

    def update(self, acc, state, dt: float):  # pragma: no cover - abstract
        raise NotImplementedError

    def result(self, acc, n_steps: int, dt: float):
        return acc


@dataclasses.dataclass(frozen=True)
class SpikeCount(Reducer):
    """Spikes per neuron of ``population`` over the run: float32 ``(*batch, *shape)``.

    Divide by the simulated time in s for rates in Hz. Counted with compensated summation (the
    gradient of float spikes flows through it), so the counts stay exact integers for as long as the
    step counter allows; the float32 result is exact up to 2**24 = 16,777,216 spikes per neuron.
    """

    population: str = ""

    def init(self, state):
        zero = _float_zeros(state.neurons[self.population].spike)
        return zero, zero

    def update(self, acc, state, dt):
        spike = state.neurons[self.population].spike
        return _kahan_add(*acc, spike.astype(acc[0].dtype))

    def result(self, acc, n_steps, dt):
        total, comp = acc
        return total - comp


@dataclasses.dataclass(frozen=True)
class Mean(Reducer):
    """Time average of a state path (e.g. ``'E.v'``, mV) over every step of the run.

    The sum is compensated (Kahan) in the field's float dtype: in float32 the mean of ``n`` steps keeps a
    relative error of about ``1e-7 + n * 4e-15`` (below 1e-5 up to the 2**31 - 1 steps of the int32 step
    counter; a plain float32 sum drifts by ``n * 6e-8``: -65.3 mV read -64.4 mV after 2e6 steps).
    """

    path: str = ""

    def init(self, state):
        zero = _float_zeros(read_field(state, self.path))
        return zero, zero

    def update(self, acc, state, dt):
        return _kahan_add(*acc, read_field(state, self.path).astype(acc[0].dtype))

    def result(self, acc, n_steps, dt):
        total, comp = acc
        return (total - comp) / n_steps


@dataclasses.dataclass(frozen=True)
class ExpTrace(Reducer):
    """Exponentially filtered state path: ``x <- x exp(-dt/tau) + value`` every step (``tau`` in ms).

    For spikes, ``x / tau * 1000`` is a smoothed rate in Hz. Recorded every ``every`` steps like a trace.

    Computed as ``x <- x + (value - a x)`` with ``a = 1 - exp(-dt/tau)`` taken in float64 on the host and
    the addition compensated (Kahan): a float32 ``exp(-dt/tau)`` near 1 would put a relative error of
    ``eps tau / dt`` on the steady state ``value / a`` (6% at ``tau / dt = 1e6``); this way the error stays
    near ``eps`` for any ``tau / dt`` and any run length.
    """

    path: str = ""
    tau: float = 100.0
    recorded = True

    def __post_init__(self):
        if not (isinstance(self.tau, (int, float)) and self.tau > 0):
            raise ValueError(f"ExpTrace: tau must be > 0 (ms), got {self.tau!r}")

    def init(self, state):
        zero = _float_zeros(read_field(state, self.path))
        return zero, zero

    def update(self, acc, state, dt):
        x, comp = acc
        a = -float(np.expm1(-float(dt) / float(self.tau)))  # 1 - exp(-dt/tau), float64 on the host
        value = read_field(state, self.path).astype(x.dtype)
        return _kahan_add(x, comp, value - a * x)

    def result(self, acc, n_steps, dt):
        x, comp = acc
        return x - comp


@dataclasses.dataclass
class SpikeEvents:
    """Compact spike record: for every spike, its record index and position (int32, 8 bytes per spike
    for a 1-D group instead of one byte per neuron and step for a dense raster).

    Recorded with ``every = k > 1``, a record covers a window of ``k`` steps starting at its time stamp and
    holds *every* spike of the window (not only those of the step the other monitors sample): a neuron that
    spikes ``n`` times in a window has ``n`` entries with that record index, stamped with the window's start.
    So spike counts and rates (:mod:`snnjax.analysis`) are exact; spike times are known to the window only.

    Attributes:
      rec_index: int32 ``(n_spikes,)``, index into ``ts``.
      index: tuple of int32 arrays ``(n_spikes,)``: one per batch axis, then the flat (C-order) neuron
        index, ``np.ravel_multi_index(position, population_shape)`` for an N-D population.
      shape: the dense shape ``(T, *batch, *population_shape)``.
      ts: float64 ``(T,)`` record times, ms (the start of each window).
      every: steps per record (the window), 1 for a record of every step.
    """

    rec_index: np.ndarray
    index: tuple[np.ndarray, ...]
    shape: tuple[int, ...]
    ts: np.ndarray
    every: int = 1

    @property
    def times(self) -> np.ndarray:
        """Spike times, ms (float64 ``(n_spikes,)``); with ``every > 1`` the start of each spike's window."""
        return self.ts[self.rec_index]

    @property
    def neuron(self) -> np.ndarray:
        """Flat (C-order) neuron index of each spike (for an N-D population too)."""
        return self.index[-1]

    def __len__(self) -> int:
        return int(self.rec_index.shape[0])

    def to_dense(self) -> np.ndarray:
        """Boolean raster ``(T, *batch, *population_shape)``; with ``every > 1`` the spike count of each window
        (the smallest unsigned int dtype holding ``every``)."""
        n_batch = len(self.index) - 1
        dtype = bool if self.every == 1 else np.min_scalar_type(int(self.every))
        flat = np.zeros((*self.shape[: 1 + n_batch], int(np.prod(self.shape[1 + n_batch :]))), dtype)
        if self.every == 1:
            flat[(self.rec_index, *self.index)] = True
        else:
            np.add.at(flat, (self.rec_index, *self.index), 1)
        return flat.reshape(self.shape)
