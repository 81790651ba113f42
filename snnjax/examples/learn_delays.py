"""Learnable synaptic delays: LIF readouts learn to fire at target times by moving only their delays.

``python -m snnjax.examples.learn_delays [--steps 300] [--lr 0.3] [--seed 0]`` prints one JSON line with
``initial_error_ms`` and ``final_error_ms`` (mean absolute first-spike timing error over the readouts).

Network (:class:`snnjax.Network`, run with :func:`snnjax.simulate`): a
:class:`~snnjax.inputs.SpikeTimeGroup` of 5 inputs firing once each at 1, 3, 5, 7 and 9 ms; a
:class:`~snnjax.Projection` ``syn`` connecting every input to each of 4 readouts (20 synapses, fixed weights
1 - 3 nA, CUBA) with one delay per synapse in ``[0, 15]`` ms (``delay`` ``(20,)``, ``max_delay=15``,
``delay_interp="linear"``) and an :class:`~snnjax.synapses.Exponential` synapse (``tau = 5 ms``); 4 LIF
readouts (``tau = 10 ms``, ``R = 1 MOhm``, threshold 1 mV). Targets: the first-spike times the same network
produces with other ("teacher") delays, so they are reachable. The only trainable parameters are the 20
delays (ms), trained with optax Adam on the mean squared first-spike time error and clipped to ``[0, 15]`` ms
(``jnp.clip``) after each step.

Gradient: no surrogate spike function. With ``delay_interp="linear"`` a spike is read ``delay / dt`` steps late,
split between the two nearest whole lags, so the membranes are piecewise linear, and continuous, in each
delay. The loss is smooth in the first-spike times, which are the first threshold crossings of the readouts'
membranes interpolated between steps (:func:`snnjax.delay_learning.crossing_times`); a LIF's first spike is
the first crossing of its membrane before any reset, so the readouts are simulated without reset (threshold
out of reach) and the threshold is applied by the crossing. A readout that never fires gets the loss
``(threshold - max v)^2``, which pulls its inputs together until it fires.
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import snnjax as sj
from snnjax.delay_learning import crossing_times

DT = 0.1  # ms
DURATION = 40.0  # ms
MAX_DELAY = 15.0  # ms
THRESHOLD = 1.0  # mV
INPUT_TIMES = (1.0, 3.0, 5.0, 7.0, 9.0)  # ms
N_IN = len(INPUT_TIMES)
N_OUT = 4
# synapse k = o * N_IN + i connects input i to readout o: a (N_OUT, N_IN) matrix flattened in C order
PRE_IDX = np.tile(np.arange(N_IN), N_OUT)
POST_IDX = np.repeat(np.arange(N_OUT), N_IN)


def network(delay: jax.Array, weight: jax.Array, v_th: float = 1e30) -> sj.Network:
    """The network with the given delays (ms) and weights (nA), both ``(20,)`` in synapse order.

    ``v_th`` is the readouts' threshold: out of reach by default (free membranes, see the module docstring).
    ``delay`` may be traced (inside ``jit``/``grad``): ``max_delay`` sizes the delay buffer.
    """
    return sj.Network(
        inp=sj.inputs.SpikeTimeGroup(N_IN, indices=np.arange(N_IN, dtype=np.int32), times=np.asarray(INPUT_TIMES)),
        out=sj.neurons.LIF(N_OUT, v_rest=0.0, v_reset=0.0, v_th=v_th, tau=10.0, r=1.0),
        syn=sj.Projection(
            "inp",
            "out",
            conn=(PRE_IDX, POST_IDX),
            weight=weight,
            delay=delay,
            max_delay=MAX_DELAY,
            delay_interp="linear",
            synapse=sj.synapses.Exponential(tau=5.0),
        ),
    )


def build(seed: int = 0) -> dict:
    """The initial (student) network, its weights, the teacher delays and the targets.

    Returns:
      dict with ``net`` (the student :class:`~snnjax.Network`), ``delay`` (student delays, ms, ``(20,)``),
      ``weight`` (nA, ``(20,)``), ``teacher_delay`` (ms, ``(20,)``) and ``targets`` (``(4,)`` ms, the
      teacher's first-spike times).
    """
    rng = np.random.default_rng(seed)
    weight = jnp.asarray(rng.uniform(1.0, 3.0, N_OUT * N_IN), jnp.float32)
    teacher_delay = jnp.asarray(rng.uniform(0.0, MAX_DELAY, N_OUT * N_IN), jnp.float32)
    delay = jnp.asarray(rng.uniform(0.0, MAX_DELAY, N_OUT * N_IN), jnp.float32)
    targets, _ = first_spike_times(teacher_delay, weight)
    return dict(net=network(delay, weight), delay=delay, weight=weight, teacher_delay=teacher_delay, targets=targets)


def membrane(delay: jax.Array, weight: jax.Array) -> jax.Array:
    """Readout membrane potentials, mV, ``(T, 4)``; record ``k`` is the state after step ``k`` (``t = k DT``)."""
    net = network(delay, weight)
    _, rec = sj.simulate(net, net.init(dt=DT), duration=DURATION, dt=DT, monitors=["out.v"])
    return rec["out.v"]


def first_spike_times(delay: jax.Array, weight: jax.Array) -> tuple[jax.Array, jax.Array]:
    """First-spike times of the readouts, ms, ``(4,)``, and whether each fired (a silent one: ``DURATION``)."""
    return crossing_times(membrane(delay, weight), THRESHOLD, dt=DT, t0=0.0)


def loss_fn(delay: jax.Array, weight: jax.Array, targets: jax.Array) -> jax.Array:
    """Mean squared first-spike time error, ms^2 (``(threshold - max v)^2``, mV^2, for a silent readout)."""
    v = membrane(delay, weight)
    t, fired = crossing_times(v, THRESHOLD, dt=DT, t0=0.0)
    silent = (THRESHOLD - v.max(axis=0)) ** 2
    return jnp.mean(jnp.where(fired, (t - targets) ** 2, silent))


def train(steps: int = 300, lr: float = 0.3, seed: int = 0) -> dict:
    """Train the delays with Adam; returns the errors (ms) before, after and along training, the learned
    delays (``delay``, ms ``(20,)``), the trained network (``net``) and the targets."""
    setup = build(seed)
    delay, weight, targets = setup["delay"], setup["weight"], setup["targets"]
    opt = optax.adam(lr)

    @jax.jit
    def update(delay, opt_state):
        loss, grad = jax.value_and_grad(loss_fn)(delay, weight, targets)
        upd, opt_state = opt.update(grad, opt_state, delay)
        delay = jnp.clip(optax.apply_updates(delay, upd), 0.0, MAX_DELAY)  # back into the delay buffer
        return delay, opt_state, loss

    @jax.jit
    def error(delay):
        t, _ = first_spike_times(delay, weight)  # a silent readout counts at the end of the run
        return jnp.mean(jnp.abs(t - targets))

    opt_state = opt.init(delay)
    errors = [float(error(delay))]
    for _ in range(steps):
        delay, opt_state, _ = update(delay, opt_state)
        errors.append(float(error(delay)))
    return dict(initial_error_ms=errors[0], final_error_ms=errors[-1], errors_ms=errors, delay=delay,
                net=network(delay, weight), targets=targets)  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    """Run the example and print one JSON line; returns it as a dict."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300, help="Adam steps")
    ap.add_argument("--lr", type=float, default=0.3, help="Adam learning rate, ms per step")
    ap.add_argument("--seed", type=int, default=0, help="seed of weights, teacher and initial delays")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    out = train(args.steps, args.lr, args.seed)
    summary = dict(
        initial_error_ms=round(out["initial_error_ms"], 6),
        final_error_ms=round(out["final_error_ms"], 6),
        ratio=round(out["final_error_ms"] / out["initial_error_ms"], 6),
        steps=args.steps,
        gradient="interpolated first-spike time through linearly interpolated delays (no surrogate)",
        seconds=round(time.perf_counter() - t0, 2),
    )
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
