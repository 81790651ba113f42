"""Gradient-based training: parameter splitting, BPTT with memory control, losses and a small optax loop.

Nothing here is a framework: a training step is ``jax.value_and_grad`` of your loss plus one optax
update (:func:`make_train_step`), and :func:`fit` is a plain Python loop over shuffled minibatches.
Batching is the state's batch shape (``net.init(batch_shape=(B,))`` with inputs ``(n_steps, B, n)``)
or ``jax.vmap``; both compose with everything here.

Typical use::

    params, rebuild = sj.training.trainable(net, where=lambda path, x: path.endswith(".weight"))

    def loss_fn(params, x, y):                      # x: (n_steps, B, 64) spikes, y: (B,) labels
        state = rebuild(params).init(batch_shape=(x.shape[1],), dt=1.0)
        _, rec = sj.simulate(rebuild(params), state, duration=x.shape[0] * 1.0, dt=1.0,
                             inputs=[("inp.input", x, "iter")], monitors=["out.spike"])
        return sj.training.count_cross_entropy(rec["out.spike"], y)

    step = sj.training.make_train_step(loss_fn, optax.adam(1e-3))
    params, opt_state, history = sj.training.fit(step, params, optax.adam(1e-3).init(params),
                                                 (x_train, y_train), epochs=10, batch_size=64, batch_axis=(1, 0))
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from snnjax import _checks
from snnjax import monitors as monitors_mod
from snnjax.delays import steps_of
from snnjax.population import hook


def _is_float_leaf(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, float):
        return True
    dtype = getattr(x, "dtype", None)
    return _checks.is_float_dtype(dtype)  # bfloat16 too


def _dotted(path: tuple) -> str:
    """Key path -> ``'hid.tau'`` / ``'syn.synapse.tau'`` (the names of monitor paths; flat indices dropped)."""
    parts = []
    for k in path:
        if isinstance(k, jax.tree_util.DictKey):
            parts.append(str(k.key))
        elif isinstance(k, jax.tree_util.GetAttrKey):
            parts.append(k.name)
        elif isinstance(k, jax.tree_util.SequenceKey):
            parts.append(str(k.idx))
    return ".".join(parts)


def trainable(tree: Any, where: Callable[[str, Any], bool] | None = None) -> tuple[Any, Callable[[Any], Any]]:
    """Split a model (e.g. a ``Network``) into its float leaves and a function that puts them back.

    Integer leaves (connectivity indices) cannot be differentiated, so ``jax.grad`` must take the float
    part only: ``params, rebuild = trainable(net)``; ``jax.grad(lambda p: loss(rebuild(p)))(params)``.

    By default the leaves whose gradient is zero by construction are left out: delays read in whole steps
    (``Projection(delay_interp="step")``, the default; ``"linear"`` delays are trainable), Poisson rates and
    spike times of input groups (sampled or compared, not differentiable). Select them explicitly with
    ``where`` if needed. Make the initial state outside the differentiated function (``net.init`` sizes the
    delay buffers from concrete delays), or give projections ``max_delay``.

    Args:
      tree: any pytree of parameters (a ``Network``, a neuron model, ...).
      where: optional ``where(path, leaf) -> bool`` selecting which float leaves are trainable; ``path``
        is the dotted name of the leaf, e.g. ``'hid.tau'``, ``'syn.weight'``, ``'syn.synapse.tau'``
        (component names as in the ``Network``; the same names as monitor paths). Default: every float
        leaf except those with a zero gradient by construction (see above).

    Returns:
      ``(params, rebuild)``: ``params`` has the tree's structure with ``None`` in place of every
      non-selected leaf; ``rebuild(params)`` returns the tree with the selected leaves replaced.
    """
    if where is not None and not callable(where):
        raise TypeError(f"trainable: where must be a callable where(path: str, leaf) -> bool, got {where!r}")

    frozen = _zero_gradient_paths(tree) if where is None else set()

    def pick(path, x):
        if not _is_float_leaf(x):
            return None
        name = _dotted(path)
        if where is None:
            return None if any(name == f or name.startswith(f + ".") for f in frozen) else x
        return x if bool(where(name, x)) else None

    params = jax.tree_util.tree_map_with_path(pick, tree)

    def rebuild(new_params: Any) -> Any:
        return jax.tree.map(lambda p, x: x if p is None else p, new_params, tree, is_leaf=lambda x: x is None)

    return params, rebuild


def _zero_gradient_paths(tree: Any) -> set[str]:
    """Dotted paths of a Network's leaves whose gradient is zero by construction."""
    out: set[str] = set()
    for name, proj in getattr(tree, "projections", {}).items():
        if getattr(proj, "delay_interp", "step") != "linear":
            out.add(f"{name}.delay")
    for name, pop in getattr(tree, "populations", {}).items():
        out.update(f"{name}.{f}" for f in hook(pop, "ZERO_GRADIENT"))
    return out


