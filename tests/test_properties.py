"""Property-based tests (hypothesis) of the argument checks of the public API.

Two properties, over generated constructor arguments and run inputs:

* every invalid combination raises ``ValueError`` or ``TypeError`` whose message names the offending
  argument, and raises before any XLA compilation: ``assert_rejects`` empties JAX's caches (so an op
  compiled by an earlier example cannot hide) and counts the backend compilations made during the
  failing call with ``jax.monitoring``'s ``/jax/core/compile/backend_compile_duration`` event;
* every valid combination runs a few steps of a tiny network without error and gives finite results
  (or, where checked, results equal to an independent computation: the connector's definition, a
  Python loop over the sweep points, the saved arrays).

The examples are derandomized (the same on every run) and few: the whole file takes well under a
minute on 2 cores.
"""

from __future__ import annotations

import contextlib
import functools
import keyword
import math
import os
import re
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import snnjax as sj

DT = 0.1  # ms
LIF_RULES = dict(v_rest=None, v_reset=None, v_th=None, tau="positive", tau_ref="nonnegative", r="positive")


def examples(n: int):
    """Hypothesis settings: ``n`` derandomized examples (reproducible in CI), no deadline, no database."""
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# -- compile counting and the two properties ---------------------------------------------------------------

_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


@contextlib.contextmanager
def count_compiles():
    """Collect the names of the XLA backend compilations made inside the block."""
    seen: list[str] = []

    def listener(event, duration, **kwargs):
        if event == _COMPILE_EVENT:
            seen.append(str(kwargs.get("fun_name", "?")))

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield seen
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


def names_in(message: str, *names: str) -> None:
    for name in names:
        # whole words: 'tau' must not be satisfied by 'tau_ref'
        assert re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", message), f"message does not name {name!r}: {message}"


def assert_rejects(call, *names: str, compile_free: bool = True) -> str:
    """``call()`` raises ValueError/TypeError naming ``names``, and (``compile_free``) compiles nothing first."""
    jax.clear_caches()  # a cached executable would not be recompiled, so its compilation would go unseen
    with count_compiles() as seen, pytest.raises((ValueError, TypeError)) as info:
        call()
    message = str(info.value)
    names_in(message, *names)
    if compile_free:
        assert seen == [], f"compiled {seen} before raising {type(info.value).__name__}: {message}"
    return message


def test_compile_counter_sees_a_compilation():
    """The counter is not vacuous: a fresh jitted function compiles once, and is counted."""
    jax.clear_caches()
    with count_compiles() as seen:
        jax.jit(lambda x: x * 2.0 + 1.0)(jnp.ones(3)).block_until_ready()
    assert len(seen) >= 1


@functools.partial(jax.jit, static_argnames=("paths", "steps", "monitors", "every"))
def _simulate(net, state, values, *, paths, steps, monitors, every=1):
    inputs = [(path, value, mode) for (path, mode), value in zip(paths, values)]
    return sj.simulate(net, state, duration=steps * DT, dt=DT, inputs=inputs, monitors=monitors, every=every)


def simulate_jit(net, state, inputs, *, steps, monitors, every=1):
    """``sj.simulate`` under one ``jit`` keyed on the structure, so repeated shapes compile once.

    ``inputs``: ``[(path, value, mode)]``; the values are traced, paths and modes static.
    """
    paths = tuple((path, mode) for path, _, mode in inputs)
    values = [jnp.asarray(value) for _, value, _ in inputs]
    return _simulate(net, state, values, paths=paths, steps=steps, monitors=tuple(monitors), every=every)


def run_small(net, *, steps=4, inputs=None, monitors=(), key=None, batch_shape=()):
    """A few steps of ``net`` from ``net.init``, constant inputs ``{path: value}``; returns (state, record)."""
    state = net.init(key, batch_shape, dt=DT)
    spec = [(path, value, "fix") for path, value in (inputs or {}).items()]
    return simulate_jit(net, state, spec, steps=steps, monitors=monitors)


def assert_finite(tree) -> None:
    for leaf in jax.tree.leaves(tree):
        if jnp.issubdtype(jnp.result_type(leaf), jnp.floating):
            assert np.all(np.isfinite(np.asarray(leaf))), "a valid run gave NaN or inf"


# -- strategies ---------------------------------------------------------------------------------------------

sizes = st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 2), st.integers(1, 3)))
bad_sizes = st.one_of(
    st.integers(-3, 0),
    st.floats(0.5, 4.5),  # even 3.0: a size is an int
    st.just(True),
    st.just(()),
    st.tuples(st.integers(1, 3), st.integers(-2, 0)),
    st.just("3"),
    st.none(),
)


def shape_of(size) -> tuple[int, ...]:
    return (size,) if isinstance(size, int) else tuple(size)


def valid_param(rule, shape):
    """A valid value of a parameter with ``rule``: scalar float/int or an array of the population's shape."""
    lo, hi = {None: (-70.0, 30.0), "positive": (0.5, 30.0), "nonnegative": (0.0, 3.0)}[rule]
    ints = st.integers(math.ceil(lo) if rule != "positive" else 1, int(hi))
    floats = st.floats(lo, hi, allow_nan=False)
    return st.one_of(floats, ints, hnp.arrays(np.float64, shape, elements=floats))


