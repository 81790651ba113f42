"""Train a spiking classifier on scikit-learn's 8x8 digits with surrogate gradients and optax.

``python -m snnjax.examples.train_digits [--epochs 40] [--quick]`` prints one JSON line with
``test_accuracy`` (0-1, on a stratified 25% held-out split) and ``seconds`` (wall time of the whole
script: data, build, compilation, training, evaluation), plus the settings. Needs scikit-learn
(``pip install snnjax[examples]``); the data set ships with it (no download).

The network is an ordinary snnjax ``Network`` run by ``sj.simulate`` (BPTT through its ``lax.scan``):

* ``inp``: a :class:`snnjax.inputs.SpikeArray` of 64 sources whose spikes are the encoded input, the
  ``(n_steps, B, 64)`` array given at ``"inp.input"``; pixels are latency-coded
  (:func:`snnjax.encoders.latency`): brighter pixels spike earlier, blank pixels never.
* ``hid``: ``n_hidden`` LIF neurons (``tau = 10 ms``, threshold 1 mV, reset to 0) fed through exponential
  current synapses (``tau = 5 ms``), with a fast-sigmoid surrogate gradient.
* ``out``: 10 non-spiking leaky integrators (LIF with an unreachable threshold); the class is the
  output with the largest membrane potential over the run (:func:`snnjax.training.membrane_cross_entropy`).

Only the two weight matrices are trained (``trainable(net, where=...)``), with Adam.
"""

from __future__ import annotations

import time

_START = time.perf_counter()  # fallback origin of "seconds" where the process start time is unknown

import argparse  # noqa: E402
import json  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import snnjax as sj  # noqa: E402
from snnjax import encoders, training  # noqa: E402
from snnjax.surrogate import FastSigmoid  # noqa: E402

DT = 1.0  # ms


