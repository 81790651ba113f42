"""Writing your own synapse kinetics: the :class:`Kinetics` base (what :class:`snnjax.neurons.ODENeuron` is to neurons).

A kinetics model turns the input arriving at a synapse into the variable ``g`` that the projection's output reads
(a current for ``CUBA``, a conductance for ``COBA``). Declare the parameters, the state variables, how they evolve
between inputs and what an arriving input does; :class:`Kinetics` gives ``init``, ``update``, the parameter checks
and a check of the declaration (a missing method, a wrong key or a wrongly shaped result is a ``TypeError`` /
``ValueError`` naming it, before anything is compiled)::

    from flax import struct
    import snnjax as sj

    @struct.dataclass
    class RiseDecay(sj.synapses.Kinetics):
        '''Rises with tau_rise, decays with tau_decay: dx/dt = -x / tau_decay, dg/dt = (x - g) / tau_rise.'''
        tau_rise: float = 1.0    # ms
        tau_decay: float = 5.0   # ms

        STATE = dict(g=(0.0, "conductance, unit of the weights"), x=(0.0, "before the rise, same unit"))

        def derivatives(self, s):
            return dict(x=-s.x / self.tau_decay, g=(s.x - s.g) / self.tau_rise)

        def on_input(self, s, inp):   # an arriving spike adds its weight to x (default: to g)
            return dict(x=s.x + inp)

``RiseDecay(tau_rise=0.5)`` is then a ``synapse=`` of :class:`snnjax.Projection`, integrated by ``METHOD``
(``"exact"``: the system is linear) or by ``RiseDecay(method="rk4")``; monitors read ``'<projection>.g'`` and
``'<projection>.x'``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from flax import struct
from jax.typing import ArrayLike

from snnjax import _checks, _declare, integrators

__all__ = ["ARRIVALS", "Kinetics"]

ARRIVALS = ("after", "before")
"""When an arriving input acts: after the step's integration (default) or before it."""
_ALIGNS = ("post", "pre")
_CLASS_ATTRS = ("STATE", "METHOD", "ARRIVAL", "State", "align")  # declarations, never dataclass fields


def _make_state(cls: type) -> type:
    """A ``flax.struct`` state class ``<Model>State`` with the ``STATE`` variables as fields, in order."""
    docs = {n: _declare.spec(e)[1] for n, e in cls.STATE.items()}
    summary = (
        f"State of {cls.__name__} kinetics; every field has shape ``(*batch_shape, *shape)`` (the postsynaptic "
        "group, or the presynaptic group / the synapses when pre-aligned)."
    )
    return _declare.state_class(cls, docs, summary)


