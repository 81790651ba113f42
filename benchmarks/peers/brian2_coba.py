"""Brian2 peer for the Brette et al. (2007) COBA benchmark, C++ standalone mode.

The same network as ``snnjax/examples/brette.py``: 80% E / 20% I LIF neurons (v_rest -60 mV, threshold
-50 mV, reset -60 mV, tau 20 ms, refractory 5 ms), p = 80 / N (Bernoulli), conductances relative to the
leak (0.6, tau 5 ms, E = 0 mV; 6.7, tau 10 ms, E = -80 mV), a drive of 20 mV, dt = 0.1 ms, initial
v ~ N(-55, 2) mV.

Synaptic delay: 0 on both pathways (``delay=0*ms`` given to each ``Synapses`` constructor, a scalar, so
Brian2 keeps its homogeneous-delay code path).  Brian2 runs a delay-0 ``on_pre`` in the ``synapses``
slot, after the step's integration, so a spike emitted in step k first moves the membrane in the
integration of step k + 1: exactly snnjax's delay 0 (lag 1, ``snnjax/delays.py``; checked step for step
by ``tests/test_brian2_delay0.py``).  (Earlier versions of this script used ``delay=dt``, i.e. lag 2, one
step more than the snnjax network has.)

Integration (``--method``):

* snnjax (``sj.neurons.LIF`` + ``sj.outputs.COBA``): the conductances decay exactly
  (``g <- g exp(-dt/tau_g)`` plus the step's arrivals); the synaptic current ``I = g (E - v)`` is computed
  once per step from ``v`` at the start of the step and held constant, and ``v`` is integrated exactly for
  that constant current with the *leak* time constant only:
  ``v <- v + F (1 - exp(-dt/tau))``, ``F = tau dv/dt`` at the start of the step.  Exact for the leak,
  first order (explicit) in the conductance coupling.
* ``exponential_euler`` (the default, and what earlier versions of this script used): decays the
  conductances exactly too, but integrates ``v`` exactly for frozen conductances with the conductance-
  shortened time constant ``tau / G``, ``G = 1 + ge + gi``: ``v <- v + F (1 - exp(-G dt/tau)) / G``.
* ``euler``: forward Euler for everything, ``v <- v + F dt/tau``, ``g <- g (1 - dt/tau_g)``.

Which is closer to snnjax depends on the total conductance ``G = 1 + ge + gi``.  Per step, snnjax's
increment ``F (1 - exp(-h))`` (``h = dt/tau``) differs from Euler's ``F h`` by about ``F h^2 / 2``,
whatever the conductances, and from exponential Euler's ``F (1 - exp(-G h)) / G`` by about
``F (G - 1) h^2 / 2``: exponential Euler is the closer for ``G < 2``, Euler above.  In this network
``G`` is large while it fires (median 28, 10th-90th percentile 12-49, in a snnjax run at N = 4000), so for
``v`` the closer scheme is ``euler``: both it and snnjax treat ``g (E - v)`` explicitly, to first order,
where exponential Euler treats it exactly for frozen ``g``, with the conductance-shortened time constant
(per-step relaxation towards the frozen-conductance equilibrium at G = 28: 0.8603 for snnjax, 0.8600 for
Euler, 0.8694 for exponential Euler).  The conductance decay, on the other hand, is exact in snnjax and in
exponential Euler and first order in Euler (relative error per step ``(dt/tau_g)^2 / 2``: 2e-4 for 5 ms,
5e-5 for 10 ms).  Measured on the same synaptic input (the conductances of 50 E neurons of a snnjax run,
N = 4000, 500 ms, fed to a passive membrane in float64 under each scheme): the RMS distance from snnjax's
``v`` is 0.049 mV for ``euler`` (max 0.17) and 0.071 mV for ``exponential_euler`` (max 0.96), while the
RMS distance from the exact solution is 0.055 mV for ``exponential_euler``, 0.093 for ``euler`` and 0.096
for snnjax.  So: neither Brian2 method is snnjax's scheme; ``euler`` is the closer in this network,
``exponential_euler`` the more accurate.  For a weak single synapse (``G <= 1.5``) exponential Euler is
the closer (``tests/test_brian2_delay0.py``).

It must run in the Brian2 peer environment (brian2==2.9.0, numpy<2.3) with a C++ compiler on the PATH; make it
with ``python benchmarks/peers/make_envs.py`` (folder: ``--dir`` / ``$SNNJAX_PEERS``, default ``.peers/`` in the
clone). Usage (or through ``python benchmarks/compare.py``):

    "$(python benchmarks/peers/make_envs.py --which brian2)" benchmarks/peers/brian2_coba.py --n 4000 --duration 1000 [--method euler]

``--kind cuba`` runs benchmark 2 (CUBA) instead, as ``snnjax/examples/brette.py`` builds it (v_rest -49 mV,
v ~ N(-55, 5) mV, exponential currents of 1.62 and -9 mV, tau 5 / 10 ms, no drive). There the synaptic current
does not depend on ``v``, so ``exponential_euler`` (exact ``v`` for the frozen current, exact decays) is exactly
snnjax's scheme.

(Brian2 compiles with ``make -j``, unbounded; on a shared machine put a file ``brian_preferences`` holding
``devices.cpp_standalone.extra_make_args_unix = []`` in the working directory to build serially.)

Prints one JSON line: ``first_s`` (code generation + C++ build + first run, from a fresh build
directory), ``steady_s`` (the fastest of ``--repeat`` re-runs of the compiled binary, as reported by
Brian2's own timer of the simulation loop), ``steady_wall_s`` (the fastest wall time of the same re-runs,
measured around ``device.run``: the process start, the binary's set-up, including building the synapses
and loading the initial values, the loop, writing the results, and Brian2's check of the results for NaN),
``rate_hz``, ``n``, ``method``, ``delay_ms`` (0).
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
    ap.add_argument(
        "--method",
        default="exponential_euler",
        choices=("exponential_euler", "euler"),
        help="Brian2 integration method (in this network euler is the closer to snnjax's for v; see the docstring)",
    )
    ap.add_argument(
        "--kind",
        default="coba",
        choices=("coba", "cuba"),
        help="benchmark 1 (COBA) or 2 (CUBA: v_rest -49 mV, currents 1.62 / -9 mV, as snnjax/examples/brette.py)",
    )
    args = ap.parse_args()

    build_dir = tempfile.mkdtemp(prefix="brian2_coba_")
    t0 = time.perf_counter()
    b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
    if args.threads:
        b2.prefs.devices.cpp_standalone.openmp_threads = args.threads
    b2.defaultclock.dt = args.dt * ms
    n_e = int(args.n * 0.8)
    p = min(1.0, 80.0 / args.n)
    if args.kind == "coba":
        eqs = """
        dv/dt = (ge * (0*mV - v) + gi * (-80*mV - v) + (-60*mV - v) + 20*mV) / (20*ms) : volt (unless refractory)
        dge/dt = -ge / (5*ms) : 1
        dgi/dt = -gi / (10*ms) : 1
        """
        on_exc, on_inh, v0 = "ge += 0.6", "gi += 6.7", "-55*mV + 2*mV * randn()"
    else:  # CUBA: the current does not depend on v, so exponential_euler is snnjax's scheme (exact v, frozen I)
        eqs = """
        dv/dt = (ge + gi - (v + 49*mV)) / (20*ms) : volt (unless refractory)
        dge/dt = -ge / (5*ms) : volt
        dgi/dt = -gi / (10*ms) : volt
        """
        on_exc, on_inh, v0 = "ge += 1.62*mV", "gi += -9*mV", "-55*mV + 5*mV * randn()"
    group = b2.NeuronGroup(
        args.n, eqs, threshold="v > -50*mV", reset="v = -60*mV", refractory=5 * ms, method=args.method
    )
    group.v = v0
    # delay 0, a scalar in the constructor (homogeneous delays): acts in the next step's integration = snnjax lag 1
    exc = b2.Synapses(group[:n_e], group, on_pre=on_exc, delay=0 * ms)
    exc.connect(p=p)
    inh = b2.Synapses(group[n_e:], group, on_pre=on_inh, delay=0 * ms)
    inh.connect(p=p)
    spikes = b2.SpikeMonitor(group, record=False)  # counts only
    b2.run(args.duration * ms)
    b2.device.build(directory=build_dir, compile=True, run=True)
    first_s = time.perf_counter() - t0
    count = int(spikes.num_spikes)

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
                "bench": args.kind,
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
                "cpu": platform.processor() or platform.machine(),
                "pid": os.getpid(),
            }
        )
    )


if __name__ == "__main__":
    main()