def invalid_param(rule, shape):
    """(value, exception-name-in-message) pairs that must be refused for a parameter with ``rule``."""
    wrong_shapes = st.sampled_from([(shape[-1] + 1,), (2, *shape), (*shape, 2)])
    bad = [
        st.sampled_from([math.nan, math.inf, -math.inf]),
        wrong_shapes.map(lambda s: np.ones(s)),
        st.sampled_from(["10", 1j, True, [1.0, 2.0]]),
        hnp.arrays(np.float64, shape, elements=st.just(math.nan)),
    ]
    if rule == "positive":
        bad += [st.floats(-50.0, 0.0), st.integers(-5, 0)]
    elif rule == "nonnegative":
        bad += [st.floats(-50.0, -1e-3), st.integers(-5, -1)]
    return st.one_of(*bad)


def two_pops(n_pre=3, n_post=2, **proj):
    return sj.Network(A=sj.neurons.LIF(n_pre), B=sj.neurons.LIF(n_post), P=sj.Projection("A", "B", **proj))


# -- neurons ------------------------------------------------------------------------------------------------


@examples(30)
@given(size=bad_sizes)
def test_lif_bad_size_is_refused(size):
    assert_rejects(lambda: sj.neurons.LIF(size), "size")


@examples(12)
@given(data=st.data(), size=sizes)
def test_lif_valid_parameters_run_finite(data, size):
    shape = shape_of(size)
    params = {name: data.draw(valid_param(rule, shape), label=name) for name, rule in LIF_RULES.items()}
    v_init = data.draw(
        st.one_of(
            st.none(),
            st.floats(-70.0, 30.0),
            st.builds(sj.init.Normal, st.floats(-70.0, 0.0), st.floats(0.0, 5.0)),
            st.builds(sj.init.Uniform, st.just(-70.0), st.floats(-70.0, 0.0)),
        ),
        label="v_init",
    )
    net = sj.Network(A=sj.neurons.LIF(size, v_init=v_init, **params))
    current = data.draw(
        st.one_of(st.floats(-5.0, 5.0), hnp.arrays(np.float32, shape, elements=st.floats(-5, 5, width=32)))
    )
    state, rec = run_small(net, inputs={"A.input": jnp.asarray(current)}, monitors=("A.v",), key=jax.random.key(1))
    assert rec["A.v"].shape == (4, *shape)
    assert_finite((state, rec))


@examples(60)
@given(data=st.data(), size=sizes, name=st.sampled_from(sorted(LIF_RULES)))
def test_lif_invalid_parameter_is_refused_before_compiling(data, size, name):
    shape = shape_of(size)
    bad = data.draw(invalid_param(LIF_RULES[name], shape), label=name)
    # construction may accept what only the full check sees (ints, lists: vmap axis trees are made of
    # those); then Network/init refuse it, still before anything is compiled
    assert_rejects(lambda: run_small(sj.Network(A=sj.neurons.LIF(size, **{name: bad}))), name)


@examples(10)
@given(v_init=st.sampled_from(["x", np.zeros(3), [0.0], object()]))
def test_lif_bad_v_init_type_is_refused(v_init):
    assert_rejects(lambda: run_small(sj.Network(A=sj.neurons.LIF(3, v_init=v_init))), "v_init")


@pytest.mark.parametrize("v_init", [math.nan, math.inf])
def test_lif_nonfinite_v_init_is_refused(v_init):
    assert_rejects(lambda: run_small(sj.Network(A=sj.neurons.LIF(3, v_init=v_init))), "v_init")


# -- synapses and outputs -------------------------------------------------------------------------------------

SYNAPSES = {"Exponential": ("tau", sj.synapses.Exponential), "Alpha": ("tau_decay", sj.synapses.Alpha)}


@examples(8)
@given(
    kind=st.sampled_from(sorted(SYNAPSES)),
    tau=st.one_of(st.floats(0.2, 50.0), st.integers(1, 20), hnp.arrays(np.float64, (2,), elements=st.floats(0.2, 50))),
    output=st.one_of(
        st.just(sj.outputs.CUBA()),
        st.just(sj.outputs.CUBA(target="v")),
        st.builds(sj.outputs.COBA, st.floats(-80.0, 0.0)),
    ),
    weight=st.floats(0.0, 2.0),
)
def test_valid_synapse_and_output_run_finite(kind, tau, output, weight):
    name, cls = SYNAPSES[kind]
    net = two_pops(conn=sj.conn.All2All(), weight=weight, synapse=cls(**{name: tau}), output=output)
    state, rec = run_small(net, inputs={"A.input": jnp.asarray(30.0)}, monitors=("P.g", "B.v"))
    assert rec["P.g"].shape == (4, 2)
    assert_finite((state, rec))


@examples(30)
@given(
    kind=st.sampled_from(sorted(SYNAPSES)),
    bad=st.one_of(st.sampled_from([math.nan, math.inf, -math.inf, 0.0]), st.floats(-50.0, -1e-3)),
)
def test_synapse_bad_time_constant_is_refused_at_construction(kind, bad):
    name, cls = SYNAPSES[kind]
    assert_rejects(lambda: cls(**{name: bad}), name)


@examples(12)
@given(kind=st.sampled_from(sorted(SYNAPSES)), bad=st.sampled_from([0, -3, "5", True, 1j, [1.0, 2.0]]))
def test_synapse_bad_time_constant_is_refused_by_network(kind, bad):
    # ints, strings, bools: accepted by the light construction check, refused by the full one in Network
    # (on the host, before the synapse list reaches the device)
    name, cls = SYNAPSES[kind]
    assert_rejects(lambda: two_pops(conn=sj.conn.All2All(), synapse=cls(**{name: bad})), name)


