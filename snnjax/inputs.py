"""Inputs: spike sources that sit in a :class:`snnjax.Network` like neuron groups, and input currents.

Spike sources (populations: ``init(batch_shape, key)`` / ``update(state, current, *, dt)`` / ``shape``,
so projections read their spikes through the usual delay buffers)::

    net = sj.Network(P=sj.inputs.PoissonGroup(100, rate=20.),          # 100 independent 20 Hz trains
                     E=sj.neurons.LIF(10, ...),
                     PE=sj.Projection("P", "E", conn=sj.conn.FixedProb(0.2), weight=0.5, ...))

    stim = sj.inputs.SpikeTimeGroup(3, indices=[0, 2, 0], times=[5., 5., 12.5])   # ms
    pix = sj.inputs.SpikeArray(64)      # spikes = the array given at "pix.input", (T, *batch, 64)

Currents (arrays with one value per step on axis 0, for ``inputs=[("E.input", current)]`` of
:func:`snnjax.simulate` and :class:`snnjax.Runner`), with BrainPy's ``bp.inputs`` names:
:func:`section_input`, :func:`step_input`, :func:`ramp_input`, :func:`ou_process`.

Step convention (the Runner's): step ``i`` advances the state from ``t_i = i dt`` to ``t_i + dt`` ms and
row ``i`` of a current array is the input during that step. Durations and times become whole steps as
``simulate``'s ``duration`` does, by the package's one rule from ms to steps (:func:`snnjax.delays.time_steps`):
``steps(t) = floor(t / dt + 1/2)``, half steps rounding up (0.25 ms at dt 0.1 is 3 steps).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.typing import ArrayLike

from snnjax import _checks, kernels
from snnjax import random as counter_rng
from snnjax.delays import lag_of, steps_of, time_steps
from snnjax.outputs import CUBA
from snnjax.population import Population
from snnjax.synapses import Delta

__all__ = [
    "PoissonGroup",
    "PoissonInput",
    "PoissonInputState",
    "PoissonState",
    "SpikeArray",
    "SpikeArrayState",
    "SpikeTimeGroup",
    "SpikeTimeState",
    "ou_process",
    "ramp_input",
    "section_input",
    "step_input",
]

DEFAULT_DT = 0.1  # ms, the Runner's default


def _count(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def _check_no_current(owner: str, current: Any) -> None:
    """A spike source has no membrane: refuse a current instead of silently ignoring it."""
    if isinstance(current, numbers.Real) and not isinstance(current, bool) and current == 0:
        return  # Network.step passes 0.0 when nothing drives the population
    if not isinstance(current, jax.core.Tracer) and np.all(np.asarray(current) == 0):
        return
    raise TypeError(
        f"{owner}.update: a spike source takes no input current, got {current!r}; remove the "
        f"'<name>.input' entry or the projection that targets it"
    )


def _key(owner: str, key: Any) -> jax.Array:
    if key is None:
        raise ValueError(
            f"{owner}.init: key is required (the group's random stream starts from it), e.g. "
            "net.init(key=jax.random.key(0)); Runner passes key(0) unless given key="
        )
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key
    if getattr(key, "shape", None) == (2,) and jnp.issubdtype(getattr(key, "dtype", float), jnp.uint32):
        return jax.random.wrap_key_data(key)  # a legacy jax.random.PRNGKey
    raise TypeError(f"{owner}.init: key must be a jax.random.key(...), got {key!r}")


# -- Poisson spike trains -------------------------------------------------------------------------------


@struct.dataclass
class PoissonState:
    """State of a :class:`PoissonGroup`.

    Attributes:
      spike: 1.0 where the neuron fired during the last step, else 0.0; shape ``(*batch_shape, *shape)``.
      key: typed random key (shape ``()``), split once per step; it makes a resumed run bit-identical
        to one that never stopped (checkpoints store it).
    """

    spike: jax.Array
    key: jax.Array


@struct.dataclass
class PoissonGroup(Population):
    """Independent Poisson spike trains (BrainPy's ``PoissonGroup``, Brian2's ``PoissonGroup``).

    In each step of ``dt`` ms a neuron fires with probability ``p = 1 - exp(-rate * dt / 1000)``, the
    probability that a Poisson process of rate ``rate`` Hz has at least one event in the step: the train is
    the exact binning of a Poisson process, at most one spike per step (the convention of
    :func:`snnjax.encoders.poisson` too). It is defined for every rate, and it equals Brian2's and BrainPy's
    ``rate * dt / 1000`` to first order: the mean rate is ``p * 1000 / dt`` Hz, below ``rate`` by a fraction
    of about ``rate * dt / 2000`` (0.1 % at 20 Hz and ``dt = 0.1`` ms), the events that share a step.
    Beyond one expected event per step (``rate * dt > 1000``, Hz x ms) the binning would drop over a third
    of the events: :meth:`check_dt` raises there, and ``update`` calls it when it can see the values
    (concrete rates, e.g. ``simulate`` outside ``jit``); inside ``jit`` the rates are traced and only a
    dt-aware validation before tracing (``Network`` and ``Runner`` do it) can catch it.

    The draws come from the key in the state (split every step), so the same key gives the same
    trains and a run resumed from a returned state continues the same stream; in a
    :class:`snnjax.Network` every population gets its own key from ``net.init(key=...)``. With
    ``batch_shape`` every copy draws independent trains.

    Args:
      size: number of neurons (int) or the group's shape (tuple).
      rate: firing rate, Hz, >= 0: a scalar or an array of the group's shape (one rate per neuron). A
        leaf, so a sweep can vmap over it and it can be traced.
    """

    TAKES_INPUT: ClassVar[bool] = False  # a spike source (snnjax.population)
    ZERO_GRADIENT: ClassVar[tuple[str, ...]] = ("rate",)  # Bernoulli draws: no gradient reaches the rate

    size: Any = struct.field(pytree_node=False)
    rate: ArrayLike = 10.0

    def __post_init__(self):
        _checks.check_fields(self, {"rate": "nonnegative"}, strict=False, shape=self.shape)

    def _validate(self) -> None:
        """Complete checks on concrete values (run by ``Network``, ``Runner`` and ``simulate``)."""
        rate = self.rate
        if isinstance(rate, numbers.Real) and not isinstance(rate, bool):
            rate = float(rate)  # ints are skipped by __post_init__ (vmap axis trees); here they are values
        elif not isinstance(rate, jax.core.Tracer) and np.issubdtype(np.asarray(rate).dtype, np.integer):
            rate = np.asarray(rate, dtype=float)
        elif isinstance(rate, bool) or not (isinstance(rate, jax.core.Tracer) or _checks.is_concrete_float(rate)):
            raise TypeError(f"PoissonGroup: rate must be a number or a float array in Hz, got {self.rate!r}")
        _checks.check_real("PoissonGroup", "rate", rate, nonnegative=True, shape=self.shape)

    def check_dt(self, dt: float) -> None:
        """Raise ``ValueError`` if some ``rate * dt / 1000 > 1`` (over one expected event per step; rates concrete)."""
        dt = _checks.check_time("PoissonGroup", "dt", dt)
        if isinstance(self.rate, jax.core.Tracer):
            return
        top = float(np.max(np.asarray(self.rate, dtype=float)))
        if top * dt / 1000.0 > 1.0:
            raise ValueError(
                f"PoissonGroup: rate must be <= 1000 / dt = {1000.0 / dt:g} Hz at dt={dt:g} ms (at most one expected "
                f"event per step: a step holds one spike), got a maximum rate of {top:g} Hz; use a smaller dt"
            )

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the group (without batch dimensions)."""
        return _checks.normalize_shape("PoissonGroup", self.size)

    @property
    def count(self) -> int:
        """Number of neurons in the group."""
        return _count(self.shape)

    def init(self, batch_shape: tuple[int, ...] = (), key: jax.Array | None = None) -> PoissonState:
        """No spike yet; the random stream starts from ``key`` (required)."""
        self._validate()
        shape = (*tuple(batch_shape), *self.shape)
        return PoissonState(spike=jnp.zeros(shape, jnp.result_type(float)), key=_key("PoissonGroup", key))

    def update(self, state: PoissonState, current: ArrayLike = 0.0, *, dt: float) -> PoissonState:
        """One step of ``dt`` ms: fresh Bernoulli(``1 - exp(-rate dt / 1000)``) spikes. ``current`` must be 0."""
        _check_no_current("PoissonGroup", current)
        if _checks.is_concrete_float(self.rate) or isinstance(self.rate, numbers.Real):
            self.check_dt(dt)
        key, sub = jax.random.split(state.key)
        p = -jnp.expm1(-jnp.asarray(self.rate, state.spike.dtype) * (dt / 1000.0))
        spike = (jax.random.uniform(sub, state.spike.shape, state.spike.dtype) < p).astype(state.spike.dtype)
        return PoissonState(spike=spike, key=key)


