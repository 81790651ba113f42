"""Generate Brian2 2.9.0 reference data for STDP on an explicit, unsorted synapse list with per-synapse delays.

Writes, next to this file:
  brian2_stdp.npz            spike trains, synapse list, parameters, weight trajectories, final traces
  brian2_stdp_versions.json  versions of brian2 / numpy / python

Run in the Brian2 peer venv (brian2==2.9.0 with numpy<2.3), made by benchmarks/peers/make_envs.py (folder:
--dir / $SNNJAX_PEERS, default .peers/ in the clone):

    python benchmarks/peers/make_envs.py --peer brian2
    "$(python benchmarks/peers/make_envs.py --which brian2)" tests/data/make_brian2_stdp.py

Setup (codegen target numpy, dt = 0.1 ms, duration 300 ms -> T = 3000 steps, t_j = j dt):
  pre  = SpikeGeneratorGroup(6), post = SpikeGeneratorGroup(5).  Spike trains are drawn as integer step
  indices (numpy ``default_rng(0)``; ~25 Hz Bernoulli background plus two deliberate near-coincident
  pre/post pairs per synapse, post step - arrival step in [-30, 30] steps, several of them exactly 0),
  at most one spike per neuron per step, none in step 0; times = steps * dt.
  16 distinct (pre, post) pairs in a deliberately unsorted order (``pre_idx``, ``post_idx``), connected
  with ``S.connect(i=pre_idx, j=post_idx)`` (Brian2 keeps that order: synapse k is pair k; asserted),
  per-synapse delays (``delays``, ms) from {0.1, 0.2, 0.5, 1.0, 1.5, 3.0} (each used at least once), initial weights ``w0`` ~ U[0.3, 0.7].

Timing convention (Brian2's default schedule start, groups, thresholds, synapses, resets, end):
  * a presynaptic spike emitted in step k (t_s = k dt, ``thresholds`` slot) runs that synapse's ``on_pre``
    in step k + round(delay/dt), i.e. at t_s + delay (``synapses`` slot);
  * a postsynaptic spike in step k runs ``on_post`` in step k (no delay on the post pathway);
  * in one step, every ``on_pre`` runs before every ``on_post`` (Brian2 gives the ``pre`` pathway
    order -1, the ``post`` pathway order +1; asserted below), so a presynaptic arrival and a postsynaptic
    spike in the same step count as "pre before post" (potentiation sees the fresh ``apre``);
  * all traces are event-driven: at each event of a synapse, ``x <- x exp(-(t - lastupdate)/tau)`` (exact),
    then the pathway code, then ``lastupdate = t``;
  * ``StateMonitor(S, 'w', record=True, when='end')``: ``{v}_w[j]`` is the weight after step j (t = j dt).

Variants (npz key prefix v), parameters a_plus=0.01, a_minus=0.0105, tau_plus=tau_minus=20 ms, w in [0, 1]:
  pair     on_pre : apre += 1; w = clip(w - a_minus*apost, w_min, w_max)
           on_post: apost += 1; w = clip(w + a_plus*apre, w_min, w_max)
  nearest  the same with apre = 1 / apost = 1 (nearest-spike pairing)
  soft     on_pre : apre += 1; w = w - (w - w_min)*a_minus*apost
           on_post: apost += 1; w = w + (w_max - w)*a_plus*apre
  triplet  Pfister & Gerstner (2006), all-to-all; r1 (tau_plus=20), r2 (tau_x=100), o1 (tau_minus=20),
           o2 (tau_y=125); a2_plus=0.005, a3_plus=0.006, a2_minus=0.007, a3_minus=0.002, hard bounds [0, 1]
           on_pre : w = clip(w - o1*(a2_minus + a3_minus*r2), w_min, w_max); r1 += 1; r2 += 1
           on_post: w = clip(w + r1*(a2_plus + a3_plus*o2), w_min, w_max); o1 += 1; o2 += 1
  scalar   pair, but one (scalar) delay of ``scalar_delay`` = 1.0 ms for all synapses
           (``Synapses(..., delay=1*ms)``, Brian2's homogeneous-delay path).

npz keys: dt, duration (ms), n_steps, seed, pre_idx, post_idx (int64, the given unsorted order), delays (ms),
  w0, pre_times, pre_neurons, post_times, post_neurons (ms / indices, sorted by time), pre_steps, post_steps
  (the integer steps), the parameters, and per variant v:
  {v}_w        (T, 16) float64, weight after each step
  {v}_w_final  (16,) float64 (= {v}_w[-1])
  traces (pair/nearest/soft/scalar: apre, apost; triplet: r1, r2, o1, o2):
  {v}_{x}      (16,) float64, the trace decayed to the last step's time t = (T-1) dt (state after step T-1)
  {v}_{x}_raw  (16,) float64, Brian2's stored value (valid at lastupdate)
  {v}_lastupdate (16,) float64, ms, time of the synapse's last event (0 if none)

Self-check: an independent pure-NumPy event loop (per step: arrivals first, then post spikes, traces decayed
exactly) recomputes every variant's weight trajectory and final traces; agreement to 1e-9 is asserted.
"""

