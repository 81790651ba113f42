"""Where does a COBA step spend its time? ``python benchmarks/profile_step.py --n 4000 16000 64000``.

For each N prints one JSON line with the steady-state time per step (us) of
  * ``full``: the whole COBA network (Brette et al. 2007 benchmark 1, event-driven propagation);
  * ``neurons_only``: the same two LIF populations with the same drive and no projections -- the fixed
    per-step cost of the loop, neuron updates and buffer writes;
  * ``propagation``: the difference, i.e. the cost of the four projections (compaction, row loops,
    synapse kinetics, COBA currents);
and the number of kernels (XLA fusions, scatters, gathers, custom calls, loops) in the compiled module.

``--plasticity stdp`` puts the STDP rule on E->E (``brette.stdp_rule``). ``--trace K`` also records a
``jax.profiler`` trace of one run and prints a JSON line with the K kernels that took the most time (the XLA
CPU runtime's per-kernel events: name, total ms, calls, us per call). The profiler's own overhead inflates
every kernel alike, so compare kernels with each other, not with ``us_per_step_full``. Kernels split over
threads show ``outer_dimension_partitions`` in the compiled HLO (``--hlo FILE`` writes it).
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import re
import tempfile
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


def trace(net, duration, dt, top, hlo=None):
    """The ``top`` kernels by total time in a profiler trace of one compiled run (one JSON-able dict)."""
    f = jax.jit(lambda net, s: sj.simulate(net, s, duration=duration, dt=dt, inputs=COBA_INPUTS)[0])
    state = jax.block_until_ready(f(net, net.init(key=jax.random.key(0), dt=dt)))
    if hlo:
        with open(hlo, "w") as fh:
            fh.write(f.lower(net, state).compile().as_text())
    with tempfile.TemporaryDirectory() as tmp:
        jax.profiler.start_trace(tmp, create_perfetto_trace=True)
        jax.block_until_ready(f(net, state))
        jax.profiler.stop_trace()
        path = sorted(glob.glob(f"{tmp}/**/*.trace.json.gz", recursive=True))[-1]
        events = json.load(gzip.open(path))
    events = events["traceEvents"] if isinstance(events, dict) else events
    total, calls = collections.Counter(), collections.Counter()
    for e in events:  # per-kernel events of the XLA CPU runtime; skip Python frames and the executor's spans
        name = e.get("name", "")
        if e.get("ph") == "X" and not name.startswith(("$", "ThunkExecutor", "Pjit", "Execute")) and "::" not in name:
            total[name] += e.get("dur", 0)
            calls[name] += 1
    rows = [(k, round(v / 1e3, 2), calls[k], round(v / calls[k], 2)) for k, v in total.most_common(top)]
    return [dict(zip(("kernel", "ms", "calls", "us_per_call"), r)) for r in rows]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[4000, 16000, 64000])
    ap.add_argument("--duration", type=float, default=500.0, help="ms per measured run")
    ap.add_argument("--dt", type=float, default=0.1)
    ap.add_argument("--plasticity", default="none", choices=("none", "stdp"), help="STDP on E->E")
    ap.add_argument("--trace", type=int, default=0, help="print the K most expensive kernels of a profiled run")
    ap.add_argument("--hlo", default=None, help="write the compiled HLO of the full network here")
    args = ap.parse_args()
    steps = int(round(args.duration / args.dt))
    for n in args.n:
        net = build(n, "coba", plasticity=args.plasticity)
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
                    "plasticity": args.plasticity,
                    "jax": jax.__version__,
                    "backend": jax.default_backend(),
                }
            )
        )
        if args.trace:
            top = trace(net, args.duration, args.dt, args.trace, args.hlo)
            print(json.dumps({"n": n, "plasticity": args.plasticity, "top_kernels": top}))


if __name__ == "__main__":
    main()
