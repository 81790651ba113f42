"""What to record: monitor specs, read only by ``simulate`` and ``Runner`` (diffrax's ``SaveAt`` idea).

A monitor is one of

* a state path, ``'<population>.<field>'`` or ``'<projection>.<field>'``, optionally with an index
  subset of the (flattened) neurons: ``'E.v[0:10]'``, ``'E.v[::100]'``, ``'E.v[3]'``, ``'E.v[1,5,9]'``;
  recorded every ``every`` steps, time on axis 0;
* a ``(name, fn)`` pair, ``fn(state) -> array`` computed on the device at every record;
* a :class:`Probe` (e.g. :class:`PopulationRate`): like ``(name, fn)`` but also given ``dt``;
* a :class:`Reducer` (:class:`SpikeCount`, :class:`Mean`, :class:`ExpTrace`): a summary accumulated on
  the device over every step of the run, without any trace; its result has no time axis (or, for
  ``ExpTrace``, is recorded like a trace).
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


@dataclasses.dataclass(frozen=True)
class Probe:
    """Base class of per-record values computed from the state and ``dt`` (ms)."""

    name: str

    def __call__(self, state, dt: float) -> jax.Array:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class PopulationRate(Probe):
    """Instantaneous population rate (Hz) of ``population``: fraction of its neurons spiking in the step / dt.

    Shape ``(*batch,)`` per record. With ``every=k`` it is sampled (not averaged) every k steps;
    for averages over a run use :class:`SpikeCount`.
    """

    population: str = ""

    def __call__(self, state, dt):
        s = state.neurons[self.population].spike
        n = int(np.prod(s.shape[-1:]))
        return _flat(s, 1).sum(-1) / n / (dt * 1e-3)


@dataclasses.dataclass(frozen=True)
class Reducer:
    """Base class of summaries accumulated over every step: ``init``, ``update``, ``result``.

    ``recorded = True`` (``ExpTrace``) records the running value every ``every`` steps, time on axis 0;
    otherwise only the result at the end of the run is returned.
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

    Divide by the simulated time in s for rates in Hz.
    """

    population: str = ""

    def init(self, state):
        return jnp.zeros_like(state.neurons[self.population].spike)

    def update(self, acc, state, dt):
        return acc + state.neurons[self.population].spike


@dataclasses.dataclass(frozen=True)
class Mean(Reducer):
    """Time average of a state path (e.g. ``'E.v'``, mV) over every step of the run."""

    path: str = ""

    def init(self, state):
        return jnp.zeros_like(read_field(state, self.path))

    def update(self, acc, state, dt):
        return acc + read_field(state, self.path)

    def result(self, acc, n_steps, dt):
        return acc / n_steps


@dataclasses.dataclass(frozen=True)
class ExpTrace(Reducer):
    """Exponentially filtered state path: ``x <- x exp(-dt/tau) + value`` every step (``tau`` in ms).

    For spikes, ``x / tau * 1000`` is a smoothed rate in Hz. Recorded every ``every`` steps like a trace.
    """

    path: str = ""
    tau: float = 100.0
    recorded = True

    def __post_init__(self):
        if not (isinstance(self.tau, (int, float)) and self.tau > 0):
            raise ValueError(f"ExpTrace: tau must be > 0 (ms), got {self.tau!r}")

    def init(self, state):
        return jnp.zeros_like(read_field(state, self.path))

    def update(self, acc, state, dt):
        return acc * np.exp(-dt / self.tau) + read_field(state, self.path)


@dataclasses.dataclass
class SpikeEvents:
    """Compact spike record: for every spike, its record index and position (int32, 8 bytes per spike
    for a 1-D group instead of one byte per neuron and step for a dense raster).

    Attributes:
      rec_index: int32 ``(n_spikes,)``, index into ``ts``.
      index: tuple of int32 arrays ``(n_spikes,)``, one per axis after time (batch axes, then the
        flattened neuron index).
      shape: the dense shape ``(T, *batch, n)``.
      ts: float64 ``(T,)`` record times, ms.
    """

    rec_index: np.ndarray
    index: tuple[np.ndarray, ...]
    shape: tuple[int, ...]
    ts: np.ndarray

    @property
    def times(self) -> np.ndarray:
        """Spike times, ms (float64 ``(n_spikes,)``)."""
        return self.ts[self.rec_index]

    @property
    def neuron(self) -> np.ndarray:
        """Flattened neuron index of each spike."""
        return self.index[-1]

    def __len__(self) -> int:
        return int(self.rec_index.shape[0])

    def to_dense(self) -> np.ndarray:
        """Boolean raster ``(T, *batch, n)``."""
        out = np.zeros(self.shape, bool)
        out[(self.rec_index, *self.index)] = True
        return out
