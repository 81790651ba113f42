"""Generate BrainPy 2.8 reference traces for the snnjax test suite.

Writes, next to this file:
  brainpy_refs.npz            traces + all parameters (float32 / bool arrays)
  brainpy_refs_versions.json  exact versions of brainpy / jax / jaxlib / brainevent ...

It must run in the BrainPy peer venv (brainpy[cpu]==2.8.2, jax/jaxlib 0.10.2, brainevent 0.2.1, brainstate
0.5.4), made by benchmarks/peers/make_envs.py (folder: --dir / $SNNJAX_PEERS, default .peers/ in the clone):

    python benchmarks/peers/make_envs.py --peer brainpy
    "$(python benchmarks/peers/make_envs.py --which brainpy)" tests/data/make_brainpy_refs.py [--check]

The network is the BrainPy docs' Delta-synapse example: two 1-neuron
``bp.neurons.LIF`` groups ``pre`` and ``post`` with explicit parameters
V_rest=0, V_reset=-5, V_th=20, tau=10, tau_ref=2, R=1, method='exp_auto',
dt=0.1 ms, inputs [('pre.input', 25.), ('post.input', 10.)], 150 ms
(1500 steps), wrapped as ``bp.Network(pre=pre, syn=syn, post=post)`` and run
with ``bp.DSRunner``.  Variants (npz key prefix):

  delta_    bp.synapses.Delta(pre, post, All2All(), g_max=2., delay_step=10)
            (default output CUBA(target_var='V'): a voltage jump).
  alpha_    bp.synapses.Alpha(pre, post, All2All(), g_max=5., tau_decay=10.,
            output=bp.synouts.CUBA()).  NB: Alpha's default output is None ->
            a null output that does NOT touch post, so CUBA is passed explicitly.
  expcoba_  bp.synapses.Exponential(pre, post, All2All(), g_max=1., tau=5.,
            output=bp.synouts.COBA(E=50.)).  E=50 (> V_th) so that the synapse
            drives post (which sits near 10 mV) over threshold: post fires 3 spikes.
            (E=0 would be exactly V_rest and give no drive at all.)
  deltaref_ (extra) two Delta synapses from pre: ``syn`` g_max=15., delay_step=10
            and ``syn2`` g_max=3., delay_step=15 (post fires on the first jump
            and receives the second jump while refractory).

Per variant the npz holds ``<p>ts`` (runner.mon.ts, ms), ``<p>pre_V``,
``<p>post_V``, ``<p>pre_spike``, ``<p>post_spike`` (shape (1500, 1)), the
synapse state when it exists (``alpha_syn_g``, ``alpha_syn_h`` [pre-side,
un-scaled: current = g_max * g], ``expcoba_syn_g`` [post-side, already
includes g_max]) and the parameters as scalars (``<p>g_max`` ...).
Shared parameters are stored without prefix (``dt``, ``V_rest`` ...).

``--check`` re-computes every trace with a small float32 numpy model of
BrainPy's update rules (see ``numpy_model``) and prints the max deviation;
it documents the timing semantics the snnjax simulator has to reproduce.
"""

import argparse
import json
import os
import platform
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

DT = 0.1
DURATION = 150.0
NEURON = dict(V_rest=0.0, V_reset=-5.0, V_th=20.0, tau=10.0, tau_ref=2.0, R=1.0)
INPUTS = dict(pre_input=25.0, post_input=10.0)

VARIANTS = {
    "delta": [dict(name="syn", kind="delta", g_max=2.0, delay_step=10)],
    "alpha": [dict(name="syn", kind="alpha", g_max=5.0, tau_decay=10.0, delay_step=0)],
    "expcoba": [dict(name="syn", kind="expcoba", g_max=1.0, tau=5.0, E=50.0, delay_step=0)],
    "deltaref": [
        dict(name="syn", kind="delta", g_max=15.0, delay_step=10),
        dict(name="syn2", kind="delta", g_max=3.0, delay_step=15),
    ],
}


