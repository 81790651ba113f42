"""The plasticity-rule contract: a rule is maths only; the connectivity format owns the traversal.

A rule declares its state and gives pure functions of dicts of arrays; it never sees a synapse list, a row table or a
batch axis. The projection's propagator (the connectivity format) decides which synapses each function is applied to:
``sparse`` every synapse every step, ``event`` / ``vector_event`` only the rows of the arriving spikes and, through the
transposed table, the columns of the postsynaptic spikes (loops or blocks, the compiled kernels for the built-in STDP),
with the same results. A rule written as below runs on all of them::

    from flax import struct
    import jax.numpy as jnp
    import snnjax as sj

    @struct.dataclass
    class MyPairRule(sj.plasticity.Rule):
        '''At an arrival w -= a_minus apost; at a postsynaptic spike w += a_plus apre (traces with tau, ms).'''
        a_plus: float = 0.01
        a_minus: float = 0.012
        tau: float = 20.0

        PRE = dict(apre=0.0)       # one per presynaptic neuron (per synapse with per-synapse delays)
        POST = dict(apost=0.0)     # one per postsynaptic neuron

        def decay(self, pre, post, dt):
            k = jnp.exp(-dt / self.tau)
            return dict(apre=pre["apre"] * k), dict(apost=post["apost"] * k)

        def on_pre(self, syn, pre, post):      # an arrival, at each synapse of the arriving spike
            return dict(w=syn["w"] - self.a_minus * post["apost"])

        def pre_spike(self, pre):              # ... and at its presynaptic state
            return dict(apre=pre["apre"] + 1.0)

        def on_post(self, syn, pre, post):     # a postsynaptic spike, at each of its synapses
            return dict(w=syn["w"] + self.a_plus * pre["apre"])

        def post_spike(self, post):
            return dict(apost=post["apost"] + 1.0)

One step of a plastic projection, in this order (``pre`` / ``post`` are the rule's per-neuron values, ``syn`` the
synapse's ``w`` and ``SYNAPSE`` fields):

1. ``pre, post = decay(pre, post, dt)``: the per-neuron state over the step of ``dt`` ms;
2. at each synapse of an arriving presynaptic spike (after its delay): ``syn = on_pre(syn, pre, post)``, reading the
   presynaptic values of its row and the postsynaptic values of its target *before* this step's postsynaptic spikes;
   then ``pre = pre_spike(pre)`` at each neuron (each synapse, with per-synapse delays) whose spike arrived;
3. at each synapse of a postsynaptic neuron that spiked this step: ``syn = on_post(syn, pre, post)``, reading the
   presynaptic values *after* this step's arrivals (so an arrival and a postsynaptic spike in the same step count as
   ``t_post - t_pre = 0``: Brian2's ``on_pre`` before ``on_post``);
4. if the rule has ``on_step``: at every synapse, ``syn = on_step(syn, pre, post, arrived, fired, dt=dt,
   reward=reward)`` (pre after this step's arrivals, post before this step's postsynaptic spikes; ``arrived`` /
   ``fired`` booleans per synapse): per-step terms such as an eligibility trace or a reward. A pass over every synapse,
   whatever the format;
5. ``post = post_spike(post)`` at each postsynaptic neuron that spiked.

The weights that transmit a step's spikes are those after the previous step's updates. Every function returns a dict
of the values it changes (a subset of its input's keys; ``{}`` when it changes nothing, which also spares the format
the traversal). Checked when the projection is built, before anything is compiled (``jax.eval_shape``): a missing
function is a ``TypeError`` naming it, a result that is not such a dict or does not broadcast to its state a
``ValueError`` naming it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from snnjax import _checks, _declare, axes

__all__ = ["NEEDS", "Rule"]

NEEDS = ("reward", "v")
"""What a rule may declare it needs: ``"reward"`` (an input ``"<projection>.reward"``, dimensionless, passed to
``on_step``) and ``"v"`` (the postsynaptic membrane potential after this step's update, mV, as ``post["v"]``)."""

_KINDS = (("SYNAPSE", axes.SYN), ("PRE", axes.PRE), ("POST", axes.POST))


def _make_state(cls: type) -> type:
    """The ``flax.struct`` state class ``<Rule>State``: ``w`` and the declared fields, each with its axis."""
    docs = {"w": ("weights, ``(*batch, K)`` in the connector's order, in the weight's unit.", axes.SYN)}
    for decl, axis in _KINDS:
        where = {"SYNAPSE": "per synapse", "PRE": "per presynaptic neuron", "POST": "per postsynaptic neuron"}[decl]
        for name, entry in getattr(cls, decl).items():
            docs[name] = (_declare.spec(entry)[1] or f"{where}.", axis)
    summary = (
        f"State of a {cls.__name__} projection (``w``, then its declared fields; every field declares its axis, "
        ":mod:`snnjax.axes`)."
    )
    fields = {n: axes.field(axis) for n, (_, axis) in docs.items()}
    return _declare.state_class(cls, {n: d for n, (d, _) in docs.items()}, summary, fields)


def _take(a: jax.Array, i: jax.Array) -> jax.Array:
    """``a[i]`` of one batch element, padding indices (out of range) read as 0."""
    return a.at[i].get(mode="fill", fill_value=0)


def _take_last(a: jax.Array, i: jax.Array) -> jax.Array:
    """``a[..., i]`` (batched arrays, valid indices)."""
    return a[..., i]


def _fit(new: dict, like: dict) -> dict:
    """The values ``new`` in the dtype and shape of ``like``'s (a scalar result broadcast to its synapses)."""
    return {k: jnp.broadcast_to(jnp.asarray(v, like[k].dtype), jnp.shape(like[k])) for k, v in new.items()}


def _abstract(tree: Any) -> Any:
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x)), tree)