def load_data(test_fraction: float = 0.25, seed: int = 0):
    """Digits as intensities in [0, 1]: ``(x_train (N, 64), y_train (N,), x_test, y_test)``, stratified split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    return train_test_split(
        x, digits.target.astype(np.int32), test_size=test_fraction, random_state=seed, stratify=digits.target
    )


def encode(x: np.ndarray, n_steps: int) -> jax.Array:
    """Latency code of intensities ``(N, 64)`` -> spikes ``(n_steps, N, 64)`` (one spike per lit pixel)."""
    return encoders.latency(x, n_steps, method="linear", threshold=0.0)


def build(n_hidden: int = 128, seed: int = 0) -> sj.Network:
    """The 64 -> ``n_hidden`` -> 10 network with random (scaled normal) initial weights."""
    k1, k2 = jax.random.split(jax.random.key(seed))
    w_ih = jax.random.normal(k1, (64, n_hidden)) * (4.0 / np.sqrt(64))
    w_ho = jax.random.normal(k2, (n_hidden, 10)) * (2.0 / np.sqrt(n_hidden))
    lif = dict(v_rest=0.0, v_reset=0.0, tau_ref=0.0)
    return sj.Network(
        inp=sj.inputs.SpikeArray(64),
        hid=sj.neurons.LIF(n_hidden, v_th=1.0, tau=10.0, spike_fn=FastSigmoid(alpha=5.0), **lif),
        out=sj.neurons.LIF(10, v_th=1e6, tau=10.0, **lif),
        ih=sj.Projection(
            "inp", "hid", conn=sj.conn.All2All(), weight=w_ih, synapse=sj.synapses.Exponential(tau=5.0), method="dense"
        ),
        ho=sj.Projection(
            "hid", "out", conn=sj.conn.All2All(), weight=w_ho, synapse=sj.synapses.Exponential(tau=5.0), method="dense"
        ),
    )


def run(net: sj.Network, spikes: jax.Array, monitors=("out.v",)) -> dict:
    """Simulate a batch of encoded digits ``(n_steps, B, 64)``; returns the record (time on axis 0)."""
    n_steps, batch = spikes.shape[0], spikes.shape[1]
    state = net.init(batch_shape=(batch,), dt=DT)
    _, rec = sj.simulate(
        net, state, duration=n_steps * DT, dt=DT, inputs=[("inp.input", spikes, "iter")], monitors=list(monitors)
    )
    return rec


def train(
    epochs: int = 40,
    n_hidden: int = 128,
    n_steps: int = 20,
    batch_size: int = 64,
    learning_rate: float = 1e-2,
    seed: int = 0,
    track_accuracy: bool = False,
    callback=None,
):
    """Train and evaluate. Returns ``(net, history)``; ``history`` has ``loss`` (per epoch),
    ``batch_loss``, ``train_accuracy`` and ``test_accuracy`` (after the last epoch), and with
    ``track_accuracy`` also ``test_accuracy_per_epoch``. ``callback(epoch, params, history)`` runs
    after every epoch."""
    x_train, x_test, y_train, y_test = load_data(seed=seed)
    s_train, s_test = encode(x_train, n_steps), encode(x_test, n_steps)
    net = build(n_hidden, seed)
    params, rebuild = training.trainable(net, where=lambda path, x: path.endswith(".weight"))

    def loss_fn(p, spikes, labels):
        v = run(rebuild(p), spikes)["out.v"]
        return training.membrane_cross_entropy(v, labels, reduce="max", scale=2.0)

    # params (not the network) go through jit: the network's delays must stay concrete to size its buffers
    predict = jax.jit(lambda p, s: jnp.argmax(jnp.max(run(rebuild(p), s)["out.v"], axis=0), axis=-1))

    def after_epoch(epoch, p, history):
        if track_accuracy:
            acc = float(np.mean(np.asarray(predict(p, s_test)) == y_test))
            history.setdefault("test_accuracy_per_epoch", []).append(acc)
        if callback is not None:
            callback(epoch, p, history)

    optimizer = optax.adam(optax.cosine_decay_schedule(learning_rate, epochs * (len(y_train) // batch_size)))
    step = training.make_train_step(loss_fn, optimizer)
    params, _, history = training.fit(
        step,
        params,
        optimizer.init(params),
        (s_train, y_train),
        epochs=epochs,
        batch_size=batch_size,
        batch_axis=(1, 0),
        seed=seed,
        callback=after_epoch,
    )
    history["train_accuracy"] = float(np.mean(np.asarray(predict(params, s_train)) == y_train))
    history["test_accuracy"] = float(np.mean(np.asarray(predict(params, s_test)) == y_test))
    return rebuild(params), history


def _process_age() -> float | None:
    """Seconds since this process started (Linux ``/proc``; None elsewhere): interpreter start and imports included."""
    try:
        import os

        with open("/proc/self/stat") as f:
            start_ticks = float(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def main(argv: list[str] | None = None, t0: float | None = None) -> dict:
    """Command line entry point; prints and returns the JSON summary (``seconds`` counted from ``t0``,
    default: now)."""
    t0 = time.perf_counter() if t0 is None else t0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=40, help="passes over the training set")
    ap.add_argument("--hidden", type=int, default=128, help="hidden LIF neurons")
    ap.add_argument("--steps", type=int, default=20, help="simulation steps of dt = 1 ms per digit")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate (cosine-decayed)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="a short run for CI (5 epochs)")
    args = ap.parse_args(argv)
    epochs = 5 if args.quick else args.epochs
    _, history = train(epochs, args.hidden, args.steps, args.batch_size, args.lr, args.seed)
    summary = dict(
        test_accuracy=round(history["test_accuracy"], 4),
        seconds=round(time.perf_counter() - t0, 2),
        train_accuracy=round(history["train_accuracy"], 4),
        epochs=epochs,
        hidden=args.hidden,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        backend=jax.default_backend(),
    )
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    age = _process_age()
    main(t0=time.perf_counter() - age if age is not None else _START)
