"""Where does a microcircuit step spend its time? ``python benchmarks/profile_microcircuit.py --scale 0.1
--drive poisson --trace 15``.

Prints one JSON line with the steady-state time per step (us) of the whole model (``full``), of the same neurons
without the projections (``neurons_and_drive``: the neuron update and the Poisson drive, if any) and of the neurons
alone (``neurons_only``), and, with ``--trace K``, one line with the K kernels that took the most time in a profiled
run (``benchmarks/profile_step.py`` explains how to read them).
"""

from __future__ import annotations

import argparse
import json
import time

import jax

import snnjax as sj
from snnjax.examples import microcircuit as mc


def steady(net, duration, dt, key, presim=0.0):
    state = net.init(key=key, dt=dt)
    if presim:  # past the start's transient
        state = jax.block_until_ready(sj.simulate(net, state, duration=presim, dt=dt)[0])
    state = jax.block_until_ready(sj.simulate(net, state, duration=duration, dt=dt)[0])  # compiles
    t0 = time.perf_counter()
    jax.block_until_ready(sj.simulate(net, state, duration=duration, dt=dt)[0])
    return time.perf_counter() - t0, state


def trace(net, state, duration, dt, top):
    import collections
    import glob
    import gzip
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        jax.profiler.start_trace(tmp, create_perfetto_trace=True)
        jax.block_until_ready(sj.simulate(net, state, duration=duration, dt=dt)[0])
        jax.profiler.stop_trace()
        path = sorted(glob.glob(f"{tmp}/**/*.trace.json.gz", recursive=True))[-1]
        events = json.load(gzip.open(path))
    events = events["traceEvents"] if isinstance(events, dict) else events
    total, calls = collections.Counter(), collections.Counter()
    for e in events:
        name = e.get("name", "")
        if e.get("ph") == "X" and not name.startswith(("$", "ThunkExecutor", "Pjit", "Execute")) and "::" not in name:
            total[name] += e.get("dur", 0)
            calls[name] += 1
    return [dict(kernel=k, ms=round(v / 1e3, 2), calls=calls[k], us_per_call=round(v / calls[k], 2))
            for k, v in total.most_common(top)]  # fmt: skip


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--drive", choices=("dc", "poisson"), default="poisson")
    ap.add_argument("--duration", type=float, default=200.0, help="ms per measured run")
    ap.add_argument("--presim", type=float, default=0.0, help="ms simulated first (the start's transient)")
    ap.add_argument("--method", default="auto")
    ap.add_argument("--trace", type=int, default=0)
    args = ap.parse_args()
    dt, key = mc.DT, jax.random.key(0)
    net = mc.build(args.scale, args.drive, 0, dt, args.method)
    steps = int(round(args.duration / dt))
    full, state = steady(net, args.duration, dt, key, args.presim)
    drive = sj.Network(L=net.populations["L"], **net.drives)
    with_drive, _ = steady(drive, args.duration, dt, key)
    alone, _ = steady(sj.Network(L=net.populations["L"]), args.duration, dt, key)
    line = dict(scale=args.scale, drive=args.drive, methods=sorted({p.method for p in net.projections.values()}),
                us_per_step_full=round(full / steps * 1e6, 1),
                us_per_step_neurons_and_drive=round(with_drive / steps * 1e6, 1),
                us_per_step_neurons_only=round(alone / steps * 1e6, 1), backend=jax.default_backend())  # fmt: skip
    print(json.dumps(line), flush=True)
    if args.trace:
        print(json.dumps({"top_kernels": trace(net, state, args.duration, dt, args.trace)}))


if __name__ == "__main__":
    main()