def run_brainpy(variant):
    import brainpy as bp
    import brainpy.math as bm

    bm.set_dt(DT)
    pre = bp.neurons.LIF(1, **NEURON, method="exp_auto")
    post = bp.neurons.LIF(1, **NEURON, method="exp_auto")
    syns = {}
    for s in VARIANTS[variant]:
        D = s["delay_step"] or None
        if s["kind"] == "delta":
            syns[s["name"]] = bp.synapses.Delta(pre, post, bp.conn.All2All(), g_max=s["g_max"], delay_step=D)
        elif s["kind"] == "alpha":
            syns[s["name"]] = bp.synapses.Alpha(
                pre,
                post,
                bp.conn.All2All(),
                g_max=s["g_max"],
                tau_decay=s["tau_decay"],
                delay_step=D,
                output=bp.synouts.CUBA(),
                method="exp_auto",
            )
        elif s["kind"] == "expcoba":
            syns[s["name"]] = bp.synapses.Exponential(
                pre,
                post,
                bp.conn.All2All(),
                g_max=s["g_max"],
                tau=s["tau"],
                delay_step=D,
                output=bp.synouts.COBA(E=s["E"]),
                method="exp_auto",
            )
    net = bp.Network(pre=pre, post=post, **syns)
    monitors = ["pre.V", "post.V", "pre.spike", "post.spike"]
    if variant == "alpha":
        monitors += ["syn.g", "syn.h"]
    if variant == "expcoba":
        monitors += ["syn.g"]
    runner = bp.DSRunner(
        net,
        monitors=monitors,
        inputs=[("pre.input", INPUTS["pre_input"]), ("post.input", INPUTS["post_input"])],
        progress_bar=False,
    )
    runner.run(DURATION)
    out = {"ts": np.asarray(runner.mon["ts"])}
    for m in monitors:
        out[m.replace(".", "_")] = np.asarray(runner.mon[m])
    return out


def numpy_model(variant, n_steps):
    """float32 re-implementation of BrainPy 2.8.2 semantics for these networks."""
    f32 = np.float32
    dt = f32(DT)

    def exp_euler(x, deriv, lin):
        # brainpy exp_auto: x + dt * exprel(dt * L) * f(x), exprel(z) = (exp(z) - 1) / z in float32.
        # Under jit XLA rewrites exp(z) - 1 into expm1(z), so the effective factor is the
        # accurate expm1(z) / z (numpy's float32 exp(z) - 1 would be off by ~6e-6 relative).
        z = dt * f32(lin)
        phi = np.expm1(z) / z if abs(z) > 1e-5 else f32(1.0) + z / f32(2.0) + z * z / f32(6.0)
        return f32(x + dt * phi * deriv)

    p = {k: f32(v) for k, v in NEURON.items()}
    V = {"pre": f32(0.0), "post": f32(0.0)}
    tlast = {"pre": f32(-1e7), "post": f32(-1e7)}
    spk = {"pre": False, "post": False}
    pre_hist = []  # pre spike emitted at step j -> pre_hist[j]
    syn_state = {s["name"]: dict(g=f32(0.0), h=f32(0.0)) for s in VARIANTS[variant]}
    rec = {k: [] for k in ["pre_V", "post_V", "pre_spike", "post_spike", "syn_g", "syn_h"]}
    for i in range(n_steps):
        t = f32(i) * dt  # share t = i * dt (float32)
        I = {"pre": f32(INPUTS["pre_input"]), "post": f32(INPUTS["post_input"])}  # runner inputs ('+')
        # 1) projections, in network order, reading pre spikes through the delay
        for s in VARIANTS[variant]:
            D = s["delay_step"]
            lag = max(D - 1, 1)  # <- effective delay in steps
            sp = f32(pre_hist[i - lag]) if i - lag >= 0 else f32(0.0)
            st = syn_state[s["name"]]
            if s["kind"] == "delta":
                V["post"] = f32(V["post"] + f32(s["g_max"]) * sp)  # jump straight into post.V
            elif s["kind"] == "alpha":
                tau = f32(s["tau_decay"])
                g_new = exp_euler(st["g"], -st["g"] / tau + st["h"] / tau, -1.0 / tau)
                h_new = exp_euler(st["h"], -st["h"] / tau, -1.0 / tau)
                st["g"], st["h"] = g_new, f32(h_new + sp)  # spike enters h after integration
                I["post"] = f32(I["post"] + f32(s["g_max"]) * st["g"])
            elif s["kind"] == "expcoba":
                tau = f32(s["tau"])
                st["g"] = f32(exp_euler(st["g"], -st["g"] / tau, -1.0 / tau) + f32(s["g_max"]) * sp)
                I["post"] = f32(I["post"] + st["g"] * (f32(s["E"]) - V["post"]))  # V before post update
        # 2) neurons (then their delay buffers are written)
        for k in ("pre", "post"):
            Vi = exp_euler(V[k], (-V[k] + p["V_rest"] + p["R"] * I[k]) / p["tau"], -1.0 / p["tau"])
            refr = (t - tlast[k]) <= p["tau_ref"]
            Vn = V[k] if refr else Vi  # refractory: keep V (incl. delta jumps)
            spk[k] = bool(Vn >= p["V_th"])
            V[k] = p["V_reset"] if spk[k] else Vn
            if spk[k]:
                tlast[k] = t
        pre_hist.append(spk["pre"])
        rec["pre_V"].append(V["pre"])
        rec["post_V"].append(V["post"])
        rec["pre_spike"].append(spk["pre"])
        rec["post_spike"].append(spk["post"])
        st = syn_state[VARIANTS[variant][0]["name"]]
        rec["syn_g"].append(st["g"])
        rec["syn_h"].append(st["h"])
    return {k: np.asarray(v)[:, None] for k, v in rec.items()}