# -- memory: checkpointed simulation --------------------------------------------------------------


def simulate_remat(
    net,
    state,
    *,
    duration: float,
    dt: float,
    inputs: Sequence | dict = (),
    monitors: Sequence = (),
    every: int = 1,
    checkpoint_every: int | None = None,
):
    """:func:`snnjax.simulate` with gradient checkpointing (rematerialisation) every ``checkpoint_every`` steps.

    Reverse-mode differentiation of a scan keeps every step's intermediate values, so memory grows with
    the number of steps. Here the run is cut into segments of ``checkpoint_every`` steps, each wrapped in
    ``jax.checkpoint`` inside an outer ``lax.scan``: the backward pass keeps only the state at segment
    boundaries (``n_steps / checkpoint_every`` states) and recomputes one segment at a time (its
    ``checkpoint_every`` steps of intermediates), at the cost of one more forward pass. Memory is then
    ``O(n_steps / k + k)`` states instead of ``O(n_steps)``; ``k ~ sqrt(n_steps)`` minimises it.
    Values and gradients are those of ``simulate`` (up to float rounding).

    Args:
      net, state, duration, dt, inputs, every: as in :func:`snnjax.simulate`.
      monitors: as in :func:`snnjax.simulate`, except reducers (``SpikeCount``, ``Mean``), which would
        restart in every segment; compute counts from a recorded ``'<pop>.spike'`` instead.
      checkpoint_every: segment length in steps (int >= 1, a divisor of the number of steps and a
        multiple of ``every``); ``None`` runs plain ``simulate``.

    Returns:
      ``(final_state, record)`` exactly as :func:`snnjax.simulate` (time on axis 0).
    """
    from snnjax.runner import _batch_shape, _normalize_inputs, simulate

    if checkpoint_every is None:
        return simulate(net, state, duration=duration, dt=dt, inputs=inputs, monitors=monitors, every=every)
    n_steps = steps_of(float(duration), float(dt))  # as simulate: the one rule of snnjax.delays
    k = checkpoint_every
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1 or n_steps % k or k % every:
        raise ValueError(
            f"simulate_remat: checkpoint_every must be an int >= 1 dividing the number of steps ({n_steps}) and a "
            f"multiple of every ({every}), got {checkpoint_every!r}"
        )
    mons = [monitors] if isinstance(monitors, (str, monitors_mod.Probe, monitors_mod.Reducer)) else list(monitors)
    if any(isinstance(m, monitors_mod.Reducer) for m in mons):
        raise TypeError(
            "simulate_remat: reducer monitors (SpikeCount, Mean) are not supported with checkpoint_every (they would "
            "restart in every segment); record '<pop>.spike' and sum it over axis 0"
        )
    spec = _normalize_inputs(net, inputs, n_steps, _batch_shape(net, state))
    n_seg = n_steps // k
    xs = [jnp.reshape(jnp.asarray(v), (n_seg, k, *jnp.shape(v)[1:])) for _, mode, v in spec if mode == "iter"]

    def segment(s, x):
        it = iter(x)
        seg_inputs = [(f"{pop}.input", next(it) if mode == "iter" else v, mode) for pop, mode, v in spec]
        return simulate(net, s, duration=k * float(dt), dt=dt, inputs=seg_inputs, monitors=mons, every=every)

    state, rec = jax.lax.scan(jax.checkpoint(segment), state, xs, length=n_seg)
    return state, jax.tree.map(lambda r: r.reshape(-1, *r.shape[2:]), rec)


# -- losses -------------------------------------------------------------------------------------


def _labels(labels: jax.Array, n_classes: int) -> jax.Array:
    labels = jnp.asarray(labels)
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise TypeError(f"labels must be integer class indices in [0, {n_classes}), got dtype {labels.dtype}")
    return labels


def spike_counts(spikes: jax.Array) -> jax.Array:
    """Spikes per neuron: ``spikes`` ``(n_steps, *batch, n)`` (0/1, time on axis 0) summed over time,
    shape ``(*batch, n)``."""
    return jnp.sum(spikes, axis=0)


def count_cross_entropy(spikes: jax.Array, labels: jax.Array, *, scale: float = 1.0) -> jax.Array:
    """Softmax cross-entropy of the spike counts of the output neurons (one per class), batch mean.

    ``logits = scale * counts``; ``scale = 1 / n_steps`` turns counts into rates per step (rate
    cross-entropy), a larger ``scale`` sharpens the softmax.

    Args:
      spikes: output spike trains ``(n_steps, *batch, n_classes)``, time on axis 0 (e.g. ``rec['out.spike']``).
      labels: integer classes ``(*batch,)``.
      scale: logits per spike, > 0.

    Returns:
      Scalar loss (nats).
    """
    logits = scale * spike_counts(spikes)
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, _labels(labels, logits.shape[-1])))