@pytest.mark.parametrize("kind", sorted(SYNAPSES))
def test_synapse_time_constant_of_wrong_shape_is_refused(kind):
    name, cls = SYNAPSES[kind]
    assert_rejects(lambda: two_pops(conn=sj.conn.All2All(), synapse=cls(**{name: np.ones(4)})), name)


@examples(20)
@given(target=st.one_of(st.just(""), st.integers(), st.none(), st.floats(allow_nan=False)))
def test_cuba_bad_target_is_refused(target):
    assert_rejects(lambda: sj.outputs.CUBA(target=target), "target")


@examples(10)
@given(target=st.sampled_from(["w", "input2", "g", "V"]))
def test_cuba_target_missing_from_state_is_refused(target):
    message = assert_rejects(lambda: two_pops(conn=sj.conn.All2All(), output=sj.outputs.CUBA(target=target)), "target")
    assert repr(target) in message and "'v'" in message  # the value, and the fields that are allowed


@examples(20)
@given(
    E=st.sampled_from([math.nan, math.inf, -math.inf]),
    target=st.sampled_from(["input", "v"]),
)
def test_coba_bad_arguments_are_refused(E, target):
    assert_rejects(lambda: sj.outputs.COBA(E=E), "E")
    if target != "input":
        assert_rejects(lambda: sj.outputs.COBA(E=0.0, target=target), "target")


def test_coba_reversal_of_wrong_shape_is_refused():
    assert_rejects(lambda: two_pops(conn=sj.conn.All2All(), output=sj.outputs.COBA(E=np.zeros(4))), "E")


# -- connectors -----------------------------------------------------------------------------------------------


def check_synapse_list(pre, post, n_pre, n_post, include_self=True):
    """The connector contract: int32, in range, sorted by (pre, post), no duplicates, no autapses if asked."""
    assert pre.dtype == np.int32 and post.dtype == np.int32 and pre.shape == post.shape
    assert np.all((0 <= pre) & (pre < n_pre)) and np.all((0 <= post) & (post < n_post))
    key = pre.astype(np.int64) * n_post + post
    assert np.all(np.diff(key) > 0), "not sorted by (pre, post) or has duplicates"
    if not include_self:
        assert not np.any(pre == post)


@examples(40)
@given(
    p=st.floats(0.0, 1.0),
    n_pre=st.integers(1, 30),
    n_post=st.integers(1, 30),
    seed=st.integers(0, 2**32),
    include_self=st.booleans(),
)
def test_fixed_prob_valid_builds_a_valid_list(p, n_pre, n_post, seed, include_self):
    pre, post = sj.conn.FixedProb(p, seed=seed, include_self=include_self).build(n_pre, n_post)
    check_synapse_list(pre, post, n_pre, n_post, include_self)
    if p == 1.0:
        assert pre.size == n_pre * n_post - (0 if include_self else min(n_pre, n_post))
    if p == 0.0:
        assert pre.size == 0


@examples(40)
@given(
    p=st.one_of(
        st.floats(1.0, allow_infinity=True, exclude_min=True),
        st.floats(max_value=0.0, exclude_max=True),
        st.just(math.nan),
        st.sampled_from(["0.5", None, True, jnp.asarray(0.5)]),
    )
)
def test_fixed_prob_bad_p_is_refused(p):
    assert_rejects(lambda: sj.conn.FixedProb(p), "p")


@examples(20)
@given(
    cls=st.sampled_from([sj.conn.FixedProb, sj.conn.FixedPostNum, sj.conn.FixedPreNum]),
    seed=st.one_of(st.integers(max_value=-1), st.floats(0.0, 10.0), st.just("1"), st.just(True)),
)
def test_random_connector_bad_seed_is_refused(cls, seed):
    first = 0.5 if cls is sj.conn.FixedProb else 1
    assert_rejects(lambda: cls(first, seed=seed), "seed")


@examples(20)
@given(
    cls=st.sampled_from([sj.conn.All2All, sj.conn.FixedProb, sj.conn.FixedPostNum, sj.conn.FixedPreNum]),
    include_self=st.sampled_from(["no", 0, 1, None, 0.0]),
)
def test_connector_bad_include_self_is_refused(cls, include_self):
    args = () if cls is sj.conn.All2All else ((0.5,) if cls is sj.conn.FixedProb else (1,))
    assert_rejects(lambda: cls(*args, include_self=include_self), "include_self")


@examples(60)
@given(
    fan_out=st.booleans(),
    n_pre=st.integers(1, 12),
    n_post=st.integers(1, 12),
    num=st.integers(0, 14),
    include_self=st.booleans(),
    seed=st.integers(0, 100),
)
def test_fixed_num_valid_or_refused(fan_out, n_pre, n_post, num, include_self, seed):
    cls = sj.conn.FixedPostNum if fan_out else sj.conn.FixedPreNum
    n_other = n_post if fan_out else n_pre  # where the num partners are drawn from
    avail = n_other - (0 if include_self else 1)  # neuron 0 exists on both sides, so it loses one partner
    conn = cls(num, seed=seed, include_self=include_self)
    if num > avail:
        assert_rejects(lambda: conn.build(n_pre, n_post), "num")
        return
    pre, post = conn.build(n_pre, n_post)
    check_synapse_list(pre, post, n_pre, n_post, include_self)
    counts = np.bincount(pre if fan_out else post, minlength=n_pre if fan_out else n_post)
    assert np.all(counts == num)


