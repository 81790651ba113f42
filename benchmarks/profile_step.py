"""Where does a COBA step spend its time? ``python benchmarks/profile_step.py --n 4000 16000 64000``.

For each N prints one JSON line with the steady-state time per step (us) of
  * ``full``: the whole COBA network (Brette et al. 2007 benchmark 1, event-driven propagation);
  * ``neurons_only``: the same two LIF populations with the same drive and no projections -- the fixed
    per-step cost of the loop, neuron updates and buffer writes;
  * ``propagation``: the difference, i.e. the cost of the four projections (compaction, row loops,
    synapse kinetics, COBA currents);
and the number of kernels (XLA fusions, scatters, gathers, custom calls, loops) in the compiled module.
"""

from __future__ import annotations

import argparse
import json
import re
import time

import jax

import snnjax as sj
from snnjax.examples.brette import COBA_INPUTS, build

KERNEL = re.compile(
    r"=\s*\S+\s+(fusion|scatter|gather|custom-call|dot|sort|while|conditional|dynamic-update-slice|copy)\("
)


def steady(net, duration, dt):
    f = jax.jit(lambda net, s: sj.simulate(net, s, duration=duration, dt=dt, inputs=COBA_INPUTS)[0])
    state = net.init(key=jax.random.key(0), dt=dt)
    state = jax.block_until_ready(f(net, state))
    t0 = time.perf_counter()
    jax.block_until_ready(f(net, state))
    elapsed = time.perf_counter() - t0
    text = f.lower(net, state).compile().as_text()
    return elapsed, len(KERNEL.findall(text))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[4000, 16000, 64000])
    ap.add_argument("--duration", type=float, default=500.0, help="ms per measured run")
    ap.add_argument("--dt", type=float, default=0.1)
    args = ap.parse_args()
    steps = int(round(args.duration / args.dt))
    for n in args.n:
        net = build(n, "coba")
        pops = sj.Network(E=net.populations["E"], I=net.populations["I"])
        full, kernels = steady(net, args.duration, args.dt)
        base, base_kernels = steady(pops, args.duration, args.dt)
        print(
            json.dumps(
                {
                    "n": n,
                    "us_per_step_full": round(full / steps * 1e6, 2),
                    "us_per_step_neurons_only": round(base / steps * 1e6, 2),
                    "us_per_step_propagation": round((full - base) / steps * 1e6, 2),
                    "kernels_full": kernels,
                    "kernels_neurons_only": base_kernels,
                    "jax": jax.__version__,
                    "backend": jax.default_backend(),
                }
            )
        )


if __name__ == "__main__":
    main()
