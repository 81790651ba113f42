"""Main example: a COBA network of 4,000 LIF neurons (Brette et al. 2007, benchmark 1) for 1 s.

``python -m snnjax.examples.coba [--n 4000] [--duration 1000] [--png coba_raster.png]`` prints one
summary line (neurons, simulated time, spikes, mean rate, wall time) and, when matplotlib is installed
(``pip install snnjax[plot]``), saves a raster plot of 400 excitatory and 100 inhibitory neurons and
the population rate to a PNG.
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

import snnjax as sj
from snnjax.examples.brette import COBA_INPUTS, build


def main(argv: list[str] | None = None) -> dict:
    """Run the example; returns the summary as a dict."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4000, help="number of neurons (80%% excitatory)")
    ap.add_argument("--duration", type=float, default=1000.0, help="simulated time, ms")
    ap.add_argument("--dt", type=float, default=0.1, help="time step, ms")
    ap.add_argument("--png", default="coba_raster.png", help="where to save the raster ('' to skip)")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    net = build(args.n, "coba")
    runner = sj.Runner(net, dt=args.dt, inputs=COBA_INPUTS, monitors=["E.spike", "I.spike"], key=jax.random.key(0))
    mon = runner.run(args.duration)
    wall = time.perf_counter() - t0
    spikes = np.concatenate([mon["E.spike"], mon["I.spike"]], axis=1) > 0
    n_spikes = int(spikes.sum())
    rate = n_spikes / args.n / (args.duration / 1000.0)
    summary = dict(
        neurons=args.n, simulated_ms=args.duration, spikes=n_spikes, mean_rate_hz=round(rate, 2), wall_s=round(wall, 2)
    )
    print(
        f"COBA network: {args.n} neurons, {args.duration:g} ms simulated, {n_spikes} spikes, "
        f"mean rate {rate:.1f} Hz, wall time {wall:.2f} s (build + compile + run, {jax.default_backend()})"
    )
    if args.png:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed (pip install snnjax[plot]): no raster saved")
            return summary
        fig, (ax, ax_rate) = plt.subplots(2, 1, figsize=(9, 5), sharex=True, height_ratios=[3, 1])
        sj.plot.raster(mon, ["E", "I"], ax=ax, neurons={"E": 400, "I": 100}, colors=["tab:blue", "tab:red"])
        ax.set(xlabel="", ylabel="neuron (400 E, 100 I)")
        ax.set_title(f"COBA, {args.n} neurons: {rate:.1f} Hz mean rate")
        sj.plot.population_rate(mon, ["E", "I"], ax=ax_rate, window="flat", width=1.0, colors=["tab:blue", "tab:red"])
        fig.tight_layout()
        fig.savefig(args.png, dpi=120)
        print(f"raster saved to {args.png}")
    return summary


if __name__ == "__main__":
    main()
