"""Learnable synaptic delays: LIF readouts learn to fire at target times by moving only their delays.

``python -m snnjax.examples.learn_delays [--steps 300] [--lr 0.3] [--seed 0]`` prints one JSON line with
``initial_error_ms`` and ``final_error_ms`` (mean absolute first-spike timing error over the readouts).

Network: 5 inputs fire once each at fixed times (1, 3, 5, 7, 9 ms) into a
:class:`~snnjax.connections.LinearDense` connection (5 -> 4, fixed weights) with one learnable delay per
synapse in ``[0, 15]`` ms, read through a :class:`~snnjax.synapses.inferno.SingleExponentialCurrent`
(``Q = 10 pC``, ``tau = 5 ms``, ``current_interp_mode="linear"``, see :mod:`snnjax.delay_learning`), driving
4 LIF readouts (``tau = 10 ms``, ``R = 1 MOhm``, threshold 1 mV). Targets: the first-spike times the same
network produces with other ("teacher") delays, so they are reachable. The only trainable parameters are
the 20 delays (ms), trained with optax Adam on the mean squared first-spike time error and clipped to
``[0, 15]`` ms after each step.

Gradient: no surrogate spike function. The loss is smooth in the first-spike times, which are the first
threshold crossings of the readouts' membranes interpolated between steps
(:func:`snnjax.delay_learning.crossing_times`); a LIF's first spike is the first crossing of its membrane
before any reset, so the readouts are simulated without reset (threshold out of reach) and the threshold
is applied by the crossing. A readout that never fires gets the loss ``(threshold - max v)^2``, which pulls
its inputs together until it fires.
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
from snnjax.connections import LinearDense
from snnjax.delay_learning import clip_delays, crossing_times
from snnjax.synapses.inferno import SingleExponentialCurrent

DT = 0.1  # ms
DURATION = 40.0  # ms
MAX_DELAY = 15.0  # ms
THRESHOLD = 1.0  # mV
INPUT_TIMES = (1.0, 3.0, 5.0, 7.0, 9.0)  # ms
N_OUT = 4


def build(seed: int = 0) -> dict:
    """The network, input spikes and targets.

    Returns:
      dict with ``conn`` (student ``LinearDense``, delays ``(4, 5)`` ms), ``readout`` (free-membrane LIF),
      ``inputs`` (``T x 1 x 5`` spikes), ``targets`` (``(1, 4)`` ms, teacher first-spike times) and
      ``teacher_delay`` (``(4, 5)`` ms).
    """
    rng = np.random.default_rng(seed)
    n_in, steps = len(INPUT_TIMES), int(round(DURATION / DT))
    spikes = np.zeros((steps, 1, n_in), np.float32)
    spikes[np.round(np.asarray(INPUT_TIMES) / DT).astype(int), 0, np.arange(n_in)] = 1.0
    synapse = SingleExponentialCurrent.partialconstructor(spike_charge=10.0, time_constant=5.0,
                                                          current_interp_mode="linear")  # fmt: skip
    weight = rng.uniform(0.5, 1.5, (N_OUT, n_in)).astype(np.float32)
    teacher_delay = rng.uniform(0.0, MAX_DELAY, (N_OUT, n_in)).astype(np.float32)
    student_delay = rng.uniform(0.0, MAX_DELAY, (N_OUT, n_in)).astype(np.float32)
    conn = LinearDense.create(n_in, N_OUT, DT, synapse=synapse, weight=jnp.asarray(weight), delay=MAX_DELAY,
                              delay_init=jnp.asarray(student_delay))  # fmt: skip
    # threshold out of reach: the membrane before the first spike, the crossing applies THRESHOLD
    readout = sj.neurons.LIF(N_OUT, v_rest=0.0, v_reset=0.0, v_th=1e30, tau=10.0, r=1.0)
    inputs = jnp.asarray(spikes)
    targets, _ = first_spike_times(conn.replace(delay=jnp.asarray(teacher_delay)), readout, inputs)
    return dict(conn=conn, readout=readout, inputs=inputs, targets=targets, teacher_delay=jnp.asarray(teacher_delay))


def membrane(conn: LinearDense, readout, inputs: jax.Array) -> jax.Array:
    """Readout membrane potentials, mV, ``T x 1 x 4``; sample ``k`` is at ``(k + 1) DT`` ms."""

    def step(carry, x):
        syn, neu = carry
        syn, current = conn.update(syn, x)
        neu = readout.update(neu, current, dt=DT)
        return (syn, neu), neu.v

    _, v = jax.lax.scan(step, (conn.init(), readout.init((1,))), inputs)
    return v


def first_spike_times(conn: LinearDense, readout, inputs: jax.Array) -> tuple[jax.Array, jax.Array]:
    """First-spike times of the readouts, ms, ``(1, 4)``, and whether each fired."""
    return crossing_times(membrane(conn, readout, inputs), THRESHOLD, dt=DT, t0=DT)


def loss_fn(delay: jax.Array, conn: LinearDense, readout, inputs: jax.Array, targets: jax.Array) -> jax.Array:
    """Mean squared first-spike time error, ms^2 (``(threshold - max v)^2``, mV^2, for a silent readout)."""
    v = membrane(conn.replace(delay=delay), readout, inputs)
    t, fired = crossing_times(v, THRESHOLD, dt=DT, t0=DT)
    silent = (THRESHOLD - v.max(axis=0)) ** 2
    return jnp.mean(jnp.where(fired, (t - targets) ** 2, silent))


def train(steps: int = 300, lr: float = 0.3, seed: int = 0) -> dict:
    """Train the delays with Adam; returns the errors (ms) before, after and along training."""
    net = build(seed)
    conn, readout, inputs, targets = net["conn"], net["readout"], net["inputs"], net["targets"]
    opt = optax.adam(lr)

    @jax.jit
    def update(conn, opt_state):
        loss, grad = jax.value_and_grad(loss_fn)(conn.delay, conn, readout, inputs, targets)
        upd, opt_state = opt.update(grad, opt_state, conn.delay)
        conn = clip_delays(conn.replace(delay=optax.apply_updates(conn.delay, upd)))
        return conn, opt_state, loss

    @jax.jit
    def error(conn):
        t, _ = first_spike_times(conn, readout, inputs)  # a silent readout counts at the end of the run
        return jnp.mean(jnp.abs(t - targets))

    opt_state = opt.init(conn.delay)
    errors = [float(error(conn))]
    for _ in range(steps):
        conn, opt_state, _ = update(conn, opt_state)
        errors.append(float(error(conn)))
    return dict(initial_error_ms=errors[0], final_error_ms=errors[-1], errors_ms=errors, conn=conn, targets=targets)


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
        gradient="interpolated first-spike time (no surrogate)",
        seconds=round(time.perf_counter() - t0, 2),
    )
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
