"""Generate Brian2 2.9.0 reference traces for the neuron zoo (tests/test_neuron_zoo.py).

Writes, next to this file:
  brian2_neurons.npz            voltage samples + spike times + parameters per model (float32 / float64)
  brian2_neurons_versions.json  exact versions of brian2 / numpy / sympy / python

Run it in the Brian2 peer venv (brian2==2.9.0, numpy<2.3; the tests never import brian2), made by
benchmarks/peers/make_envs.py (folder: --dir / $SNNJAX_PEERS, default .peers/ in the clone):

    python benchmarks/peers/make_envs.py --peer brian2
    "$(python benchmarks/peers/make_envs.py --which brian2)" tests/data/make_brian2_neurons.py

Every model is written with dimensionless Brian2 variables holding the numbers in snnjax's units (mV, ms,
nA, MOhm; uA/cm^2, mS/cm^2, uF/cm^2 for HH), time constants entering as ``tau * ms``. ``prefs.codegen.target
= "numpy"`` (no compiler). The input is a current step held in a ``TimedArray`` with the simulation ``dt``,
so it is constant within a step exactly as snnjax's ``update(state, current, dt=dt)`` sees it (``rk4``'s
half-step evaluations fall in the same bin).

Timing convention. Brian2 runs, per step at time ``t_k``: state update -> threshold -> reset, and records the
spike at ``t_k`` (the start of the step during which ``v`` crossed). snnjax's step ``k`` (0-based) does the
same, so a spike on step ``k`` is the Brian2 spike time ``k * dt``. ``StateMonitor`` records at the start of a
step, so the stored sample ``v(t)`` is snnjax's ``v`` after step ``round(t / dt) - 1``.

Refractoriness. Brian2 leaves the refractory period at ``timestep(t - lastspike) >= timestep(refractory)``,
which holds ``v`` for ``round(refractory / dt) - 1`` steps after the spike step; snnjax (like BrainPy) holds
it for ``round(tau_ref / dt)`` steps, so the reference uses ``refractory = tau_ref + dt``.

Cases (key prefix ``<name>_``), each a current step of ``i_amp`` from ``t_on`` to the end:
  lif_value      LIF, reset to value, tau_ref = 2 ms,   exponential_euler (exact: linear, I constant), dt 0.1
  lif_subtract   LIF, v -= v_th - v_reset, tau_ref = 0, exponential_euler (exact), dt 0.1
  alif           ALIF (Bellec), subtract reset, tau_ref = 1 ms, exponential_euler (exact), dt 0.1
  gif            GIF with threshold coupling and both internal currents, exponential_euler, dt 0.1
  hh             Hodgkin-Huxley, exponential_euler, dt 0.01; spikes = upward crossings of v_th (Brian2's
                 string refractoriness ``refractory='v >= v_th'`` with ``threshold='v >= v_th'``)
  expif, adex, qif, izhikevich: not linear in v, so Brian2 has no exponential Euler for them; the
                 reference is ``rk4`` at dt 0.001 ms (practically exact), sampled every 0.01 ms, to be
                 compared with snnjax's exponential Euler at dt 0.01 ms within its error bound.

Per case the npz holds ``<p>t`` (sample times, ms, every ``<p>stride``-th simulation step), ``<p>v`` (mV),
``<p>spikes`` (spike times, ms), ``<p>dt`` (the snnjax step to compare at), and every parameter as
``<p>par_<name>`` (snnjax names).
"""

import json
import os
import platform

import brian2 as b2
import numpy as np
import sympy

b2.prefs.codegen.target = "numpy"
HERE = os.path.dirname(os.path.abspath(__file__))

LIF_EQ = "dv/dt = (-(v - v_rest) + r * I_ext(t)) / (tau * ms) : 1 (unless refractory)"
EXPIF_EQ = "dv/dt = (-(v - v_rest) + delta_t * exp((v - v_t) / delta_t) + r * I_ext(t)) / (tau * ms) : 1"