import json
import os
import platform
import sys

import brian2
import numpy as np
from brian2 import Network, SpikeGeneratorGroup, SpikeMonitor, StateMonitor, Synapses, defaultclock, ms, prefs

prefs.codegen.target = "numpy"
HERE = os.path.dirname(os.path.abspath(__file__))
DT = 0.1  # ms
DURATION = 300.0  # ms
T = int(round(DURATION / DT))
SEED = 0
N_PRE, N_POST, N_SYN = 6, 5, 16
DELAY_CHOICES = np.array([0.1, 0.2, 0.5, 1.0, 1.5, 3.0])
BACKGROUND_HZ = 25.0  # + 2 deliberate pairs per synapse -> ~40 Hz per neuron
SCALAR_DELAY = 1.0

PAIR = dict(a_plus=0.01, a_minus=0.0105, tau_plus=20.0, tau_minus=20.0, w_min=0.0, w_max=1.0)
TRIPLET = dict(tau_x=100.0, tau_y=125.0, a2_plus=0.005, a3_plus=0.006, a2_minus=0.007, a3_minus=0.002)

TRACES = dict(
    pair=("apre", "apost"),
    nearest=("apre", "apost"),
    soft=("apre", "apost"),
    scalar=("apre", "apost"),
    triplet=("r1", "r2", "o1", "o2"),
)
TAUS = dict(apre="tau_plus", apost="tau_minus", r1="tau_plus", r2="tau_x", o1="tau_minus", o2="tau_y")


def make_inputs():
    rng = np.random.default_rng(SEED)
    pairs = [(i, j) for i in range(N_PRE) for j in range(N_POST)]
    sel = rng.choice(len(pairs), N_SYN, replace=False)
    rng.shuffle(sel)
    pre_idx = np.array([pairs[k][0] for k in sel], np.int64)
    post_idx = np.array([pairs[k][1] for k in sel], np.int64)
    assert np.any(np.diff(pre_idx) < 0), "synapse list should be unsorted"
    choices = np.rint(DELAY_CHOICES / DT).astype(int)
    dsteps = np.concatenate([choices, rng.choice(choices, N_SYN - choices.size)])  # every value at least once
    rng.shuffle(dsteps)
    delays = dsteps * DT
    w0 = rng.uniform(0.3, 0.7, N_SYN)

    p = BACKGROUND_HZ * 1e-3 * DT
    pre_sets = [set(np.flatnonzero(rng.random(T) < p).tolist()) for _ in range(N_PRE)]
    post_sets = [set(np.flatnonzero(rng.random(T) < p).tolist()) for _ in range(N_POST)]
    # two deliberate near-coincident pairs per synapse: post step - arrival step = off
    offs = np.concatenate([np.zeros(8, int), np.array([1, -1, 2, -2]), rng.integers(-30, 31, 2 * N_SYN - 12)])
    rng.shuffle(offs)
    for k in range(2 * N_SYN):
        s = k % N_SYN
        while True:
            ks = int(rng.integers(1, T - 40))
            kp = ks + int(dsteps[s]) + int(offs[k])
            if 1 <= kp < T:
                break
        pre_sets[pre_idx[s]].add(ks)
        post_sets[post_idx[s]].add(kp)
    pre_sets = [{k for k in st if k >= 1} for st in pre_sets]  # no spike in step 0
    post_sets = [{k for k in st if k >= 1} for st in post_sets]

    def flat(sets):
        steps = np.array([k for st in sets for k in sorted(st)], np.int64)
        neurons = np.array([n for n, st in enumerate(sets) for _ in st], np.int64)
        order = np.lexsort((neurons, steps))
        return steps[order], neurons[order]

    pre_steps, pre_neurons = flat(pre_sets)
    post_steps, post_neurons = flat(post_sets)
    return pre_idx, post_idx, dsteps, delays, w0, pre_steps, pre_neurons, post_steps, post_neurons