def membrane_cross_entropy(
    v: jax.Array, labels: jax.Array, *, reduce: str = "max", scale: float = 1.0, v_rest: float = 0.0
) -> jax.Array:
    """Softmax cross-entropy of a membrane-potential readout (non-spiking or spiking output neurons).

    ``logits = scale * (R(v) - v_rest)`` with ``R`` the maximum over time (``'max'``), the mean over
    time (``'mean'``) or the last value (``'last'``).

    Args:
      v: output membrane potentials ``(n_steps, *batch, n_classes)``, mV, time on axis 0.
      labels: integer classes ``(*batch,)``.
      reduce: ``'max'``, ``'mean'`` or ``'last'``.
      scale: logits per mV, > 0.
      v_rest: potential subtracted before scaling, mV (does not change the loss of the softmax; kept
        so logits stay small for large resting potentials).

    Returns:
      Scalar loss (nats).
    """
    logits = scale * (_reduce_time(v, reduce, "membrane_cross_entropy") - v_rest)
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, _labels(labels, logits.shape[-1])))


def _reduce_time(v, reduce, owner):
    if reduce == "max":
        return jnp.max(v, axis=0)
    if reduce == "mean":
        return jnp.mean(v, axis=0)
    if reduce == "last":
        return v[-1]
    raise ValueError(f"{owner}: reduce must be one of ('max', 'mean', 'last'), got {reduce!r}")


def membrane_mse(v: jax.Array, target: jax.Array) -> jax.Array:
    """Mean squared error between membrane potentials and a target, mV^2.

    Args:
      v: potentials, mV, any shape (e.g. ``(n_steps, *batch, n)``).
      target: target potentials, mV, broadcastable to ``v``.
    """
    return jnp.mean((v - target) ** 2)


def first_spike_times(spikes: jax.Array, dt: float, *, no_spike: float | None = None) -> jax.Array:
    """Time of each neuron's first spike, ms, differentiable through the spikes' surrogate gradients.

    ``t = sum_i i dt s_i prod_{j<i} (1 - s_j) + no_spike prod_j (1 - s_j)``: for 0/1 spikes this is
    exactly the time stamp (``index * dt``, the record's time convention of :func:`snnjax.simulate`) of
    the first spike, or ``no_spike`` if there is none; its gradient moves earlier spikes' surrogates.

    Args:
      spikes: spike trains ``(n_steps, *batch, n)`` (0/1), time on axis 0.
      dt: time between records, ms (``dt * every`` when recording every ``every`` steps).
      no_spike: time given to silent neurons, ms; default ``n_steps * dt`` (just after the window).

    Returns:
      ``(*batch, n)`` first-spike times, ms.
    """
    n = spikes.shape[0]
    no_spike = n * dt if no_spike is None else no_spike
    silent_before = jnp.cumprod(1.0 - spikes, axis=0)  # prod_{j<=i}
    silent_before = jnp.concatenate([jnp.ones_like(spikes[:1]), silent_before[:-1]], axis=0)  # prod_{j<i}
    first = spikes * silent_before
    t = (jnp.arange(n, dtype=spikes.dtype) * dt).reshape((n,) + (1,) * (spikes.ndim - 1))
    return jnp.sum(first * t, axis=0) + no_spike * (1.0 - jnp.sum(first, axis=0))


def first_spike_cross_entropy(spikes: jax.Array, labels: jax.Array, dt: float, *, tau: float = 1.0) -> jax.Array:
    """Time-to-first-spike classification loss: softmax cross-entropy of ``-t_first / tau`` (earliest wins).

    Args:
      spikes: output spike trains ``(n_steps, *batch, n_classes)``, time on axis 0.
      labels: integer classes ``(*batch,)``.
      dt: time between records, ms.
      tau: temperature, ms, > 0 (a time difference of ``tau`` is one nat of logit).

    Returns:
      Scalar loss (nats), batch mean.
    """
    logits = -first_spike_times(spikes, dt) / tau
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, _labels(labels, logits.shape[-1])))


def first_spike_mse(spikes: jax.Array, target_times: jax.Array, dt: float, *, no_spike: float | None = None):
    """Mean squared error of first-spike times against targets, ms^2.

    Args:
      spikes: spike trains ``(n_steps, *batch, n)``, time on axis 0.
      target_times: target first-spike times, ms, broadcastable to ``(*batch, n)``.
      dt, no_spike: as in :func:`first_spike_times`.
    """
    return jnp.mean((first_spike_times(spikes, dt, no_spike=no_spike) - target_times) ** 2)