CASES = {
    "lif_value": dict(
        eqs=LIF_EQ, threshold="v >= v_th", reset="v = v_reset", method="exponential_euler", dt=0.1, ref_dt=0.1,
        stride=1, T=100.0, t_on=10.0, i_amp=25.0, v0=0.0, tau_ref=2.0,
        par=dict(v_rest=0.0, v_reset=-5.0, v_th=20.0, tau=10.0, r=1.0, tau_ref=2.0),
    ),
    "lif_subtract": dict(
        eqs=LIF_EQ, threshold="v >= v_th", reset="v -= v_th - v_reset", method="exponential_euler", dt=0.1,
        ref_dt=0.1, stride=1, T=100.0, t_on=10.0, i_amp=40.0, v0=0.0, tau_ref=0.0,
        par=dict(v_rest=0.0, v_reset=0.0, v_th=20.0, tau=10.0, r=1.0, tau_ref=0.0),
    ),
    "alif": dict(
        eqs=LIF_EQ + "\nda/dt = -a / (tau_a * ms) : 1",
        threshold="v >= v_th + beta * a", reset="v -= v_th - v_reset\na += 1", method="exponential_euler",
        dt=0.1, ref_dt=0.1, stride=1, T=200.0, t_on=10.0, i_amp=30.0, v0=-70.0, tau_ref=1.0,
        par=dict(v_rest=-70.0, v_reset=-70.0, v_th=-60.0, beta=2.0, tau=20.0, tau_a=100.0, r=1.0, tau_ref=1.0),
    ),
    "gif": dict(
        eqs="""
        di1/dt = -k1 * i1 / ms : 1
        di2/dt = -k2 * i2 / ms : 1
        dv/dt = (-(v - v_rest) + r * (i1 + i2 + I_ext(t))) / (tau * ms) : 1 (unless refractory)
        dv_th/dt = (a * (v - v_rest) - b * (v_th - v_th_inf)) / ms : 1
        """,
        threshold="v >= v_th",
        reset="v = v_reset\ni1 = r1 * i1 + a1\ni2 = r2 * i2 + a2\nv_th = clip(v_th, v_th_reset, 1e9)",
        method="exponential_euler", dt=0.1, ref_dt=0.1, stride=1, T=200.0, t_on=10.0, i_amp=2.0, v0=-70.0,
        tau_ref=0.5, init=dict(v_th=-50.0),
        par=dict(v_rest=-70.0, v_reset=-70.0, v_th_inf=-50.0, v_th_reset=-60.0, r=20.0, tau=20.0, a=0.002,
                 b=0.01, k1=0.2, k2=0.02, r1=0.0, r2=1.0, a1=0.5, a2=-0.3, tau_ref=0.5),
    ),
    "hh": dict(
        eqs="""
        dv/dt = (-g_na * m**3 * h * (v - e_na) - g_k * n**4 * (v - e_k) - g_l * (v - e_l) + I_ext(t)) / (c * ms) : 1
        dm/dt = (am * (1 - m) - bm * m) / ms : 1
        dh/dt = (ah * (1 - h) - bh * h) / ms : 1
        dn/dt = (an * (1 - n) - bn * n) / ms : 1
        am = 1 / exprel(-(v + 40) / 10) : 1
        bm = 4 * exp(-(v + 65) / 18) : 1
        ah = 0.07 * exp(-(v + 65) / 20) : 1
        bh = 1 / (1 + exp(-(v + 35) / 10)) : 1
        an = 0.1 / exprel(-(v + 55) / 10) : 1
        bn = 0.125 * exp(-(v + 65) / 80) : 1
        """,
        threshold="v >= v_th", reset=None, refractory="v >= v_th", method="exponential_euler", dt=0.01,
        ref_dt=0.01, stride=10, T=100.0, t_on=10.0, i_amp=10.0, v0=-65.0, gates_at_rest=True,
        par=dict(e_na=50.0, g_na=120.0, e_k=-77.0, g_k=36.0, e_l=-54.387, g_l=0.03, c=1.0, v_th=20.0),
    ),
    "expif": dict(
        eqs=EXPIF_EQ, threshold="v >= v_th", reset="v = v_reset", method="rk4", dt=0.01, ref_dt=0.001,
        stride=10, T=100.0, t_on=10.0, i_amp=10.0, v0=-65.0, tau_ref=0.0,
        par=dict(v_rest=-65.0, v_reset=-68.0, v_th=-30.0, v_t=-59.9, delta_t=3.48, tau=10.0, r=1.0, tau_ref=0.0),
    ),
    "adex": dict(
        eqs="""
        dv/dt = (-(v - v_rest) + delta_t * exp((v - v_t) / delta_t) - r * w + r * I_ext(t)) / (tau * ms) : 1
        dw/dt = (a * (v - v_rest) - w) / (tau_w * ms) : 1
        """,
        threshold="v >= v_th", reset="v = v_reset\nw += b", method="rk4", dt=0.01, ref_dt=0.001, stride=10,
        T=150.0, t_on=10.0, i_amp=20.0, v0=-65.0, tau_ref=0.0,
        par=dict(v_rest=-65.0, v_reset=-68.0, v_th=-30.0, v_t=-59.9, delta_t=3.48, a=0.5, b=2.0, tau=10.0,
                 tau_w=50.0, r=1.0, tau_ref=0.0),
    ),
    "qif": dict(
        eqs="dv/dt = (c * (v - v_rest) * (v - v_c) + r * I_ext(t)) / (tau * ms) : 1",
        threshold="v >= v_th", reset="v = v_reset", method="rk4", dt=0.01, ref_dt=0.001, stride=10, T=100.0,
        t_on=10.0, i_amp=20.0, v0=-65.0, tau_ref=0.0,
        par=dict(v_rest=-65.0, v_reset=-68.0, v_th=-30.0, v_c=-50.0, c=0.07, tau=10.0, r=1.0, tau_ref=0.0),
    ),
    "izhikevich": dict(
        eqs="""
        dv/dt = (p1 * v**2 + p2 * v + p3 - u + I_ext(t)) / ms : 1
        du/dt = a * (b * v - u) / ms : 1
        """,
        threshold="v >= v_th", reset="v = c\nu += d", method="rk4", dt=0.01, ref_dt=0.001, stride=10, T=100.0,
        t_on=10.0, i_amp=15.0, v0=-70.0, tau_ref=0.0, init=dict(u=-14.0),
        par=dict(a=0.02, b=0.2, c=-65.0, d=8.0, v_th=30.0, p1=0.04, p2=5.0, p3=140.0, tau_ref=0.0),
    ),
}  # fmt: skip


