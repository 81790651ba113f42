"""Generate the Brian2 2.9.0 reference trace of the custom-model example (notebook 06, tests/test_ode_base.py).

Writes, next to this file:
  brian2_custom.npz            voltage and adaptation samples + spike times + parameters (float64 / float32)
  brian2_custom_versions.json  exact versions of brian2 / numpy / sympy / python

Run it in the Brian2 peer venv (brian2==2.9.0, numpy<2.3; the tests never import brian2), made by
benchmarks/peers/make_envs.py (folder: --dir / $SNNJAX_PEERS, default .peers/ in the clone):

    python benchmarks/peers/make_envs.py --peer brian2
    "$(python benchmarks/peers/make_envs.py --which brian2)" tests/data/make_brian2_custom.py

The model is the adaptive quadratic integrate-and-fire neuron written on ``snnjax.neurons.ODENeuron`` in
tests/test_ode_base.py and notebook 06 (numbers in snnjax's units: mV, ms, nA, MOhm; dimensionless Brian2
variables, time constants entering as ``tau * ms``):

    tau dv/dt = (v - v_rest)(v - v_c) / delta + r (I - w)
    tau_w dw/dt = a (v - v_rest) - w
    spike when v >= v_th;  then v = v_reset, w += b

Both sides integrate with ``rk4`` at the same ``dt`` (0.01 ms), so the traces differ only by float32 (snnjax)
versus float64 (Brian2) rounding. The input is a constant ``i_amp`` nA from ``t_on = 0``: a ``TimedArray`` step
at a later time is seen one half step early by Brian2's rk4 (its midpoint evaluations at ``t + dt/2`` round to
the next bin), which shifted the trace by 0.013 mV against snnjax (where the input is constant over the
step), so the reference avoids a step in the input. ``prefs.codegen.target = "numpy"``.

Timing (as tests/data/make_brian2_neurons.py): Brian2 runs update -> threshold -> reset per step and stamps a
spike with the start of the step, so a spike on snnjax's step ``k`` (0-based) is the Brian2 time ``k * dt``;
``StateMonitor`` records at the start of a step, so the sample at ``t`` is snnjax's state after step
``round(t / dt) - 1``.

Keys: ``t`` (ms), ``v`` (mV), ``w`` (nA), ``spikes`` (ms), ``dt``, ``stride``, ``T``, ``t_on``, ``i_amp``,
``par_<name>`` for every parameter.
"""

import json
import os
import platform

import brian2 as b2
import numpy as np
import sympy

b2.prefs.codegen.target = "numpy"
HERE = os.path.dirname(os.path.abspath(__file__))

PAR = dict(v_rest=-65.0, v_c=-50.0, delta=15.0, v_th=-20.0, v_reset=-70.0, tau=10.0, tau_w=100.0, a=0.05, b=0.5, r=1.0)
DT, STRIDE, T, T_ON, I_AMP = 0.01, 10, 200.0, 0.0, 12.0

EQS = """
dv/dt = ((v - v_rest) * (v - v_c) / delta + r * (I_ext(t) - w)) / (tau * ms) : 1
dw/dt = (a * (v - v_rest) - w) / (tau_w * ms) : 1
"""


def main():
    b2.start_scope()
    b2.defaultclock.dt = DT * b2.ms
    n_steps = int(round(T / DT))
    current = np.where(np.arange(n_steps) * DT >= T_ON - 1e-9, I_AMP, 0.0)
    namespace = dict(PAR, I_ext=b2.TimedArray(current, dt=DT * b2.ms))
    group = b2.NeuronGroup(
        1, EQS, threshold="v >= v_th", reset="v = v_reset; w += b", method="rk4", namespace=namespace
    )
    group.v = PAR["v_rest"]
    group.w = 0.0
    mon = b2.StateMonitor(group, ["v", "w"], record=0, dt=DT * STRIDE * b2.ms)
    spk = b2.SpikeMonitor(group)
    b2.run(T * b2.ms)
    t = np.asarray(mon.t / b2.ms)
    keep = t > 0  # the sample at t = 0 is the initial value, not an update
    spikes = np.asarray(spk.t / b2.ms)
    print(f"adaptive QIF rk4 dt={DT}: {len(spikes)} spikes, first {spikes[:4]}")
    data = dict(
        t=t[keep], v=np.asarray(mon.v[0])[keep].astype(np.float32), w=np.asarray(mon.w[0])[keep].astype(np.float32),
        spikes=spikes, dt=np.float64(DT), stride=np.int64(STRIDE), T=np.float64(T), t_on=np.float64(T_ON),
        i_amp=np.float64(I_AMP), **{f"par_{k}": np.float64(v) for k, v in PAR.items()},
    )  # fmt: skip
    np.savez_compressed(os.path.join(HERE, "brian2_custom.npz"), **data)
    versions = dict(
        brian2=b2.__version__, numpy=np.__version__, sympy=sympy.__version__, python=platform.python_version(),
        platform=platform.platform(), codegen_target="numpy", pip="pip install brian2==2.9.0 'numpy<2.3'",
    )  # fmt: skip
    with open(os.path.join(HERE, "brian2_custom_versions.json"), "w") as f:
        json.dump(versions, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