def model_code(variant):
    pair_eqs = """w : 1
                  dapre/dt = -apre/tau_plus : 1 (event-driven)
                  dapost/dt = -apost/tau_minus : 1 (event-driven)"""
    if variant in ("pair", "scalar"):
        return (
            pair_eqs,
            "apre += 1\nw = clip(w - a_minus*apost, w_min, w_max)",
            "apost += 1\nw = clip(w + a_plus*apre, w_min, w_max)",
        )
    if variant == "nearest":
        return (
            pair_eqs,
            "apre = 1\nw = clip(w - a_minus*apost, w_min, w_max)",
            "apost = 1\nw = clip(w + a_plus*apre, w_min, w_max)",
        )
    if variant == "soft":
        return (pair_eqs, "apre += 1\nw = w - (w - w_min)*a_minus*apost", "apost += 1\nw = w + (w_max - w)*a_plus*apre")
    if variant == "triplet":
        eqs = """w : 1
                 dr1/dt = -r1/tau_plus : 1 (event-driven)
                 dr2/dt = -r2/tau_x : 1 (event-driven)
                 do1/dt = -o1/tau_minus : 1 (event-driven)
                 do2/dt = -o2/tau_y : 1 (event-driven)"""
        return (
            eqs,
            "w = clip(w - o1*(a2_minus + a3_minus*r2), w_min, w_max)\nr1 += 1\nr2 += 1",
            "w = clip(w + r1*(a2_plus + a3_plus*o2), w_min, w_max)\no1 += 1\no2 += 1",
        )
    raise ValueError(variant)