@examples(20)
@given(
    cls=st.sampled_from([sj.conn.FixedPostNum, sj.conn.FixedPreNum]),
    num=st.one_of(st.integers(max_value=-1), st.floats(0, 5), st.just(True)),
)
def test_fixed_num_bad_num_is_refused(cls, num):
    assert_rejects(lambda: cls(num), "num")


@st.composite
def index_lists(draw):
    """(pre, post, n_pre, n_post, problem): a synapse list, maybe broken in one way ('' if valid)."""
    n_pre, n_post = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    pairs = draw(st.sets(st.tuples(st.integers(0, n_pre - 1), st.integers(0, n_post - 1)), max_size=12))
    pairs = draw(st.permutations(sorted(pairs)))
    pre = np.array([a for a, _ in pairs], np.int64)
    post = np.array([b for _, b in pairs], np.int64)
    problem = draw(st.sampled_from(["", "", "negative", "too_large", "length", "duplicate", "float"]))
    side = draw(st.sampled_from(["pre", "post"]))
    if problem and pre.size == 0 and problem in ("negative", "too_large", "duplicate", "float"):
        pre, post = np.array([0]), np.array([0])
    if problem == "negative":
        arr = pre if side == "pre" else post
        arr[draw(st.integers(0, arr.size - 1))] = draw(st.integers(-5, -1))
    elif problem == "too_large":
        arr, n = (pre, n_pre) if side == "pre" else (post, n_post)
        arr[draw(st.integers(0, arr.size - 1))] = draw(st.integers(n, n + 5))
    elif problem == "length":
        post = np.append(post, 0)
    elif problem == "duplicate":
        pre, post = np.append(pre, pre[0]), np.append(post, post[0])
    elif problem == "float":
        pre = pre + 0.5 if side == "pre" else pre
        post = post + 0.5 if side == "post" else post
    return pre, post, n_pre, n_post, problem, side


@examples(60)
@given(case=index_lists())
def test_from_indices_valid_or_refused(case):
    pre, post, n_pre, n_post, problem, side = case
    conn = sj.conn.FromIndices(pre, post)
    if not problem:
        got_pre, got_post = conn.build(n_pre, n_post)
        check_synapse_list(got_pre, got_post, n_pre, n_post)
        assert sorted(zip(got_pre.tolist(), got_post.tolist())) == sorted(zip(pre.tolist(), post.tolist()))
        return
    names = {"length": ("pre", "post"), "duplicate": ("duplicate",)}.get(problem, (side,))
    assert_rejects(lambda: conn.build(n_pre, n_post), *names)
    # the same list given to a Projection is refused by Network, before any compilation
    net = lambda: sj.Network(A=sj.neurons.LIF(n_pre), B=sj.neurons.LIF(n_post), P=sj.Projection("A", "B", (pre, post)))  # noqa: E731
    assert_rejects(net, *names)


@examples(30)
@given(
    matrix=st.integers(1, 5).flatmap(
        lambda n_pre: st.integers(1, 5).flatmap(lambda n_post: hnp.arrays(np.bool_, (n_pre, n_post)))
    ),
    as_float=st.booleans(),
)
def test_dense_matrix_connectivity(matrix, as_float):
    m = matrix.astype(np.float32) if as_float else matrix
    pre, post = sj.conn.from_matrix(m).build(*m.shape)
    check_synapse_list(pre, post, *m.shape)
    assert np.array_equal(np.stack([pre, post]), np.stack(np.nonzero(matrix)))
    # a matrix made for other group sizes is refused, naming the shapes
    wrong = (m.shape[0] + 1, m.shape[1])
    assert_rejects(
        lambda: sj.Network(A=sj.neurons.LIF(wrong[0]), B=sj.neurons.LIF(wrong[1]), P=sj.Projection("A", "B", m)),
        "conn",
    )


@examples(10)
@given(bad=st.sampled_from([np.full((2, 2), np.nan), np.array([["a", "b"]]), np.ones(3), np.ones((1, 2, 2))]))
def test_dense_matrix_bad_values_are_refused(bad):
    assert_rejects(lambda: sj.conn.from_matrix(bad), "conn")


# -- projections ----------------------------------------------------------------------------------------------

CONNS = {
    "all": lambda: sj.conn.All2All(),
    "prob": lambda: sj.conn.FixedProb(0.5, seed=3),
    "post1": lambda: sj.conn.FixedPostNum(1, seed=1),
}


