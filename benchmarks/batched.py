"""Batched and vmapped COBA runs: ``python benchmarks/batched.py --n 4000 --batch 8``.

Two ways to run ``batch`` independent copies of the COBA network (``snnjax.examples.brette``):
``"batch_shape"`` (one state with a leading batch axis, ``net.init(batch_shape=(B,))``) and ``"vmap"``
(``jax.vmap`` over the drive and the key around an unbatched run: what ``sj.sweep`` does). Prints one
JSON line per mode: ``steady_s`` (fastest of ``--repeat`` compiled runs of ``--duration`` ms, all copies),
``s_per_copy`` (``steady_s / batch``; compare with ``coba.py``'s ``steady_s`` at the same duration) and the
mean rate.
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import jax.numpy as jnp

import snnjax as sj
from snnjax.examples.brette import COBA_INPUTS, build


def _spikes(state):
    return state.neurons["E"].spike.sum() + state.neurons["I"].spike.sum()


def make(mode: str, net: sj.Network, b: int, dur: float, dt: float):
    """A function running the ``b`` copies and returning their total spike count."""
    if mode == "batch_shape":
        state = net.init(key=jax.random.key(0), batch_shape=(b,), dt=dt)
        run = jax.jit(
            lambda state: sj.simulate(net, state, duration=dur, dt=dt, inputs=COBA_INPUTS, monitors=[("n", _spikes)])
        )
        return lambda: run(state)[1]["n"].sum()

    def one(drive, key):
        inputs = [("E.input", drive), ("I.input", drive)]
        return sj.simulate(net, net.init(key=key, dt=dt), duration=dur, dt=dt, inputs=inputs, monitors=[("n", _spikes)])

    run_v = jax.jit(jax.vmap(one))
    drives, keys = jnp.full((b,), 20.0), jax.random.split(jax.random.key(0), b)
    return lambda: run_v(drives, keys)[1]["n"].sum()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--duration", type=float, default=200.0, help="ms per run")
    ap.add_argument("--dt", type=float, default=0.1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--modes", nargs="+", default=["batch_shape", "vmap"], choices=["batch_shape", "vmap"])
    args = ap.parse_args()
    net = build(args.n, "coba")
    dur, dt, b = args.duration, args.dt, args.batch
    n_e = net.populations["E"].count

    def rate(count):
        return float(count) / (b * args.n) / (dur / 1000.0)

    for mode in args.modes:
        call = make(mode, net, b, dur, dt)
        t0 = time.perf_counter()
        count = jax.block_until_ready(call())
        first = time.perf_counter() - t0
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            jax.block_until_ready(call())
            times.append(time.perf_counter() - t0)
        print(
            json.dumps(
                {
                    "bench": "batched",
                    "mode": mode,
                    "n": args.n,
                    "n_e": n_e,
                    "batch": b,
                    "duration_ms": dur,
                    "first_s": round(first, 3),
                    "steady_s": round(min(times), 3),
                    "s_per_copy": round(min(times) / b, 4),
                    "rate_hz": round(rate(count), 2),
                    "jax": jax.__version__,
                    "backend": jax.default_backend(),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
