"""The Potjans & Diesmann (2014) cortical microcircuit: 77,169 neurons, 3.0e8 synapses at full scale.

``python -m snnjax.examples.microcircuit [--scale 1] [--drive dc|poisson] [--presim 500] [--duration 1000]
[--seed 0] [--devices 1] [--png microcircuit]`` builds the model, simulates ``presim`` ms (discarded) and then
``duration`` ms, and prints one JSON line: ``rates_hz`` and ``cv_isi`` per population (the measured window),
``n_neurons``, ``n_synapses``, ``build_s``, ``compile_s``, ``sim_s`` (wall seconds of the measured run alone,
compiled, recording the spikes: chunks of 100 ms moved to the host and compacted), ``wall_per_sim_s``,
``peak_rss_mb``, ``bytes_per_synapse``. With matplotlib it saves
``<png>_raster.png`` (populations coloured, layers top to bottom) and ``<png>_rates.png`` (rates beside NEST's).

The model is the reference implementation's (INM-6/microcircuit-PD14-model, NEST 3; docs/microcircuit.md):
NEST's ``iaf_psc_exp`` neurons (:class:`snnjax.neurons.IafPscExp`, integrated exactly), eight populations
L23E ... L6I kept in *one* population of the network (so that one projection per synapse type carries the whole
circuit: one event loop per step, whatever the 64 pathways), ``fixed_total_number`` connectivity per pathway
(:class:`snnjax.conn.FixedTotalNumber` in :class:`snnjax.conn.Blocks`, autapses and multapses allowed), normal
weights and delays redrawn as NEST redraws them (:class:`snnjax.conn.Normal`), per-synapse delays delivered at
emission into a ring of future input (:func:`snnjax.formats.rows.loops.ring_deliver`), and either a Poisson drive
per neuron (:class:`snnjax.inputs.PoissonInput`, one Poisson count per neuron and step) or the DC current that replaces
it.

``--scale S`` scales the neuron numbers and the in-degrees by ``S`` (``N_scaling = K_scaling = S``) with the
reference's compensation: weights divided by ``sqrt(S)`` and a DC current restoring each neuron's mean input. At
``S = 0.1`` the DC drive leaves 7 of 8 populations below the rheobase and the network silent (the reference warns
of it): use ``--drive poisson`` there.

Timing as NEST's: NEST adds a step's arriving weights after the membrane update, snnjax before it, so every delay
(recurrent and external) is NEST's plus one step (``dt``): the spike times are those of the same model in NEST.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import snnjax as sj

POPULATIONS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
FULL_NUM_NEURONS = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948])
# connection probabilities, row = target, column = source
CONN_PROBS = np.array(
    [
        [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
        [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
        [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
        [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
        [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
        [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
        [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
        [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443],
    ]
)
NEURON = dict(c_m=250.0, tau=10.0, v_rest=-65.0, v_th=-50.0, v_reset=-65.0, tau_ref=2.0)  # pF, ms, mV
TAU_SYN = 0.5  # ms, excitatory and inhibitory
V0_MEAN = (-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43)  # mV ("optimized" initial state)
V0_STD = (5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48)
PSP_EXC = 0.15  # mV, mean excitatory PSP amplitude
G = -4.0  # relative inhibitory weight
WEIGHT_REL_STD = 0.1
DELAY_MEAN = (1.5, 0.75)  # ms, excitatory and inhibitory sources
DELAY_REL_STD = 0.5
K_EXT = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])  # external in-degrees
BG_RATE = 8.0  # Hz
DELAY_POISSON = 1.5  # ms
# NEST's reference rates (spikes/s) of the full-scale network; also used to compensate down-scaled in-degrees
NEST_RATES = np.array([0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829])
EXCITATORY = np.array([True, False] * 4)
DT = 0.1  # ms


def psp_to_current(c_m: float, tau_m: float, tau_syn: float) -> float:
    """pA of an exponential current whose PSP peaks at 1 mV (the reference's ``postsynaptic_potential_to_current``):
    the peak of ``v = (J e^{-t/tau_s}) * (e^{-t/tau_m} / c_m)``."""
    t_peak = tau_m * tau_syn / (tau_m - tau_syn) * math.log(tau_m / tau_syn)
    v = tau_m * tau_syn / (c_m * (tau_m - tau_syn)) * (math.exp(-t_peak / tau_m) - math.exp(-t_peak / tau_syn))
    return 1.0 / v


def parameters(scale: float = 1.0, drive: str = "dc") -> dict:
    """The derived parameters at ``scale`` (``N_scaling = K_scaling = scale``), as the reference derives them.

    Returns a dict: ``sizes`` (neurons per population), ``synapses`` (target x source counts), ``weights`` (mean pA,
    target x source), ``weight_ext`` (pA), ``k_ext`` (external inputs per neuron, by population), ``dc`` (pA, by
    population), ``delays`` (mean ms by source population).
    """
    full_syn = np.log(1.0 - CONN_PROBS) / np.log(
        (np.outer(FULL_NUM_NEURONS, FULL_NUM_NEURONS) - 1.0) / np.outer(FULL_NUM_NEURONS, FULL_NUM_NEURONS)
    )
    sizes = np.round(FULL_NUM_NEURONS * scale).astype(int)
    synapses = np.round(full_syn * scale * scale).astype(int)
    k_ext = np.round(K_EXT * scale).astype(int)
    psc = psp_to_current(NEURON["c_m"], NEURON["tau"], TAU_SYN)
    weights = np.where(EXCITATORY[None, :], PSP_EXC, PSP_EXC * G) * psc * np.ones((8, 8))
    weights[0, 2] *= 2.0  # L4E -> L23E doubled
    weight_ext = PSP_EXC * psc
    dc = BG_RATE * K_EXT * weight_ext * TAU_SYN * 1e-3 if drive == "dc" else np.zeros(8)
    if scale != 1.0:
        indegree = full_syn / FULL_NUM_NEURONS[:, None]
        input_rec = np.sum(weights * indegree * NEST_RATES, axis=1)
        dc = dc + 1e-3 * TAU_SYN * (1.0 - math.sqrt(scale)) * input_rec
        if drive == "poisson":
            dc = dc + 1e-3 * TAU_SYN * (1.0 - math.sqrt(scale)) * weight_ext * K_EXT * BG_RATE
        weights = weights / math.sqrt(scale)
        weight_ext = weight_ext / math.sqrt(scale)
    delays = np.where(EXCITATORY, DELAY_MEAN[0], DELAY_MEAN[1])
    return dict(sizes=sizes, synapses=synapses, weights=weights, weight_ext=weight_ext, k_ext=k_ext, dc=dc,
                delays=delays)  # fmt: skip


def build(scale: float = 1.0, drive: str = "dc", seed: int = 0, dt: float = DT, method: str = "auto") -> sj.Network:
    """The microcircuit as one :class:`snnjax.Network`: population ``"L"`` (all eight populations, in order),
    projections ``"exc"`` (from excitatory sources, into ``i_ex``) and ``"inh"`` (into ``i_in``), and with
    ``drive="poisson"`` the drive ``"ext"``."""
    p = parameters(scale, drive)
    sizes = tuple(int(n) for n in p["sizes"])
    per_neuron = lambda values: np.repeat(np.asarray(values, np.float32), sizes)  # noqa: E731
    neurons = sj.neurons.IafPscExp(
        sum(sizes),
        **NEURON,
        tau_syn_ex=TAU_SYN,
        tau_syn_in=TAU_SYN,
        i_e=jnp.asarray(per_neuron(p["dc"])),
        v_init=sj.init.Blocks(sizes, tuple(sj.init.Normal(m, s) for m, s in zip(V0_MEAN, V0_STD))),
    )
    components = {"L": neurons}
    for name, exc, target, salt in (("exc", True, "i_ex", 1), ("inh", False, "i_in", 2)):
        # pathways from this kind of source: synapse counts (target j <- source i) as connectors of block (i, j)
        conns = {
            (i, j): sj.conn.FixedTotalNumber(int(p["synapses"][j, i]), seed=seed * 1000 + 10 * i + j + 1)
            for i in range(8)
            for j in range(8)
            if EXCITATORY[i] == exc and p["synapses"][j, i] > 0
        }
        blocks = (sizes, sizes)
        w = p["weights"].T  # source x target
        w = np.where(EXCITATORY[:, None] == exc, w, -w)  # rows of the other kind are unused: any valid value
        weight = sj.conn.Normal(
            mean=w,
            std=np.abs(w) * WEIGHT_REL_STD,
            low=0.0 if exc else -np.inf,  # redrawn until the sign is kept
            high=np.inf if exc else 0.0,
            seed=seed * 1000 + 100 + salt,
            blocks=blocks,
        )
        d = p["delays"][:, None] * np.ones((1, 8))
        delay = sj.conn.Normal(  # NEST's delay, redrawn below dt / 2, then one step later (see the module docstring)
            mean=d + dt, std=d * DELAY_REL_STD, low=0.5 * dt + dt, seed=seed * 1000 + 200 + salt, blocks=blocks
        )
        components[name] = sj.Projection(
            "L",
            "L",
            conn=sj.conn.Blocks(sizes, sizes, conns),
            weight=weight,
            delay=delay,
            synapse=sj.synapses.Delta(),
            output=sj.outputs.CUBA(target=target),
            method=method,
            activity=5.0 * dt / 1000.0,  # about 5 Hz: sizes the compacted spike index (a hint only)
        )
    if drive == "poisson":
        components["ext"] = sj.inputs.PoissonInput(
            "L",
            n=jnp.asarray(np.repeat(p["k_ext"], sizes).astype(np.int32)),
            rate=BG_RATE,
            weight=float(p["weight_ext"]),
            output=sj.outputs.CUBA(target="i_ex"),
            delay=DELAY_POISSON + dt,
        )
    return sj.Network(**components)


def _statistics(steps: np.ndarray, neurons: np.ndarray, sizes: tuple, duration: float, dt: float) -> tuple:
    """Mean rate (Hz) and mean CV of the inter-spike intervals (over neurons with at least 3 spikes) per population."""
    edges = np.concatenate([[0], np.cumsum(sizes)])
    counts = np.bincount(neurons, minlength=edges[-1])
    order = np.lexsort((steps, neurons))
    s, n = steps[order], neurons[order]
    isi = np.diff(s).astype(np.float64)
    same = n[1:] == n[:-1]
    isi, owner = isi[same], n[1:][same]
    total = np.bincount(owner, weights=isi, minlength=edges[-1])
    square = np.bincount(owner, weights=isi * isi, minlength=edges[-1])
    k = np.bincount(owner, minlength=edges[-1])
    ok = k >= 2
    mean = np.where(ok, total / np.maximum(k, 1), np.nan)
    var = np.where(ok, square / np.maximum(k, 1) - mean**2, np.nan)
    cv = np.sqrt(np.maximum(var, 0.0)) / mean
    rates, cvs = {}, {}
    for i, pop in enumerate(POPULATIONS):
        sl = slice(edges[i], edges[i + 1])
        rates[pop] = float(counts[sl].mean() / (duration / 1000.0))
        c = cv[sl][ok[sl]]
        cvs[pop] = float(np.mean(c)) if c.size else float("nan")
    return rates, cvs


def _peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / 2**20


def run(scale=1.0, drive="dc", presim=500.0, duration=1000.0, seed=0, devices=1, dt=DT, method="auto") -> dict:
    """Build, simulate ``presim`` then ``duration`` ms, and return the summary dict (plus ``"spikes"``: the
    measured window's spikes as ``(steps, neurons)`` int arrays, and ``"sizes"``)."""
    t0 = time.perf_counter()
    net = build(scale, drive, seed, dt, method)
    sizes = tuple(int(n) for n in parameters(scale, drive)["sizes"])
    n_syn = sum(int(p.topology.n_syn) for p in net.projections.values())
    state = net.init(key=jax.random.key(seed), dt=dt)
    jax.block_until_ready(state)
    build_s = time.perf_counter() - t0
    syn_bytes = sum(
        sum(x.nbytes for x in jax.tree.leaves((p.topology, p.weight, p.lags(dt))) if hasattr(x, "nbytes"))
        for p in net.projections.values()
    )
    n_steps = int(round(duration / dt))
    # ms: each chunk's spike raster (1000 x N bools) moves to the host, where it is compacted; the first two chunks
    # of the presim time the compilation
    chunk = min(100.0, presim / 2)
    runner = sj.Runner(
        net,
        dt=dt,
        key=jax.random.key(seed),
        monitors=["L.spike"],
        chunk=chunk,
        devices=None if devices == 1 else jax.devices()[:devices],
    )
    runner.state = state
    t1 = time.perf_counter()
    runner.run(chunk)  # compiles the chunk's program (every later chunk reuses it)
    first = time.perf_counter() - t1
    t1 = time.perf_counter()
    runner.run(chunk)
    second = time.perf_counter() - t1
    compile_s = max(first - second, 0.0)  # the first chunk's time beyond a compiled chunk's
    if presim > 2 * chunk:
        runner.run(presim - 2 * chunk)
    runner.chunk = 100.0
    t2 = time.perf_counter()
    mon = runner.run(duration)
    sim_s = time.perf_counter() - t2
    ev = mon.spikes("L.spike")
    steps = np.round(np.asarray(ev.times) / dt).astype(np.int64) - int(round(mon.ts[0] / dt))
    neurons = np.asarray(ev.neuron)
    rates, cvs = _statistics(steps, neurons, sizes, duration, dt)
    return {
        "simulator": "snnjax",
        "scale": scale,
        "drive": drive,
        "seed": seed,
        "devices": devices,
        "backend": jax.default_backend(),
        "methods": sorted({p.method for p in net.projections.values()}),
        "rates_hz": {k: round(v, 3) for k, v in rates.items()},
        "cv_isi": {k: round(v, 3) for k, v in cvs.items()},
        "n_neurons": sum(sizes),
        "n_synapses": n_syn,
        "build_s": round(build_s, 2),
        "compile_s": round(compile_s, 2),
        "sim_s": round(sim_s, 3),
        "wall_per_sim_s": round(sim_s / (n_steps * dt / 1000.0), 3),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "bytes_per_synapse": round(syn_bytes / max(n_syn, 1), 2),
        "spikes": (steps, neurons),
        "sizes": sizes,
    }


def plot(summary: dict, prefix: str, dt: float = DT, duration: float = 1000.0) -> list[str]:
    """Save the raster (populations coloured, layers top to bottom, the reference's figure) and the rates beside
    NEST's; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps, neurons = summary["spikes"]
    sizes = summary["sizes"]
    edges = np.concatenate([[0], np.cumsum(sizes)])
    colors = ["#595289", "#af143c"] * 4  # excitatory, inhibitory (the reference's colours)
    fig, ax = plt.subplots(figsize=(6, 5))
    window = (steps * dt >= duration - 100.0) if duration > 100.0 else np.ones(steps.shape, bool)
    thin = max(1, int(round(10 * summary["scale"])))  # at full scale every 10th neuron, as the reference plots
    for i in range(len(POPULATIONS)):
        sel = window & (neurons >= edges[i]) & (neurons < edges[i + 1]) & (neurons % thin == 0)
        ax.plot(steps[sel] * dt, edges[-1] - neurons[sel], ".", ms=1, color=colors[i], rasterized=True)
    ax.set_yticks([edges[-1] - (edges[2 * k] + edges[2 * k + 2]) / 2 for k in range(4)], ["L2/3", "L4", "L5", "L6"])
    ax.set_xlabel("time (ms)")
    ax.set_title(f"microcircuit, scale {summary['scale']:g}, {summary['drive']} drive (last 100 ms)")
    fig.tight_layout()
    raster = f"{prefix}_raster.png"
    fig.savefig(raster, dpi=150)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    x = np.arange(8)
    ax.bar(x - 0.2, [summary["rates_hz"][p] for p in POPULATIONS], 0.4, label="snnjax", color="tab:blue")
    ax.bar(x + 0.2, NEST_RATES, 0.4, label="NEST (reference, full scale)", color="0.6")
    ax.set_xticks(x, POPULATIONS)
    ax.set_ylabel("rate (spikes/s)")
    ax.legend()
    fig.tight_layout()
    rates = f"{prefix}_rates.png"
    fig.savefig(rates, dpi=150)
    plt.close(fig)
    return [raster, rates]


def main(argv: list[str] | None = None) -> dict:
    """Run the example from the command line; prints one JSON line and returns the summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="N and in-degree scaling (0 < S <= 1)")
    ap.add_argument("--drive", choices=("dc", "poisson"), default="dc", help="external drive")
    ap.add_argument("--presim", type=float, default=500.0, help="ms simulated first and discarded")
    ap.add_argument("--duration", type=float, default=1000.0, help="ms measured")
    ap.add_argument("--seed", type=int, default=0, help="seed of connectivity, parameters and initial state")
    ap.add_argument("--devices", type=int, default=1, help="split the network over this many devices")
    ap.add_argument("--method", default="auto", help="propagator of the two projections (default auto)")
    ap.add_argument("--png", default="microcircuit", help="prefix of the figures ('' to skip)")
    args = ap.parse_args(argv)
    if not 0.0 < args.scale <= 1.0:
        ap.error(f"--scale must be in (0, 1], got {args.scale}")
    if args.presim < 2 * DT or args.duration < DT:
        ap.error(f"--presim must be >= {2 * DT} ms (its first two chunks time the compilation) and --duration >= {DT}")
    if args.devices < 1 or args.devices > len(jax.devices()):
        ap.error(f"--devices must be in [1, {len(jax.devices())}] (jax.devices()), got {args.devices}")
    summary = run(args.scale, args.drive, args.presim, args.duration, args.seed, args.devices, method=args.method)
    print(json.dumps({k: v for k, v in summary.items() if k not in ("spikes", "sizes")}))
    if args.png:
        try:
            paths = plot(summary, args.png, duration=args.duration)
            print("figures: " + ", ".join(paths), file=sys.stderr)
        except ImportError:
            print("matplotlib is not installed (pip install snnjax[plot]): no figures saved", file=sys.stderr)
    return summary


if __name__ == "__main__":
    main()