@st.composite
def projections(draw):
    """Keyword arguments of a Projection on groups of n_pre and n_post neurons, and what is wrong ('' = valid)."""
    n_pre, n_post = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    conn = CONNS[draw(st.sampled_from(sorted(CONNS)))]()
    k = conn.build(n_pre, n_post)[0].size
    problem = draw(st.sampled_from(["", "", "", "weight_shape", "delay_shape", "delay_method", "weight_type"]))
    w_kind = draw(st.sampled_from(["scalar", "per_synapse", "dense"]))
    weight = {
        "scalar": draw(st.floats(-2.0, 2.0)),
        "per_synapse": np.linspace(-1.0, 1.0, k),
        "dense": np.full((n_pre, n_post), 0.5),
    }[w_kind]
    per_syn_delay = draw(st.booleans()) and k > 0
    delay = np.linspace(0.0, 0.4, k) if per_syn_delay else draw(st.floats(0.0, 0.4))
    methods = ["auto", "sparse", "event", "vector_event"] if per_syn_delay else ["auto", "dense", "sparse", "event"]
    method = draw(st.sampled_from(methods))  # per-synapse delays: read per synapse, or delivered into a ring
    if problem == "weight_shape":
        weight = np.ones(draw(st.sampled_from([(k + 1,), (n_post, n_pre + 1), (n_pre, n_post, 1)])))
    elif problem == "weight_type":
        weight = draw(st.sampled_from(["1.0", 1j, [1.0] * max(k, 1)]))
    elif problem == "delay_shape":
        delay = np.zeros(draw(st.sampled_from([(k + 1,), (n_pre, n_post), (1, 1)])))
    elif problem == "delay_method":
        delay, method = np.zeros(max(k, 1)), "dense"  # event propagators deliver per-synapse delays into a ring
        if k == 0:
            problem = "delay_shape"
    kwargs = dict(conn=conn, weight=weight, delay=delay, method=method)
    return n_pre, n_post, kwargs, problem


@examples(10)
@given(case=projections().filter(lambda c: c[3] == ""))
def test_valid_projection_runs_finite(case):
    n_pre, n_post, kwargs, _ = case
    net = two_pops(n_pre, n_post, **kwargs)
    state, rec = run_small(net, steps=6, inputs={"A.input": jnp.asarray(40.0)}, monitors=("B.v", "B.spike"))
    assert rec["B.v"].shape == (6, n_post)
    assert_finite((state, rec))


@examples(40)
@given(case=projections().filter(lambda c: c[3] != ""))
def test_invalid_projection_is_refused_by_network(case):
    n_pre, n_post, kwargs, problem = case
    names = {"weight_shape": ("weight",), "weight_type": ("weight",), "delay_shape": ("delay",)}
    names["delay_method"] = ("delay", "method")
    # raised while Network binds the projection, before the synapse list reaches the device
    assert_rejects(lambda: two_pops(n_pre, n_post, **kwargs), *names[problem])


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(weight=np.ones(5)),
        dict(delay=np.zeros(6), method="dense"),
        dict(weight="1.0"),
        dict(synapse=sj.synapses.Exponential(-1)),
    ],
    ids=["weight_shape", "delay_method", "weight_type", "int_tau"],
)
def test_projection_errors_raise_before_any_compilation(kwargs):
    assert_rejects(lambda: two_pops(3, 2, conn=sj.conn.All2All(), **kwargs))


@examples(30)
@given(
    delay=st.one_of(st.floats(max_value=-1e-6), st.sampled_from([math.nan, math.inf])),
    per_synapse=st.booleans(),
)
def test_projection_bad_delay_value_is_refused_at_construction(delay, per_synapse):
    value = np.full(6, delay) if per_synapse else delay
    assert_rejects(lambda: sj.Projection("A", "B", sj.conn.All2All(), delay=value), "delay")


@examples(10)
@given(delay=st.integers(-5, -1))
def test_projection_negative_int_delay_is_refused_by_network(delay):
    assert_rejects(lambda: two_pops(conn=sj.conn.All2All(), delay=delay), "delay", compile_free=False)


@examples(20)
@given(
    arg=st.sampled_from(["method", "max_events", "max_delay", "activity", "pre", "conn"]),
    data=st.data(),
)
def test_projection_bad_static_argument_is_refused(arg, data):
    bad = data.draw(
        {
            "method": st.sampled_from(["fast", "", None, "Dense"]),
            "max_events": st.one_of(st.integers(max_value=0), st.just(2.5)),
            "max_delay": st.one_of(st.floats(max_value=-1e-3), st.just(math.nan)),
            "activity": st.one_of(
                st.floats(max_value=0.0), st.floats(min_value=1.0, exclude_min=True), st.sampled_from([math.nan, "0.1"])
            ),
            "pre": st.sampled_from([1, None, ("A",)]),
            "conn": st.sampled_from(["all", 0.5, None]),
        }[arg]
    )
    if arg == "conn":  # a bad connector is found when Network builds the synapse list (before compiling)
        assert_rejects(lambda: two_pops(conn=bad), "conn")
    else:
        assert_rejects(lambda: sj.Projection(**{"pre": "A", "post": "B", "conn": sj.conn.All2All(), arg: bad}), arg)


def test_projection_bool_max_events_is_refused():
    assert_rejects(lambda: sj.Projection("A", "B", sj.conn.All2All(), method="event", max_events=True), "max_events")


def test_projection_str_max_delay_is_refused_naming_it():
    assert_rejects(lambda: sj.Projection("A", "B", sj.conn.All2All(), max_delay="a"), "max_delay")


@pytest.mark.parametrize("kwargs", [dict(synapse="exp"), dict(output="cuba")], ids=["synapse", "output"])
def test_projection_bad_synapse_or_output_type_is_refused(kwargs):
    (name,) = kwargs
    assert_rejects(lambda: two_pops(conn=sj.conn.All2All(), **kwargs), name)


# -- networks -------------------------------------------------------------------------------------------------


