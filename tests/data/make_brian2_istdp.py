"""Generate Brian2 2.9.0 reference data for Vogels-Sprekeler (2011) inhibitory STDP, synapse by synapse.

Made as ``make_brian2_stdp.py`` makes the STDP reference (same spike-train generator, same timing conventions).

Writes, next to this file:
  brian2_istdp.npz            spike trains, synapse list, parameters, weight trajectories, final traces
  brian2_istdp_versions.json  versions of brian2 / numpy / python

Run it with the Brian2 2.9.0 peer environment (outside the repository; brian2==2.9.0 with numpy<2.3). The peers
live in the folder named by the environment variable ``SNNJAX_PEERS`` (default ``.peers/`` in the clone), which
``python benchmarks/peers/make_envs.py`` creates; then, from the clone's root:

    python benchmarks/peers/make_envs.py
    ${SNNJAX_PEERS:-.peers}/brian2/bin/python tests/data/make_brian2_istdp.py

or by hand, in any folder outside the repository:

    python3 -m venv /work/peers-istdp/brian2
    /work/peers-istdp/brian2/bin/pip install 'brian2==2.9.0' 'numpy<2.3'
    /work/peers-istdp/brian2/bin/python tests/data/make_brian2_istdp.py

The rule (Brian2's example ``examples/frompapers/Vogels_et_al_2011.py``, after Vogels, Sprekeler, Zenke, Clopath
& Gerstner 2011, Science 334:1569): one trace per side, both decaying with ``tau_stdp`` (event-driven),

  w : 1
  dapre/dt  = -apre/tau_stdp  : 1 (event-driven)
  dapost/dt = -apost/tau_stdp : 1 (event-driven)
  on_pre : apre += 1;  w = clip(w + eta*(apost - alpha), w_min, w_max)
  on_post: apost += 1; w = clip(w + eta*apre, w_min, w_max)

with ``alpha = 2*rho0*tau_stdp`` (target rate rho0): a presynaptic arrival depresses by ``eta*alpha`` and
potentiates by ``eta*apost``; a postsynaptic spike potentiates by ``eta*apre`` (symmetric in the spike timing).

Setup (codegen target numpy, dt = 0.1 ms, duration 300 ms -> T = 3000 steps, t_j = j dt):
  pre  = SpikeGeneratorGroup(6), post = SpikeGeneratorGroup(5).  Spike trains are drawn as integer step
  indices (numpy ``default_rng(SEED)``; ~25 Hz Bernoulli background plus two deliberate near-coincident
  pre/post pairs per synapse, post step - arrival step in [-30, 30] steps, eight of them exactly 0),
  at most one spike per neuron per step, none in step 0; times = steps * dt.
  16 distinct (pre, post) pairs in a deliberately unsorted order (``pre_idx``, ``post_idx``), connected
  with ``S.connect(i=pre_idx, j=post_idx)`` (Brian2 keeps that order: synapse k is pair k; asserted),
  per-synapse delays (``delays``, ms) from {0.1, 0.2, 0.5, 1.0, 1.5, 3.0} (each used at least once),
  initial weights ``w0`` ~ U[0.05, 0.95] (wide, so that weights reach the bounds within the run).

Timing convention (Brian2's default schedule start, groups, thresholds, synapses, resets, end):
  * a presynaptic spike emitted in step k (t_s = k dt, ``thresholds`` slot) runs that synapse's ``on_pre``
    in step k + round(delay/dt), i.e. at t_s + delay (``synapses`` slot);
  * a postsynaptic spike in step k runs ``on_post`` in step k (no delay on the post pathway);
  * in one step, every ``on_pre`` runs before every ``on_post`` (Brian2 gives the ``pre`` pathway
    order -1, the ``post`` pathway order +1; asserted below): for an arrival and a postsynaptic spike in the
    same step, on_pre sees the old ``apost`` and on_post sees the fresh ``apre`` (its + 1 included);
  * all traces are event-driven: at each event of a synapse, ``x <- x exp(-(t - lastupdate)/tau_stdp)`` (exact),
    then the pathway code, then ``lastupdate = t``;
  * ``StateMonitor(S, 'w', record=True, when='end')``: ``{v}_w[j]`` is the weight after step j (t = j dt).

Variants (npz key prefix v), tau_stdp = 20 ms for all; the parameters of each are stored per variant:
  vogels     rho0 = 10 Hz (alpha = 0.4), eta = 0.01, w in [0, 1], per-synapse delays; the weights grow
             (the trains fire at 40-48 Hz, above rho0) and 4 of the 16 reach w_max = 1 (22 clipped updates)
  high_rho   rho0 = 80 Hz (alpha = 3.2), eta = 0.01, w in [0, 1]: the alpha term dominates, the weights fall
             and one reaches w_min = 0 (6 clipped updates; a wrong sign or a lost alpha shows here)
  unbounded  rho0 = 30 Hz (alpha = 1.2), eta = 0.02, no clip at all (``{v}_w_min`` = -inf, ``{v}_w_max`` = +inf):
             on_pre : apre += 1;  w = w + eta*(apost - alpha)
             on_post: apost += 1; w = w + eta*apre
  nearest    vogels with nearest-spike traces: ``apre = 1`` / ``apost = 1`` in place of ``+= 1``
  scalar     vogels, but one (scalar) delay of ``scalar_delay`` = 1.0 ms for all synapses
             (``Synapses(..., delay=1*ms)``, Brian2's homogeneous-delay path).

npz keys: dt, duration (ms), n_steps, seed, pre_idx, post_idx (int64, the given unsorted order), delays (ms),
  w0, pre_times, pre_neurons, post_times, post_neurons (ms / indices, sorted by time), pre_steps, post_steps
  (the integer steps), tau_stdp (ms), scalar_delay (ms), variants (the variant names), and per variant v:
  {v}_rho0 (Hz), {v}_alpha (= 2 rho0 tau_stdp, dimensionless), {v}_eta, {v}_w_min, {v}_w_max,
  {v}_nearest (bool), {v}_scalar_delay (bool: one scalar delay ``scalar_delay`` instead of ``delays``),
  {v}_w          (T, 16) float64, weight after each step
  {v}_w_final    (16,) float64 (= {v}_w[-1])
  {v}_apre, {v}_apost          (16,) float64, the trace decayed to the last step's time t = (T-1) dt
  {v}_apre_raw, {v}_apost_raw  (16,) float64, Brian2's stored value (valid at lastupdate)
  {v}_lastupdate (16,) float64, ms, time of the synapse's last event (0 if none)

Self-check: an independent pure-NumPy event loop (per step: arrivals first, then post spikes, traces decayed
exactly) recomputes every variant's weight trajectory and final traces; agreement to 1e-9 is asserted. The same
loop with the sign of alpha flipped, alpha dropped, either pathway's weight update dropped, or the arrivals one
step late is asserted to differ from Brian2's weight trajectory by more than 1e-3 (ten times the 1e-4 the issue
allows) in every variant (the printout gives the final weights' difference too), and the bounds are asserted
to be reached (vogels: w_max, high_rho: w_min), so the data can tell these mistakes apart. With the two pathways
swapped within a step it must differ by more than 1e-3 in ``nearest``: with all-to-all traces the on_pre and on_post
of one step add eta*(apost + apre + 1 - alpha) to w in either order (the same weight after the step, the same
traces), so their order shows only where a clip intervenes; nearest-spike traces make it show always.
Compare the weight trajectories ({v}_w), not only the final weights: arrivals one step late move the all-to-all
variants' final weights by only 3e-4 to 5e-4 (their trajectories by 0.025 to 0.037).
"""