def run_case(name, cfg):
    b2.start_scope()
    ref_dt = cfg["ref_dt"]
    b2.defaultclock.dt = ref_dt * b2.ms
    n_steps = int(round(cfg["T"] / ref_dt))
    current = np.where(np.arange(n_steps) * ref_dt >= cfg["t_on"] - 1e-9, cfg["i_amp"], 0.0)
    I_ext = b2.TimedArray(current, dt=ref_dt * b2.ms)  # noqa: F841 (used by name in the equations)
    namespace = {k: v for k, v in cfg["par"].items() if k != "tau_ref"}
    namespace["I_ext"] = I_ext
    kwargs = dict(threshold=cfg["threshold"], method=cfg["method"], namespace=namespace)
    if cfg.get("reset"):
        kwargs["reset"] = cfg["reset"]
    if "refractory" in cfg:
        kwargs["refractory"] = cfg["refractory"]
    elif cfg.get("tau_ref", 0.0) > 0:
        kwargs["refractory"] = (cfg["tau_ref"] + ref_dt) * b2.ms  # see "Refractoriness" above
    eqs = cfg["eqs"]
    state_vars = [ln.split("/dt")[0].strip()[1:] for ln in eqs.strip().splitlines() if "/dt" in ln]
    if "v_th" in state_vars:  # GIF: the threshold variable shadows the namespace name
        namespace.pop("v_th", None)
    group = b2.NeuronGroup(1, eqs, **kwargs)
    group.v = cfg["v0"]
    for var, val in cfg.get("init", {}).items():
        setattr(group, var, val)
    if cfg.get("gates_at_rest"):
        v0 = cfg["v0"]
        for g, (a, b) in dict(
            m=(1 / np.expm1(-(v0 + 40) / 10) * (-(v0 + 40) / 10), 4 * np.exp(-(v0 + 65) / 18)),
            h=(0.07 * np.exp(-(v0 + 65) / 20), 1 / (1 + np.exp(-(v0 + 35) / 10))),
            n=(0.1 / (np.expm1(-(v0 + 55) / 10) / (-(v0 + 55) / 10)), 0.125 * np.exp(-(v0 + 65) / 80)),
        ).items():
            setattr(group, g, a / (a + b))
    mon = b2.StateMonitor(group, "v", record=0, dt=cfg["dt"] * cfg["stride"] * b2.ms)
    spk = b2.SpikeMonitor(group)
    b2.run(n_steps * ref_dt * b2.ms)
    t = np.asarray(mon.t / b2.ms)
    v = np.asarray(mon.v[0])
    keep = t > 0  # the sample at t = 0 is the initial value, not an update
    spikes = np.asarray(spk.t / b2.ms)
    print(f"{name:14s} {cfg['method']:17s} ref_dt={ref_dt} {len(spikes)} spikes, first {spikes[:3]}")
    out = {f"{name}_t": t[keep], f"{name}_v": v[keep].astype(np.float32), f"{name}_spikes": spikes,
           f"{name}_dt": np.float64(cfg["dt"]), f"{name}_stride": np.int64(cfg["stride"]),
           f"{name}_T": np.float64(cfg["T"]), f"{name}_t_on": np.float64(cfg["t_on"]),
           f"{name}_i_amp": np.float64(cfg["i_amp"]), f"{name}_v0": np.float64(cfg["v0"])}  # fmt: skip
    for var, val in cfg.get("init", {}).items():
        out[f"{name}_init_{var}"] = np.float64(val)
    for k, val in cfg["par"].items():
        out[f"{name}_par_{k}"] = np.float64(val)
    return out


def main():
    data = {}
    for name, cfg in CASES.items():
        data.update(run_case(name, cfg))
    np.savez_compressed(os.path.join(HERE, "brian2_neurons.npz"), **data)
    versions = dict(
        brian2=b2.__version__, numpy=np.__version__, sympy=sympy.__version__, python=platform.python_version(),
        platform=platform.platform(), codegen_target="numpy", pip="pip install brian2==2.9.0 'numpy<2.3'",
    )  # fmt: skip
    with open(os.path.join(HERE, "brian2_neurons_versions.json"), "w") as f:
        json.dump(versions, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
