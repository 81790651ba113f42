"""STDP inside a network: the COBA E/I network with pair STDP on its E->E projection, run with Runner.

``python -m snnjax.examples.stdp_network [--n 2000] [--duration 2000] [--png stdp_network.png]`` prints one JSON
line (neurons, synapses, spikes, mean rate, mean/std of the E->E weights before and after, wall time) and, with
matplotlib (``pip install snnjax[plot]``), saves the E->E weight matrix, its histogram before and after, and a
raster, drawn with ``sj.plot``.

The rule is :class:`snnjax.plasticity.STDP` on the ``EE`` projection of :func:`snnjax.examples.brette.build`
(Brian2's canonical STDP synapse, hard bounds ``[0, 2 w]``), with amplitudes ten times those of the benchmark
(``benchmarks/coba.py --plasticity stdp``) so that a few seconds move the weights visibly. The weights live in
the network state: ``runner.state.synapses["EE"].w``.
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import numpy as np

import snnjax as sj
from snnjax.examples.brette import COBA_INPUTS, build


def main(argv: list[str] | None = None) -> dict:
    """Run the example; returns the summary as a dict."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="number of neurons (80%% excitatory)")
    ap.add_argument("--duration", type=float, default=2000.0, help="simulated time, ms")
    ap.add_argument("--dt", type=float, default=0.1, help="time step, ms")
    ap.add_argument("--png", default="stdp_network.png", help="where to save the figure ('' to skip)")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    net = build(args.n, "coba", plasticity="stdp")
    w_exc = float(net.projections["EE"].weight)
    rule = sj.plasticity.STDP(a_plus=0.1 * w_exc, a_minus=0.105 * w_exc, tau_plus=20.0, tau_minus=20.0,
                              w_min=0.0, w_max=2.0 * w_exc)  # fmt: skip
    net.projections["EE"] = net.projections["EE"].replace(plasticity=rule)
    runner = sj.Runner(net, dt=args.dt, inputs=COBA_INPUTS, monitors=["E.spike", "I.spike"], key=jax.random.key(0))
    w_before = np.asarray(runner.state.synapses["EE"].w)
    mon = runner.run(args.duration)
    w_after = np.asarray(runner.state.synapses["EE"].w)
    wall = time.perf_counter() - t0
    n_spikes = int(mon["E.spike"].sum() + mon["I.spike"].sum())
    rate = n_spikes / args.n / (args.duration / 1000.0)
    summary = dict(
        example="stdp_network",
        neurons=args.n,
        ee_synapses=int(w_after.size),
        simulated_ms=args.duration,
        spikes=n_spikes,
        mean_rate_hz=round(rate, 2),
        w_before_mean=round(float(w_before.mean()), 4),
        w_after_mean=round(float(w_after.mean()), 4),
        w_after_std=round(float(w_after.std()), 4),
        method=net.projections["EE"].method,
        wall_s=round(wall, 2),
    )
    print(json.dumps(summary))
    if args.png:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed (pip install snnjax[plot]): no figure saved")
            return summary
        fig = plt.figure(figsize=(11, 7), layout="constrained")
        top, bottom = fig.subfigures(2, 1)
        # after: the E->E matrix (blank where unconnected) and histogram; before: grey outline on the histogram
        bins = np.linspace(0.0, 2.0 * w_exc, 41)
        sj.plot.weights(runner.state.synapses["EE"], net.projections["EE"], bins=bins, fig=top)
        ax_w = top.axes[1]  # [0] the matrix, [1] the histogram
        _, _, outline = ax_w.hist(w_before.ravel(), bins=bins, histtype="step", lw=1.5, color="0.4")
        ax_w.set_xlabel("E->E weight (conductance, relative to leak)")
        ax_w.set_yscale("log")
        ax_w.legend([ax_w.containers[0], outline[0]], [f"after {args.duration:g} ms", "before"])
        ax_w.set_title("STDP on E->E: weight distribution")
        ax_r = bottom.subplots()
        sj.plot.raster(mon, ["E", "I"], ax=ax_r, neurons={"E": 400, "I": 100}, colors=["tab:blue", "tab:red"])
        ax_r.set_title(f"raster (400 E, 100 I), {rate:.1f} Hz mean rate")
        fig.savefig(args.png, dpi=120)
        print(f"figure saved to {args.png}")
    return summary


if __name__ == "__main__":
    main()