@examples(40)
@given(name=st.text(alphabet="aZ_0.- é", min_size=0, max_size=4))
def test_network_component_names(name):
    valid = name.isidentifier() and not keyword.iskeyword(name) and name != "ts"
    if valid:
        assert list(sj.Network(**{name: sj.neurons.LIF(2)}).populations) == [name]
    else:
        message = assert_rejects(lambda: sj.Network(**{name: sj.neurons.LIF(2)}), "name")
        assert repr(name) in message


@examples(20)
@given(end=st.sampled_from(["pre", "post"]), missing=st.sampled_from(["Z", "a", "AB", "P"]))
def test_network_unknown_population_is_refused(end, missing):
    ends = {"pre": "A", "post": "B", end: missing}
    proj = sj.Projection(ends["pre"], ends["post"], sj.conn.All2All())
    message = assert_rejects(lambda: sj.Network(A=sj.neurons.LIF(2), B=sj.neurons.LIF(2), P=proj), end)
    assert repr(missing) in message


@examples(10)
@given(obj=st.sampled_from([3, "LIF", None, sj.synapses.Exponential()]))
def test_network_non_component_is_refused(obj):
    assert_rejects(lambda: sj.Network(A=sj.neurons.LIF(2), X=obj), "X")


# -- simulate and Runner --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def small_net():
    """A (3,) group driving a (2, 2) group, with a synapse; built once (construction is not under test here)."""
    net = sj.Network(
        A=sj.neurons.LIF(3),
        B=sj.neurons.LIF((2, 2)),
        P=sj.Projection("A", "B", sj.conn.All2All(), weight=0.5, delay=0.2, synapse=sj.synapses.Exponential(5.0)),
    )
    return net, net.init(dt=DT)


NEURONS = {"A": 3, "B": 4}

bad_times = st.one_of(
    st.floats(max_value=0.0),
    st.sampled_from([math.nan, math.inf, "0.1", True, None, 1j]),
)


@examples(30)
@given(arg=st.sampled_from(["dt", "duration"]), bad=bad_times)
def test_simulate_bad_time_is_refused(arg, bad):
    net, state = small_net()
    kwargs = {"duration": 1.0, "dt": DT, arg: bad}
    assert_rejects(lambda: sj.simulate(net, state, **kwargs), arg)


@examples(20)
@given(steps=st.integers(1, 12), every=st.one_of(st.integers(-2, 14), st.sampled_from([2.0, True, "2"])))
def test_simulate_every_must_divide_the_steps(steps, every):
    net, state = small_net()
    ok = isinstance(every, int) and not isinstance(every, bool) and every >= 1 and steps % every == 0
    assume(not ok)  # valid values of every run in test_valid_simulate_runs_finite
    assert_rejects(lambda: sj.simulate(net, state, duration=steps * DT, dt=DT, every=every), "every")


@st.composite
def monitor_paths(draw):
    """('E.v[...]'-style path, valid?)."""
    pop = draw(st.sampled_from(["A", "B", "P", "Z"]))
    field = draw(st.sampled_from(["v", "spike", "g", "w"]))
    n = NEURONS.get(pop, 4 if pop == "P" else 0)
    known = (pop in ("A", "B") and field in ("v", "spike")) or (pop == "P" and field == "g")
    kind = draw(st.sampled_from(["none", "int", "list", "slice"]))
    if kind == "none":
        return f"{pop}.{field}", known
    if kind == "int":
        i = draw(st.integers(-6, 6))
        return f"{pop}.{field}[{i}]", known and -n <= i < n
    if kind == "list":
        idx = draw(st.lists(st.integers(-6, 6), min_size=1, max_size=3))
        return f"{pop}.{field}[{','.join(map(str, idx))}]", known and all(-n <= i < n for i in idx)
    a, b, s = draw(st.integers(-6, 6)), draw(st.integers(-6, 6)), draw(st.sampled_from([1, 2, -1, 0]))
    ok = known and s != 0 and len(range(n)[slice(a, b, s)]) > 0 if n else False
    return f"{pop}.{field}[{a}:{b}:{s}]", ok


@examples(60)
@given(path=monitor_paths())
def test_simulate_monitor_paths(path):
    text, ok = path
    net, state = small_net()
    assume(not ok)  # valid paths run in test_valid_simulate_runs_finite (compiling is slow)
    message = assert_rejects(lambda: sj.simulate(net, state, duration=0.3, dt=DT, monitors=[text]), "monitors")
    assert text.split("[")[0] in message


@st.composite
def input_specs(draw, steps):
    """({path: value} or [(path, value, mode)], problem) for a run of ``steps`` steps."""
    pop = draw(st.sampled_from(["A", "B"]))
    shape = (NEURONS["A"],) if pop == "A" else (2, 2)
    problem = draw(st.sampled_from(["", "", "", "path", "nan", "shape", "type", "time_shape"]))
    value = draw(
        st.one_of(
            st.floats(-5.0, 30.0),
            hnp.arrays(np.float32, shape, elements=st.floats(-5.0, 30.0, width=32)),
            hnp.arrays(np.float32, (steps, *shape), elements=st.floats(-5.0, 30.0, width=32)),
        )
    )
    path = f"{pop}.input"
    if problem == "path":
        path = draw(st.sampled_from(["Z.input", f"{pop}.v", "input", f"{pop}.input.x", "P.input"]))
    elif problem == "nan":
        value = np.array(value, np.float32)
        value.reshape(-1)[draw(st.integers(0, value.size - 1))] = draw(st.sampled_from([np.nan, np.inf]))
    elif problem == "shape":
        # wrong both as a constant and as one value per step (steps < 7)
        value = np.ones(draw(st.sampled_from([(5,), (7, *shape), (*shape[:-1], shape[-1] + 1)])), np.float32)
    elif problem == "time_shape":
        return [(path, np.ones((steps + 1, *shape), np.float32), "iter")], problem, path
    elif problem == "type":
        value = draw(st.sampled_from(["1.0", 1j, np.array(["a"]), {"x": 1.0}]))
    mode = "iter" if np.ndim(value) == len(shape) + 1 else "fix"
    return [(path, value, mode)], problem, path


