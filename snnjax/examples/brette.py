"""Brette et al. (2007) benchmarks 1 (COBA) and 2 (CUBA): the networks, and the benchmark command line
used by ``benchmarks/coba.py`` and ``benchmarks/cuba.py`` (one JSON line per run).

The network is the one BrainPy's examples use (Vogels & Abbott 2005 parameters): 80% excitatory and
20% inhibitory LIF neurons (v_rest -60 mV, threshold -50 mV, reset -60 mV, tau 20 ms, refractory 5 ms),
random connectivity with p = 80 / N so that every neuron receives about 80 synapses at every N, and
exponential synapses. COBA: conductances relative to leak, 0.6 (excitatory, tau 5 ms, E = 0 mV) and
6.7 (inhibitory, tau 10 ms, E = -80 mV), a constant drive of 20 mV (input 20 with r = 1). CUBA:
v_rest -49 mV, currents 1.62 and -9 mV (input units with r = 1), no drive.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np

import snnjax as sj

COBA_INPUTS = [("E.input", 20.0), ("I.input", 20.0)]
COBAHH_INPUTS = [("E.input", 5.0), ("I.input", 5.0)]  # uA/cm^2


def stdp_rule(w_exc: float) -> sj.plasticity.STDP:
    """The STDP rule of the plastic benchmark (``--plasticity stdp``) for an excitatory weight ``w_exc``: Brian2's
    canonical synapse with ``a_plus = 0.01 w_exc``, ``a_minus = 0.0105 w_exc``, 20 ms windows, weights in
    ``[0, 2 w_exc]`` (as ``benchmarks/peers/brian2_coba_stdp.py``)."""
    return sj.plasticity.STDP(a_plus=0.01 * w_exc, a_minus=0.0105 * w_exc, tau_plus=20.0, tau_minus=20.0,
                              w_min=0.0, w_max=2.0 * w_exc)  # fmt: skip


def build(
    n: int, kind: str = "coba", method: str = "auto", seed: int = 0, plasticity: str = "none", deferred: bool = False
) -> sj.Network:
    """The E/I network of ``n`` neurons (populations ``E`` and ``I``, projections ``EE``, ``EI``, ``IE``,
    ``II``); ``kind`` is ``"coba"``, ``"cuba"`` or ``"cobahh"``; drive it with :data:`COBA_INPUTS` for COBA and
    :data:`COBAHH_INPUTS` for COBAHH. ``plasticity="stdp"`` puts :func:`stdp_rule` on ``EE`` (its weights then
    live in the state, ``state.synapses["EE"].w``). ``deferred=True`` builds it with :meth:`snnjax.Network.deferred`
    (synapse lists built per device; it then runs only with ``devices=``).

    ``"cobahh"`` is benchmark 3's structure (Hodgkin-Huxley neurons, exponential COBA synapses, tau 5 / 10 ms,
    E = 0 / -80 mV) with snnjax's ``HH`` (the classic squid-axon kinetics of BrainPy's ``HH``, per cm^2, not
    the Traub-Miles channels of the original), conductances 0.1 (E) and 1.0 (I) mS/cm^2 and a drive of
    5 uA/cm^2; it fires asynchronously at about 9 Hz."""
    if not isinstance(n, int) or n < 5:
        raise ValueError(f"build: n must be an int >= 5, got {n!r}")
    if plasticity not in ("none", "stdp"):
        raise ValueError(f"build: plasticity must be 'none' or 'stdp', got {plasticity!r}")
    n_e = int(n * 0.8)
    n_i = n - n_e
    p = min(1.0, 80.0 / n)
    if kind == "coba":
        lif = dict(v_rest=-60.0, v_th=-50.0, v_reset=-60.0, tau=20.0, tau_ref=5.0, v_init=sj.init.Normal(-55.0, 2.0))
        exc = dict(synapse=sj.synapses.Exponential(tau=5.0), output=sj.outputs.COBA(E=0.0), weight=0.6)
        inh = dict(synapse=sj.synapses.Exponential(tau=10.0), output=sj.outputs.COBA(E=-80.0), weight=6.7)
    elif kind == "cobahh":
        hh = dict(v_init=sj.init.Normal(-65.0, 5.0))
        exc = dict(synapse=sj.synapses.Exponential(tau=5.0), output=sj.outputs.COBA(E=0.0), weight=0.1)
        inh = dict(synapse=sj.synapses.Exponential(tau=10.0), output=sj.outputs.COBA(E=-80.0), weight=1.0)
        return _ei(sj.neurons.HH(n_e, **hh), sj.neurons.HH(n_i, **hh), p, exc, inh, method, seed, plasticity, deferred)
    elif kind == "cuba":
        lif = dict(v_rest=-49.0, v_th=-50.0, v_reset=-60.0, tau=20.0, tau_ref=5.0, v_init=sj.init.Normal(-55.0, 5.0))
        exc = dict(synapse=sj.synapses.Exponential(tau=5.0), output=sj.outputs.CUBA(), weight=1.62)
        inh = dict(synapse=sj.synapses.Exponential(tau=10.0), output=sj.outputs.CUBA(), weight=-9.0)
    else:
        raise ValueError(f"build: kind must be 'coba', 'cuba' or 'cobahh', got {kind!r}")
    return _ei(sj.neurons.LIF(n_e, **lif), sj.neurons.LIF(n_i, **lif), p, exc, inh, method, seed, plasticity, deferred)


def _ei(e, i, p, exc, inh, method, seed, plasticity="none", deferred=False):
    # method "jit": the same Bernoulli(p) connectivity regenerated in every step, never stored
    fixed = sj.jitconn.JitFixedProb if method == "jit" else sj.conn.FixedProb
    rule = stdp_rule(exc["weight"]) if plasticity == "stdp" else None
    return (sj.Network.deferred if deferred else sj.Network)(
        E=e,
        I=i,
        EE=sj.Projection("E", "E", conn=fixed(p, seed=seed + 1), method=method, plasticity=rule, **exc),
        EI=sj.Projection("E", "I", conn=fixed(p, seed=seed + 2), method=method, **exc),
        IE=sj.Projection("I", "E", conn=fixed(p, seed=seed + 3), method=method, **inh),
        II=sj.Projection("I", "I", conn=fixed(p, seed=seed + 4), method=method, **inh),
    )


def main(kind: str) -> None:
    """Benchmark command line: ``--n``, ``--duration`` (ms), ``--dt`` (ms), ``--method``, ``--repeat``,
    ``--plasticity``, ``--devices`` and ``--deferred``."""
    ap = argparse.ArgumentParser(description=f"Brette et al. 2007 {kind.upper()} benchmark in snnjax")
    ap.add_argument("--n", type=int, default=4000, help="number of neurons")
    ap.add_argument("--duration", type=float, default=1000.0, help="simulated time, ms")
    ap.add_argument("--dt", type=float, default=0.1, help="time step, ms")
    ap.add_argument("--method", default="auto", choices=sj.projection.METHODS, help="propagation kernel")
    ap.add_argument("--repeat", type=int, default=3, help="compiled runs timed; steady_s is the fastest")
    ap.add_argument("--plasticity", default="none", choices=("none", "stdp"), help="STDP on E->E (stdp_rule)")
    ap.add_argument(
        "--devices",
        type=int,
        default=None,
        help="split the network over the first K devices (snnjax.sharding; on a CPU, set "
        "XLA_FLAGS=--xla_force_host_platform_device_count=K before starting)",
    )
    ap.add_argument(
        "--deferred",
        action="store_true",
        help="with --devices: build the network with snnjax.Network.deferred (each device's synapse list built "
        "from the connector's seed; no whole list on the host)",
    )
    args = ap.parse_args()
    if args.deferred and args.devices is None:
        raise SystemExit("--deferred needs --devices K (a deferred network runs only split over devices)")
    if args.devices is not None:
        return _main_sharded(kind, args)

    t0 = time.perf_counter()
    net = build(args.n, kind, args.method, plasticity=args.plasticity)
    build_s = time.perf_counter() - t0
    inputs = {"coba": COBA_INPUTS, "cobahh": COBAHH_INPUTS}.get(kind, [])
    count = ("spikes", lambda s: s.neurons["E"].spike.sum() + s.neurons["I"].spike.sum())

    @jax.jit
    def run(net, state):
        return sj.simulate(net, state, duration=args.duration, dt=args.dt, inputs=inputs, monitors=[count])

    state = net.init(key=jax.random.key(0), dt=args.dt)
    t0 = time.perf_counter()
    out_state, rec = jax.block_until_ready(run(net, state))
    first_state = out_state
    first_s = time.perf_counter() - t0
    first_spikes = float(jnp.sum(rec["spikes"]))
    times = []
    for _ in range(max(1, args.repeat)):  # the machine is shared: the fastest run is the least disturbed
        t0 = time.perf_counter()
        out_state, rec = jax.block_until_ready(run(net, out_state))
        times.append(time.perf_counter() - t0)
    n_syn = sum(  # expected count for just-in-time connectivity (nothing stored)
        round(p.conn.p * p.topology.n_pre * p.topology.n_post) if p.conn is not None else p.topology.n_syn
        for p in net.projections.values()
    )
    rate = float(jnp.sum(rec["spikes"])) / args.n / (args.duration / 1000.0)
    nbytes = sum(x.nbytes for x in jax.tree.leaves((net, state)) if hasattr(x, "nbytes"))
    print(
        json.dumps(
            {
                **_common(kind, args, net, n_syn, build_s, first_s, times),
                "rate_hz": round(rate, 2),
                "spikes": int(first_spikes),
                "devices": 1,
                "bytes_per_device": int(nbytes),
                "exchange_bytes_per_step": 0,
                "plasticity": args.plasticity,
                **(
                    {"mean_w_final": round(float(jnp.mean(first_state.synapses["EE"].w)), 6)}
                    if args.plasticity == "stdp"
                    else {}
                ),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "jax": jax.__version__,
                "backend": jax.default_backend(),
                "cpu": platform.processor() or platform.machine(),
            }
        )
    )


def _common(kind: str, args, net: sj.Network, n_syn: int, build_s: float, first_s: float, times: list) -> dict:
    """The JSON fields every benchmark line has: the run's description and its times (s)."""
    return {
        "bench": kind,
        "lib": "snnjax",
        "n": args.n,
        "duration_ms": args.duration,
        "dt": args.dt,
        "methods": sorted({p.method for p in net.projections.values()}),
        "synapses": n_syn,
        "build_s": round(build_s, 3),
        "first_s": round(first_s, 3),
        "steady_s": round(min(times), 3),
        "steady_median_s": round(sorted(times)[len(times) // 2], 3),
    }


def _main_sharded(kind: str, args) -> None:
    """``--devices K``: the same network and run through ``Runner(..., devices=jax.devices()[:K])``; spikes are
    counted with ``SpikeCount`` reducers (no raster leaves the devices)."""
    if args.devices < 1 or args.devices > len(jax.devices()):
        raise SystemExit(
            f"--devices {args.devices}: this process sees {len(jax.devices())} device(s); on a CPU start it with "
            f"XLA_FLAGS=--xla_force_host_platform_device_count={max(args.devices, 1)}"
        )
    t0 = time.perf_counter()
    net = build(args.n, kind, args.method, plasticity=args.plasticity, deferred=args.deferred)
    inputs = {"coba": COBA_INPUTS, "cobahh": COBAHH_INPUTS}.get(kind, [])
    counts = [sj.monitors.SpikeCount("nE", "E"), sj.monitors.SpikeCount("nI", "I")]
    runner = sj.Runner(net, dt=args.dt, inputs=inputs, monitors=counts, chunk=args.duration,
                       devices=jax.devices()[: args.devices])  # fmt: skip
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    mon = runner.run(args.duration)
    first_s = time.perf_counter() - t0
    spikes = int(round(float(np.sum(mon["nE"]) + np.sum(mon["nI"]))))
    times = []
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        last = runner.run(args.duration)
        times.append(time.perf_counter() - t0)
    last_spikes = float(np.sum(last["nE"]) + np.sum(last["nI"]))  # rate_hz of the last run, as without --devices
    shard = runner.shard
    n_syn = sum(p.topology.n_syn for p in net.projections.values())
    print(
        json.dumps(
            {
                **_common(kind, args, net, n_syn, build_s, first_s, times),
                "devices": args.devices,
                "spikes": spikes,
                "rate_hz": round(last_spikes / args.n / (args.duration / 1000.0), 2),
                "bytes_per_device": shard.bytes_per_device(runner.state),
                "exchange_bytes_per_step": shard.exchange_bytes_per_step(),
                "exchanges_per_step": shard.exchanges_per_step(),
                "deferred": args.deferred,
                "host_list_bytes": shard.host_list_bytes(),
                "plasticity": args.plasticity,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "jax": jax.__version__,
                "backend": jax.default_backend(),
                "cpu": platform.processor() or platform.machine(),
            }
        )
    )
