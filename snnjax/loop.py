"""The run loop: ``n`` steps of :meth:`snnjax.network.Network.step` as one ``lax.scan``, with inputs and records.

``Runner`` and ``simulate`` (:mod:`snnjax.runner`) run every chunk through :func:`_run_chunk`, whatever the
placement (:mod:`snnjax.placement`): on one device directly (compiled once per structure by
:func:`_compiled_chunk`), on a mesh inside ``shard_map`` (:mod:`snnjax.sharding`), where the placement's spike
exchange (``exchange=``) is the part of the step that differs. The module imports neither of them, so both can
import it.

Time on the device (the ``t`` given to callable inputs, ``simulate``'s ``ts``) is computed from the integer step
counter by :func:`_time`, never as ``float32(step) * dt`` (see :mod:`snnjax.runner`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from snnjax import monitors as monitors_mod


def _split_bits(x: float, bits: int) -> list[float]:
    """``x`` (a float64) as a sum of floats of at most ``bits`` significant bits each, largest first."""
    pieces = []
    while x != 0.0 and len(pieces) < 16:
        quantum = 2.0 ** (math.floor(math.log2(abs(x))) - bits + 1)
        piece = round(x / quantum) * quantum
        pieces.append(piece)
        x -= piece  # exact: piece is x rounded
    return pieces


def _time(step: jax.Array, dt: float) -> jax.Array:
    """``step * dt`` (ms) from the integer step: the float nearest to the exact product (float32, or
    float64 with ``jax_enable_x64``).

    ``float32(step) * dt`` rounds ``dt`` (an error growing with the step: 1 ulp off at step 9 for dt = 0.1)
    and, above 2**24 steps, the step itself. Here, with ``N`` the smallest power of ten (up to 1e6) making
    ``N dt`` a whole number ``W`` (10 and 1 for dt = 0.1), ``step = q N + r`` and ``step dt = q W + r dt``,
    written as a sum of products that are exact in float32 (12-bit pieces of ``q`` and ``W``; ``r`` times
    pieces of ``dt`` short enough for the product to fit in 24 bits), added with TwoSum compensation so
    that the result rounds once. Only multiplications and additions, which XLA rounds correctly (its
    division on CPU is not); the products are exact, so fused multiply-adds change nothing. For a ``dt``
    with no such ``N`` (e.g. 1/3), ``t = step * dt`` in floats.
    """
    dtype = jnp.result_type(float)
    n = next((n for n in (10**k for k in range(7)) if abs(n * dt - round(n * dt)) <= 1e-9 * n * dt), None)
    if n is None:
        return step.astype(dtype) * dt
    q, r = step // n, (step % n).astype(dtype)
    terms = [
        ((q >> shift) & 4095).astype(dtype) * (w * 2.0**shift)  # 12 bits x 12 bits: exact
        for shift in (24, 12, 0)
        for w in _split_bits(float(round(n * dt)), 12)
    ]
    bits_r = max(1, (n - 1).bit_length())
    terms += [r * piece for piece in _split_bits(float(dt), 24 - bits_r)]  # bits_r + (24 - bits_r) bits: exact
    total, comp = terms[0], jnp.zeros((), dtype)
    for term in terms[1:]:  # TwoSum: total + comp is the exact sum up to eps**2
        new = total + term
        back = new - total
        comp = comp + ((total - (new - back)) + (term - back))
        total = new
    return total + comp


@dataclasses.dataclass(frozen=True)
class _Static:
    """Everything that fixes the compiled program (hashable: it keys the cache of compiled chunks)."""

    n_steps: int
    dt: float
    every: int
    inputs: tuple  # (population, mode, callable-or-None)
    records: tuple  # (name, kind, payload)
    finite_fields: tuple  # ('E.v', ...) checked every step when check_finite, else ()
    field_ndim: tuple  # (name, n trailing neuron axes) for index subsets
    spikes: tuple = ()  # names of the records of a population's spike state (bool on the host)
    lags: tuple = ()  # (projection, lag in steps) decided on the host for scalar delays: static ints
    depths: tuple = ()  # (population, delay buffer depth), (projection, ring depth): traced lags are checked


def _spike_count_dtype(every: int) -> np.dtype:
    """Host dtype of a spike record: bool for ``every = 1``, else the smallest unsigned int holding ``every``."""
    return np.dtype(bool) if every == 1 else np.min_scalar_type(int(every))


def _run_chunk(net, state, acc, values, lag_arrays=None, *, spec: _Static, host: bool = False, exchange: Any = None):
    """``spec.n_steps`` steps as one scan: returns ``(state, reducer accumulators, records)``.

    ``values`` is aligned with ``spec.inputs``: an array ``(n_steps, ...)`` for 'iter' inputs, the
    constant for 'fix' inputs, None for 'func' inputs (the callable is in the spec).

    Records of a population's spike state (``spec.spikes``) hold, with ``every > 1``, the spikes of every step of
    the record's window of ``every`` steps, summed (the other records are the state after the window's first
    step): so rates from them are exact. ``host``: spike records as the Runner keeps them, bool (``every = 1``)
    or the number of steps with a nonzero spike (:func:`_spike_count_dtype`); otherwise in the state's dtype.
    ``exchange``: the placement's spike exchange, given to every :meth:`~snnjax.network.Network.step` (None: one
    device's, :class:`snnjax.network.LocalExchange`).
    """
    dt, every = spec.dt, spec.every
    n_rec = spec.n_steps // every
    prep = net.prepare(dt, lags={**dict(spec.lags), **(lag_arrays or {})}, depths=dict(spec.depths))
    xs = [
        jnp.asarray(v).reshape(n_rec, every, *jnp.shape(v)[1:])
        for (_, mode, _), v in zip(spec.inputs, values)
        if mode == "iter"
    ]
    ndim = dict(spec.field_ndim)
    reducers = [(name, r) for name, kind, r in spec.records if kind == "reducer"]

    def step(carry, x):
        s, acc = carry
        t = _time(s.step, dt)
        drive: dict[str, Any] = {}
        it = iter(x)
        for (pop, mode, fn), value in zip(spec.inputs, values):
            v = next(it) if mode == "iter" else fn(t) if mode == "func" else value
            drive[pop] = drive[pop] + v if pop in drive else v
        s = net.step(prep, s, drive, dt=dt, exchange=exchange)
        acc = {name: r.update(acc[name], s, dt) for name, r in reducers}
        checks = [jnp.all(jnp.isfinite(monitors_mod.read_field(s, p))) for p in spec.finite_fields]
        return (s, acc), jnp.stack(checks) if checks else jnp.zeros((0,), bool)

    def read(s, path, index):
        v = monitors_mod.read_field(s, path)
        if index is not None:
            v = v.reshape(*v.shape[: v.ndim - ndim[path]], -1)[..., np.asarray(index)]
        return v

    spikes = [(name, payload) for name, kind, payload in spec.records if kind == "path" and name in spec.spikes]

    def spike_now(s):
        """This step's spikes of the spike records, in the dtype they are summed in."""
        out = {}
        for name, (path, index) in spikes:
            v = read(s, path, index)
            out[name] = (v != 0).astype(jnp.int32) if host else v
        return out

    def record(s, acc):
        rec = {}
        for name, kind, payload in spec.records:
            if kind == "path":
                rec[name] = read(s, *payload)
            elif kind == "fn":
                rec[name] = payload(s)
            elif kind == "probe":
                rec[name] = payload(s, dt)
            elif payload.recorded:
                rec[name] = payload.result(acc[name], 1, dt)
        rec["ts"] = _time(s.step - 1, dt)
        return rec

    def block(carry, xb):
        """``every`` steps, recording the state after the first (spike records: summed over the ``every`` steps):
        the step is traced once (an inner scan whose first iteration takes the record under ``lax.cond``), not
        once for the first step and once for the rest."""
        if every == 1:
            carry, finite = step(carry, [a[0] for a in xb])
            rec, finite = record(*carry), finite[None]
            if host:
                rec.update({name: rec[name].astype(bool) for name, _ in spikes})
        else:
            shapes = jax.eval_shape(record, *carry)  # the record's shapes only: nothing runs twice

            def inner(c, ix):
                i, x = ix
                c, snap, count = c
                c, finite = step(c, x)
                snap = jax.lax.cond(i == 0, lambda: record(*c), lambda: snap)
                count = jax.tree.map(jnp.add, count, spike_now(c[0]))  # every step of the window: exact rates
                return (c, snap, count), finite

            snap0 = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), shapes)
            count0 = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), jax.eval_shape(spike_now, carry[0]))
            (carry, rec, count), finite = jax.lax.scan(
                inner, (carry, snap0, count0), (jnp.arange(every), xb), length=every
            )
            dtype = _spike_count_dtype(every) if host else None
            rec.update({name: c if dtype is None else c.astype(dtype) for name, c in count.items()})
        if spec.finite_fields:
            rec["_finite"] = finite
        return carry, rec

    (state, acc), rec = jax.lax.scan(block, (state, acc), xs, length=n_rec)
    return state, acc, rec


@functools.lru_cache(maxsize=128)
def _compiled_chunk(spec: _Static, jit: bool, host: bool = True):
    """One compiled program per spec, shared by every Runner (same network structure, same chunk length) and
    by ``simulate`` calls at top level (``host=False``: records in the state's dtypes)."""

    def run(net, state, acc, values, lag_arrays):
        # host: spike states as bool (or small int counts with every > 1), a quarter of the transfer of float32
        return _run_chunk(net, state, acc, values, lag_arrays, spec=spec, host=host)

    return jax.jit(run) if jit else run
