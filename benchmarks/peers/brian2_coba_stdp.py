"""Brian2 peer for the Brette et al. (2007) COBA benchmark with STDP on E->E, C++ standalone mode.

The same network as ``benchmarks/peers/brian2_coba.py`` (80% E / 20% I LIF neurons, v_rest -60 mV,
threshold -50 mV, reset -60 mV, tau 20 ms, refractory 5 ms, p = 80 / N (Bernoulli), conductances relative
to the leak (0.6, tau 5 ms, E = 0 mV; 6.7, tau 10 ms, E = -80 mV), a drive of 20 mV, dt = 0.1 ms,
initial v ~ N(-55, 2) mV, no extra synaptic delay: the transmission ``on_pre`` has delay 0, which Brian2 runs
in the ``synapses`` slot after the step's integration, so a spike emitted in step k first moves the membrane in
step k + 1: snnjax's delay 0 -> lag 1), integrated with ``--method`` (as ``brian2_coba.py``):

* ``euler`` (the default): forward Euler. In this network, where the total conductance is large while it
  fires, it is the closer of Brian2's two methods to snnjax's scheme for ``v`` (both treat ``g (E - v)``
  explicitly, to first order); ``brian2_coba.py``'s docstring measures it. The fair comparison.
* ``exponential_euler``: ``v`` exact for conductances frozen over the step (the more accurate, and about 4x
  slower here: the exponential of the conductance-shortened time constant per neuron and step). Versions of
  this script before the flag used it, and the README's first STDP comparison (Brian2 0.83 s) was made with it.

The E->E synapses carry canonical pair-based STDP with a weight per synapse, initialised to the static
excitatory weight w_exc = 0.6 (E->I stays static at 0.6, I->* at 6.7)::

      apre, apost event-driven (exact decay), tau_plus = tau_minus = 20 ms
      on_pre  'pre' : ge += w                                              (delay 0)
              'stdp': apre += 1; w = clip(w - a_minus*apost, w_min, w_max)  (delay dt)
      on_post       : apost += 1; w = clip(w + a_plus*apre, w_min, w_max)

  a_plus = a_plus_rel * w_exc, a_minus = a_minus_rel * w_exc (defaults 0.01, 0.0105), w_min = 0,
  w_max = 2 w_exc.  The 'stdp' pathway is delayed by one dt so that STDP sees a presynaptic spike in the
  step in which it acts on the membrane (the snnjax convention).  Brian2 runs all ``on_pre`` pathways
  (order -1) before ``on_post`` (order +1) in a step, so an arrival and a postsynaptic spike in the same
  step count as pre-before-post.

It must run in the Brian2 peer environment with a C++ compiler on the PATH; make it with
``python benchmarks/peers/make_envs.py`` (folder: ``--dir`` / ``$SNNJAX_PEERS``, default ``.peers/`` in the clone)
and run::

    "$(python benchmarks/peers/make_envs.py --which brian2)" benchmarks/peers/brian2_coba_stdp.py \\
        --n 4000 --duration 1000 [--method exponential_euler]

or through ``python benchmarks/compare.py --plasticity stdp``.

Prints one JSON line: ``first_s`` (code generation + C++ build + first run, from a fresh build
directory), ``steady_s`` (the fastest of ``--repeat`` re-runs of the compiled binary, as reported by
Brian2's own timer of the simulation loop), ``steady_wall_s`` (the fastest wall time of the same re-runs, the
whole re-run of the binary), ``rate_hz``, ``n``, ``method``, ``mean_w_final`` (mean E->E weight at the end of
the first run), ``plasticity`` ("stdp").
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
import numpy as np
from brian2 import ms

W_EXC = 0.6
W_INH = 6.7


def main() -> None:
    ap = argparse.ArgumentParser(description="Brette et al. 2007 COBA + E->E STDP in Brian2 C++ standalone")
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--duration", type=float, default=1000.0, help="ms")
    ap.add_argument("--dt", type=float, default=0.1, help="ms")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="OpenMP threads (0: single-threaded)")
    ap.add_argument("--a-plus-rel", type=float, default=0.01, help="a_plus / w_exc")
    ap.add_argument("--a-minus-rel", type=float, default=0.0105, help="a_minus / w_exc")
    ap.add_argument(
        "--method",
        default="euler",
        choices=("euler", "exponential_euler"),
        help="Brian2 integration method (euler: the closer to snnjax's scheme here, see brian2_coba.py)",
    )
    args = ap.parse_args()

    build_dir = tempfile.mkdtemp(prefix="brian2_coba_stdp_")
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
        args.n, eqs, threshold="v > -50*mV", reset="v = -60*mV", refractory=5 * ms, method=args.method
    )
    group.v = "-55*mV + 2*mV * randn()"
    stdp_ns = dict(
        a_plus=args.a_plus_rel * W_EXC,
        a_minus=args.a_minus_rel * W_EXC,
        tau_plus=20 * ms,
        tau_minus=20 * ms,
        w_min=0.0,
        w_max=2 * W_EXC,
    )
    ee = b2.Synapses(
        group[:n_e],
        group[:n_e],
        model="""w : 1
                 dapre/dt = -apre/tau_plus : 1 (event-driven)
                 dapost/dt = -apost/tau_minus : 1 (event-driven)""",
        on_pre={"pre": "ge += w", "stdp": "apre += 1\nw = clip(w - a_minus*apost, w_min, w_max)"},
        on_post="apost += 1\nw = clip(w + a_plus*apre, w_min, w_max)",
        delay={"pre": 0 * ms, "stdp": args.dt * ms},  # scalar (homogeneous) delays
        namespace=stdp_ns,
    )
    ee.connect(p=p)
    ee.w = W_EXC
    ei = b2.Synapses(group[:n_e], group[n_e:], on_pre=f"ge += {W_EXC}", delay=0 * ms)
    ei.connect(p=p)
    inh = b2.Synapses(group[n_e:], group, on_pre=f"gi += {W_INH}", delay=0 * ms)
    inh.connect(p=p)
    spikes = b2.SpikeMonitor(group, record=False)  # counts only
    b2.run(args.duration * ms)
    b2.device.build(directory=build_dir, compile=True, run=True)
    first_s = time.perf_counter() - t0
    count = int(spikes.num_spikes)
    mean_w_final = float(np.mean(ee.w[:]))
    n_ee = int(len(ee))

    times, walls = [], []
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        b2.device.run(directory=build_dir, with_output=False, run_args=[])
        walls.append(time.perf_counter() - t0)  # the whole re-run, process start to results checked, s
        times.append(float(b2.device._last_run_time))  # Brian2's timer of the main loop, s
    shutil.rmtree(build_dir, ignore_errors=True)
    print(
        json.dumps(
            {
                "bench": "coba_stdp",
                "lib": "brian2-cpp-standalone",
                "version": b2.__version__,
                "n": args.n,
                "duration_ms": args.duration,
                "dt": args.dt,
                "threads": args.threads or 1,
                "first_s": round(first_s, 3),
                "steady_s": round(min(times), 3),
                "steady_wall_s": round(min(walls), 3),
                "method": args.method,
                "delay_ms": 0,
                "rate_hz": round(count / args.n / (args.duration / 1000.0), 2),
                "plasticity": "stdp",
                "mean_w_final": round(mean_w_final, 6),
                "w_exc": W_EXC,
                "a_plus_rel": args.a_plus_rel,
                "a_minus_rel": args.a_minus_rel,
                "n_ee_synapses": n_ee,
                "cpu": platform.processor() or platform.machine(),
                "pid": os.getpid(),
            }
        )
    )


if __name__ == "__main__":
    main()