def versions():
    from importlib.metadata import version

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ["brainpy", "jax", "jaxlib", "brainevent", "brainstate", "brainunit", "braintools", "numpy"]:
        try:
            out[pkg] = version(pkg)
        except Exception:  # pragma: no cover
            out[pkg] = None
    import jax

    out["jax_backend"] = jax.default_backend()
    out["jax_enable_x64"] = bool(jax.config.jax_enable_x64)
    out["pip"] = "pip install 'brainpy[cpu]==2.8.2' jax==0.10.2 jaxlib==0.10.2 brainevent==0.2.1 brainstate==0.5.4"
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="compare against the numpy model")
    ap.add_argument("--outdir", default=HERE)
    args = ap.parse_args(argv)

    data = {
        "dt": np.float32(DT),
        "duration": np.float32(DURATION),
        "pre_input": np.float32(INPUTS["pre_input"]),
        "post_input": np.float32(INPUTS["post_input"]),
    }
    data.update({k: np.float32(v) for k, v in NEURON.items()})
    ok = True
    for variant, syns in VARIANTS.items():
        res = run_brainpy(variant)
        for k, v in res.items():
            data[f"{variant}_{k}"] = v.astype(np.float64 if k == "ts" else v.dtype)
        for s in syns:
            pfx = variant + "_" if s["name"] == "syn" else f"{variant}_{s['name']}_"
            for k, v in s.items():
                if k in ("name", "kind"):
                    continue
                data[pfx + k] = np.asarray(v, dtype=np.int32 if k == "delay_step" else np.float32)
        pre_s = np.where(res["pre_spike"][:, 0])[0]
        post_s = np.where(res["post_spike"][:, 0])[0]
        print(
            f"{variant:9s} pre spikes at steps {pre_s.tolist()}  post spikes at steps {post_s.tolist()}",
            file=sys.stderr,
        )
        if args.check:
            ref = numpy_model(variant, len(res["ts"]))
            for k in ["pre_V", "post_V"]:
                err = np.max(np.abs(ref[k] - res[k]))
                print(f"    check {k}: max |numpy - brainpy| = {err:.3g}", file=sys.stderr)
                ok &= err < 2e-5  # observed 7.6e-6 (a few float32 ulps at |V|~20)
            for k in ["pre_spike", "post_spike"]:
                same = np.array_equal(ref[k], res[k])
                print(f"    check {k}: identical = {same}", file=sys.stderr)
                ok &= same
            for k in ["syn_g", "syn_h"]:
                if k in res:
                    err = np.max(np.abs(ref[k] - res[k]))
                    print(f"    check {k}: max |numpy - brainpy| = {err:.3g}", file=sys.stderr)
                    ok &= err < 2e-6  # observed 5.4e-7
    np.savez_compressed(os.path.join(args.outdir, "brainpy_refs.npz"), **data)
    with open(os.path.join(args.outdir, "brainpy_refs_versions.json"), "w") as f:
        json.dump(versions(), f, indent=2, sort_keys=True)
        f.write("\n")
    if args.check:
        print("numpy model agrees" if ok else "numpy model DISAGREES", file=sys.stderr)
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