# -- the loop -----------------------------------------------------------------------------------


def make_train_step(
    loss_fn: Callable[..., Any], optimizer: optax.GradientTransformation, *, has_aux: bool = False, jit: bool = True
) -> Callable[..., tuple]:
    """One optimisation step: ``value_and_grad(loss_fn)`` then an optax update.

    Args:
      loss_fn: ``loss_fn(params, *batch) -> loss`` (a scalar), or ``-> (loss, aux)`` with ``has_aux``.
        For long runs call :func:`simulate_remat` inside it to bound memory.
      optimizer: an optax ``GradientTransformation`` (e.g. ``optax.adam(1e-3)``); ``None`` leaves of
        ``params`` (from :func:`trainable`) are left alone.
      has_aux: ``loss_fn`` returns ``(loss, aux)``; the step then returns ``aux`` too.
      jit: compile the step (recompiles when the batch shapes change).

    Returns:
      ``step(params, opt_state, *batch) -> (params, opt_state, loss)`` (``(..., loss, aux)`` with
      ``has_aux``); ``opt_state`` comes from ``optimizer.init(params)``.
    """
    if not callable(loss_fn):
        raise TypeError(f"make_train_step: loss_fn must be callable, got {loss_fn!r}")
    if not isinstance(optimizer, optax.GradientTransformation):
        raise TypeError(
            f"make_train_step: optimizer must be an optax.GradientTransformation (e.g. optax.adam(1e-3)), "
            f"got {type(optimizer).__name__}"
        )

    def step(params, opt_state, *batch):
        out, grads = jax.value_and_grad(loss_fn, has_aux=has_aux)(params, *batch)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return (params, opt_state, *out) if has_aux else (params, opt_state, out)

    return jax.jit(step) if jit else step


def fit(
    step: Callable[..., tuple],
    params: Any,
    opt_state: Any,
    data: Sequence[Any],
    *,
    epochs: int,
    batch_size: int,
    batch_axis: int | Sequence[int] = 0,
    seed: int = 0,
    callback: Callable[[int, Any, dict], None] | None = None,
) -> tuple[Any, Any, dict]:
    """Train for ``epochs`` passes over ``data`` in shuffled minibatches (the last partial batch is dropped,
    so every batch has the same shape and the step compiles once).

    Args:
      step: from :func:`make_train_step` (without ``has_aux``).
      params, opt_state: initial parameters and ``optimizer.init(params)``.
      data: tuple of arrays sharing the sample axis, e.g. ``(x, y)``; batches are passed to ``step`` in order.
      epochs: number of passes, >= 1.
      batch_size: samples per step, 1 .. number of samples.
      batch_axis: the sample axis of each array (one int for all, or one per array; e.g. ``(1, 0)`` for
        encoded spikes ``(n_steps, N, n)`` and labels ``(N,)``).
      seed: seed of the shuffling (NumPy generator; the order is reproducible).
      callback: ``callback(epoch, params, history)`` after each epoch (e.g. evaluate, print).

    Returns:
      ``(params, opt_state, history)`` with ``history['loss']`` the mean batch loss of each epoch and
      ``history['batch_loss']`` every batch's loss.
    """
    data = tuple(np.asarray(a) for a in data)  # on the host once; batches are gathered there
    axes = (batch_axis,) * len(data) if isinstance(batch_axis, numbers.Integral) else tuple(batch_axis)
    if len(axes) != len(data):
        raise ValueError(f"fit: batch_axis needs one axis per data array ({len(data)}), got {batch_axis!r}")
    sizes = {np.shape(a)[ax] for a, ax in zip(data, axes)}
    if len(sizes) != 1:
        raise ValueError(f"fit: data arrays disagree on the number of samples along batch_axis: {sorted(sizes)}")
    n = sizes.pop()
    for name, value, low in (("epochs", epochs, 1), ("batch_size", batch_size, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"fit: {name} must be an int >= {low}, got {value!r}")
    if batch_size > n:
        raise ValueError(f"fit: batch_size={batch_size} exceeds the number of samples ({n})")
    rng = np.random.default_rng(seed)
    history: dict[str, list] = {"loss": [], "batch_loss": []}
    for epoch in range(epochs):
        order = rng.permutation(n)
        losses = []
        for b in range(n // batch_size):
            idx = order[b * batch_size : (b + 1) * batch_size]
            batch = [np.take(a, idx, axis=ax) for a, ax in zip(data, axes)]
            params, opt_state, loss = step(params, opt_state, *batch)
            losses.append(loss)
        losses = [float(x) for x in jax.device_get(losses)]  # one host transfer per epoch
        history["batch_loss"] += losses
        history["loss"].append(float(np.mean(losses)))
        if callback is not None:
            callback(epoch, params, history)
    return params, opt_state, history