import json
import os
import platform
import sys

import brian2
import numpy as np
from brian2 import Hz, Network, SpikeGeneratorGroup, SpikeMonitor, StateMonitor, Synapses, defaultclock, ms, prefs

prefs.codegen.target = "numpy"
HERE = os.path.dirname(os.path.abspath(__file__))
DT = 0.1  # ms
DURATION = 300.0  # ms
T = int(round(DURATION / DT))
SEED = 1
N_PRE, N_POST, N_SYN = 6, 5, 16
DELAY_CHOICES = np.array([0.1, 0.2, 0.5, 1.0, 1.5, 3.0])
BACKGROUND_HZ = 25.0  # + 2 deliberate pairs per synapse -> ~40 Hz per neuron
SCALAR_DELAY = 1.0
TAU_STDP = 20.0  # ms

_VOGELS = dict(rho0=10.0, eta=0.01, w_min=0.0, w_max=1.0, nearest=False, scalar_delay=False)
VARIANTS = dict(
    vogels=_VOGELS,
    high_rho=_VOGELS | dict(rho0=80.0),
    unbounded=_VOGELS | dict(rho0=30.0, eta=0.02, w_min=-np.inf, w_max=np.inf),
    nearest=_VOGELS | dict(nearest=True),
    scalar=_VOGELS | dict(scalar_delay=True),
)
TRACES = ("apre", "apost")


