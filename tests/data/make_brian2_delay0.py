"""Generate Brian2 2.9.0 reference traces for tests/test_brian2_delay0.py (delay 0 = snnjax lag 1).

Writes, next to this file:
  brian2_delay0.npz            traces (float64), parameters and the presynaptic spike steps
  brian2_delay0_versions.json  versions of brian2 / numpy / python

Run in the Brian2 peer venv (brian2==2.9.0 with numpy<2.3), made by benchmarks/peers/make_envs.py (folder:
--dir / $SNNJAX_PEERS, default .peers/ in the clone):

    python benchmarks/peers/make_envs.py --peer brian2
    "$(python benchmarks/peers/make_envs.py --which brian2)" tests/data/make_brian2_delay0.py

Network (dt = 0.1 ms, 200 steps, codegen target numpy): one ``SpikeGeneratorGroup`` neuron A fires at
steps ``SPIKE_STEPS`` (times ``steps * dt``) and projects with ``delay=0*ms`` onto non-firing LIF neurons
(``tau_m dv/dt = v_rest - v + input``, v_th far above):

  b1         voltage jump: ``on_pre: v_post += w_jump`` (w_jump = 2 mV).
  b2         exponential current: ``on_pre: g_post += w_cur`` (2 mV), ``dg/dt = -g/tau_syn`` (5 ms),
             input ``g``; method ``exponential_euler`` (exact in v for g frozen over the step, g exact).
  b2_exact   the same with method ``exact`` (the linear system (v, g) solved jointly: g decays within
             the step).
  b3_expeuler / b3_euler  a conductance: ``on_pre: g_post += w_cond`` (0.5, relative to the leak),
             input ``g (E_syn - v)`` with E_syn = 0 mV, methods ``exponential_euler`` and ``euler``.

Brian2's schedule within a step at ``t = j dt`` is start, groups (integration from t to t + dt),
thresholds (A's spike), synapses (delay-0 ``on_pre``), resets, end.  Each neuron's ``v`` (and ``g``) is
recorded by three ``StateMonitor``s, keys ``<variant>_v_<when>``:

  start            before the integration of step j: the state after step j - 1 (= end of step j - 1)
  before_synapses  after the integration (and threshold) of step j, before its ``on_pre``
  end              after the whole step j, including the ``on_pre`` of the spikes of step j

all stamped ``t = j dt`` (``t_<when>``).  ``spike_steps_seen`` are A's spike steps as Brian2's
``SpikeMonitor`` saw them (``round(t / dt)``).
"""

import json
import os
import platform
import sys

import brian2
import numpy as np
from brian2 import (
    Network,
    NeuronGroup,
    SpikeGeneratorGroup,
    SpikeMonitor,
    StateMonitor,
    Synapses,
    defaultclock,
    ms,
    mV,
    prefs,
)

prefs.codegen.target = "numpy"
HERE = os.path.dirname(os.path.abspath(__file__))
DT = 0.1  # ms
N_STEPS = 200
SPIKE_STEPS = np.array([10, 50, 120])
PARAMS = dict(
    v_rest=-65.0,  # mV
    v_reset=-70.0,  # mV (never used: no postsynaptic spike)
    v_th=50.0,  # mV, far above anything reached
    tau_m=10.0,  # ms
    w_jump=2.0,  # mV
    w_cur=2.0,  # mV (a current times r = 1)
    tau_syn=5.0,  # ms
    w_cond=0.5,  # relative to the leak conductance
    E_syn=0.0,  # mV
)
WHENS = ("start", "before_synapses", "end")