# -- Poisson drive without synapses -------------------------------------------------------------------------

POISSON_INVERSION_MAX = 30.0  # expected count per step up to which counts are drawn by inversion (Philox)
_TAIL = 2.0**-40  # probability of a count beyond the inversion's last term: below any float32 resolution


def _inversion_terms(lam_max: float) -> int:
    """Terms of the inverse-CDF sum that leave a tail below ``_TAIL`` for a mean up to ``lam_max`` (float64)."""
    p = math.exp(-lam_max)
    cdf, k = p, 0
    while 1.0 - cdf > _TAIL and k < 400:
        k += 1
        p *= lam_max / k
        cdf += p
    return k + 1


@struct.dataclass
class PoissonInputState:
    """State of a :class:`PoissonInput` (a :class:`snnjax.Network` keeps it in ``state.synapses[name]``).

    Attributes:
      kinetics: the synapse model's state (``g``: ``(*batch, *post_shape)``).
      seed: the two uint32 key words of the counter-based generator (:mod:`snnjax.random`), ``(2,)``, drawn from
        the network's key; constant (the step number and the neuron index are the counters).
    """

    kinetics: Any
    seed: jax.Array

    def __getattr__(self, name: str):
        if name.startswith("_") or name in ("kinetics", "seed"):
            raise AttributeError(name)
        return getattr(self.kinetics, name)  # '<name>.g' reads the kinetics, as a projection's state does

    def fields(self) -> dict[str, Any]:
        """Monitorable fields: those of the kinetics (``'<name>.g'``)."""
        return {f: getattr(self.kinetics, f) for f in vars(self.kinetics) if getattr(self.kinetics, f) is not None}