@struct.dataclass
class Kinetics:
    """Base of synapse kinetics: declare the state, how it evolves and what an input adds; get a ``synapse=``.

    A subclass (decorated with ``@flax.struct.dataclass``) declares:

    * its parameters, as dataclass fields with defaults (leaves: ``vmap``/``grad`` reach them; each a scalar or an
      array that broadcasts to the state's shape, which :class:`snnjax.Projection` checks). Checked at
      construction: every float finite, names starting with ``tau`` > 0 (or give
      ``_FIELDS = dict(name="positive" | "nonnegative" | None)``).
    * ``STATE``: a dict ``name -> initial value`` or ``name -> (initial value, "doc, unit")``, in order; it must
      have ``g``, the variable the projection's output reads. An initial value is a number, the name of a
      parameter, or ``fn(model, values_so_far) -> array``.
    * how the state evolves over a step without input, one of (or both):

      - ``derivatives(self, state) -> dict``: ``d name / dt`` (per ms) for every ``STATE`` variable, integrated
        over the step by ``method`` (:mod:`snnjax.integrators`; default ``METHOD = "exact"``, exact for linear
        kinetics; ``"rk4"``, ``"heun"``, ``"euler"``, ``"exp_euler"`` otherwise);
      - ``integrate(self, state, dt) -> dict``: the state after ``dt`` ms, written out (a closed form). Used when
        ``method`` is None (the default); ``method="rk4"`` etc. integrates ``derivatives`` instead.

    and may override:

    * ``on_input(self, state, inp) -> dict``: the variables an arriving input changes, with ``inp`` the summed
      weight of the spikes arriving at each postsynaptic neuron this step (post-aligned), or this step's spikes of
      each presynaptic neuron / synapse (pre-aligned); default ``g = g + inp``.
    * ``ARRIVAL`` (class attribute): ``"after"`` (default: the input acts at the end of the step it arrives in,
      after that step's decay, so a jump is seen whole in that step's ``g``) or ``"before"`` (it acts at the start
      of the step, and the step's integration already sees it).
    * ``align`` (class attribute): ``"post"`` (default) or ``"pre"``. Post-aligned kinetics integrate the summed
      weighted input per postsynaptic neuron, which is exact only when they are linear in the input; pre-aligned
      ones keep one state per presynaptic neuron (per synapse with per-synapse delays), receive its spikes, and the
      projection sends ``sum_j w_ij g_j`` every step (a dense or sparse kernel, never event-driven).
    * ``METHOD`` (class attribute, default ``"exact"``); ``State``: a state class of your own with (at least) the
      ``STATE`` fields (the built-in models use :class:`snnjax.synapses.SynapseState`); otherwise ``<Model>State``
      is generated.

    One step (``update``): with ``ARRIVAL = "before"`` apply ``on_input``; integrate over ``dt``; with
    ``ARRIVAL = "after"`` apply ``on_input``. Every result is cast to its variable's shape and dtype.

    Args:
      method: integrator of ``derivatives``, one of ``euler``, ``heun`` (``rk2``), ``rk4``, ``exp_euler``,
        ``exact``; ``None`` = the model's ``integrate`` if it has one, else its ``METHOD``. Keyword only, static.
    """

    method: str | None = struct.field(pytree_node=False, default=None, kw_only=True)

    STATE: ClassVar[dict[str, Any]] = {}
    METHOD: ClassVar[str] = "exact"
    ARRIVAL: ClassVar[str] = "after"
    State: ClassVar[type | None] = None
    align: ClassVar[str] = "post"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("STATE") and cls.__dict__.get("State") is None and isinstance(cls.STATE, dict):
            cls.State = _make_state(cls)

    def __post_init__(self):
        _checks.check_fields(self, self._FIELDS, strict=False)
        self._check_static()

    # -- the model's declarations (defaults) ---------------------------------------------------------------
    def derivatives(self, state: Any) -> dict:
        """``d var / dt`` (per ms) for every ``STATE`` variable between inputs; to be defined (or ``integrate``)."""
        raise NotImplementedError

    def integrate(self, state: Any, dt: float) -> dict:
        """The ``STATE`` variables after ``dt`` ms without input, written out; to be defined (or ``derivatives``)."""
        raise NotImplementedError

    def on_input(self, state: Any, inp: ArrayLike) -> dict:
        """The variables an arriving input changes: ``g = g + inp`` (``inp`` in the unit of ``g``)."""
        return {"g": state.g + inp}

    # -- checks -----------------------------------------------------------------------------------------------
    @property
    def _FIELDS(self) -> dict[str, str | None]:  # noqa: N802 (the name the models' explicit specs use)
        names = [f.name for f in dataclasses.fields(self) if f.metadata.get("pytree_node", True)]
        return {n: "positive" if n.startswith("tau") else None for n in names}

    @property
    def _has_derivatives(self) -> bool:
        return type(self).derivatives is not Kinetics.derivatives

    @property
    def _has_integrate(self) -> bool:
        return type(self).integrate is not Kinetics.integrate

    def _method(self) -> str | None:
        """The integrator's name, or None for the model's own ``integrate``."""
        if self.method is None:
            return None if self._has_integrate else type(self).METHOD
        return self.method

    def _check_static(self) -> None:
        """The declaration (class attributes and hooks); cheap, so it runs on every construction."""
        name = type(self).__name__
        cls = type(self)
        fields = {f.name for f in dataclasses.fields(self)}
        if fields & set(_CLASS_ATTRS):
            bad = sorted(fields & set(_CLASS_ATTRS))
            raise TypeError(
                f"{name}: {bad} must be class attributes without a type annotation (e.g. align = 'pre'), not "
                "dataclass fields"
            )
        if not isinstance(cls.STATE, dict) or "g" not in cls.STATE:
            raise TypeError(
                f"{name}: a Kinetics model must declare STATE = dict(g=initial value, ...) (its state variables, "
                f"with g the one the projection's output reads); got STATE = {cls.STATE!r}"
            )
        if not (self._has_derivatives or self._has_integrate):
            raise TypeError(
                f"{name}: a Kinetics model must define derivatives(self, state) -> dict of d var/dt or "
                "integrate(self, state, dt) -> dict of the variables after dt"
            )
        _checks.check_choice(name, "ARRIVAL", cls.ARRIVAL, ARRIVALS)
        _checks.check_choice(name, "align", cls.align, _ALIGNS)
        method = self._method()
        if method is not None:
            integrators.get(method, name, "method")
            if method == "euler_maruyama":
                raise ValueError(f"{name}: method='euler_maruyama' needs a noise term, which kinetics do not have")
            if not self._has_derivatives:
                raise TypeError(
                    f"{name}: method={method!r} integrates derivatives(self, state), which {name} does not define "
                    "(it has only its closed form integrate: leave method=None)"
                )
        state_cls = cls.State
        have = {f.name for f in dataclasses.fields(state_cls)} if dataclasses.is_dataclass(state_cls) else set()
        if not set(cls.STATE) <= have:
            raise TypeError(
                f"{name}: State must be a dataclass with the fields {sorted(cls.STATE)} of STATE, got {state_cls!r}"
            )

    def _validate(self) -> None:
        """Complete checks on concrete values, and the hooks' results against ``STATE`` (keys and shapes, with
        ``jax.eval_shape``: nothing is compiled); run once by ``Network``, ``Runner`` and ``simulate``."""
        _checks.check_fields(self, self._FIELDS, strict=True)
        self._check_static()
        shapes = [jnp.shape(x) for x in jax.tree.leaves(self)]
        try:
            shape = jnp.broadcast_shapes((1,), *shapes)
        except ValueError:
            raise ValueError(
                f"{type(self).__name__}: the parameters' shapes {shapes} do not broadcast together"
            ) from None
        self._check_hooks(shape, ())

    def _check_hooks(self, shape: tuple[int, ...], batch_shape: tuple[int, ...]) -> None:
        """Run ``derivatives`` / ``integrate`` / ``on_input`` abstractly on a state of ``(*batch_shape, *shape)``."""
        state = jax.eval_shape(lambda: self._initial_state(shape, batch_shape))
        full = (*tuple(batch_shape), *tuple(shape))
        inp = jax.ShapeDtypeStruct(full, state.g.dtype)
        hooks = [("on_input(state, inp)", lambda s, i: self.on_input(s, i), False)]
        if self._has_derivatives:
            hooks.append(("derivatives(state)", lambda s, i: self.derivatives(s), True))
        if self._has_integrate:
            hooks.append(("integrate(state, dt)", lambda s, i: self.integrate(s, 0.1), True))
        for hook, fn, full_keys in hooks:
            try:
                out = jax.eval_shape(fn, state, inp)
            except AttributeError as e:
                raise TypeError(
                    f"{type(self).__name__}: {hook} failed on a state with the fields {list(self.STATE)}: {e}"
                ) from e
            self._check_result(hook, out, full_keys)
            for k, v in out.items():
                if not _broadcasts(jnp.shape(v), full):
                    raise ValueError(
                        f"{type(self).__name__}: {hook}[{k!r}] has shape {jnp.shape(v)}, which does not broadcast to "
                        f"the state's shape {full}"
                    )

    def _check_result(self, hook: str, out: Any, full: bool) -> None:
        keys = set(self.STATE)
        ok = isinstance(out, dict) and (set(out) == keys if full else (out and set(out) <= keys))
        if not ok:
            got = sorted(out) if isinstance(out, dict) else type(out).__name__
            want = "the keys of STATE" if full else "some of the keys of STATE"
            raise ValueError(
                f"{type(self).__name__}: {hook} must return a dict with {want} {list(self.STATE)}; got {got}"
            )

    # -- init / update ----------------------------------------------------------------------------------------
    def _initial_state(self, shape: tuple[int, ...], batch_shape: tuple[int, ...]) -> Any:
        full = (*tuple(batch_shape), *tuple(shape))
        dtype = jnp.result_type(float)
        values: dict[str, jax.Array] = {}
        for n, entry in self.STATE.items():
            spec = _declare.spec(entry)[0]
            value = spec(self, values) if callable(spec) else getattr(self, spec) if isinstance(spec, str) else spec
            values[n] = jnp.full(full, value, dtype)
        return type(self).State(**values)

    def init(self, shape: tuple[int, ...], batch_shape: tuple[int, ...] = ()) -> Any:
        """Every ``STATE`` variable at its initial value, fields of shape ``(*batch_shape, *shape)``: ``shape`` is the
        postsynaptic group's (post-aligned), or ``(n_pre,)`` / ``(K,)`` (pre-aligned)."""
        self._check_hooks(tuple(shape), tuple(batch_shape))
        return self._initial_state(shape, batch_shape)

    def _apply(self, state: Any, changes: Any, hook: str, full: bool) -> Any:
        self._check_result(hook, changes, full)
        cast = {
            n: jnp.broadcast_to(x, jnp.shape(getattr(state, n))).astype(getattr(state, n).dtype)
            for n, x in changes.items()
        }
        return state.replace(**cast)

    def _step(self, state: Any, dt: float) -> dict:
        """The ``STATE`` variables after ``dt`` ms without input."""
        method = self._method()
        if method is None:
            return self.integrate(state, dt)
        name = type(self).__name__

        def f(y, t):
            out = self.derivatives(state.replace(**y))
            self._check_result("derivatives(state)", out, True)
            return {n: out[n] for n in y}

        return integrators.get(method, name, "method")(f, {n: getattr(state, n) for n in self.STATE}, 0.0, dt)

    def update(self, state: Any, inp: ArrayLike, *, dt: float) -> Any:
        """One step of ``dt`` ms with ``inp`` arriving (``(*batch, *shape)``, see ``on_input``)."""
        hook = "on_input(state, inp)"
        if type(self).ARRIVAL == "before":
            state = self._apply(state, self.on_input(state, inp), hook, False)
        step = "integrate(state, dt)" if self._method() is None else "derivatives(state)"
        state = self._apply(state, self._step(state, dt), step, True)
        if type(self).ARRIVAL == "after":
            state = self._apply(state, self.on_input(state, inp), hook, False)
        return state


def _broadcasts(got: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    return len(got) <= len(shape) and all(a in (1, b) for a, b in zip(got[::-1], shape[::-1]))
