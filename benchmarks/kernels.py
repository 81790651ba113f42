"""Cost of one propagation step per kernel, against size, fan-out and activity:
``python benchmarks/kernels.py --n 1000 4000 16000 --fanout 80 --activity 0.001 0.01 0.1``.

One projection of ``n`` -> ``n`` neurons, each presynaptic neuron with ``fanout`` random targets (or a
connection probability ``--density``), driven by precomputed random spikes in which a fraction
``activity`` of the presynaptic neurons spikes in each step. For each kernel (``dense`` when the matrix
has at most 2**24 entries, ``sparse``, and ``event`` including the compaction of the spikes)
prints one JSON line with the steady time per step (us, fastest of ``--repeat`` runs of ``--steps``
steps in one compiled scan), then a ``"kernel": "summary"`` line with the fastest kernel, the one
``method="auto"`` picks for that activity (``snnjax.projection.choose_method``) and how much slower the
pick is (``auto_over_best``). These figures are where the constants of its cost model come from.
"""

from __future__ import annotations

import argparse
import functools
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

import snnjax as sj
from snnjax import ops
from snnjax.formats.rows import loops as rows


def time_kernel(fn, spikes, repeat):
    def run(sp):
        def step(acc, s):
            return acc + fn(s), None

        return jax.lax.scan(step, jnp.zeros(fn(sp[0]).shape, sp.dtype), sp)[0]

    f = jax.jit(run)
    jax.block_until_ready(f(spikes))
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(f(spikes))
        best = min(best, time.perf_counter() - t0)
    return best / spikes.shape[0] * 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[1000, 4000, 16000])
    ap.add_argument("--fanout", type=int, default=80, help="targets per presynaptic neuron (ignored with --density)")
    ap.add_argument("--density", type=float, default=None, help="connection probability instead of --fanout")
    ap.add_argument("--activity", type=float, nargs="+", default=[0.001, 0.01, 0.05, 0.2])
    ap.add_argument("--batch", type=int, default=0, help="independent copies per step (0: unbatched)")
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    for n in args.n:
        p = args.density if args.density is not None else min(1.0, args.fanout / n)
        topo = ops.Topology.from_lists(*sj.conn.FixedProb(p, seed=1).build(n, n), n, n)
        w = jnp.float32(0.5)
        dense_w = jnp.zeros((n, n), jnp.float32).at[topo.pre, topo.post].add(w) if n * n <= 2**24 else None
        for a in args.activity:
            batch = (args.batch,) if args.batch else ()
            spikes = jnp.asarray(rng.random((args.steps, *batch, n)) < a, jnp.float32)
            auto = sj.projection.choose_method(n, n, topo.n_syn, activity=a)
            bound = sj.projection.default_max_events(n, a)
            kernels = {
                "sparse": functools.partial(ops.sparse, topo=topo, w=w),
                "event": functools.partial(rows.event, topo=topo, w=w, max_events=bound),
            }
            if dense_w is not None:
                kernels["dense"] = functools.partial(ops.dense, w=dense_w)
            measured = {}
            for name, fn in kernels.items():
                us = measured[name] = time_kernel(fn, spikes, args.repeat)
                print(
                    json.dumps(
                        {
                            "bench": "kernels",
                            "n": n,
                            "batch": args.batch,
                            "synapses": topo.n_syn,
                            "density": round(p, 6),
                            "activity": a,
                            "kernel": name,
                            "auto": auto,
                            "max_events": bound,
                            "us_per_step": round(us, 2),
                            "ns_per_synapse_event": round(us * 1e3 / (a * topo.n_syn * max(args.batch, 1)), 2),
                            "jax": jax.__version__,
                            "backend": jax.default_backend(),
                        }
                    ),
                    flush=True,
                )
            best = min(measured, key=measured.get)
            summary = {"bench": "kernels", "n": n, "batch": args.batch, "synapses": topo.n_syn, "density": round(p, 6)}
            summary.update(activity=a, kernel="summary", auto=auto, best=best)
            summary["auto_over_best"] = round(measured[auto] / measured[best], 2)
            print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
