"""Writing your own neuron model: the :class:`Population` base and the :class:`ODENeuron` base.

What a population is (what :class:`snnjax.Network`, :class:`snnjax.Runner` and :func:`snnjax.simulate` use)
is :class:`Population` (:mod:`snnjax.population`): ``shape``, ``count``, ``init(batch_shape, key)`` and
``update(state, current, *, dt)``, with a state that has a ``spike`` field, and the hooks by which the engine
treats kinds of populations differently (``TAKES_INPUT``, ``SPLITTABLE``, ``ZERO_GRADIENT``). Any object with these
members can be put in a ``Network`` -- a spike source, a readout, a hand-written model.

Most neuron models are a few ODEs, a spike condition and a reset. :class:`ODENeuron` turns that
declaration into a population: a new model is a screenful::

    from flax import struct
    import snnjax as sj

    @struct.dataclass
    class AdaptiveQIF(sj.neurons.ODENeuron):
        '''tau dv/dt = (v - v_rest)(v - v_c) / delta + r (I - w);  tau_w dw/dt = -w (mV, ms, nA).'''
        v_rest: float = -65.0     # mV
        v_c: float = -50.0        # mV
        delta: float = 15.0       # mV
        v_th: float = 0.0         # mV, spike cut-off
        v_reset: float = -70.0    # mV
        tau: float = 10.0         # ms
        tau_w: float = 100.0      # ms
        b: float = 0.5            # nA, w jump per spike
        r: float = 1.0            # MOhm

        STATE = dict(v=("v_rest", "membrane potential, mV"), w=(0.0, "adaptation current, nA"))

        def derivatives(self, s, current):
            dv = ((s.v - self.v_rest) * (s.v - self.v_c) / self.delta + self.r * (current - s.w)) / self.tau
            return dict(v=dv, w=-s.w / self.tau_w)

        def reset(self, s, spike):
            return dict(v=jnp.where(spike > 0, self.v_reset, s.v), w=s.w + spike * self.b)

``AdaptiveQIF(100)`` is then a population of 100 neurons; ``AdaptiveQIF(100, method="rk4")`` integrates it
with RK4; every parameter may be an array of the group's shape; ``vmap``/``grad`` reach all of them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from flax import struct
from jax.typing import ArrayLike

from snnjax import _declare, integrators
from snnjax.neurons import _base
from snnjax.population import MEMBERS, Population
from snnjax.surrogate import Sigmoid, SpikeFunction

__all__ = ["ODENeuron", "Population", "check_population"]


def check_population(obj: Any, name: str = "population") -> None:
    """Raise a ``TypeError`` naming ``name`` and every member of :class:`Population` that ``obj`` lacks."""
    missing = [m for m in MEMBERS if not hasattr(obj, m)]
    missing += [m for m in ("init", "update") if hasattr(obj, m) and not callable(getattr(obj, m))]
    if missing:
        raise TypeError(
            f"{name}: {type(obj).__name__} is not a population: it lacks {sorted(set(missing))} "
            "(a population needs shape, count, init(batch_shape, key) and update(state, current, *, dt); "
            "see snnjax.neurons.Population)"
        )


def _make_state(cls: type, refrac: bool, key: bool) -> type:
    """A ``flax.struct`` state class ``<Model>State`` with the ``STATE`` variables, ``spike`` and, if
    the model is refractory / noisy, ``refrac`` / ``key``; ``voltage`` returns ``v`` (Inferno's name)."""
    docs = {n: _declare.spec(e)[1] for n, e in cls.STATE.items()}
    docs["spike"] = "1.0 where the neuron fired during the last step, else 0.0 (float so gradients flow)."
    if refrac:
        docs["refrac"] = "remaining refractory time, ms: whole steps times ``dt`` (0 when not refractory)."
    if key:
        docs["key"] = "random key of the noise term (a scalar key, split at every step)."
    summary = f"State of a {cls.__name__} group; every field but ``key`` has shape ``(*batch_shape, *shape)``."
    extra = {"voltage": property(lambda self: self.v, doc="Inferno's name for ``v`` (mV).")} if "v" in docs else {}
    return _declare.state_class(cls, docs, summary, extra)


@struct.dataclass
class ODENeuron(_base.NeuronGroup):
    """Base of neuron models written as ODEs: declare the equations, get a :class:`Population`.

    A subclass (decorated with ``@flax.struct.dataclass``) declares:

    * its parameters, as dataclass fields with defaults (leaves: ``vmap``/``grad`` reach them; each a scalar
      or an array of the group's shape). Checked at construction: every float finite, names starting with
      ``tau`` > 0, ``tau_ref`` >= 0 (or give ``_FIELDS = dict(name="positive" | "nonnegative" | None)``).
      A static field ``<var>_init`` (None, a float or an ``snnjax.init`` spec) overrides a variable's
      initial value; a ``tau_ref`` field (ms) makes the model refractory.
    * ``STATE``: a dict ``name -> initial value`` or ``name -> (initial value, "doc, unit")``, in order; the
      initial value is a number, the name of a parameter, or ``fn(model, values_so_far) -> array``.
    * ``derivatives(self, state, current) -> dict``: ``d name / dt`` (per ms) for every ``STATE`` variable,
      with ``current`` the input held over the step.

    and may override:

    * ``spike_condition(self, state) -> x``: a spike where ``x >= 0`` (the surrogate gradient is taken at
      ``x``); default ``state.v - self.v_th``.
    * ``reset(self, state, spike) -> dict``: new values of the variables it changes after the step, with
      ``spike`` detached (0/1); default ``v = v_reset`` (or ``v -= v_th - v_reset`` if ``reset_mode`` is
      ``'subtract'``).
    * ``noise(self, state, current) -> dict``: diffusion ``g`` of some variables (unit of the variable per
      sqrt(ms)); the model is then integrated with ``euler_maruyama`` (its default ``method``, the only one
      allowed) and its state carries a ``key`` (``init`` then needs ``key=``).
    * ``jacobian(self, state, current) -> dict``: ``d f_name / d name`` for ``exp_euler`` (otherwise taken
      from ``jax.linearize``).
    * ``fire(self, old, new, refractory) -> spike``: the whole spike rule, for models whose rule needs the
      state before the step (e.g. an upward crossing).
    * ``METHOD`` (class attribute, default ``"exp_euler"``), ``HOLD`` (variables held while refractory,
      default ``("v",)``), ``State`` (a state class of your own with the same fields).

    One step: integrate ``derivatives`` over ``dt`` with ``method`` (:mod:`snnjax.integrators`; the input is
    constant over the step), hold ``HOLD`` where refractory, spike where ``spike_condition >= 0`` (never while
    refractory, as Brian2's ``not_refractory``), apply ``reset``, and start the refractory period
    (``floor(tau_ref / dt + 1/2)`` steps, :func:`snnjax.neurons._base.refractory_steps`).

    Args:
      size: number of neurons (int) or the group's shape (tuple).
      spike_fn: spike function (Heaviside forward, surrogate gradient backward); keyword only.
      method: integrator name, one of ``euler``, ``heun`` (``rk2``), ``rk4``, ``exp_euler``, ``exact`` (linear
        models), ``euler_maruyama`` (models with ``noise``); ``None`` = the model's ``METHOD``. Keyword only.
    """

    size: Any = struct.field(pytree_node=False)
    spike_fn: SpikeFunction = struct.field(pytree_node=False, default=Sigmoid(), kw_only=True)
    method: str | None = struct.field(pytree_node=False, default=None, kw_only=True)

    STATE: ClassVar[dict[str, Any]] = {}
    METHOD: ClassVar[str] = "exp_euler"
    HOLD: ClassVar[tuple[str, ...]] = ("v",)
    State: ClassVar[type | None] = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("STATE") and cls.__dict__.get("State") is None:
            annotated = set().union(*(getattr(c, "__annotations__", {}) for c in cls.__mro__))
            cls.State = _make_state(cls, "tau_ref" in annotated, cls.noise is not ODENeuron.noise)

    # -- the model's declarations (defaults) ---------------------------------------------------------
    def derivatives(self, state: Any, current: ArrayLike) -> dict:
        """``d var / dt`` (per ms) for every ``STATE`` variable, given the state and the input; to be defined."""
        raise NotImplementedError

    def spike_condition(self, state: Any) -> jax.Array:
        """How far past the threshold the state is after the step: a spike where ``>= 0``; ``v - v_th`` (mV)."""
        return state.v - self.v_th

    def reset(self, state: Any, spike: jax.Array) -> dict:
        """Variables changed after a spike (``spike`` detached, 0/1): ``v = v_reset`` (or subtract ``v_th -
        v_reset`` when ``reset_mode='subtract'``)."""
        return {"v": _base.reset_v(state.v, spike, self.v_th, self.v_reset, getattr(self, "reset_mode", "value"))}

    def noise(self, state: Any, current: ArrayLike) -> dict:
        """Diffusion terms ``g`` by variable (per sqrt(ms)); only models with noise define it."""
        raise NotImplementedError

    def fire(self, old: Any, new: Any, refractory: jax.Array | None) -> jax.Array:
        """The spike output (float, shape of the state): ``spike_fn(spike_condition(new))``, 0 while refractory."""
        x = self.spike_condition(new)
        return self.spike_fn(x) if refractory is None else _base.fire(self.spike_fn, x, refractory)

    # -- checks ---------------------------------------------------------------------------------------
    @property
    def _FIELDS(self) -> dict[str, str | None]:  # noqa: N802 (the name NeuronGroup reads)
        names = [f.name for f in dataclasses.fields(self) if f.metadata.get("pytree_node", True)]
        return {n: "nonnegative" if n == "tau_ref" else "positive" if n.startswith("tau") else None for n in names}

    @property
    def _INITS(self) -> tuple[str, ...]:  # noqa: N802
        return tuple(f"{n}_init" for n in self.STATE if hasattr(self, f"{n}_init"))

    def _method(self) -> str:
        if self.method is None:
            return "euler_maruyama" if self._noisy else type(self).METHOD
        return self.method

    @property
    def _noisy(self) -> bool:
        return type(self).noise is not ODENeuron.noise

    @property
    def _refractory(self) -> bool:
        return hasattr(self, "tau_ref")

    def _check_static(self) -> None:
        super()._check_static()
        name = type(self).__name__
        if not isinstance(self.STATE, dict) or not self.STATE:
            raise TypeError(
                f"{name}: an ODENeuron must declare STATE = dict(var=initial value, ...) (its state variables)"
            )
        if type(self).derivatives is ODENeuron.derivatives:
            raise TypeError(f"{name}: an ODENeuron must define derivatives(self, state, current) -> dict of d var/dt")
        method = self._method()
        integrators.get(method, name, "method")
        if self._noisy != (method == "euler_maruyama"):
            raise ValueError(
                f"{name}: method={method!r}, but a model with a noise() term needs method='euler_maruyama' and only "
                "such a model can use it"
            )
        for attr, hook in (("v_th", "spike_condition"), ("v_reset", "reset")):
            if getattr(type(self), hook) is getattr(ODENeuron, hook) and not hasattr(self, attr):
                raise TypeError(f"{name}: define {hook}(...) or a parameter {attr} (the default {hook} uses it)")
        state_cls = type(self).State
        need = (
            {*self.STATE, "spike"} | ({"refrac"} if self._refractory else set()) | ({"key"} if self._noisy else set())
        )
        have = {f.name for f in dataclasses.fields(state_cls)} if dataclasses.is_dataclass(state_cls) else set()
        if not need <= have:
            raise TypeError(f"{name}: State must be a dataclass with the fields {sorted(need)}, got {state_cls!r}")

    def _validate(self) -> None:
        """Complete checks on concrete values, and the structure of ``derivatives`` (and ``noise``) against
        ``STATE`` (shapes only, nothing is compiled)."""
        super()._validate()
        name = type(self).__name__
        state = jax.eval_shape(lambda: self._initial_state((), jax.random.key(0)))
        hooks = [("derivatives", True)] + ([("noise", False)] if self._noisy else [])
        for hook, full in hooks:
            out = jax.eval_shape(lambda s, h=hook: getattr(self, h)(s, 0.0), state)
            ok = isinstance(out, dict) and (set(out) == set(self.STATE) if full else set(out) <= set(self.STATE))
            if not ok:
                got = sorted(out) if isinstance(out, dict) else type(out).__name__
                raise ValueError(
                    f"{name}: {hook}(state, current) must return a dict with the keys of STATE "
                    f"{'' if full else '(a subset) '}{list(self.STATE)}; got {got}"
                )
            for k, v in out.items():
                if not _broadcasts(jnp.shape(v), self.shape):
                    raise ValueError(
                        f"{name}: {hook}(...)[{k!r}] has shape {jnp.shape(v)}, which does not broadcast to the "
                        f"group's shape {self.shape}"
                    )

    # -- init / update -------------------------------------------------------------------------------
    def _initial_state(self, batch_shape: tuple[int, ...], key: jax.Array | None) -> Any:
        shape = (*tuple(batch_shape), *self.shape)
        if self._noisy:
            if key is None:
                raise ValueError(f"{type(self).__name__}.init: the model has a noise term, so init needs key=...")
            key, noise_key = jax.random.split(key)
        inits = [n for n in self.STATE if hasattr(self, f"{n}_init")]
        keys = dict(zip(inits, jax.random.split(key, len(inits)) if len(inits) > 1 and key is not None else [key]))
        values: dict[str, jax.Array] = {}
        for n, entry in self.STATE.items():
            spec = _declare.spec(entry)[0]
            default = spec(self, values) if callable(spec) else getattr(self, spec) if isinstance(spec, str) else spec
            field = getattr(self, f"{n}_init", None)
            values[n] = self._initial(field, default, shape, keys.get(n), f"{n}_init")
        dtype = next(iter(values.values())).dtype
        values = {n: jnp.broadcast_to(x, shape).astype(dtype) for n, x in values.items()}
        extra = {"spike": jnp.zeros(shape, dtype)}
        if self._refractory:
            extra["refrac"] = jnp.zeros(shape, dtype)
        if self._noisy:
            extra["key"] = noise_key
        return type(self).State(**values, **extra)

    def init(self, batch_shape: tuple[int, ...] = (), key: jax.Array | None = None) -> Any:
        """Initial state (Inferno's ``clear``): every ``STATE`` variable at its initial value (or ``<var>_init``),
        no spike, not refractory; fields of shape ``(*batch_shape, *shape)``. ``key`` is needed for random
        initial values and for models with noise."""
        self._validate()
        return self._initial_state(batch_shape, key)

    def _rhs(self, state: Any, hook: str) -> Any:
        def f(y, t, current):
            out = getattr(self, hook)(state.replace(**y), current)
            if not isinstance(out, dict) or not set(out) <= set(y) or (hook != "noise" and set(out) != set(y)):
                raise ValueError(
                    f"{type(self).__name__}: {hook}(state, current) must return a dict with the keys of STATE "
                    f"{list(self.STATE)}; got {sorted(out) if isinstance(out, dict) else type(out).__name__}"
                )
            return {n: out.get(n, jnp.zeros((), y[n].dtype)) for n in y}

        return f

    def update(self, state: Any, current: ArrayLike, *, dt: float) -> Any:
        """One step of ``dt`` ms with input ``current`` (the model's input unit, broadcastable to the state)."""
        y0 = {n: getattr(state, n) for n in self.STATE}
        shape, dtype = jnp.shape(state.spike), state.spike.dtype
        method, f = self._method(), self._rhs(state, "derivatives")
        if method == "exact" and type(self).integrate is not ODENeuron.integrate:
            y = self.integrate(state, current, dt)  # the model's own closed form
        elif method == "euler_maruyama":
            key, sub = jax.random.split(state.key)
            y = integrators.euler_maruyama(f, self._rhs(state, "noise"), y0, 0.0, dt, sub, current)
        elif method == "exp_euler" and type(self).jacobian is not ODENeuron.jacobian:
            y = integrators.exp_euler(f, y0, 0.0, dt, current, jac=self.jacobian(state, current))
        else:
            y = integrators.get(method)(f, y0, 0.0, dt, current)
        y = {n: jnp.broadcast_to(x, shape).astype(dtype) for n, x in y.items()}
        refr = _base.refractory(state.refrac, dt) if self._refractory else None
        if refr is not None:
            y = {n: jnp.where(refr, y0[n], x) if n in self.HOLD else x for n, x in y.items()}
        new = state.replace(**y)
        spike = self.fire(state, new, refr)
        changes = self.reset(new, jax.lax.stop_gradient(spike))
        if not isinstance(changes, dict) or not set(changes) <= set(self.STATE):
            raise ValueError(f"{type(self).__name__}: reset(state, spike) must return a dict of STATE variables")
        extra = {"spike": spike}
        if refr is not None:
            extra["refrac"] = _base.next_refrac(spike, state.refrac, self.tau_ref, dt, shape)
        if method == "euler_maruyama":
            extra["key"] = key
        return new.replace(**{n: jnp.broadcast_to(x, shape).astype(dtype) for n, x in changes.items()}, **extra)

    def integrate(self, state: Any, current: ArrayLike, dt: float) -> dict:
        """Optional: the model's closed-form step (a dict of the ``STATE`` variables after ``dt`` ms, before
        refractoriness, spike and reset), used when the method is ``'exact'``. Without it ``'exact'`` is
        :func:`snnjax.integrators.exact` (from the linearised ``derivatives``). A closed form written out (e.g.
        ``v_inf + (v - v_inf) exp(-dt / tau)``) costs fewer operations and rounds the same way in every program
        it is compiled into (the integrators' ``exprel`` can round differently by one unit in the last place
        where XLA folds a constant input)."""
        raise NotImplementedError

    def jacobian(self, state: Any, current: ArrayLike) -> dict:
        """Optional: ``d f_var / d var`` for ``exp_euler`` (per ms); by default taken from ``jax.linearize``."""
        raise NotImplementedError


def _broadcasts(got: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    return len(got) <= len(shape) and all(a in (1, b) for a, b in zip(got[::-1], shape[::-1]))