def alpha_of(p):
    return 2.0 * p["rho0"] * 1e-3 * TAU_STDP  # Hz * ms -> dimensionless


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
    w0 = rng.uniform(0.05, 0.95, N_SYN)

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


def model_code(p):
    eqs = """w : 1
             dapre/dt = -apre/tau_stdp : 1 (event-driven)
             dapost/dt = -apost/tau_stdp : 1 (event-driven)"""
    op = "=" if p["nearest"] else "+="
    if np.isfinite(p["w_min"]) or np.isfinite(p["w_max"]):
        return (
            eqs,
            f"apre {op} 1\nw = clip(w + eta*(apost - alpha), w_min, w_max)",
            f"apost {op} 1\nw = clip(w + eta*apre, w_min, w_max)",
        )
    return eqs, f"apre {op} 1\nw = w + eta*(apost - alpha)", f"apost {op} 1\nw = w + eta*apre"


def run_brian(pre_idx, post_idx, delays, w0, pre_steps, pre_neurons, post_steps, post_neurons):
    defaultclock.dt = DT * ms
    pre = SpikeGeneratorGroup(N_PRE, pre_neurons, (pre_steps * DT) * ms)
    post = SpikeGeneratorGroup(N_POST, post_neurons, (post_steps * DT) * ms)
    objs, syns, mons = [pre, post], {}, {}
    for v, p in VARIANTS.items():
        tau_stdp = TAU_STDP * ms
        alpha = 2 * (p["rho0"] * Hz) * tau_stdp  # as in Brian2's Vogels_et_al_2011 example
        assert abs(float(alpha) - alpha_of(p)) < 1e-15
        ns = dict(tau_stdp=tau_stdp, alpha=alpha, eta=p["eta"], w_min=p["w_min"], w_max=p["w_max"])
        eqs, on_pre, on_post = model_code(p)
        kw = dict(delay=SCALAR_DELAY * ms) if p["scalar_delay"] else {}
        S = Synapses(pre, post, model=eqs, on_pre=on_pre, on_post=on_post, namespace=ns, name=f"syn_{v}", **kw)
        S.connect(i=pre_idx, j=post_idx)
        assert np.array_equal(np.asarray(S.i[:]), pre_idx) and np.array_equal(np.asarray(S.j[:]), post_idx)
        if not p["scalar_delay"]:
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
        for x in TRACES:
            raw = np.asarray(getattr(S, x)[:], np.float64)
            out[f"{v}_{x}_raw"] = raw
            out[f"{v}_{x}"] = raw * np.exp(-((T - 1) * DT - lu) / TAU_STDP)
    return out, sched


def reference(p, pre_idx, post_idx, dsteps, w0, pre_steps, pre_neurons, post_steps, post_neurons, mistake=None):
    """Independent pure-NumPy per-synapse event loop (no Brian2).

    ``mistake`` (for the sensitivity check only): "post_first" runs on_post before on_pre within a step,
    "alpha_sign" flips the sign of alpha, "no_alpha" / "no_pre" / "no_post" drop the alpha term / the whole
    presynaptic update / the postsynaptic update, "late" delivers every arrival one step late.
    """
    alpha, eta, lo, hi = alpha_of(p), p["eta"], p["w_min"], p["w_max"]
    if mistake == "alpha_sign":
        alpha = -alpha
    elif mistake == "no_alpha":
        alpha = 0.0
    w_all = np.empty((T, N_SYN))
    finals = {x: np.zeros(N_SYN) for x in TRACES}
    n_clip = np.zeros(2, int)  # updates that hit w_min / w_max
    for s in range(N_SYN):
        d = int(round(SCALAR_DELAY / DT)) if p["scalar_delay"] else int(dsteps[s])
        arr = pre_steps[pre_neurons == pre_idx[s]] + d + (mistake == "late")
        arr = arr[arr < T]
        pst = post_steps[post_neurons == post_idx[s]]
        pre_kind, post_kind = (1, 0) if mistake == "post_first" else (0, 1)
        events = sorted([(int(k), pre_kind) for k in arr] + [(int(k), post_kind) for k in pst])
        apre = apost = 0.0
        w, last, j = float(w0[s]), 0, 0
        for k, kind in events:
            w_all[j:k, s] = w
            j = k
            decay = np.exp(-(k - last) * DT / TAU_STDP)
            apre, apost = apre * decay, apost * decay
            last = k
            if kind == pre_kind:
                apre = 1.0 if p["nearest"] else apre + 1.0
                w_new = w + eta * (apost - alpha) if mistake != "no_pre" else w
            else:
                apost = 1.0 if p["nearest"] else apost + 1.0
                w_new = w + eta * apre if mistake != "no_post" else w
            n_clip += (w_new < lo, w_new > hi)
            w = min(max(w_new, lo), hi)
        w_all[j:, s] = w
        finals["apre"][s] = apre * np.exp(-(T - 1 - last) * DT / TAU_STDP)
        finals["apost"][s] = apost * np.exp(-(T - 1 - last) * DT / TAU_STDP)
    return w_all, finals, n_clip


