"""Train the digits classifier in snnjax, export it to NIR, import it back, and compare test accuracies.

``python -m snnjax.examples.nir_roundtrip [--epochs 3] [--hidden 64] [--steps 20]`` prints one JSON line with
``accuracy_snnjax`` and ``accuracy_nir`` (0-1, on the held-out split of :mod:`snnjax.examples.train_digits`),
the NIR node types and the wall time. Needs scikit-learn and the ``nir`` extra (``pip install "snnjax[nir]"``).

The trained network (SpikeArray -> LIF with Exponential current synapses -> LIF readout) is written with
:func:`snnjax.nir.save_nir` as Input -> Linear -> CubaLIF -> Linear -> CubaLIF, read with :func:`snnjax.nir.load_nir`
and evaluated by the same code: the spikes and membrane potentials are identical, so are the accuracies.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np

from snnjax import nir as snn_nir
from snnjax.examples import train_digits


def accuracy(net, spikes, labels) -> float:
    """Fraction of ``labels`` (N,) predicted by the largest ``out.v`` over the run of ``spikes`` (T, N, 64)."""
    v = train_digits.run(net, spikes)["out.v"]
    return float(np.mean(np.asarray(jnp.argmax(jnp.max(v, axis=0), axis=-1)) == labels))


def main(argv: list[str] | None = None) -> dict:
    """Command line entry point; prints and returns the JSON summary."""
    t0 = time.perf_counter()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3, help="training epochs")
    ap.add_argument("--hidden", type=int, default=64, help="hidden LIF neurons")
    ap.add_argument("--steps", type=int, default=20, help="simulation steps of dt = 1 ms per digit")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    net, _ = train_digits.train(args.epochs, args.hidden, args.steps, seed=args.seed)
    _, x_test, _, y_test = train_digits.load_data(seed=args.seed)
    s_test = train_digits.encode(x_test, args.steps)
    acc = accuracy(net, s_test, y_test)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "digits.nir")
        graph = snn_nir.save_nir(path, net, dt=train_digits.DT)
        back = snn_nir.load_nir(path, dt=train_digits.DT)
    acc_nir = accuracy(back.network, s_test, y_test)
    summary = dict(
        accuracy_snnjax=round(acc, 4),
        accuracy_nir=round(acc_nir, 4),
        nodes=sorted({type(n).__name__ for n in graph.nodes.values()}),
        epochs=args.epochs,
        hidden=args.hidden,
        seconds=round(time.perf_counter() - t0, 2),
        backend=jax.default_backend(),
    )
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
