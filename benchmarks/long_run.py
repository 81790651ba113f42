"""Long runs: COBA (Brette et al. 2007 benchmark 1) with spike monitoring, through ``sj.Runner`` in chunks.

``python benchmarks/long_run.py --duration 100000`` prints one JSON line:

- ``duration_ms``: simulated (biological) time, ms;
- ``wall_s``: wall time of that run, s, after a warm-up run that compiled the chunk program (its time is
  ``compile_s``), so ``wall_s`` scales with ``duration_ms``;
- ``peak_rss_mb``: peak resident memory of the process (``ru_maxrss``), MiB;
- ``spikes``, ``rate_hz``, ``monitor_mb`` (the compact spike monitors' size on the host), ``chunk_ms``, ``n``.

The Runner moves each chunk's records to the host and keeps spikes as (index, time) pairs, so device
memory is bounded by one chunk and host memory grows only with the number of spikes (8 bytes each).
Run it once per duration (peak memory is per process): e.g. ``--duration 10000`` then ``--duration 100000``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time

import jax

import snnjax as sj
from snnjax.examples.brette import COBA_INPUTS, build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=4000, help="neurons (default 4000)")
    parser.add_argument("--duration", type=float, default=10_000.0, help="simulated time, ms (default 10000)")
    parser.add_argument("--dt", type=float, default=0.1, help="time step, ms (default 0.1)")
    parser.add_argument("--chunk", type=float, default=1000.0, help="Runner chunk, ms (default 1000)")
    parser.add_argument("--progress", action="store_true", help="show the tqdm progress bar (on stderr)")
    args = parser.parse_args()

    net = build(args.n, "coba")
    monitors = ["E.spike", "I.spike"]
    kw = dict(dt=args.dt, inputs=COBA_INPUTS, monitors=monitors, chunk=args.chunk)

    t0 = time.perf_counter()
    sj.Runner(net, **kw).run(args.chunk)  # compiles the chunk program (cached for the next Runner)
    compile_s = time.perf_counter() - t0

    runner = sj.Runner(net, progress=args.progress, **kw)
    t0 = time.perf_counter()
    mon = runner.run(args.duration)
    jax.block_until_ready(runner.state)
    wall_s = time.perf_counter() - t0

    events = [mon.spikes(name) for name in monitors]
    spikes = sum(len(e) for e in events)
    monitor_bytes = sum(e.rec_index.nbytes + sum(a.nbytes for a in e.index) for e in events)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(
        json.dumps(
            {
                "benchmark": "long_run_coba",
                "n": args.n,
                "duration_ms": args.duration,
                "dt_ms": args.dt,
                "chunk_ms": args.chunk,
                "wall_s": round(wall_s, 3),
                "compile_s": round(compile_s, 3),
                "peak_rss_mb": round(peak, 1),
                "spikes": spikes,
                "rate_hz": round(spikes / args.n / (args.duration / 1000.0), 2),
                "monitor_mb": round(monitor_bytes / 2**20, 2),
                "backend": jax.default_backend(),
                "machine": platform.machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
