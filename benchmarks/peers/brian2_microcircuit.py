"""Brian2 peer for the Potjans & Diesmann (2014) cortical microcircuit, C++ standalone mode, one thread.

The model of the project's reference page ``shared/reference/microcircuit.md`` (its facts come from the public
reference implementation ``INM-6/microcircuit-PD14-model``, ``PyNEST/src/microcircuit/{network_params,helpers,
network}.py``), written for Brian2 2.9 with NEST's semantics:

* 8 populations (L23E, L23I, L4E, L4I, L5E, L5I, L6E, L6I) of NEST ``iaf_psc_exp`` neurons (C_m 250 pF, tau_m
  10 ms, E_L = V_reset = -65 mV, V_th -50 mV, t_ref 2 ms, tau_syn 0.5 ms for both signs), one ``NeuronGroup`` of
  ``round(N_full * S)`` neurons (numpy's half to even), ``dv/dt = (E_L - v)/tau_m + (I_syn + I_e)/C_m``,
  ``dI_syn/dt = -I_syn/tau_syn``, threshold ``v >= V_th``, reset ``v = V_reset``, integrated with ``--method``
  (default ``exact``: the linear system solved jointly over the step, as NEST's exact propagators; ``v`` is held,
  ``I_syn`` still decays, while refractory, as in NEST). Refractory period ``t_ref + dt``: Brian2 stamps a spike
  one step earlier than NEST and leaves refractoriness at ``timestep(t - lastspike) >= timestep(refractory)``, so
  ``t_ref + dt`` holds ``v`` for NEST's 20 steps (``microcircuit.md``: with it a 7,717-neuron network matched
  NEST spike for spike). Initial ``v`` normal per population (the reference's "optimized" means and sds),
  ``I_syn`` 0.
* Connectivity: NEST's ``fixed_total_number`` per (target, source) pair, ``round(ln(1-p) / ln((N_pre N_post - 1)
  / (N_pre N_post)) * S * S)`` synapses from the full-scale sizes, each with an independent uniformly random
  source and target (autapses and multapses allowed), drawn with numpy (``--seed``), in one ``Synapses`` object
  (``on_pre: I_syn_post += w``; one synaptic current for both signs, as both time constants are 0.5 ms).
* Weights: a 0.15 mV PSP as a current through NEST's ``postsynaptic_potential_to_current`` (87.81 pA),
  inhibitory sources x -4, L4E -> L23E doubled, divided by ``sqrt(S)``; each synapse normal with relative sd 0.1,
  redrawn until its sign is kept (bounds inclusive: 0 is kept). Delays: normal, mean 1.5 ms (excitatory sources)
  / 0.75 ms (inhibitory), relative sd 0.5, redrawn while below dt/2, then ``floor(d/dt + 0.5)`` steps (at least
  one). A delay of ``k`` steps here is NEST's ``k`` steps: a spike in step ``n`` adds to ``I_syn`` at the end of
  step ``n + k`` (Brian2's ``synapses`` slot runs after the step's integration and threshold), which moves ``v``
  from step ``n + k + 1`` on.
* Drive (``--drive``): ``poisson``: per population one ``PoissonInput`` of ``round(K_ext S)`` inputs at 8 Hz and
  the external weight (87.81 pA / sqrt(S)), i.e. each neuron adds ``weight x count`` to ``I_syn`` in every step,
  ``count ~ Binomial(round(K_ext S), 8 Hz x dt)``. NEST (and snnjax) draw a Poisson count of mean
  ``8 Hz x round(K_ext S) x dt`` instead: same mean, variance lower by the factor ``1 - 8 Hz x dt = 0.9992``.
  NEST's generator is connected with a 1.5 ms delay, so nothing arrives before step 15 (t = 1.5 ms); here the
  weight is multiplied by ``t > 1.5 ms - dt/2``. ``dc``: no Poisson input, ``I_e = 8 Hz x K_ext x 87.81 pA x
  tau_syn x 1e-3`` instead. Below full scale (``S < 1``), the reference's compensation
  (``helpers.adjust_weights_and_input_to_synapse_scaling``) is added to ``I_e``: ``1e-3 tau_syn (1 - sqrt(S))``
  times the full-scale mean recurrent input (full-scale weights, in-degrees and ``full_mean_rates``) and, with
  Poisson drive, the full-scale external input ``87.81 pA x K_ext x 8 Hz``. At ``S = 0.1`` with DC drive 7 of
  8 populations are below the rheobase (375 pA) and the network is silent (the reference warns of it): compare
  at 0.1 with Poisson drive, or with DC from 0.3 up.
* dt 0.1 ms; ``--presim`` ms discarded (spike monitor off), then ``--duration`` ms measured (monitor on).

It must run in the Brian2 peer environment with a C++ compiler (``g++``) on the PATH; make it with
``python benchmarks/peers/make_envs.py`` (folder: ``--dir`` / ``$SNNJAX_PEERS``, default ``.peers/`` in the clone)
and run::

    "$(python benchmarks/peers/make_envs.py --which brian2)" benchmarks/peers/brian2_microcircuit.py \\
        --scale 0.1 --drive poisson --presim 500 --duration 1000 --seed 1

Prints one JSON line (the keys of ``python -m snnjax.examples.microcircuit`` and a few more):

``rates_hz``       per population (``L23E`` ... ``L6I``), spikes in the measured window / neurons / seconds.
``cv_isi``         per population, the mean over neurons with at least 3 spikes in the measured window (two
                   intervals: ``snnjax.analysis.cv``'s rule) of ``std(ISI) / mean(ISI)`` (population sd, ddof 0);
                   ``cv_isi_neurons`` counts those neurons.
``n_neurons``, ``n_synapses``.
``build_s``        wall seconds from the start to the first simulated step: network construction in Python
                   (numpy connectivity, weights, delays), Brian2's code generation and the C++ build, and the
                   binary's set-up (loading the arrays, creating the synapses, the spike queue).
``compile_s``      the part of ``build_s`` spent in code generation and the C++ build (``make -j --make-jobs``).
``setup_s``        the part of ``build_s`` spent in the binary before its first step.
``presim_s``       wall seconds of the ``--presim`` run.
``sim_s``          wall seconds of the measured ``--duration`` run alone: the binary reads
                   ``clock_gettime(CLOCK_MONOTONIC)`` just before and after it (code inserted into ``main.cpp``
                   with ``device.insert_code``). ``sim_cpu_s`` is Brian2's own timer of the same run (single
                   threaded, it is ``std::clock()``: process CPU seconds, not wall).
``wall_per_sim_s`` ``sim_s`` per simulated second.
``peak_rss_mb``    peak resident memory of the whole process tree (this Python process, the compiler, the
                   standalone binary), sampled from ``/proc`` every 50 ms; ``peak_rss_binary_mb`` is the binary's
                   own ``VmHWM``.
``bytes_per_synapse`` the binary's resident memory after the measured run minus its memory at start (before
                   Brian2 allocates anything), per synapse: everything the simulation holds (the synapse arrays
                   ``i, j`` int32, ``w, delay`` float64, the loaded initial arrays, the spike queue; neurons and
                   the monitor are a fraction of a percent at these sizes). An upper bound of the synapses' share.
``profile_s``      with ``--profile``: Brian2's time per code object in the measured run (its timers add a little
                   to ``sim_s``).
``load_avg_1m``    the machine's 1-minute load average at the start and the end (timings are noisy on a shared host).
``simulator``, ``version``, ``method``, ``drive``, ``scale``, ``seed``, ``presim_ms``, ``duration_ms``, ``dt``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import threading
import time

import numpy as np

POPS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
N_FULL = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948])
FULL_MEAN_RATES = np.array([0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829])  # Hz, NEST full scale
CONN_PROBS = np.array(  # row: target, column: source
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
K_EXT = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])
BG_RATE = 8.0  # Hz per external input
V0_MEAN = np.array([-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43])  # mV ("optimized")
V0_STD = np.array([5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48])
C_M, TAU_M, TAU_SYN, E_L, V_TH, V_RESET, T_REF = 250.0, 10.0, 0.5, -65.0, -50.0, -65.0, 2.0  # pF, ms, mV
PSP_EXC, G_REL, W_REL_SD = 0.15, -4.0, 0.1  # mV, inhibitory / excitatory, relative sd of the weights
DELAY_EXC, DELAY_INH, DELAY_REL_SD, DELAY_EXT = 1.5, 0.75, 0.5, 1.5  # ms


def psc_over_psp(c_m: float, tau_m: float, tau_syn: float) -> float:
    """pA of an exponential current whose PSP peaks at 1 mV (NEST's ``postsynaptic_potential_to_current``)."""
    sub = 1.0 / (tau_syn - tau_m)
    pre = tau_m * tau_syn / c_m * sub
    frac = (tau_m / tau_syn) ** sub
    return 1.0 / (pre * (frac**tau_m - frac**tau_syn))


def parameters(scale: float, drive: str) -> dict:
    """Sizes, synapse counts, mean weights (pA), external weight and DC (pA) of the reference at ``scale``."""
    prod = np.outer(N_FULL, N_FULL)
    full_syn = np.log(1.0 - CONN_PROBS) / np.log((prod - 1.0) / prod)  # (target, source), full scale
    n = np.round(N_FULL * scale).astype(int)
    n_syn = np.round(full_syn * scale * scale).astype(int)
    k_ext = np.round(K_EXT * scale).astype(int)
    psp = np.tile([PSP_EXC, PSP_EXC * G_REL], (8, 4))
    psp[0, 2] = 2.0 * PSP_EXC  # L4E -> L23E doubled
    unit = psc_over_psp(C_M, TAU_M, TAU_SYN)
    w_mean, w_ext = psp * unit, PSP_EXC * unit
    dc = BG_RATE * K_EXT * w_ext * TAU_SYN * 1e-3 if drive == "dc" else np.zeros(8)
    if scale != 1:
        indegree = full_syn / N_FULL[:, None]
        input_rec = np.sum(w_mean * indegree * FULL_MEAN_RATES, axis=1)  # full-scale mean recurrent input
        dc = dc + 1e-3 * TAU_SYN * (1.0 - np.sqrt(scale)) * input_rec
        if drive == "poisson":
            dc = dc + 1e-3 * TAU_SYN * (1.0 - np.sqrt(scale)) * (w_ext * K_EXT * BG_RATE)
        w_mean, w_ext = w_mean / np.sqrt(scale), w_ext / np.sqrt(scale)
    return dict(n=n, n_syn=n_syn, k_ext=k_ext, w_mean=w_mean, w_ext=w_ext, dc=dc)


def _redraw_normal(rng: np.random.Generator, mean: float, sd: float, size: int, ok) -> np.ndarray:
    """Normal samples, each redrawn until ``ok(value)`` holds (NEST's ``nest.math.redraw``)."""
    x = rng.normal(mean, sd, size)
    bad = ~ok(x)
    while bad.any():
        x[bad] = rng.normal(mean, sd, int(bad.sum()))
        bad = ~ok(x)
    return x


def connectivity(p: dict, dt: float, rng: np.random.Generator, sort: bool = True):
    """Source and target indices (int32), weights (pA) and delays (steps) of every synapse, drawn pair by pair,
    then (``sort``) ordered by source and target."""
    start = np.concatenate([[0], np.cumsum(p["n"])])
    pre, post, w, steps = [], [], [], []
    for t in range(8):
        for s in range(8):
            k = int(p["n_syn"][t, s])
            if k <= 0:
                continue
            pre.append((start[s] + rng.integers(0, p["n"][s], k)).astype(np.int32))
            post.append((start[t] + rng.integers(0, p["n"][t], k)).astype(np.int32))
            mean = p["w_mean"][t, s]
            w.append(
                _redraw_normal(
                    rng, mean, abs(mean) * W_REL_SD, k, (lambda x: x >= 0) if mean > 0 else (lambda x: x <= 0)
                )
            )
            d_mean = DELAY_EXC if s % 2 == 0 else DELAY_INH
            d = _redraw_normal(rng, d_mean, d_mean * DELAY_REL_SD, k, lambda x: x >= 0.5 * dt)
            steps.append(np.floor(d / dt + 0.5).astype(np.int32))
    pre, post, w, steps = (np.concatenate(x) for x in (pre, post, w, steps))
    if sort:  # each source's synapses side by side in memory (as NEST, GeNN and snnjax store them): same synapses
        order = np.lexsort((post, pre))
        pre, post, w, steps = pre[order], post[order], w[order], steps[order]
    return pre, post, w, steps


class TreeRSS:
    """Peak summed resident memory of this process and all its descendants, sampled from ``/proc``."""

    def __init__(self, period: float = 0.05):
        self.period, self.peak, self._stop = period, 0, threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        children: dict[int, list[int]] = {}
        rss: dict[int, int] = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat") as f:
                    stat = f.read()
                with open(f"/proc/{name}/statm") as f:
                    rss[int(name)] = int(f.read().split()[1]) * self._page
            except (OSError, IndexError, ValueError):
                continue
            ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
            children.setdefault(ppid, []).append(int(name))
        total, todo = 0, [os.getpid()]
        while todo:
            pid = todo.pop()
            total += rss.get(pid, 0)
            todo.extend(children.get(pid, []))
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self.period)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