def run_brian(pre_idx, post_idx, delays, w0, pre_steps, pre_neurons, post_steps, post_neurons):
    defaultclock.dt = DT * ms
    pre = SpikeGeneratorGroup(N_PRE, pre_neurons, (pre_steps * DT) * ms)
    post = SpikeGeneratorGroup(N_POST, post_neurons, (post_steps * DT) * ms)
    ns = {k: v for k, v in PAIR.items()}
    ns.update(TRIPLET)
    for k in ("tau_plus", "tau_minus", "tau_x", "tau_y"):
        ns[k] = ns[k] * ms
    objs, syns, mons = [pre, post], {}, {}
    for v in ("pair", "nearest", "soft", "triplet", "scalar"):
        eqs, on_pre, on_post = model_code(v)
        kw = dict(delay=SCALAR_DELAY * ms) if v == "scalar" else {}
        S = Synapses(pre, post, model=eqs, on_pre=on_pre, on_post=on_post, namespace=ns, name=f"syn_{v}", **kw)
        S.connect(i=pre_idx, j=post_idx)
        assert np.array_equal(np.asarray(S.i[:]), pre_idx) and np.array_equal(np.asarray(S.j[:]), post_idx)
        if v != "scalar":
            S.delay = delays * ms
        S.w = w0
        assert S.pre.when == S.post.when == "synapses" and S.pre.order < S.post.order  # on_pre before on_post
        syns[v], mons[v] = S, StateMonitor(S, "w", record=True, when="end", name=f"mon_{v}")
        objs += [S, mons[v]]
    spre, spost = SpikeMonitor(pre), SpikeMonitor(post)
    net = Network(*objs, spre, spost)
    net.run(DURATION * ms, namespace={})
    # the spike trains Brian2 actually emitted are exactly the intended steps
    got = np.rint(np.asarray(spre.t / ms) / DT).astype(int)
    assert np.array_equal(np.sort(got), np.sort(pre_steps)) and len(got) == len(pre_steps)
    got = np.rint(np.asarray(spost.t / ms) / DT).astype(int)
    assert np.array_equal(np.sort(got), np.sort(post_steps)) and len(got) == len(post_steps)
    sched = [(o.name, o.when, o.order) for o in net.sorted_objects]
    out = {}
    for v, S in syns.items():
        mon = mons[v]
        tt = np.asarray(mon.t / ms)
        assert tt.shape == (T,) and np.allclose(tt, np.arange(T) * DT)
        out[f"{v}_w"] = np.asarray(mon.w, np.float64).T.copy()  # (T, 16)
        out[f"{v}_w_final"] = np.asarray(S.w[:], np.float64)
        lu = np.asarray(S.lastupdate[:] / ms, np.float64)
        out[f"{v}_lastupdate"] = lu
        for x in TRACES[v]:
            raw = np.asarray(getattr(S, x)[:], np.float64)
            tau = (PAIR | TRIPLET)[TAUS[x]]
            out[f"{v}_{x}_raw"] = raw
            out[f"{v}_{x}"] = raw * np.exp(-((T - 1) * DT - lu) / tau)
    return out, sched


def reference(variant, pre_idx, post_idx, dsteps, w0, pre_steps, pre_neurons, post_steps, post_neurons):
    """Independent pure-NumPy per-synapse event loop (no Brian2)."""
    P = PAIR | TRIPLET
    w_all = np.empty((T, N_SYN))
    finals = {x: np.zeros(N_SYN) for x in TRACES[variant]}
    for s in range(N_SYN):
        d = int(round(SCALAR_DELAY / DT)) if variant == "scalar" else int(dsteps[s])
        arr = pre_steps[pre_neurons == pre_idx[s]] + d
        arr = arr[arr < T]
        pst = post_steps[post_neurons == post_idx[s]]
        events = sorted([(int(k), 0) for k in arr] + [(int(k), 1) for k in pst])  # (step, 0=pre before 1=post)
        tr = {x: 0.0 for x in TRACES[variant]}
        w, last, j = float(w0[s]), 0, 0
        for k, kind in events:
            w_all[j:k, s] = w
            j = k
            for x in tr:
                tr[x] *= np.exp(-(k - last) * DT / P[TAUS[x]])
            last = k
            if variant == "triplet":
                if kind == 0:
                    w = min(max(w - tr["o1"] * (P["a2_minus"] + P["a3_minus"] * tr["r2"]), P["w_min"]), P["w_max"])
                    tr["r1"] += 1.0
                    tr["r2"] += 1.0
                else:
                    w = min(max(w + tr["r1"] * (P["a2_plus"] + P["a3_plus"] * tr["o2"]), P["w_min"]), P["w_max"])
                    tr["o1"] += 1.0
                    tr["o2"] += 1.0
                continue
            if kind == 0:
                tr["apre"] = 1.0 if variant == "nearest" else tr["apre"] + 1.0
                if variant == "soft":
                    w = w - (w - P["w_min"]) * P["a_minus"] * tr["apost"]
                else:
                    w = min(max(w - P["a_minus"] * tr["apost"], P["w_min"]), P["w_max"])
            else:
                tr["apost"] = 1.0 if variant == "nearest" else tr["apost"] + 1.0
                if variant == "soft":
                    w = w + (P["w_max"] - w) * P["a_plus"] * tr["apre"]
                else:
                    w = min(max(w + P["a_plus"] * tr["apre"], P["w_min"]), P["w_max"])
        w_all[j:, s] = w
        for x in tr:
            finals[x][s] = tr[x] * np.exp(-(T - 1 - last) * DT / P[TAUS[x]])
    return w_all, finals


