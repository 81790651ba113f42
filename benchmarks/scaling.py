"""Cost and memory against network size: COBA from 4k neurons up, one process per size.

    python benchmarks/scaling.py --n 4000 16000 64000 256000 1000000 --duration 1000 [--method auto|jit]

Runs ``benchmarks/coba.py`` for each N (80 synapses per neuron, so synapses = 80 N) and prints its
JSON line plus one summary line per N: ``us_per_step``, ``ns_per_synaptic_event`` (steady time divided
by the number of spikes times 80 synapses), ``ns_per_neuron_step`` and ``bytes_per_synapse`` (peak
resident memory above that of the smallest run, divided by the synapses added).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[4000, 16000, 64000, 256000])
    ap.add_argument("--duration", type=float, default=1000.0, help="ms")
    ap.add_argument("--method", default="auto")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    base = None
    for n in args.n:
        cmd = [sys.executable, str(HERE / "coba.py"), "--n", str(n), "--duration", str(args.duration)]
        cmd += ["--method", args.method, "--repeat", str(args.repeat)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(json.dumps({"n": n, "error": proc.stderr[-400:]}), flush=True)
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(json.dumps(r), flush=True)
        steps = args.duration / r["dt"]
        spikes = r["rate_hz"] * n * args.duration / 1000.0
        events = spikes * r["synapses"] / n  # each spike reaches its ~80 targets
        base = base or r
        extra_syn = r["synapses"] - base["synapses"]
        summary = {
            "n": n,
            "synapses": r["synapses"],
            "method": r["methods"],
            "steady_s": r["steady_s"],
            "us_per_step": round(r["steady_s"] / steps * 1e6, 1),
            "ns_per_synaptic_event": round(r["steady_s"] / events * 1e9, 2),
            "ns_per_neuron_step": round(r["steady_s"] / (steps * n) * 1e9, 2),
            "peak_rss_mb": r["peak_rss_mb"],
            "bytes_per_synapse": round((r["peak_rss_mb"] - base["peak_rss_mb"]) * 2**20 / extra_syn, 1)
            if extra_syn > 0
            else None,
        }
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