def run():
    p = PARAMS
    defaultclock.dt = DT * ms
    ns = dict(
        v_rest=p["v_rest"] * mV,
        v_reset=p["v_reset"] * mV,
        v_th=p["v_th"] * mV,
        tau_m=p["tau_m"] * ms,
        tau_syn=p["tau_syn"] * ms,
        E_syn=p["E_syn"] * mV,
        w_jump=p["w_jump"] * mV,
        w_cur=p["w_cur"] * mV,
        w_cond=p["w_cond"],
    )
    a = SpikeGeneratorGroup(1, np.zeros(SPIKE_STEPS.size, int), SPIKE_STEPS * DT * ms)
    lif = dict(threshold="v > v_th", reset="v = v_reset", namespace=ns)
    groups = {
        "b1": NeuronGroup(1, "dv/dt = (v_rest - v) / tau_m : volt", method="exponential_euler", **lif),
        "b2": NeuronGroup(
            1,
            """dv/dt = (v_rest - v + g) / tau_m : volt
               dg/dt = -g / tau_syn : volt""",
            method="exponential_euler",
            **lif,
        ),
        "b2_exact": NeuronGroup(
            1,
            """dv/dt = (v_rest - v + g) / tau_m : volt
               dg/dt = -g / tau_syn : volt""",
            method="exact",
            **lif,
        ),
    }
    for method in ("exponential_euler", "euler"):
        groups[f"b3_{method.replace('exponential_', 'exp')}"] = NeuronGroup(
            1,
            """dv/dt = (v_rest - v + g * (E_syn - v)) / tau_m : volt
               dg/dt = -g / tau_syn : 1""",
            method=method,
            **lif,
        )
    on_pre = {
        "b1": "v_post += w_jump",
        "b2": "g_post += w_cur",
        "b2_exact": "g_post += w_cur",
        "b3_expeuler": "g_post += w_cond",
        "b3_euler": "g_post += w_cond",
    }
    objs = [a]
    syns = {}
    mons = {}
    for name, grp in groups.items():
        grp.v = p["v_rest"] * mV
        syn = Synapses(a, grp, on_pre=on_pre[name], delay=0 * ms, namespace=ns)  # scalar delay 0
        syn.connect()
        syns[name] = syn
        vars_ = ["v"] if name == "b1" else ["v", "g"]
        for when in WHENS:
            mons[name, when] = StateMonitor(grp, vars_, record=0, when=when)
        objs += [grp, syn]
    spk = SpikeMonitor(a)
    Network(*objs, *mons.values(), spk).run(N_STEPS * DT * ms, namespace={})
    out = {}
    for (name, when), mon in mons.items():
        out[f"{name}_v_{when}"] = np.asarray(mon.v[0] / mV, np.float64)
        if name != "b1":
            g = mon.g[0] / mV if name.startswith("b2") else mon.g[0]
            out[f"{name}_g_{when}"] = np.asarray(g, np.float64)
    for when in WHENS:
        out[f"t_{when}"] = np.asarray(mons["b1", when].t / ms, np.float64)
    out["spike_steps_seen"] = np.round(np.asarray(spk.t / ms) / DT).astype(np.int64)
    return out


def main():
    out = dict(dt=DT, n_steps=N_STEPS, spike_steps=SPIKE_STEPS, **PARAMS)
    out.update(run())
    assert out["spike_steps_seen"].tolist() == SPIKE_STEPS.tolist(), out["spike_steps_seen"]
    for when in WHENS:
        assert np.allclose(out[f"t_{when}"], np.arange(N_STEPS) * DT), when
    np.savez_compressed(os.path.join(HERE, "brian2_delay0.npz"), **out)
    versions = dict(
        brian2=brian2.__version__,
        numpy=np.__version__,
        python=sys.version.split()[0],
        platform=platform.platform(),
        codegen_target="numpy",
        pip="pip install brian2==2.9.0 'numpy<2.3'",
    )
    with open(os.path.join(HERE, "brian2_delay0_versions.json"), "w") as fh:
        json.dump(versions, fh, indent=2, sort_keys=True)
        fh.write("\n")
    print({k: np.shape(v) for k, v in out.items() if np.ndim(v)})


if __name__ == "__main__":
    main()