def main():
    inputs = make_inputs()
    pre_idx, post_idx, dsteps, delays, w0, pre_steps, pre_neurons, post_steps, post_neurons = inputs
    res, sched = run_brian(pre_idx, post_idx, delays, w0, pre_steps, pre_neurons, post_steps, post_neurons)
    print("schedule (name, when, order):", [s for s in sched if s[0].startswith("syn_vogels") or s[0] == "mon_vogels"])

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

    for v, p in VARIANTS.items():
        w_ref, tr_ref, n_clip = reference(p, *inputs[:3], *inputs[4:])
        d_final = np.max(np.abs(w_ref[-1] - res[f"{v}_w_final"]))
        d_traj = np.max(np.abs(w_ref - res[f"{v}_w"]))
        d_tr = max(np.max(np.abs(tr_ref[x] - res[f"{v}_{x}"])) for x in TRACES)
        n_change = int(np.sum(np.diff(res[f"{v}_w"], axis=0) != 0))
        at_bound = int(np.sum(np.any((res[f"{v}_w"] == p["w_min"]) | (res[f"{v}_w"] == p["w_max"]), axis=0)))
        wf = res[f"{v}_w_final"]
        print(
            f"self-check {v:9s}: max|dw_final| {d_final:.3e}  max|dw(t)| {d_traj:.3e}  max|dtrace| {d_tr:.3e}"
            f"  ({n_change} weight changes, {n_clip[0]} clipped at w_min, {n_clip[1]} at w_max, {at_bound} synapses "
            f"reach a bound, "
            f"final w in [{wf.min():.4f}, {wf.max():.4f}])"
        )
        assert d_final < 1e-9 and d_traj < 1e-9 and d_tr < 1e-9, v
        # the data tells the usual mistakes apart (each > 1e-3 from Brian2 somewhere in the trajectory)
        sens = {}
        for m in ("post_first", "alpha_sign", "no_alpha", "no_pre", "no_post", "late"):
            dw = np.abs(reference(p, *inputs[:3], *inputs[4:], mistake=m)[0] - res[f"{v}_w"])
            sens[m] = float(np.max(dw))
            sens_final = float(np.max(dw[-1]))
            print(f"   mistake {m:10s}: max|dw(t)| {sens[m]:.3g}  max|dw_final| {sens_final:.3g}")
            # all-to-all: on_pre and on_post of one step add eta*(apost + apre + 1 - alpha) in either order, so
            # their order shows only through a clip; with nearest-spike traces it always shows
            if m != "post_first" or p["nearest"]:
                assert sens[m] > 1e-3, (v, m, sens[m])
    _, _, clip_vogels = reference(VARIANTS["vogels"], *inputs[:3], *inputs[4:])
    _, _, clip_high = reference(VARIANTS["high_rho"], *inputs[:3], *inputs[4:])
    assert clip_vogels[1] > 0 and clip_high[0] > 0, "the bounds should be reached"

    params = {}
    for v, p in VARIANTS.items():
        params.update({f"{v}_{k}": val for k, val in p.items()})
        params[f"{v}_alpha"] = alpha_of(p)
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
        tau_stdp=TAU_STDP,
        scalar_delay=SCALAR_DELAY,
        variants=np.array(list(VARIANTS)),
        **params,
        **res,
    )
    path = os.path.join(HERE, "brian2_istdp.npz")
    np.savez_compressed(path, **out)
    versions = dict(
        brian2=brian2.__version__,
        numpy=np.__version__,
        python=sys.version.split()[0],
        platform=platform.platform(),
        codegen_target="numpy",
        pip="pip install brian2==2.9.0 'numpy<2.3'",
    )
    with open(os.path.join(HERE, "brian2_istdp_versions.json"), "w") as fh:
        json.dump(versions, fh, indent=2, sort_keys=True)
        fh.write("\n")
    print({k: np.shape(v) for k, v in out.items() if np.ndim(v)})
    print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