@examples(40)
@given(data=st.data(), steps=st.integers(2, 6))
def test_simulate_inputs_refused(data, steps):
    inputs, problem, path = data.draw(input_specs(steps))
    assume(problem)  # valid inputs run in test_valid_simulate_runs_finite
    net, state = small_net()
    names = ("inputs", path) if problem != "path" else ("inputs",)
    message = assert_rejects(lambda: sj.simulate(net, state, duration=steps * DT, dt=DT, inputs=inputs), *names)
    if problem == "path":
        assert repr(path) in message


@examples(8)
@given(data=st.data(), steps=st.sampled_from([2, 4, 6]))
def test_valid_simulate_runs_finite(data, steps):
    inputs, problem, _ = data.draw(input_specs(steps).filter(lambda c: c[1] == ""))
    every = data.draw(st.sampled_from([e for e in (1, 2, 3) if steps % e == 0]))
    paths = data.draw(
        st.lists(monitor_paths().filter(lambda p: p[1]), min_size=1, max_size=3, unique_by=lambda p: p[0])
    )
    net, state = small_net()
    final, rec = simulate_jit(net, state, inputs, steps=steps, monitors=[p for p, _ in paths], every=every)
    assert rec["ts"].shape == (steps // every,)
    for text, _ in paths:
        assert rec[text].shape[0] == steps // every
    assert_finite((final, rec))


@examples(40)
@given(
    arg=st.sampled_from(["dt", "chunk", "every", "monitors", "inputs", "batch_shape", "key"]),
    data=st.data(),
)
def test_runner_bad_argument_is_refused_at_construction(arg, data):
    net, _ = small_net()
    bad = data.draw(
        {
            "dt": bad_times,
            "chunk": bad_times,
            "every": st.one_of(st.integers(max_value=0), st.sampled_from([1.5, True, "2"])),
            "monitors": monitor_paths().filter(lambda p: not p[1]).map(lambda p: [p[0]]),
            "inputs": st.sampled_from(
                [
                    {"Z.input": 1.0},
                    {"A.input": math.nan},
                    {"A.input": "x"},
                    [("A.input", 1.0, "const")],
                    {"A.input": np.ones((2, 5))},
                    ["A.input"],
                    {"B.input": lambda t: jnp.ones(3)},
                ]
            ),
            "batch_shape": st.sampled_from([(-1,), (0,), 2, (2.5,), ("a",), None]),
            "key": st.sampled_from([3, "key", np.zeros(2, np.int32), jnp.zeros(3, jnp.uint32)]),
        }[arg],
        label=arg,
    )
    assert_rejects(lambda: sj.Runner(net, dt=DT, **{arg: bad}), arg if arg != "monitors" else "monitors")


@examples(4)
@given(
    every=st.sampled_from([1, 2]),
    chunk_steps=st.sampled_from([2, 3, 100]),
    batch=st.sampled_from([(), (2,)]),
    drive=st.floats(0.0, 40.0),
)
def test_valid_runner_runs_finite_and_matches_simulate(every, chunk_steps, batch, drive):
    net, _ = small_net()
    runner = sj.Runner(
        net,
        dt=DT,
        inputs={"A.input": drive},
        monitors=["B.v[0:3]", "A.spike"],
        every=every,
        chunk=chunk_steps * DT,
        batch_shape=batch,
    )
    mon = runner.run(6 * DT)
    assert mon["B.v[0:3]"].shape == (6 // every, *batch, 3)
    assert_finite(dict(mon.items()))
    # the chunked Runner equals one simulate of the whole run: the same float32 operations, compiled as
    # other programs (XLA may fuse them differently), so equal to a few ulp of |v| <= ~40 mV: atol 1e-5 mV
    state = net.init(jax.random.key(0), batch, dt=DT)
    _, rec = simulate_jit(net, state, [("A.input", drive, "fix")], steps=6, monitors=["B.v[0:3]"], every=every)
    np.testing.assert_allclose(mon["B.v[0:3]"], np.asarray(rec["B.v[0:3]"]), rtol=1e-6, atol=1e-5)


@functools.lru_cache(maxsize=1)
def small_runner():
    return sj.Runner(small_net()[0], dt=DT)


@examples(8)
@given(duration=bad_times)
def test_runner_run_bad_duration_is_refused(duration):
    runner = small_runner()
    assert_rejects(lambda: runner.run(duration), "duration")


# -- sweeps ---------------------------------------------------------------------------------------------------


def _point(a, b, *, key):
    """A sweep point whose value is known independently: a + 2 b + U(key)."""
    return {"y": a + 2.0 * b + jax.random.uniform(key), "v": jnp.stack([a, b])}


@examples(8)
@given(
    a=st.lists(st.floats(-3.0, 3.0, width=32), min_size=1, max_size=3),
    b=st.lists(st.integers(-3, 3), min_size=1, max_size=2),
    seeds=st.one_of(st.none(), st.integers(1, 2), st.lists(st.integers(0, 50), min_size=1, max_size=2, unique=True)),
    batch_size=st.one_of(st.none(), st.integers(1, 5)),
    seed=st.integers(0, 5),
)
def test_valid_sweep_equals_a_loop(a, b, seeds, batch_size, seed):
    res = sj.sweep(_point, {"a": np.float32(a), "b": np.int32(b)}, seeds=seeds, batch_size=batch_size, seed=seed)
    seed_values = [0] if seeds is None else (list(range(seeds)) if isinstance(seeds, int) else seeds)
    assert res.dims == ("a", "b") + (() if seeds is None else ("seed",))
    y = np.asarray(res.data["y"]).reshape(len(a), len(b), len(seed_values))
    for s_i, s in enumerate(seed_values):
        u = float(jax.random.uniform(jax.random.fold_in(jax.random.key(seed), s)))
        for i, ai in enumerate(a):
            for j, bj in enumerate(b):
                # the same float32 operations in the same order (2 b is exact), computed by numpy; rtol of
                # 2.4e-7 = 2 ulp leaves room for XLA contracting a + 2 b + u into another rounding order
                want = (np.float32(ai) + np.float32(2.0) * np.float32(bj)) + np.float32(u)
                np.testing.assert_allclose(y[i, j, s_i], want, rtol=2.4e-7, atol=1e-7)


@examples(50)
@given(
    arg=st.sampled_from(["grid", "seeds", "batch_size", "seed"]),
    data=st.data(),
)
def test_sweep_bad_argument_is_refused(arg, data):
    grid = {"a": [1.0], "b": [0]}
    bad = data.draw(
        {
            "grid": st.sampled_from(
                [
                    {},
                    [1.0],
                    {"a": [1.0]},
                    {"a": [1.0], "b": [0], "c": [1]},
                    {"a": [], "b": [0]},
                    {"a": 1.0, "b": [0]},
                    {"a": [[1.0]], "b": [0]},
                    {"a": ["x"], "b": [0]},
                    {"a": [math.nan], "b": [0]},
                    {"a": [1j], "b": [0]},
                    {"a": [1.0], "b": [0], "seed": [1]},
                    {"a": [1.0], "b": [0], "key": [1]},
                    {"a": [1.0], "b": [0], "1c": [1]},
                ]
            ),
            "seeds": st.one_of(st.integers(max_value=0), st.sampled_from([[], [1, 1], [-1], [2**31], 2.0, True, "3"])),
            "batch_size": st.one_of(st.integers(max_value=0), st.sampled_from([1.0, True, "4"])),
            "seed": st.one_of(st.integers(max_value=-1), st.sampled_from([1.5, 2**64, "0", None])),
        }[arg],
        label=arg,
    )
    kwargs = {"grid": grid, arg: bad}
    # (a grid whose names fn does not take is refused by the signature check: "fn must accept the grid names")
    assert_rejects(lambda: sj.sweep(_point, **kwargs), arg)


# -- checkpoints ----------------------------------------------------------------------------------------------


def ckpt_net(n, delay):
    return sj.Network(A=sj.neurons.LIF(n), P=sj.Projection("A", "A", sj.conn.All2All(), delay=delay, weight=0.5))


@examples(6)
@given(n=st.integers(1, 3), delay=st.sampled_from([0.0, 0.3]), batch=st.sampled_from([(), (2,)]))
def test_checkpoint_round_trip_and_template_mismatch(n, delay, batch):
    net = ckpt_net(n, delay)
    state = net.init(batch_shape=batch, dt=DT)
    with tempfile.TemporaryDirectory() as tmp:
        path = sj.save_state(os.path.join(tmp, "s.npz"), state, metadata={"n": n})
        template = jax.eval_shape(lambda: net.init(batch_shape=batch, dt=DT))
        loaded = sj.load_state(path, template)
        for x, y in zip(jax.tree.leaves(state), jax.tree.leaves(loaded)):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))  # stored exactly
        # templates of another size, batch shape or dt (delay buffer length) are refused, naming the leaf
        others = [
            jax.eval_shape(lambda: ckpt_net(n + 1, delay).init(batch_shape=batch, dt=DT)),
            jax.eval_shape(lambda: net.init(batch_shape=(*batch, 3), dt=DT)),
        ]
        if delay > 0:
            others.append(jax.eval_shape(lambda: net.init(batch_shape=batch, dt=DT / 2)))
        for other in others:
            message = assert_rejects(lambda o=other: sj.load_state(path, o), "like")
            assert "leaf" in message
        assert_rejects(lambda: sj.load_state(path, {"x": jax.ShapeDtypeStruct((2,), jnp.float32)}), "like")
        assert_rejects(lambda: sj.save_state(os.path.join(tmp, "m.npz"), state, metadata={"f": object()}), "metadata")
        message = assert_rejects(lambda: sj.save_state(os.path.join(tmp, "m.npz"), {"s": np.array(["a"])}), "leaf")
        assert "['s']" in message
        assert_rejects(lambda: sj.load_state(3, template), "path")