@struct.dataclass
class Rule:
    """Base of plasticity rules on a projection's synapse list (see the module docstring for the step).

    A subclass (decorated with ``@flax.struct.dataclass``) declares:

    * its parameters, as dataclass fields with defaults (scalars: one value for the projection; ``vmap`` and
      ``grad`` reach them). Checked at construction: finite, names starting with ``tau`` > 0, ``w_min < w_max``
      (which may be infinite); ``_FIELDS = dict(name="positive" | "nonnegative" | None)`` adds or overrides checks.
      ``pairing`` and ``bounds`` static fields, if any, must be in ``PAIRINGS`` / ``BOUNDS``.
    * ``SYNAPSE``, ``PRE``, ``POST``: dicts ``name -> initial value`` (or ``(initial value, "doc, unit")``) of the
      state per synapse (besides the weight ``w``), per presynaptic neuron (per synapse with per-synapse delays) and
      per postsynaptic neuron. An initial value is a number, a parameter's name or ``fn(rule)``. The state class
      (``MyRule.State``, ``<MyRule>State``) is generated: ``w``, then the declared fields, each with its
      :mod:`snnjax.axes` axis (so a sharded run splits them right); ``State`` may instead be a class of your own with
      those fields (others default to None).
    * ``NEEDS``: a tuple from :data:`NEEDS`: ``"reward"`` (input ``"<projection>.reward"``, passed to ``on_step``),
      ``"v"`` (the postsynaptic voltage, as ``post["v"]``).
    * the maths, pure functions of dicts of arrays (any shape: the format decides which synapses they see):

      - ``decay(pre, post, dt) -> (pre, post)``: the per-neuron state over a step of ``dt`` ms (needed with ``PRE``
        or ``POST`` state);
      - ``on_pre(syn, pre, post) -> syn``: what an arriving presynaptic spike does to its synapse;
      - ``pre_spike(pre) -> pre``: ... and to the presynaptic state (needed with ``PRE`` state);
      - ``on_post(syn, pre, post) -> syn``: what a postsynaptic spike does to each of its synapses;
      - ``post_spike(post) -> post``: ... and to the postsynaptic state (needed with ``POST`` state);
      - optional ``on_step(syn, pre, post, arrived, fired, *, dt, reward) -> syn``: per-step terms at every synapse.

      Each returns a dict of the values it changes (``{}``: none).
    """

    SYNAPSE: ClassVar[dict[str, Any]] = {}
    PRE: ClassVar[dict[str, Any]] = {}
    POST: ClassVar[dict[str, Any]] = {}
    NEEDS: ClassVar[tuple[str, ...]] = ()
    State: ClassVar[type | None] = None
    PAIRINGS: ClassVar[tuple[str, ...]] = ("all-to-all", "nearest")
    BOUNDS: ClassVar[tuple[str, ...]] = ("hard", "soft")
    _FIELDS: ClassVar[dict[str, str | None]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        declares = any(k in cls.__dict__ for k in ("SYNAPSE", "PRE", "POST")) or cls.State is None
        if declares and cls.__dict__.get("State") is None:
            cls.State = _make_state(cls)

    # -- the maths (a subclass defines them) ---------------------------------------------------------------------
    def decay(self, pre: dict, post: dict, dt: float) -> tuple[dict, dict]:
        """The presynaptic and postsynaptic state after a step of ``dt`` ms without spikes."""
        raise NotImplementedError

    def on_pre(self, syn: dict, pre: dict, post: dict) -> dict:
        """What an arriving presynaptic spike does to its synapse (``w``, ``SYNAPSE`` fields)."""
        raise NotImplementedError

    def pre_spike(self, pre: dict) -> dict:
        """The presynaptic state after a spike arrived."""
        raise NotImplementedError

    def on_post(self, syn: dict, pre: dict, post: dict) -> dict:
        """What a postsynaptic spike does to each of its synapses."""
        raise NotImplementedError

    def post_spike(self, post: dict) -> dict:
        """The postsynaptic state after a spike."""
        raise NotImplementedError

    def on_step(self, syn: dict, pre: dict, post: dict, arrived, fired, *, dt: float, reward) -> dict:
        """Optional per-step terms at every synapse (``arrived``, ``fired``: booleans per synapse; ``reward``: the
        step's reward, broadcast to the synapses, 0 without a reward input)."""
        raise NotImplementedError

    # -- declarations ----------------------------------------------------------------------------------------------
    @property
    def needs_reward(self) -> bool:
        """Whether the rule takes a reward input (``"<projection>.reward"``)."""
        return "reward" in self.NEEDS

    @property
    def has_step(self) -> bool:
        """Whether the rule has per-step terms (``on_step``: a pass over every synapse per step)."""
        return type(self).on_step is not Rule.on_step

    def _defines(self, name: str) -> bool:
        return getattr(type(self), name) is not getattr(Rule, name)

    def _required(self) -> list[str]:
        need = ["on_pre", "on_post"]
        if self.PRE or self.POST:
            need.append("decay")
        if self.PRE:
            need.append("pre_spike")
        if self.POST:
            need.append("post_spike")
        return need

    # -- checks ----------------------------------------------------------------------------------------------------
    def __post_init__(self):
        self._check_static()
        self._check(type(self).__name__, strict=False)

    def _check_static(self) -> None:
        """The declarations and the functions a rule must define (``TypeError`` / ``ValueError`` naming them)."""
        name = type(self).__name__
        seen: dict[str, str] = {}
        for decl, _ in _KINDS:
            table = getattr(self, decl)
            if not isinstance(table, dict) or not all(isinstance(k, str) and k.isidentifier() for k in table):
                raise TypeError(f"{name}: {decl} must be a dict of field names -> initial values, got {table!r}")
            for field in table:
                if field in ("w", "v") or field in seen:
                    other = "reserved (the weight and the voltage)" if field in ("w", "v") else f"in {seen[field]}"
                    raise ValueError(f"{name}: the state field {field!r} of {decl} is {other}; names must differ")
                seen[field] = decl
        bad = [n for n in self.NEEDS if n not in NEEDS] if isinstance(self.NEEDS, tuple) else [self.NEEDS]
        if bad:
            raise ValueError(f"{name}: NEEDS must be a tuple of names from {NEEDS}, got {self.NEEDS!r}")
        if self.needs_reward and not self.has_step:
            raise TypeError(f"{name}: NEEDS 'reward', which reaches only on_step(...): define on_step")
        missing = [f for f in self._required() if not self._defines(f)]
        if missing:
            sig = {"decay": "decay(self, pre, post, dt)", "pre_spike": "pre_spike(self, pre)",
                   "post_spike": "post_spike(self, post)", "on_pre": "on_pre(self, syn, pre, post)",
                   "on_post": "on_post(self, syn, pre, post)"}  # fmt: skip
            wanted = ", ".join(sig[m] for m in missing)
            raise TypeError(f"{name}: a plasticity Rule must define {wanted} (see snnjax.plasticity.Rule)")
        state = type(self).State
        have = {f.name for f in dataclasses.fields(state)} if dataclasses.is_dataclass(state) else set()
        need = {"w", *self.SYNAPSE, *self.PRE, *self.POST}
        if not need <= have:
            raise TypeError(f"{name}: State must be a dataclass with the fields {sorted(need)}, got {state!r}")

    def _parameters(self) -> list[tuple[str, Any]]:
        """``(name, value)`` of the parameter leaves (pytree fields)."""
        return [
            (f.name, getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.metadata.get("pytree_node", True) and getattr(self, f.name) is not None
        ]

    def _check(self, owner: str, strict: bool) -> None:
        """Parameter checks (concrete floats; tracers and ints pass): finite, ``tau*`` > 0, ``w_min < w_max``."""
        for static, allowed in (("pairing", self.PAIRINGS), ("bounds", self.BOUNDS)):
            if hasattr(self, static):
                _checks.check_choice(owner, static, getattr(self, static), allowed)
        for name, value in self._parameters():
            if name in ("w_min", "w_max"):
                continue
            rule = self._FIELDS.get(name, "positive" if name.startswith("tau") else None)
            _checks.check_real(owner, name, value, positive=rule == "positive", nonnegative=rule == "nonnegative",
                               strict=strict)  # fmt: skip
        if not (hasattr(self, "w_min") and hasattr(self, "w_max")):
            return
        lo, hi = self.w_min, self.w_max
        if all(_checks.is_concrete_float(v, strict) for v in (lo, hi)):
            if np.isnan(np.asarray(lo)).any() or np.isnan(np.asarray(hi)).any():
                raise ValueError(f"{owner}: w_min and w_max must not be NaN, got {lo!r}, {hi!r}")
            if not np.all(np.asarray(lo) < np.asarray(hi)):
                raise ValueError(f"{owner}: w_min must be < w_max, got w_min={lo!r}, w_max={hi!r}")
            if getattr(self, "bounds", "hard") == "soft" and not np.all(np.isfinite([np.max(lo), np.max(hi)])):
                raise ValueError(f"{owner}: bounds='soft' needs finite w_min and w_max, got {lo!r}, {hi!r}")

    def _validate(
        self, where: str, wshape: tuple[int, ...], weight: Any = None, pre_shape: tuple[int, ...] | None = None,
        n_post: int | None = None,
    ) -> None:  # fmt: skip
        """Complete checks for a projection with ``K = wshape[0]`` synapses (run when it is built): the parameters
        (concrete, scalars), the initial weights within ``[w_min, w_max]``, and every function's result on arrays of
        the declared state (shapes only, ``jax.eval_shape``: nothing is compiled)."""
        owner = f"{where}: {type(self).__name__}"
        self._check_static()
        self._check(owner, strict=True)
        for name, value in self._parameters():
            if np.ndim(value) != 0:
                raise ValueError(f"{owner}: {name} must be a scalar, got shape {np.shape(value)}")
        if hasattr(self, "w_min") and weight is not None and not isinstance(weight, jax.core.Tracer):
            w = np.asarray(weight, np.float64)
            if w.size and (w.min() < float(self.w_min) or w.max() > float(self.w_max)):
                raise ValueError(
                    f"{owner}: the initial weight must lie in [w_min, w_max] = [{self.w_min}, {self.w_max}], "
                    f"got values in [{w.min()}, {w.max()}]"
                )
        k = int(wshape[0])
        self._check_results(owner, k, (k,) if pre_shape is None else tuple(pre_shape), k if n_post is None else n_post)

    def _check_results(self, owner: str, k: int, pre_shape: tuple[int, ...], n_post: int) -> None:
        """Each function run on abstract arrays of the declared state: a dict with the right keys and shapes."""
        f = jnp.result_type(float)
        arr = lambda shape, dtype=f: jax.ShapeDtypeStruct(shape, dtype)  # noqa: E731
        syn = {n: arr((k,)) for n in ("w", *self.SYNAPSE)}
        post_names = (*self.POST, "v") if "v" in self.NEEDS else tuple(self.POST)
        pre, post = {n: arr(pre_shape) for n in self.PRE}, {n: arr((n_post,)) for n in post_names}
        at_syn = {n: arr((k,)) for n in self.PRE}, {n: arr((k,)) for n in post_names}
        rule = _abstract(self)
        checks = [
            ("on_pre(syn, pre, post)", lambda r, s, p, q: r.on_pre(s, p, q), (syn, *at_syn), syn),
            ("on_post(syn, pre, post)", lambda r, s, p, q: r.on_post(s, p, q), (syn, *at_syn), syn),
        ]
        if self.PRE or self.POST:
            checks.append(("decay(pre, post, dt)", lambda r, p, q: r.decay(p, q, 0.1), (pre, post), None))
        if self.PRE:
            checks.append(("pre_spike(pre)", lambda r, p: r.pre_spike(p), (pre,), pre))
        if self.POST:
            post_only = {n: v for n, v in post.items() if n != "v"}
            checks.append(("post_spike(post)", lambda r, q: r.post_spike(q), (post,), post_only))
        if self.has_step:
            flags = arr((k,), jnp.bool_), arr((k,), jnp.bool_)
            checks.append((
                "on_step(syn, pre, post, arrived, fired, *, dt, reward)",
                lambda r, s, p, q, a, b: r.on_step(s, p, q, a, b, dt=0.1, reward=jnp.zeros((), f)),
                (syn, *at_syn, *flags), syn,
            ))  # fmt: skip
        for label, fn, args, like in checks:
            try:
                out = jax.eval_shape(fn, rule, *args)
            except KeyError as err:
                raise ValueError(
                    f"{owner}: {label} reads {err}, which the rule does not declare (syn: {sorted(syn)}, pre: "
                    f"{sorted(pre)}, post: {sorted(post)})"
                ) from None
            if like is None:  # decay: a (pre, post) pair
                ok = isinstance(out, tuple) and len(out) == 2
                parts = list(zip(out, (pre, {n: v for n, v in post.items() if n != "v"}))) if ok else []
            else:
                parts = [(out, like)]
            for got, want in parts or [(out, None)]:
                if want is None or not isinstance(got, dict) or not set(got) <= set(want):
                    shown = sorted(got) if isinstance(got, dict) else type(got).__name__
                    allowed = f"a dict with keys among {sorted(like)}" if like else "a pair of dicts (pre, post)"
                    raise ValueError(f"{owner}: {label} must return {allowed} (the values it changes); got {shown}")
                for key, value in got.items():
                    shape = tuple(want[key].shape)
                    if not _broadcasts(tuple(value.shape), shape):
                        raise ValueError(
                            f"{owner}: {label}[{key!r}] has shape {tuple(value.shape)}, which does not broadcast to "
                            f"the shape {shape} of the values it was given"
                        )

    # -- state -------------------------------------------------------------------------------------------------------
    def _initial(self, entry: Any) -> Any:
        value = _declare.spec(entry)[0]
        if callable(value):
            return value(self)
        return getattr(self, value) if isinstance(value, str) else value

    def init(self, w: jax.Array, pre_shape: tuple[int, ...], n_post: int, batch_shape: tuple[int, ...] = ()) -> Any:
        """The initial state: weights ``w (K,)`` copied per batch element, the declared fields at their initial
        values, ``(*batch, K)`` per synapse, ``(*batch, *pre_shape)`` presynaptic (``pre_shape`` is ``(n_pre,)``, or
        ``(K,)`` with per-synapse delays), ``(*batch, n_post)`` postsynaptic."""
        batch = tuple(batch_shape)
        dtype = jnp.result_type(float)
        w = jnp.broadcast_to(jnp.asarray(w, dtype), (*batch, w.shape[-1]))
        values = {"w": w}
        for table, shape in ((self.SYNAPSE, (w.shape[-1],)), (self.PRE, tuple(pre_shape)), (self.POST, (n_post,))):
            for name, entry in table.items():
                values[name] = jnp.broadcast_to(jnp.asarray(self._initial(entry), dtype), (*batch, *shape))
        return type(self).State(**values)

    # -- what the engine and the formats use -------------------------------------------------------------------------
    def split(self, st: Any, voltage: jax.Array | None = None) -> tuple[dict, dict, dict]:
        """``st`` as the dicts the maths take: ``(syn, pre, post)``; ``voltage`` joins ``post`` as ``"v"``."""
        syn = {"w": st.w, **{n: getattr(st, n) for n in self.SYNAPSE}}
        pre = {n: getattr(st, n) for n in self.PRE}
        post = {n: getattr(st, n) for n in self.POST}
        if voltage is not None:
            post["v"] = voltage
        return syn, pre, post

    def merge(self, st: Any, syn: dict | None = None, pre: dict | None = None, post: dict | None = None) -> Any:
        """``st`` with the values of the dicts (the voltage left out)."""
        changes = {**(syn or {}), **(pre or {}), **{k: v for k, v in (post or {}).items() if k != "v"}}
        return st.replace(**changes) if changes else st

    def begin(self, st: Any, dt: float) -> Any:
        """The per-neuron state decayed over the step (the first thing a step does)."""
        if not (self.PRE or self.POST):
            return st
        _, pre, post = self.split(st)
        new_pre, new_post = self.decay(pre, post, dt)
        return self.merge(st, pre=_fit(new_pre, pre), post=_fit(new_post, post))

    def arrived(self, st: Any, arrivals: jax.Array) -> Any:
        """The presynaptic state after this step's arrivals (``(*batch, n_pre)`` or per synapse; nonzero: arrived)."""
        if not self.PRE:
            return st
        _, pre, _ = self.split(st)
        a = arrivals != 0
        new = _fit(self.pre_spike(pre), pre)
        return self.merge(st, pre={k: jnp.where(a, v, pre[k]) for k, v in new.items()})

    def fired(self, st: Any, post_spikes: jax.Array) -> Any:
        """The postsynaptic state after this step's postsynaptic spikes ``(*batch, n_post)`` (the last phase)."""
        if not self.POST:
            return st
        _, _, post = self.split(st)
        q = post_spikes != 0
        new = _fit(self.post_spike(post), post)
        return self.merge(st, post={k: jnp.where(q, v, post[k]) for k, v in new.items()})

    def changes(self, name: str) -> bool:
        """Whether ``on_pre`` / ``on_post`` (``name``) changes anything (decided from the keys it returns, shapes
        only): a format skips the traversal of a function that returns ``{}``."""
        scalar = jax.ShapeDtypeStruct((), jnp.result_type(float))
        syn = {n: scalar for n in ("w", *self.SYNAPSE)}
        pre = {n: scalar for n in self.PRE}
        post = {n: scalar for n in (*self.POST, *(("v",) if "v" in self.NEEDS else ()))}
        out = jax.eval_shape(lambda r, s, p, q: getattr(r, name)(s, p, q), _abstract(self), syn, pre, post)
        return bool(out)

    def updater(self, name: str, pre: dict, post: dict, batched: bool = False):
        """``update(src, dst, syn) -> changed syn values`` for the formats' traversals: ``on_pre`` / ``on_post``
        (``name``) at synapses whose presynaptic values are ``pre`` at ``src`` (``None``: ``pre`` is per synapse
        already) and postsynaptic values ``post`` at ``dst``. ``batched=False``: one batch element, padding indices
        read 0; ``True``: batched arrays (``x[..., idx]``)."""
        fn, take = getattr(self, name), (_take_last if batched else _take)

        def update(src, dst, syn):
            p = pre if src is None else {k: take(v, src) for k, v in pre.items()}
            q = {k: take(v, dst) for k, v in post.items()}
            return _fit(fn(syn, p, q), syn)

        return update

    def step_updater(self, pre: dict, post: dict, arrived, fired, *, dt: float, reward):
        """``update(src, dst, syn)`` for ``on_step`` over every synapse (batched arrays; ``arrived`` like ``pre``'s
        values, ``fired`` like ``post``'s, booleans)."""

        def update(src, dst, syn):
            p = pre if src is None else {k: v[..., src] for k, v in pre.items()}
            q = {k: v[..., dst] for k, v in post.items()}
            a = arrived if src is None else arrived[..., src]
            return _fit(self.on_step(syn, p, q, a, fired[..., dst], dt=dt, reward=reward), syn)

        return update


def _broadcasts(got: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    return len(got) <= len(shape) and all(a in (1, b) for a, b in zip(got[::-1], shape[::-1]))