def main():
    pre_idx, post_idx, dsteps, delays, w0, pre_steps, pre_neurons, post_steps, post_neurons = make_inputs()
    res, sched = run_brian(pre_idx, post_idx, delays, w0, pre_steps, pre_neurons, post_steps, post_neurons)
    print("schedule (name, when, order):", [s for s in sched if s[0].startswith("syn_pair") or s[0] == "mon_pair"])

    # coincidence statistics (per synapse: post step - arrival step within 0..30 steps / exactly 0)
    for label, ds in (("per-synapse delays", dsteps), ("scalar delay", np.full(N_SYN, int(SCALAR_DELAY / DT)))):
        n_near = n_same = 0
        for s in range(N_SYN):
            arr = pre_steps[pre_neurons == pre_idx[s]] + ds[s]
            pst = post_steps[post_neurons == post_idx[s]]
            diff = pst[None, :] - arr[:, None]
            n_near += int(np.sum(np.abs(diff) <= 30))
            n_same += int(np.sum(diff == 0))
        print(f"{label}: {n_near} arrival/post pairs within 3 ms, {n_same} in the same step")
    print(
        f"pre spikes {len(pre_steps)} ({len(pre_steps) / N_PRE / DURATION * 1e3:.1f} Hz/neuron), "
        f"post spikes {len(post_steps)} ({len(post_steps) / N_POST / DURATION * 1e3:.1f} Hz/neuron)"
    )

    for v in ("pair", "nearest", "soft", "triplet", "scalar"):
        w_ref, tr_ref = reference(v, pre_idx, post_idx, dsteps, w0, pre_steps, pre_neurons, post_steps, post_neurons)
        d_final = np.max(np.abs(w_ref[-1] - res[f"{v}_w_final"]))
        d_traj = np.max(np.abs(w_ref - res[f"{v}_w"]))
        d_tr = max(np.max(np.abs(tr_ref[x] - res[f"{v}_{x}"])) for x in TRACES[v])
        n_change = int(np.sum(np.diff(res[f"{v}_w"], axis=0) != 0))
        print(
            f"self-check {v:8s}: max|dw_final| {d_final:.3e}  max|dw(t)| {d_traj:.3e}  max|dtrace| {d_tr:.3e}"
            f"  ({n_change} weight changes, final w in [{res[f'{v}_w_final'].min():.4f}, "
            f"{res[f'{v}_w_final'].max():.4f}])"
        )
        assert d_final < 1e-9 and d_traj < 1e-9 and d_tr < 1e-9, v

    out = dict(
        dt=DT,
        duration=DURATION,
        n_steps=T,
        seed=SEED,
        pre_idx=pre_idx,
        post_idx=post_idx,
        delays=delays,
        w0=w0,
        pre_times=pre_steps * DT,
        pre_neurons=pre_neurons,
        post_times=post_steps * DT,
        post_neurons=post_neurons,
        pre_steps=pre_steps,
        post_steps=post_steps,
        scalar_delay=SCALAR_DELAY,
        **PAIR,
        **TRIPLET,
        **res,
    )
    path = os.path.join(HERE, "brian2_stdp.npz")
    np.savez_compressed(path, **out)
    versions = dict(
        brian2=brian2.__version__,
        numpy=np.__version__,
        python=sys.version.split()[0],
        platform=platform.platform(),
        codegen_target="numpy",
        pip="pip install brian2==2.9.0 'numpy<2.3'",
    )
    with open(os.path.join(HERE, "brian2_stdp_versions.json"), "w") as fh:
        json.dump(versions, fh, indent=2, sort_keys=True)
        fh.write("\n")
    print({k: np.shape(v) for k, v in out.items() if np.ndim(v)})
    print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