# C++ inserted into main.cpp: monotonic wall clock and the binary's own memory (VmRSS, VmHWM in kB) at marks
_CPP_DECL = """
struct timespec _sj_ts[4];
long _sj_rss[4] = {0, 0, 0, 0};
auto _sj_mark = [&](int k) {
    clock_gettime(CLOCK_MONOTONIC, &_sj_ts[k]);
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0) _sj_rss[k] = std::stol(line.substr(6));
};
_sj_mark(0);
"""
_CPP_WRITE = """
{
    auto _sj_sec = [&](int a, int b) {
        return (_sj_ts[b].tv_sec - _sj_ts[a].tv_sec) + 1e-9 * (_sj_ts[b].tv_nsec - _sj_ts[a].tv_nsec);
    };
    long hwm = 0;
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmHWM:", 0) == 0) hwm = std::stol(line.substr(6));
    std::ofstream out(brian::results_dir + "sj_timing.txt");
    out.precision(9);
    out << _sj_sec(0, 1) << " " << _sj_sec(1, 2) << " " << _sj_sec(2, 3) << " "
        << _sj_rss[0] << " " << _sj_rss[3] << " " << hwm << std::endl;
}
"""


def run(args) -> dict:
    import brian2 as b2
    from brian2 import Hz, ms, mV, pA, pF

    t_start = time.perf_counter()
    dt = args.dt
    p = parameters(args.scale, args.drive)
    rng = np.random.default_rng(args.seed)
    build_dir = args.build_dir or tempfile.mkdtemp(prefix="brian2_microcircuit_")
    b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
    b2.prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{args.make_jobs}"]
    b2.defaultclock.dt = dt * ms
    b2.seed(args.seed)
    b2.device.insert_code("before_start", _CPP_DECL)

    n_total = int(p["n"].sum())
    eqs = """
    dv/dt = (El - v) / taum + (I_syn + I_e) / Cm : volt (unless refractory)
    dI_syn/dt = -I_syn / taus : amp
    I_e : amp (constant)
    """
    ns = dict(El=E_L * mV, taum=TAU_M * ms, Cm=C_M * pF, taus=TAU_SYN * ms)
    group = b2.NeuronGroup(
        n_total,
        eqs,
        threshold=f"v >= {V_TH}*mV",
        reset=f"v = {V_RESET}*mV",
        refractory=(T_REF + dt) * ms,  # NEST's 20 refractory steps (see the docstring)
        method=args.method,
        namespace=ns,
    )
    starts = np.concatenate([[0], np.cumsum(p["n"])])
    pop = np.repeat(np.arange(8), p["n"])
    group.v = rng.normal(V0_MEAN[pop], V0_STD[pop]) * mV
    group.I_e = p["dc"][pop] * pA

    pre, post, w, steps = connectivity(p, dt, rng, sort=not args.unsorted)
    syn = b2.Synapses(group, group, "w : amp (constant)", on_pre="I_syn_post += w", namespace={})
    syn.connect(i=pre, j=post)
    syn.w = w * pA
    syn.delay = steps * (dt * ms)
    n_syn = int(pre.size)
    del pre, post, w, steps

    inputs = []
    if args.drive == "poisson":
        for k in range(8):  # the input arrives from t = 1.5 ms on: NEST's generator sends over a 1.5 ms delay
            inputs.append(
                b2.PoissonInput(
                    group[starts[k] : starts[k + 1]],
                    "I_syn",
                    N=int(p["k_ext"][k]),
                    rate=BG_RATE * Hz,
                    weight=f"{p['w_ext']}*pA * int(t > {DELAY_EXT - dt / 2}*ms)",
                )
            )
    monitor = b2.SpikeMonitor(group)
    monitor.active = False
    net = b2.Network(group, syn, monitor, *inputs)
    b2.device.insert_code("main", "_sj_mark(1);")
    net.run(args.presim * ms)
    monitor.active = True
    b2.device.insert_code("main", "_sj_mark(2);")
    net.run(args.duration * ms, profile=args.profile)
    b2.device.insert_code("main", "_sj_mark(3);")
    b2.device.insert_code("before_end", _CPP_WRITE)

    t_build = time.perf_counter()
    b2.device.build(directory=build_dir, compile=True, run=False)
    compile_s = time.perf_counter() - t_build
    t_run = time.perf_counter()
    b2.device.run(directory=build_dir, with_output=False, run_args=[])
    binary_s = time.perf_counter() - t_run
    sim_cpu_s = float(b2.device._last_run_time)  # Brian2's timer of the last run (std::clock, CPU seconds)
    with open(os.path.join(build_dir, "results", "sj_timing.txt")) as f:
        setup_s, presim_s, sim_s, rss0_kb, rss_end_kb, hwm_kb = (float(x) for x in f.read().split())

    idx = np.asarray(monitor.i[:])
    times = np.asarray(monitor.t[:] / ms)
    rates, cvs, cv_n = {}, {}, {}
    order = np.lexsort((times, idx))
    idx, times = idx[order], times[order]
    for k, name in enumerate(POPS):
        sel = (idx >= starts[k]) & (idx < starts[k + 1])
        rates[name] = round(float(sel.sum()) / p["n"][k] / (args.duration / 1000.0), 4)
        cv = []
        i_pop, t_pop = idx[sel], times[sel]
        bounds = np.flatnonzero(np.diff(i_pop)) + 1
        for t_n in np.split(t_pop, bounds) if t_pop.size else []:
            if t_n.size >= 3:
                isi = np.diff(t_n)
                cv.append(isi.std() / isi.mean())
        cvs[name] = round(float(np.mean(cv)), 4) if cv else None
        cv_n[name] = len(cv)
    profile = None
    if args.profile:  # Brian2's per-code-object timers of the measured run, s
        profile = {name: round(float(sec), 4) for name, sec in sorted(net.profiling_info, key=lambda x: -x[1])}
    if not args.build_dir:
        shutil.rmtree(build_dir, ignore_errors=True)
    build_s = (t_build - t_start) + compile_s + setup_s
    return {
        "simulator": "brian2-cpp-standalone",
        "version": b2.__version__,
        "method": args.method,
        "drive": args.drive,
        "scale": args.scale,
        "seed": args.seed,
        "presim_ms": args.presim,
        "duration_ms": args.duration,
        "dt": dt,
        "threads": 1,
        "synapse_order": "drawn" if args.unsorted else "by source",
        "rates_hz": rates,
        "cv_isi": cvs,
        "cv_isi_neurons": cv_n,
        "n_neurons": n_total,
        "n_synapses": n_syn,
        "build_s": round(build_s, 3),
        "compile_s": round(compile_s, 3),
        "setup_s": round(setup_s, 3),
        "presim_s": round(presim_s, 3),
        "sim_s": round(sim_s, 4),
        "sim_cpu_s": round(sim_cpu_s, 4),
        "binary_wall_s": round(binary_s, 3),
        "wall_per_sim_s": round(sim_s / (args.duration / 1000.0), 4),
        "peak_rss_binary_mb": round(hwm_kb / 1024, 1),
        "peak_rss_python_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "bytes_per_synapse": round((rss_end_kb - rss0_kb) * 1024 / n_syn, 1),
        "dc_pa": [round(float(x), 2) for x in p["dc"]],
        "w_ext_pa": round(float(p["w_ext"]), 3),
        "k_ext": [int(x) for x in p["k_ext"]] if args.drive == "poisson" else None,
        "cpu": platform.processor() or platform.machine(),
        **({"profile_s": profile} if profile else {}),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=0.1, help="N and in-degree both scaled by this (0 < S <= 1)")
    ap.add_argument("--drive", choices=("poisson", "dc"), default="poisson", help="external input")
    ap.add_argument("--presim", type=float, default=500.0, help="ms simulated and discarded first")
    ap.add_argument("--duration", type=float, default=1000.0, help="ms measured")
    ap.add_argument("--seed", type=int, default=1, help="numpy (network) and Brian2 (Poisson input) seed")
    ap.add_argument(
        "--method",
        default="exact",
        choices=("exact", "exponential_euler", "euler"),
        help="Brian2 integration method (exact: NEST's iaf_psc_exp propagators)",
    )
    ap.add_argument("--dt", type=float, default=0.1, help="ms")
    ap.add_argument("--make-jobs", type=int, default=2, help="parallel jobs of the C++ build")
    ap.add_argument(
        "--unsorted",
        action="store_true",
        help="keep the synapses in the order drawn (pair by pair) instead of sorted by source (slower: scattered rows)",
    )
    ap.add_argument(
        "--profile", action="store_true", help="add Brian2's time per code object of the measured run (profile_s)"
    )
    ap.add_argument("--build-dir", help="keep the standalone project here (default: a temporary folder, removed)")
    args = ap.parse_args(argv)
    if not 0 < args.scale <= 1:
        ap.error(f"--scale must be in (0, 1], got {args.scale}")
    load_start = os.getloadavg()[0]
    with TreeRSS() as tree:
        stdout = sys.stdout
        sys.stdout = sys.stderr  # anything Brian2 prints goes to stderr; stdout keeps the JSON line
        try:
            res = run(args)
        finally:
            sys.stdout = stdout
    res["peak_rss_mb"] = round(tree.peak / 2**20, 1)
    res["load_avg_1m"] = [round(load_start, 2), round(os.getloadavg()[0], 2)]  # the machine's load, start and end
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