@struct.dataclass
class PoissonInput:
    """External Poisson drive without synapses (Brian2's ``PoissonInput``, NEST's ``poisson_generator`` onto
    every neuron): a :class:`snnjax.Network` component, ``Network(E=..., ext=PoissonInput("E", n=1600, rate=8.,
    weight=87.8, ...))``.

    Every step each neuron of ``post`` draws the number of its ``n`` independent Poisson inputs of ``rate`` Hz
    that fired, exactly: a Poisson count of mean ``lam = n rate dt / 1000`` (the count of ``n`` independent
    Poisson processes in a step, as NEST draws it; Brian2's ``PoissonInput`` draws the binomial
    ``B(n, rate dt / 1000)``, whose variance is smaller by the factor ``1 - rate dt / 1000``, 0.9992 at 8 Hz and
    0.1 ms). ``weight x count`` then passes through ``synapse`` and ``output`` as a projection's summed input
    does. Cost ``O(n_post)`` per step, no synapse list.

    Draws: for ``lam`` up to :data:`POISSON_INVERSION_MAX` (30), by inversion of the Poisson CDF with one uniform per
    neuron and step from the counter-based Philox4x32-10 generator (:mod:`snnjax.random`) at the counters (neuron
    index, step, batch element): exact up to the float32 rounding of the CDF (about 1e-7), and the same numbers
    whatever the run's split (resumed runs, devices, batch elements) and whether ``n`` and ``rate`` are concrete
    (terms unrolled up to a tail below 2**-40, chosen when the network is built) or traced (``vmap`` sweeps: terms
    until every count is found, a runtime error if a mean exceeds 30). A network built with larger concrete means
    draws them with ``jax.random.poisson`` (exact; keyed by the seed and the step, so a split over devices draws
    other numbers of the same process).

    Timing: the counts act from step ``lag`` on (``lag`` from ``delay`` by the delays' rule,
    :func:`snnjax.delays.lag_steps`): the drive reaches the neurons ``delay`` after the start, as a generator's
    spikes through a delay do; later counts are independent, so a delay changes nothing else.

    Args:
      post: name of the target population.
      n: number of independent inputs per neuron, an int >= 1, or an int array of the population's shape.
      rate: rate of each input, Hz, >= 0: a scalar or an array of the population's shape.
      weight: weight of one input spike, in the unit of the output (nA for ``CUBA()``, pA for a current state of
        :class:`snnjax.neurons.IafPscExp`, mV for ``CUBA(target="v")``, conductance for ``COBA``): scalar or per
        neuron.
      synapse: kinetics (``snnjax.synapses``, post-aligned), default ``Delta()``.
      output: ``snnjax.outputs.CUBA()`` (default), ``COBA(E)``, ...
      delay: ms, >= 0 (static): the drive starts after it (see Timing).
      index: (set by sharded networks) the global neuron index of each slot of ``post``, int32, or None for
        ``arange``: the counter of the generator.

    Set when the drive is bound into a Network (not an argument): ``rate_bound``, see :meth:`bind`.
    """

    post: str = struct.field(pytree_node=False)
    n: ArrayLike = 1
    rate: ArrayLike = 10.0
    weight: ArrayLike = 1.0
    synapse: Any = Delta()
    output: Any = CUBA()
    delay: float = struct.field(pytree_node=False, default=0.0)
    index: Any = None
    rate_bound: float | None = struct.field(pytree_node=False, default=None)

    def __post_init__(self):
        if not isinstance(self.post, str):
            raise TypeError(f"PoissonInput: post must be a population name (str), got {self.post!r}")
        _checks.check_fields(self, {"rate": "nonnegative", "weight": None}, strict=False)
        if isinstance(self.delay, bool) or not isinstance(self.delay, numbers.Real) or not self.delay >= 0:
            raise ValueError(f"PoissonInput: delay must be a number of ms >= 0, got {self.delay!r}")
        if not math.isfinite(float(self.delay)):
            raise ValueError(f"PoissonInput: delay must be finite, got {self.delay!r}")

    def _validate(self, post_shape: tuple[int, ...] | None = None) -> None:
        """Complete checks on concrete values (``Network`` runs them when it is built, and before each run)."""
        where = f"PoissonInput onto {self.post!r}"
        n = self.n
        if not isinstance(n, jax.core.Tracer):
            arr = np.asarray(n)
            if (
                isinstance(n, (bool, np.bool_))
                or arr.dtype == bool
                or not np.issubdtype(arr.dtype, np.integer)
                or (arr.size and arr.min() < 1)
            ):
                raise ValueError(
                    f"{where}: n must be a positive integer (inputs per neuron) or an int array, got {n!r}"
                )
        _checks.check_fields(self, {"rate": "nonnegative", "weight": None}, strict=True)
        kin = self.synapse
        if getattr(kin, "align", "post") != "post" or not all(hasattr(kin, a) for a in ("init", "update")):
            raise TypeError(
                f"{where}: synapse must be post-aligned kinetics (Delta, Exponential, Alpha, DualExponential), "
                f"got {kin!r}"
            )
        out = self.output
        if not (hasattr(out, "contribution") and hasattr(out, "target")):
            raise TypeError(f"{where}: output must be snnjax.outputs.CUBA(), COBA(E) or MgBlock(...), got {out!r}")
        for part in (kin, out):
            if hasattr(part, "_validate"):
                part._validate()
        if post_shape is not None:
            for name in ("n", "rate", "weight"):
                got = tuple(np.shape(getattr(self, name)))
                if got not in ((), tuple(post_shape)):
                    raise ValueError(
                        f"{where}: {name} must be a scalar or have the population's shape {tuple(post_shape)}, got "
                        f"shape {got}"
                    )

    def lag(self, dt: float) -> int:
        """The first step the drive acts on: ``max(1, floor(delay / dt + 1/2))`` (the delays' rule)."""
        return lag_of(float(self.delay), dt)

    def bind(self) -> PoissonInput:
        """This drive with :attr:`rate_bound` set from its concrete ``n`` and ``rate`` (``Network`` calls it when it
        is built): the largest ``n rate`` (Hz), which fixes the terms of the inversion before anything is traced;
        ``None`` when they are traced (``jax.random.poisson`` is used then)."""
        if any(isinstance(x, jax.core.Tracer) for x in (self.n, self.rate)):
            return self.replace(rate_bound=None)
        top = float(np.max(np.asarray(self.n, np.float64) * np.asarray(self.rate, np.float64), initial=0.0))
        return self.replace(rate_bound=top)

    def _terms(self, dt: float) -> int | None:
        """Terms of the inversion for means up to :data:`POISSON_INVERSION_MAX`, from :attr:`rate_bound`; else None."""
        if self.rate_bound is None:
            return None
        lam = self.rate_bound * dt / 1000.0
        return _inversion_terms(lam) if lam <= POISSON_INVERSION_MAX else None

    def prepare(self, dt: float, post_count: int) -> dict:
        """Per-run arrays: ``{"lam": (count,), "p0": exp(-lam)}``, the expected count per neuron and step,
        ``n rate dt / 1000``
        (checked, when the inversion is used, against the bound its terms were chosen for: a runtime error if a
        traced ``n`` or ``rate`` exceeds the values the network was built with)."""
        dtype = jnp.result_type(float)
        lam = jnp.asarray(self.n, dtype) * jnp.asarray(self.rate, dtype) * (dt / 1000.0)
        lam = jnp.broadcast_to(lam.reshape(-1), (post_count,))
        p0 = jnp.exp(-lam)  # the first term of the inversion, once per run
        if any(isinstance(x, jax.core.Tracer) for x in (self.n, self.rate)):
            terms = self._terms(dt)
            bound = POISSON_INVERSION_MAX if self.rate_bound is None else self.rate_bound * dt / 1000.0
            if self.rate_bound is None or terms is not None:  # the inversion runs: its range is checked
                jax.debug.callback(_raise_above, jnp.max(lam), bound)
        return {"lam": lam, "p0": p0}

    def init_state(self, post_shape: tuple[int, ...], batch_shape: tuple[int, ...] = (), key=None) -> PoissonInputState:
        """Zero kinetics ``(*batch, *post_shape)`` and the generator's key words (from ``key``, required)."""
        kinetics = self.synapse.init(tuple(post_shape), tuple(batch_shape))
        return PoissonInputState(kinetics=kinetics, seed=counter_rng.seed_words(_key("PoissonInput", key)))

    def state_axes(self, state: PoissonInputState) -> PoissonInputState:
        """The axis of each leaf of ``state`` (:mod:`snnjax.axes`): the kinetics run over the target's neurons, the
        generator's key words are the same everywhere."""
        return PoissonInputState(kinetics=jax.tree.map(lambda _: "post", state.kinetics), seed="rep")

    def counts(self, prep: dict, state: PoissonInputState, step: jax.Array, dt: float, shape) -> jax.Array:
        """This step's counts, float ``shape = (*batch, count)`` (the population flattened)."""
        dtype = state.kinetics.g.dtype
        lam = prep["lam"].astype(dtype)
        terms = self._terms(dt)
        if terms is None and self.rate_bound is not None:  # concrete means above the inversion's range
            key = jax.random.fold_in(jax.random.wrap_key_data(state.seed), step)
            return jax.random.poisson(key, lam, shape).astype(dtype)
        neuron = jnp.arange(shape[-1], dtype=jnp.uint32) if self.index is None else jnp.asarray(self.index, jnp.uint32)
        batch = jnp.arange(math.prod(shape[:-1]), dtype=jnp.uint32).reshape(shape[:-1])
        # the compiled Philox when the kernels run, else the same numbers from XLA (snnjax.random)
        step = jnp.asarray(step, jnp.uint32)
        p0 = prep["p0"].astype(dtype)
        if terms is not None:  # the compiled generator and inversion when the kernels run, else XLA's: the same counts
            return kernels.poisson(state.seed, step, batch, neuron, lam, p0, terms, dtype=dtype)
        u = kernels.uniform(state.seed, step, batch, neuron, dtype=dtype)
        return counter_rng.poisson_by_inversion(u, lam, p0, None)

    def transmit(
        self, prep: dict, state: PoissonInputState, *, step: jax.Array, dt: float, post_shape: tuple[int, ...]
    ) -> tuple[PoissonInputState, jax.Array]:
        """One step: counts x weight -> kinetics; returns ``(state, g)`` with ``g`` ``(*batch, *post_shape)``."""
        g = state.kinetics.g
        shape = (*g.shape[: g.ndim - len(post_shape)], math.prod(post_shape))
        w = jnp.broadcast_to(jnp.asarray(self.weight, g.dtype).reshape(-1), shape[-1:])

        def draw():
            return self.counts(prep, state, step, dt, shape) * w

        # a branch (nothing drawn before the drive starts) whose result is materialised: as a plain expression XLA
        # fused the generator into each consumer of the input (three, through the neuron's update) and ran it thrice
        inp = jax.lax.cond(step >= self.lag(dt), draw, lambda: jnp.zeros(shape, g.dtype)).reshape(g.shape)
        kinetics = self.synapse.update(state.kinetics, inp, dt=dt)
        return state.replace(kinetics=kinetics), kinetics.g


