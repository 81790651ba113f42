"""Brian2 peer for the Brette et al. (2007) COBA benchmark, C++ standalone mode.

The same network as ``snnjax/examples/brette.py``: 80% E / 20% I LIF neurons (v_rest -60 mV, threshold
-50 mV, reset -60 mV, tau 20 ms, refractory 5 ms), p = 80 / N (Bernoulli), conductances relative to the
leak (0.6, tau 5 ms, E = 0 mV; 6.7, tau 10 ms, E = -80 mV), a drive of 20 mV, dt = 0.1 ms, one step of
synaptic delay (as snnjax's delay 0 -> lag 1), initial v ~ N(-55, 2) mV, exponential Euler.

It must run in its own virtual environment, outside the repository, with a C++ compiler on the PATH:

    python3 -m venv /work/peers/brian2-venv
    /work/peers/brian2-venv/bin/pip install 'brian2==2.9.0' 'numpy<2.3'

Usage:

    /work/peers/brian2-venv/bin/python benchmarks/peers/brian2_coba.py --n 4000 --duration 1000

Prints one JSON line: ``first_s`` (code generation + C++ build + first run, from a fresh build
directory), ``steady_s`` (the fastest of ``--repeat`` re-runs of the compiled binary, as reported by
Brian2's own timer of the simulation loop), ``rate_hz``, ``n``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time

import brian2 as b2
from brian2 import ms


def main() -> None:
    ap = argparse.ArgumentParser(description="Brette et al. 2007 COBA in Brian2 C++ standalone")
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--duration", type=float, default=1000.0, help="ms")
    ap.add_argument("--dt", type=float, default=0.1, help="ms")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="OpenMP threads (0: single-threaded)")
    args = ap.parse_args()

    build_dir = tempfile.mkdtemp(prefix="brian2_coba_")
    t0 = time.perf_counter()
    b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
    if args.threads:
        b2.prefs.devices.cpp_standalone.openmp_threads = args.threads
    b2.defaultclock.dt = args.dt * ms
    n_e = int(args.n * 0.8)
    p = min(1.0, 80.0 / args.n)
    eqs = """
    dv/dt = (ge * (0*mV - v) + gi * (-80*mV - v) + (-60*mV - v) + 20*mV) / (20*ms) : volt (unless refractory)
    dge/dt = -ge / (5*ms) : 1
    dgi/dt = -gi / (10*ms) : 1
    """
    group = b2.NeuronGroup(
        args.n, eqs, threshold="v > -50*mV", reset="v = -60*mV", refractory=5 * ms, method="exponential_euler"
    )
    group.v = "-55*mV + 2*mV * randn()"
    exc = b2.Synapses(group[:n_e], group, on_pre="ge += 0.6", delay=args.dt * ms)
    exc.connect(p=p)
    inh = b2.Synapses(group[n_e:], group, on_pre="gi += 6.7", delay=args.dt * ms)
    inh.connect(p=p)
    spikes = b2.SpikeMonitor(group, record=False)  # counts only
    b2.run(args.duration * ms)
    b2.device.build(directory=build_dir, compile=True, run=True)
    first_s = time.perf_counter() - t0
    count = int(spikes.num_spikes)

    times = []
    for _ in range(max(1, args.repeat)):
        b2.device.run(directory=build_dir, with_output=False, run_args=[])
        times.append(float(b2.device._last_run_time))  # Brian2's timer of the main loop, s
    shutil.rmtree(build_dir, ignore_errors=True)
    print(
        json.dumps(
            {
                "bench": "coba",
                "lib": "brian2-cpp-standalone",
                "version": b2.__version__,
                "n": args.n,
                "duration_ms": args.duration,
                "dt": args.dt,
                "threads": args.threads or 1,
                "first_s": round(first_s, 3),
                "steady_s": round(min(times), 3),
                "rate_hz": round(count / args.n / (args.duration / 1000.0), 2),
                "cpu": platform.processor() or platform.machine(),
                "pid": os.getpid(),
            }
        )
    )


if __name__ == "__main__":
    main()
