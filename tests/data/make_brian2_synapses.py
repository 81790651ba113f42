"""Generate Brian2 2.9.0 reference traces for tests/test_synapse_zoo.py (AMPA, GABAa, NMDA, MgBlock).

Writes, next to this file:
  brian2_synapses.npz            traces + parameters (float64 scalars, float32 traces)
  brian2_synapses_versions.json  versions of brian2 / numpy / python

Run in the Brian2 peer venv (brian2==2.9.0 with numpy<2.3), made by benchmarks/peers/make_envs.py (folder:
--dir / $SNNJAX_PEERS, default .peers/ in the clone):

    python benchmarks/peers/make_envs.py --peer brian2
    "$(python benchmarks/peers/make_envs.py --which brian2)" tests/data/make_brian2_synapses.py

One presynaptic ``SpikeGeneratorGroup`` neuron fires at ``spike_times`` (ms) into one synapse whose
state is integrated clock-driven with ``exponential_euler`` (exact in ``g`` for frozen ``[T]`` / ``h``,
the integrator snnjax and BrainPy's ``exp_auto`` use), dt = 0.1 ms, codegen target numpy.
``StateMonitor(..., when='end')`` records, at ``t = j dt``, the state after step ``j`` (after that step's
integration *and* its ``on_pre``).

Variants (npz key prefix):
  ampa_   BrainPy AMPA defaults (alpha=0.98 /ms/mM, beta=0.18 /ms, T=0.5 mM, T_dur=0.5 ms):
          ``dg/dt = alpha TT (1-g) - beta g``, ``TT = T * (t - t_arr < T_dur + dt/2)`` with
          ``on_pre: t_arr = t``.  Brian2 runs ``on_pre`` after the step's integration, so the pulse is
          active in the steps j_s+1 .. j_s+round(T_dur/dt) (the dt/2 margin makes the count robust to
          float rounding of ``t - t_arr``).
  gabaa_  the same equations with BrainPy GABAa defaults (alpha=0.53, beta=0.18, T=1, T_dur=1).
  nmda_   BrainPy NMDA defaults (tau_decay=100, tau_rise=2, a=0.5 /ms):
          ``dg/dt = -g/tau_decay + a h (1-g)``, ``dh/dt = -h/tau_rise``, ``on_pre: h += 1``.
          The postsynaptic potential is clamped to the ramp ``v = v0 + v_slope t`` and the synapse records
          the magnesium-blocked current ``I = w g (E - v) / (1 + cc_Mg/beta_mg exp(-alpha_mg v))``
          (BrainPy MgBlock defaults E=0 mV, cc_Mg=1.2 mM, alpha=0.062 /mV, beta=3.57 mM) and ``v``.
"""

import json
import os
import platform
import sys

import brian2
import numpy as np
from brian2 import Network, NeuronGroup, SpikeGeneratorGroup, StateMonitor, Synapses, defaultclock, ms, mV, prefs

prefs.codegen.target = "numpy"
HERE = os.path.dirname(os.path.abspath(__file__))
DT = 0.1
DURATION = 100.0
SPIKES = np.array([5.0, 5.3, 20.0, 22.0, 24.0, 60.0])  # ms; 5.3 restarts a running transmitter pulse


def run_markov(alpha, beta, T, T_dur):
    defaultclock.dt = DT * ms
    pre = SpikeGeneratorGroup(1, np.zeros(SPIKES.size, int), SPIKES * ms)
    post = NeuronGroup(1, "v : 1")
    syn = Synapses(
        pre,
        post,
        model="""dg/dt = alpha*TT*(1 - g) - beta*g : 1 (clock-driven)
                 TT = T*int(t - t_arr < T_dur + 0.5*dt) : 1
                 t_arr : second""",
        on_pre="t_arr = t",
        method="exponential_euler",
        namespace=dict(alpha=alpha / ms, beta=beta / ms, T=T, T_dur=T_dur * ms),
    )
    syn.connect()
    syn.t_arr = -1e7 * ms
    mon = StateMonitor(syn, "g", record=0, when="end")
    Network(pre, post, syn, mon).run(DURATION * ms, namespace={})  # never read locals
    return np.asarray(mon.g[0], np.float32)


def run_nmda(tau_decay, tau_rise, a, w, E, cc_Mg, alpha_mg, beta_mg, v0, v_slope):
    defaultclock.dt = DT * ms
    pre = SpikeGeneratorGroup(1, np.zeros(SPIKES.size, int), SPIKES * ms)
    post = NeuronGroup(1, "v = v0 + v_slope*t : volt", namespace=dict(v0=v0 * mV, v_slope=v_slope * mV / ms))
    syn = Synapses(
        pre,
        post,
        model="""dg/dt = -g/tau_decay + a*h*(1 - g) : 1 (clock-driven)
                 dh/dt = -h/tau_rise : 1 (clock-driven)
                 I = w*g*(E - v_post)/(1 + cc_Mg/beta_mg*exp(-alpha_mg*v_post)) : volt""",
        on_pre="h += 1",
        method="exponential_euler",
        namespace=dict(
            tau_decay=tau_decay * ms,
            tau_rise=tau_rise * ms,
            a=a / ms,
            w=w,
            E=E * mV,
            cc_Mg=cc_Mg,
            beta_mg=beta_mg,
            alpha_mg=alpha_mg / mV,
            v0=v0 * mV,
            v_slope=v_slope * mV / ms,  # v_post's expression is resolved in this namespace too
        ),
    )
    syn.connect()
    mon = StateMonitor(syn, ["g", "h", "I"], record=0, when="end")
    vmon = StateMonitor(post, "v", record=0, when="end")
    Network(pre, post, syn, mon, vmon).run(DURATION * ms, namespace={})
    f = lambda x: np.asarray(x[0], np.float32)  # noqa: E731
    return f(mon.g), f(mon.h), f(mon.I / mV), f(vmon.v / mV)


def main():
    out = dict(dt=DT, duration=DURATION, spike_times=SPIKES)
    ampa = dict(alpha=0.98, beta=0.18, T=0.5, T_dur=0.5)
    gabaa = dict(alpha=0.53, beta=0.18, T=1.0, T_dur=1.0)
    for name, p in (("ampa", ampa), ("gabaa", gabaa)):
        out[f"{name}_g"] = run_markov(**p)
        out.update({f"{name}_{k}": v for k, v in p.items()})
    nmda = dict(
        tau_decay=100.0,
        tau_rise=2.0,
        a=0.5,
        w=2.0,
        E=0.0,
        cc_Mg=1.2,
        alpha_mg=0.062,
        beta_mg=3.57,
        v0=-80.0,
        v_slope=1.0,
    )
    out["nmda_g"], out["nmda_h"], out["nmda_I"], out["nmda_v"] = run_nmda(**nmda)
    out.update({f"nmda_{k}": v for k, v in nmda.items()})
    np.savez_compressed(os.path.join(HERE, "brian2_synapses.npz"), **out)
    versions = dict(
        brian2=brian2.__version__,
        numpy=np.__version__,
        python=sys.version.split()[0],
        platform=platform.platform(),
        codegen_target="numpy",
        pip="pip install brian2==2.9.0 'numpy<2.3'",
    )
    with open(os.path.join(HERE, "brian2_synapses_versions.json"), "w") as fh:
        json.dump(versions, fh, indent=2, sort_keys=True)
        fh.write("\n")
    print({k: np.shape(v) for k, v in out.items() if np.ndim(v)})


if __name__ == "__main__":
    main()