def _raise_above(lam, bound):
    if float(lam) > float(bound) * (1 + 1e-6):
        raise ValueError(
            f"PoissonInput: n * rate * dt / 1000 reaches {float(lam):g}, above the {float(bound):g} the counts are "
            "drawn for (the largest of the network as built, or 30 for rates traced when it was built); build the "
            "Network with concrete n and rate up to their largest values"
        )


# -- given spike times ----------------------------------------------------------------------------------

_STEP_TOL = 1e-3  # steps: a time this close after a step start counts as on it (decimal times in binary)
_LAST_STEP = 2**30  # events at or beyond this step never fire (int32 step counters, and no overflow below)


def _split12(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """float32 ``x`` as ``head + tail`` exactly, each with at most 12 significant bits (bit mask: no rounding)."""
    bits = jax.lax.bitcast_convert_type(x, jnp.int32)
    head = jax.lax.bitcast_convert_type(bits & jnp.int32(-4096), jnp.float32)  # clear the low 12 mantissa bits
    return head, x - head


def _pieces12(c: float, n: int) -> list[float]:
    """A positive float as ``n`` terms of at most 12 significant bits each (exact in float32), largest first."""
    out = []
    for _ in range(n):
        m, e = math.frexp(c)
        out.append(math.ldexp(math.trunc(m * 4096.0), e - 12))
        c -= out[-1]
    return out


def _exact_steps(hi: jax.Array, lo: jax.Array, dt: float) -> jax.Array:
    """``max(0, ceil((hi + lo) / dt - 1e-3))`` as int32, in float32 arithmetic without rounding error that matters.

    ``hi + lo`` (float32 value and residual of a time) and ``1 / dt`` (from the host) are cut into 12-bit
    pieces, so every partial product is exact in float32; their whole parts are summed as ints and only the
    fractional parts (ten numbers in [0, 1)) are summed in float32. Products below ``2**-48`` of the total are
    dropped: the result is that of exact arithmetic unless ``times / dt - 1e-3`` lies within ``2e-5`` of an
    integer (at ``2**30`` steps; closer for earlier times).
    """
    far = hi * jnp.float32(1.0 / dt) >= _LAST_STEP
    xs = (*_split12(jnp.where(far, 0.0, hi)), *_split12(jnp.where(far, 0.0, lo)))
    cs = _pieces12(1.0 / dt, len(xs))
    whole = jnp.zeros(hi.shape, jnp.int32)
    frac = jnp.zeros(hi.shape, jnp.float32)
    for i, x in enumerate(xs):
        for c in cs[: len(xs) - i]:  # terms of relative size >= 2**-36
            p = x * jnp.float32(c)
            f = jnp.floor(p)
            whole = whole + f.astype(jnp.int32)
            frac = frac + (p - f)
    steps = whole + jnp.ceil(frac - _STEP_TOL).astype(jnp.int32)
    return jnp.where(far, -1, jnp.maximum(steps, 0))


@struct.dataclass
class SpikeTimeState:
    """State of a :class:`SpikeTimeGroup`.

    Attributes:
      spike: 1.0 where the neuron fired during the last step; shape ``(*batch_shape, *shape)``.
      step: int32 number of steps taken (the next step starts at ``t = step * dt`` ms).
    """

    spike: jax.Array
    step: jax.Array


@struct.dataclass
class SpikeTimeGroup(Population):
    """Neurons that fire at given times (BrainPy's ``SpikeTimeGroup``).

    Neuron ``indices[k]`` fires at ``times[k]`` ms: during the first step whose start time ``i dt`` is
    ``>= times[k]`` (as BrainPy), so a time on the step grid fires in its own step and a monitor
    stamps it with exactly that time. The rule, with ``times / dt`` in exact arithmetic:

        step[k] = max(0, ceil(times[k] / dt - 1e-3)),

    i.e. a time within a thousandth of a step after a step start counts as on it (``0.3`` ms at
    ``dt = 0.1`` is step 3, though ``0.3 / 0.1 = 2.9999999999999996`` in float64). :meth:`event_steps`
    evaluates it on the host in float64. On the device the times are float32, too coarse at late times
    (``250000.05`` ms is ``250000.046875``, and ``times / dt`` in float32 is off by whole steps), so the
    group keeps, next to each time, the float32 residual of its float64 value, and ``update`` evaluates
    the rule from the pair with exact 12-bit partial products: the same integer steps as
    :meth:`event_steps`, to within ``2e-5`` step of a boundary, at any time up to ``2**30`` steps (later
    events never fire). Times given in float32 are taken as their float32 values.

    Events are kept in any order; several at one step and neuron give one spike. Each step compares all
    ``K`` event steps with the step counter (O(K) work per step).

    Args:
      size: number of neurons (int) or the group's shape (tuple; ``indices`` then index the flattened
        group, C order).
      indices: int array ``(K,)``, neuron of each event, in ``[0, count)``.
      times: float array ``(K,)``, time of each event, ms, finite and >= 0.
    """

    TAKES_INPUT: ClassVar[bool] = False  # a spike source (snnjax.population)
    SPLITTABLE: ClassVar[bool] = False  # spikes listed by neuron index
    ZERO_GRADIENT: ClassVar[tuple[str, ...]] = ("times", "_times_split")  # spike times: steps, no gradient

    size: Any = struct.field(pytree_node=False)
    indices: ArrayLike = struct.field(default_factory=lambda: np.zeros(0, np.int32))
    times: ArrayLike = struct.field(default_factory=lambda: np.zeros(0))
    # (K, 2) float32: each float64 time as float32 value and float32 residual (set from float64 NumPy times);
    # a leaf, so the exact times survive jit, where the Runner traces the network and times become float32
    _times_split: ArrayLike | None = struct.field(default=None, repr=False)

    def __post_init__(self):
        # user-typed sequences become arrays (a list would be a pytree of many leaves); arrays pass untouched
        if isinstance(self.indices, (list, tuple)):
            object.__setattr__(self, "indices", np.asarray(self.indices, dtype=np.int32).reshape(-1))
        if isinstance(self.times, (list, tuple)):
            object.__setattr__(self, "times", np.asarray(self.times, dtype=float).reshape(-1))
        t = self.times
        if isinstance(t, np.ndarray) and np.issubdtype(t.dtype, np.floating) and t.dtype.itemsize > 4:
            hi = t.astype(np.float32)
            object.__setattr__(self, "_times_split", np.stack([hi, (t - hi).astype(np.float32)], axis=-1))
        self._check(strict=False)

    def _check(self, strict: bool) -> None:
        ni, nt = np.shape(self.indices), np.shape(self.times)
        if len(ni) == 1 and len(nt) == 1 and ni != nt:
            raise ValueError(
                f"SpikeTimeGroup: indices and times must have the same length, got {ni[0]} indices and {nt[0]} times"
            )
        if strict and (len(ni) != 1 or len(nt) != 1):
            raise ValueError(f"SpikeTimeGroup: indices and times must be 1-D arrays (K,), got shapes {ni} and {nt}")
        _checks.check_real("SpikeTimeGroup", "times", self.times, nonnegative=True, strict=strict)
        idx = self.indices
        if isinstance(idx, jax.core.Tracer) or (not strict and isinstance(idx, jax.Array)):
            return
        idx = np.asarray(idx)
        if np.ndim(idx) != 1:
            return  # structural placeholders (jax.tree.map(lambda _: 0, group)) are not checked here
        if not np.issubdtype(idx.dtype, np.integer):
            raise TypeError(f"SpikeTimeGroup: indices must be integers, got dtype {idx.dtype}")
        n = self.count
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ValueError(
                f"SpikeTimeGroup: indices must be in [0, {n}) for a group of {n} neurons, got values from "
                f"{idx.min()} to {idx.max()}"
            )

    def _validate(self) -> None:
        """Complete checks on concrete values (run by ``Network``, ``Runner`` and ``simulate``)."""
        self._check(strict=True)

    def event_steps(self, dt: float) -> np.ndarray:
        """The step of each event at ``dt`` ms, on the host in float64 (concrete times): int64 ``(K,)``,
        ``max(0, ceil(times / dt - 1e-3))``, the step during which ``indices[k]`` fires."""
        dt = _checks.check_time("SpikeTimeGroup", "dt", dt)
        q = np.asarray(self.times).astype(np.float64) / dt
        return np.maximum(0, np.ceil(q - _STEP_TOL)).astype(np.int64)

    def _device_steps(self, dt: float) -> jax.Array:
        """:meth:`event_steps` on the device (int32 ``(K,)``; -1 for events beyond ``2**30`` steps)."""
        t = jnp.asarray(self.times)
        t = t if jnp.issubdtype(t.dtype, jnp.floating) else t.astype(jnp.result_type(float))
        hi = t.astype(jnp.float32)
        if t.dtype.itemsize > 4:  # jax_enable_x64: the times themselves are exact
            lo = (t - hi.astype(t.dtype)).astype(jnp.float32)
        elif self._times_split is not None:
            split = jnp.asarray(self._times_split, jnp.float32)
            lo = jnp.where(split[..., 0] == hi, split[..., 1], 0.0)  # a residual of other times is ignored
        else:
            lo = jnp.zeros_like(hi)
        return _exact_steps(hi, lo, float(dt))

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the group (without batch dimensions)."""
        return _checks.normalize_shape("SpikeTimeGroup", self.size)

    @property
    def count(self) -> int:
        """Number of neurons in the group."""
        return _count(self.shape)

    def init(self, batch_shape: tuple[int, ...] = (), key: jax.Array | None = None) -> SpikeTimeState:
        """No spike yet, at step 0 (``key`` is not used: the group is deterministic)."""
        self._validate()
        shape = (*tuple(batch_shape), *self.shape)
        return SpikeTimeState(spike=jnp.zeros(shape, jnp.result_type(float)), step=jnp.zeros((), jnp.int32))

    def update(self, state: SpikeTimeState, current: ArrayLike = 0.0, *, dt: float) -> SpikeTimeState:
        """One step of ``dt`` ms: the events due in it fire. ``current`` must be 0 (none)."""
        _check_no_current("SpikeTimeGroup", current)
        dtype = state.spike.dtype
        due = self._device_steps(dt) == state.step
        flat = jnp.zeros(self.count, dtype).at[jnp.asarray(self.indices, jnp.int32)].max(due.astype(dtype))
        spike = jnp.broadcast_to(flat.reshape(self.shape), state.spike.shape)
        return SpikeTimeState(spike=spike, step=state.step + 1)


# -- spikes given as an array ---------------------------------------------------------------------------


@struct.dataclass
class SpikeArrayState:
    """State of a :class:`SpikeArray`.

    Attributes:
      spike: the spikes of the last step, float; shape ``(*batch_shape, *shape)``.
    """

    spike: jax.Array


def _event_list(name: str, x: Any) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"SpikeArray.from_events: {name} must be a 1-D array (K,), got shape {arr.shape}")
    return arr


@struct.dataclass
class SpikeArray(Population):
    """A spike source whose spikes are given, step by step, as an array (BrainPy's ``SpikeTimeGroup`` driven by
    a raster; Norse's / snnTorch's way to feed encoded data).

    The group's spikes during step ``i`` are exactly row ``i`` of the input at its path ``"<name>.input"``::

        net = sj.Network(inp=sj.inputs.SpikeArray(64), hid=..., ih=sj.Projection("inp", "hid", ...))
        spikes = sj.encoders.latency(x, n_steps)                    # (n_steps, B, 64), 0/1
        sj.simulate(net, net.init(batch_shape=(B,)), duration=n_steps * dt, dt=dt,
                    inputs=[("inp.input", spikes, "iter")], monitors=["inp.spike"])

    The input is a ``(T, *shape)`` array (the same spikes for every batch element) or ``(T, *batch, *shape)``
    (one raster per batch element), ``T = steps(duration)`` (module docstring); the Runner and ``simulate`` reject
    another number of steps or a shape that does not broadcast to the group (:meth:`check` does the same on
    the host, with this group's shape in the message). :meth:`from_events` turns spike times and neuron
    indices (one list per batch element, if wanted) into that array.

    Values: 0/1 (float, int or bool) are ordinary spikes. Other values are **passed through as graded spikes**, not
    rejected: ``state.spike`` holds the value, a projection that reads the group with a lag of one step (the
    default, no delay) receives it, and gradients flow from the loss to every value of the array (so the
    input itself can be optimised, or come from a differentiable encoder). Delay buffers (projections
    with a longer lag) and the Runner's spike monitors keep only ``value != 0``; ``simulate``'s record
    keeps the values. A projection cannot target the group (``Network`` refuses it).

    Args:
      size: number of neurons (int) or the group's shape (tuple).
    """

    TAKES_INPUT: ClassVar[bool] = False  # its spikes are exactly its input array (snnjax.population)
    SPLITTABLE: ClassVar[bool] = False  # no size= field: the array gives the spikes whole

    size: Any = struct.field(pytree_node=False)

    def __post_init__(self):
        _checks.normalize_shape("SpikeArray", self.size)  # static: safe to check on every unflatten

    def _validate(self) -> None:
        """Complete checks (run by ``Network``, ``Runner`` and ``simulate``): the shape."""
        _checks.normalize_shape("SpikeArray", self.size)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the group (without batch dimensions)."""
        return _checks.normalize_shape("SpikeArray", self.size)

    @property
    def count(self) -> int:
        """Number of neurons in the group."""
        return _count(self.shape)

    def init(self, batch_shape: tuple[int, ...] = (), key: jax.Array | None = None) -> SpikeArrayState:
        """No spike yet (``key`` is not used: the group is deterministic)."""
        shape = (*tuple(batch_shape), *self.shape)
        return SpikeArrayState(spike=jnp.zeros(shape, jnp.result_type(float)))

    def update(self, state: SpikeArrayState, current: ArrayLike = 0.0, *, dt: float) -> SpikeArrayState:
        """One step of ``dt`` ms: the spikes are ``current``, this step's row of the ``"<name>.input"`` array
        (shape broadcasting to ``(*batch_shape, *shape)``; 0 when no input is given)."""
        dtype = state.spike.dtype
        spike = jnp.broadcast_to(jnp.asarray(current).astype(dtype), state.spike.shape)
        return SpikeArrayState(spike=spike)

    def check(self, spikes: ArrayLike, duration: float, dt: float = DEFAULT_DT, batch_shape=()) -> jax.Array:
        """Check an input array for this group on the host and return it as floats.

        Args:
          spikes: ``(T, *shape)`` or ``(T, *batch_shape, *shape)`` array of spikes (0/1, bool or graded values).
          duration: run duration, ms; ``T`` must be ``steps(duration) = floor(duration / dt + 1/2)``.
          dt: time step, ms.
          batch_shape: batch shape of the network state the array will drive.

        Returns:
          the array as a float array (``jnp.result_type(float)``), same shape.

        Raises:
          ValueError: wrong number of steps, a shape that is neither the group's nor the batched one, or
            values that are not finite.
        """
        dt = _checks.check_time("SpikeArray.check", "dt", dt)
        n = _steps("SpikeArray.check", "duration", duration, dt)
        arr = np.asarray(spikes)
        if arr.dtype == object or not (_checks.is_real_dtype(arr.dtype) or arr.dtype == bool):
            raise TypeError(f"SpikeArray.check: spikes must be a real or bool array, got dtype {arr.dtype}")
        batch_shape = tuple(batch_shape)
        if arr.ndim < 1 or arr.shape[0] != n:
            raise ValueError(
                f"SpikeArray.check: spikes must have {n} steps on axis 0 (duration={duration!r} ms at dt={dt} ms), "
                f"got shape {arr.shape}"
            )
        if arr.shape[1:] not in (self.shape, (*batch_shape, *self.shape)):
            raise ValueError(
                f"SpikeArray.check: spikes must have shape ({n}, *{self.shape}) or ({n}, *{batch_shape}, "
                f"*{self.shape}) for this group of shape {self.shape}, got shape {arr.shape}"
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError("SpikeArray.check: spikes must be finite")
        return jnp.asarray(arr, jnp.result_type(float))

    @staticmethod
    def from_events(
        times: Any, indices: Any, shape: int | tuple[int, ...], duration: float, dt: float = DEFAULT_DT
    ) -> jax.Array:
        """Dense spike array from spike times and neuron indices, to drive a :class:`SpikeArray`.

        Neuron ``indices[k]`` fires in step ``max(0, ceil(times[k] / dt - 1e-3))``: the first step whose start
        is at or after ``times[k]``, as :class:`SpikeTimeGroup` (so both give the same spikes). Several events
        at one step and neuron give one spike (value 1).

        The array has ``T = floor(duration / dt + 1/2)`` steps (the one rule from ms to steps,
        :func:`snnjax.delays.time_steps`), covering ``[0, T dt)``. A time after the start of the last step,
        ``(T - 1) dt < times[k] < duration`` (e.g. 29.95 ms with ``duration=30``, dt 0.1: it would fire at step
        300, which starts at 30 ms), falls in the step that follows the run and is left out of the array, as a
        :class:`SpikeTimeGroup` run for ``duration`` leaves it out; it is not moved earlier, which would make it
        fire before its time. Give such events to the next run (shifted by ``T dt``), or extend ``duration``.

        Args:
          times: spike times, ms, finite, ``>= 0`` and ``< duration`` (those in the step after the run are left
            out, above): a 1-D array ``(K,)``, or a sequence of ``B`` such arrays (one per batch element;
            lengths may differ).
          indices: flat (C-order) neuron index of each spike, ints in ``[0, prod(shape))``, shaped like ``times``
            (a 1-D array, or a sequence of ``B`` of them).
          shape: the group's shape (int or tuple), as ``SpikeArray(size).shape``.
          duration: run duration, ms (``T = floor(duration / dt + 1/2)`` steps).
          dt: time step, ms.

        Returns:
          float array ``(T, *shape)``, or ``(T, B, *shape)`` for per-batch-element lists, of 0/1.

        Raises:
          ValueError: negative, non-finite or times ``>= duration``, indices out of range, different numbers of
            times and indices.
        """
        owner = "SpikeArray.from_events"
        dt = _checks.check_time(owner, "dt", dt)
        n = _steps(owner, "duration", duration, dt)
        shape = _checks.normalize_shape(owner, shape)
        count = _count(shape)
        per_batch = not isinstance(times, np.ndarray | jax.Array) and any(np.ndim(t) >= 1 for t in times)
        if per_batch:
            if isinstance(indices, np.ndarray | jax.Array) or len(indices) != len(times):
                raise ValueError(
                    f"{owner}: with one list of times per batch element ({len(times)}), indices must be a "
                    f"sequence of as many lists, got {type(indices).__name__} of length {len(indices)}"
                )
            groups = list(zip(times, indices))
        else:
            groups = [(times, indices)]
        out = np.zeros((len(groups), n, count), dtype=np.float32)
        for b, (t, i) in enumerate(groups):
            where = f"[{b}]" if per_batch else ""
            t = _event_list(f"times{where}", t)
            i = _event_list(f"indices{where}", i)
            if t.shape != i.shape:
                raise ValueError(
                    f"{owner}: times{where} and indices{where} must have the same length, got {t.size} and {i.size}"
                )
            if not t.size:
                continue
            if not _checks.is_real_dtype(t.dtype):
                raise TypeError(f"{owner}: times{where} must be real numbers (ms), got dtype {t.dtype}")
            if not np.issubdtype(i.dtype, np.integer):
                raise TypeError(f"{owner}: indices{where} must be integers, got dtype {i.dtype}")
            t = t.astype(np.float64)
            if not np.all(np.isfinite(t)) or t.min() < 0:
                raise ValueError(f"{owner}: times{where} must be finite and >= 0 ms, got a minimum of {t.min()!r}")
            if i.min() < 0 or i.max() >= count:
                raise ValueError(
                    f"{owner}: indices{where} must be in [0, {count}) for shape {shape}, got values from {i.min()} "
                    f"to {i.max()}"
                )
            if t.max() >= float(duration):
                raise ValueError(
                    f"{owner}: times{where} must be < duration={duration!r} ms ({n} steps of dt={dt} ms), got a "
                    f"maximum of {t.max()!r} ms"
                )
            steps = np.maximum(0, np.ceil(t / dt - _STEP_TOL)).astype(np.int64)
            keep = steps < n  # a time after the last step's start fires in the step after the run: left out
            out[b, steps[keep], i[keep]] = 1.0
        dense = out.reshape(len(groups), n, *shape)
        dense = np.moveaxis(dense, 0, 1) if per_batch else dense[0]
        return jnp.asarray(dense, jnp.result_type(float))


# -- currents -------------------------------------------------------------------------------------------


def _steps(owner: str, name: str, t: Any, dt: float, allow_zero: bool = False) -> int:
    """``steps(t)``: a time (ms) as a whole number of steps, by the one rule (:func:`snnjax.delays.time_steps`)."""
    try:
        v = float(t)
    except (TypeError, ValueError):
        raise TypeError(f"{owner}: {name} must be a number in ms, got {t!r}") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{owner}: {name} must be a finite time in ms {'>= 0' if allow_zero else '> 0'}, got {t!r}")
    return steps_of(v, dt)


def _values(owner: str, name: str, values: Any) -> list:
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray, jax.Array)):
        raise TypeError(f"{owner}: {name} must be a sequence (one entry per section), got {values!r}")
    out = list(values)
    if not out:
        raise ValueError(f"{owner}: {name} must not be empty")
    return out


def section_input(
    values: Sequence[ArrayLike], durations: Sequence[float], dt: float = DEFAULT_DT, return_length: bool = False
):
    """Piecewise-constant current: ``values[k]`` for ``durations[k]`` ms, one section after another.

    Section boundaries are the cumulative durations rounded to whole steps (rounding does not
    accumulate: section ``k`` covers steps ``steps(sum(durations[:k]))`` to ``steps(sum(durations[:k+1]))``, with
    ``steps(t) = floor(t / dt + 1/2)``, the one rule of :func:`snnjax.delays.time_steps`).

    Args:
      values: one value per section, nA: scalars or arrays broadcasting to a common shape ``S``
        (e.g. one value per neuron).
      durations: one duration per section, ms, each > 0 and at least one step long.
      dt: time step, ms.
      return_length: also return the total duration (ms).

    Returns:
      ``current``: float array ``(n_steps, *S)``, ``n_steps = steps(sum(durations))``; with
      ``return_length``, ``(current, total_duration_ms)``.
    """
    dt = _checks.check_time("section_input", "dt", dt)
    values = _values("section_input", "values", values)
    durations = _values("section_input", "durations", durations)
    if len(values) != len(durations):
        raise ValueError(
            f"section_input: values and durations must have the same length, got {len(values)} values and "
            f"{len(durations)} durations"
        )
    for k, d in enumerate(durations):
        _steps("section_input", f"durations[{k}]", d, dt)
    for k, v in enumerate(values):
        _checks.check_real("section_input", f"values[{k}]", np.asarray(v, dtype=float))
    try:
        shape = np.broadcast_shapes(*(np.shape(v) for v in values))
    except ValueError:
        raise ValueError(
            f"section_input: values must broadcast to a common shape, got shapes {[np.shape(v) for v in values]}"
        ) from None
    ends = time_steps(np.cumsum(np.asarray(durations, dtype=float)), dt).astype(int)
    lengths = np.diff(ends, prepend=0)
    if np.any(lengths < 1):
        k = int(np.argmax(lengths < 1))
        raise ValueError(f"section_input: durations[{k}]={durations[k]!r} ms is shorter than one step of dt={dt} ms")
    current = np.concatenate(
        [np.broadcast_to(np.asarray(v, dtype=float), (n, *shape)) for v, n in zip(values, lengths)]
    )
    current = jnp.asarray(current, jnp.result_type(float))
    return (current, float(np.sum(np.asarray(durations, dtype=float)))) if return_length else current


def step_input(
    amplitudes: Sequence[ArrayLike], step_times: Sequence[float], duration: float, dt: float = DEFAULT_DT
) -> jax.Array:
    """Step current: 0 before ``step_times[0]``, then ``amplitudes[k]`` from ``step_times[k]`` to the next
    step time (or to ``duration``), as braintools' ``step``.

    Args:
      amplitudes: one value per step time, nA: scalars or arrays broadcasting to a common shape ``S``.
      step_times: times the amplitude changes, ms, >= 0 and strictly increasing.
      duration: total duration, ms.
      dt: time step, ms.

    Returns:
      float array ``(steps(duration), *S)`` (module docstring; step times also become ``steps(t)``).
    """
    dt = _checks.check_time("step_input", "dt", dt)
    n = _steps("step_input", "duration", duration, dt)
    amplitudes = _values("step_input", "amplitudes", amplitudes)
    step_times = _values("step_input", "step_times", step_times)
    if len(amplitudes) != len(step_times):
        raise ValueError(
            f"step_input: amplitudes and step_times must have the same length, got {len(amplitudes)} and "
            f"{len(step_times)}"
        )
    starts = [_steps("step_input", f"step_times[{k}]", t, dt, allow_zero=True) for k, t in enumerate(step_times)]
    if any(float(b) <= float(a) for a, b in zip(step_times, step_times[1:])):
        raise ValueError(f"step_input: step_times must be strictly increasing, got {list(step_times)}")
    if float(step_times[-1]) > float(duration):
        raise ValueError(f"step_input: step_times must be <= duration={duration!r} ms, got {list(step_times)}")
    values = [0.0, *amplitudes]
    durations_steps = np.diff([0, *starts, n])
    out = [
        np.broadcast_to(np.asarray(v, dtype=float), (int(m), *np.broadcast_shapes(*map(np.shape, amplitudes))))
        for v, m in zip(values, durations_steps)
    ]
    return jnp.asarray(np.concatenate(out), jnp.result_type(float))


def ramp_input(
    c_start: float,
    c_end: float,
    duration: float,
    t_start: float = 0.0,
    t_end: float | None = None,
    dt: float = DEFAULT_DT,
) -> jax.Array:
    """Linear ramp (BrainPy's ``ramp_input``): 0 outside ``[t_start, t_end)``; inside, ``c_start`` to
    ``c_end`` in equal increments, both ends included (``np.linspace`` over the ramp's steps).

    Args:
      c_start: current at the first step of the ramp, nA.
      c_end: current at the last step of the ramp, nA.
      duration: total duration, ms.
      t_start: start of the ramp, ms, >= 0.
      t_end: end of the ramp, ms (default ``duration``), with ``t_start < t_end <= duration``.
      dt: time step, ms.

    Returns:
      float array ``(steps(duration),)`` (module docstring; so do ``t_start`` and ``t_end``).
    """
    dt = _checks.check_time("ramp_input", "dt", dt)
    n = _steps("ramp_input", "duration", duration, dt)
    for name, c in (("c_start", c_start), ("c_end", c_end)):
        if isinstance(c, bool) or not isinstance(c, numbers.Real) or not math.isfinite(c):
            raise ValueError(f"ramp_input: {name} must be a finite number (nA), got {c!r}")
    t_end = duration if t_end is None else t_end
    p1 = _steps("ramp_input", "t_start", t_start, dt, allow_zero=True)
    p2 = _steps("ramp_input", "t_end", t_end, dt)
    if not (float(t_start) < float(t_end) <= float(duration)) or p2 <= p1:
        raise ValueError(
            f"ramp_input: need t_start < t_end <= duration with the ramp at least one step long, got "
            f"t_start={t_start!r}, t_end={t_end!r}, duration={duration!r} ms at dt={dt} ms"
        )
    current = np.zeros(n)
    current[p1:p2] = np.linspace(float(c_start), float(c_end), p2 - p1)
    return jnp.asarray(current, jnp.result_type(float))


def ou_process(
    mean: ArrayLike,
    sigma: ArrayLike,
    tau: ArrayLike,
    duration: float,
    dt: float = DEFAULT_DT,
    size: int | tuple[int, ...] = 1,
    key: jax.Array | None = None,
    x0: ArrayLike | None = None,
) -> jax.Array:
    """Ornstein-Uhlenbeck noise current ``tau dx/dt = mean - x + sigma sqrt(2 tau) xi(t)``.

    Sampled exactly at the steps (no integration error):
    ``x[i+1] = mean + (x[i] - mean) a + sigma sqrt(1 - a^2) n[i]``, ``a = exp(-dt/tau)``,
    ``n[i]`` independent standard normal. So ``x`` has mean ``mean``, variance ``sigma**2`` and
    autocorrelation ``exp(-|lag| / tau)`` (stationary from the start: ``x[0]`` is drawn from that
    distribution unless ``x0`` is given).

    ``sigma`` is the standard deviation of the current itself. BrainPy's ``ou_process`` instead takes
    the amplitude ``s`` of ``dx = (mean - x) dt / tau + s dW`` (and starts at ``mean``); its stationary
    standard deviation is ``s sqrt(tau / 2)``, so pass ``sigma = s * sqrt(tau / 2)`` to match it.

    Args:
      mean: mean current, nA (scalar or array broadcasting to ``size``).
      sigma: stationary standard deviation, nA, >= 0 (scalar or array broadcasting to ``size``).
      tau: correlation time, ms, > 0 (scalar or array broadcasting to ``size``).
      duration: total duration, ms.
      dt: time step, ms.
      size: number of independent processes (int) or their shape (tuple).
      key: ``jax.random.key``, required.
      x0: initial value, nA (default: a draw from the stationary distribution).

    Returns:
      float array ``(steps(duration), *size)`` (module docstring): row ``i`` is the current during step ``i``.
    """
    dt = _checks.check_time("ou_process", "dt", dt)
    n = _steps("ou_process", "duration", duration, dt)
    if n < 1:
        raise ValueError(f"ou_process: duration={duration!r} ms is shorter than one step of dt={dt} ms")
    shape = _checks.normalize_shape("ou_process", size)
    for name, v, rule in (
        ("mean", mean, {}),
        ("sigma", sigma, {"nonnegative": True}),
        ("tau", tau, {"positive": True}),
    ):
        if isinstance(v, numbers.Real) and not isinstance(v, bool):
            v = float(v)
        _checks.check_real("ou_process", name, v, **rule)
        try:
            np.broadcast_shapes(np.shape(v), shape)
        except ValueError:
            raise ValueError(f"ou_process: {name} must broadcast to size {shape}, got shape {np.shape(v)}") from None
    if x0 is not None:
        _checks.check_real("ou_process", "x0", float(x0) if isinstance(x0, numbers.Real) else x0)
    key = _key("ou_process", key)
    dtype = jnp.result_type(float)
    a = jnp.exp(-dt / jnp.asarray(tau, dtype))
    k0, k1 = jax.random.split(key)
    start = mean + sigma * jax.random.normal(k0, shape, dtype) if x0 is None else jnp.asarray(x0, dtype)
    start = jnp.broadcast_to(start, shape).astype(dtype)
    kicks = jnp.asarray(sigma, dtype) * jnp.sqrt(1.0 - a**2) * jax.random.normal(k1, (n - 1, *shape), dtype)

    def body(x, kick):
        x = mean + (x - mean) * a + kick
        return x, x

    _, rest = jax.lax.scan(body, start, kicks)
    return jnp.concatenate([start[None], rest])
