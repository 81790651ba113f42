"""Long runs do not drift: 1e6 steps of a trivial network against closed forms.

A LIF at rest without input keeps ``v = v_rest`` exactly, and a LIF with ``v_th < v_rest`` and no refractory
period spikes at every step, so the reducers (``Mean``, ``ExpTrace``, ``SpikeCount``) and the time stamps have
analytic values at every step. Before compensated accumulation, a float32 ``Mean`` of -65.3 mV read -64.4 mV
after 2e6 steps and ``ExpTrace`` carried the error of a float32 ``exp(-dt/tau)`` (up to ``eps tau / dt``).
"""

from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import snnjax as sj
from snnjax import monitors as mons

N_STEPS = 1_000_000
EVERY = 1000


def _nearest_float32(steps: np.ndarray, dt: float) -> np.ndarray:
    """The float32 nearest to ``step * dt`` (dt read as the decimal it was written as)."""
    d = Fraction(repr(dt))
    exact64 = steps.astype(np.float64) * d.numerator / d.denominator  # within 1e-16 relative of the exact value
    out = np.float32(exact64)
    close = np.abs(out.astype(np.float64) - exact64) > 0.49 * np.spacing(out).astype(np.float64)
    for i in np.nonzero(close)[0]:  # near a midpoint, float64-then-float32 can round twice: settle it exactly
        exact = Fraction(int(steps[i])) * d
        cands = [np.nextafter(out[i], np.float32(-np.inf)), out[i], np.nextafter(out[i], np.float32(np.inf))]
        out[i] = min(cands, key=lambda c: abs(Fraction(float(c)) - exact))
    return out


@settings(max_examples=3, deadline=None, derandomize=True)
@given(
    dt=st.sampled_from([0.1, 0.025, 0.01]),
    v_rest=st.floats(-90.0, 90.0).filter(lambda v: abs(v) > 1.0),
    tau=st.floats(5.0, 500.0),
)
def test_reducers_and_time_stamps_do_not_drift(dt, v_rest, tau):
    net = sj.Network(
        C=sj.neurons.LIF(2, v_rest=v_rest, v_reset=v_rest, v_th=v_rest + 1000.0),  # constant v = v_rest
        F=sj.neurons.LIF(3, v_rest=0.0, v_reset=0.0, v_th=-1.0, tau_ref=0.0),  # a spike at every step
    )
    monitors = [
        mons.Mean("vbar", path="C.v"),
        mons.ExpTrace("vtrace", path="C.v", tau=tau),
        mons.SpikeCount("count", population="F"),
        mons.ExpTrace("rate", path="F.spike", tau=tau),
    ]
    runner = sj.Runner(net, dt=dt, monitors=monitors, every=EVERY, chunk=N_STEPS * dt / 4)
    mon = runner.run(N_STEPS * dt)
    v = float(np.float32(v_rest))  # the state holds v_rest in float32
    # Mean: compensated float32 sum of 1e6 equal terms: relative error ~1e-7 (a plain sum: ~1e-2)
    np.testing.assert_allclose(mon["vbar"], np.full(2, v), rtol=1e-6)
    # SpikeCount: exact integers
    np.testing.assert_array_equal(mon["count"], np.full(3, float(N_STEPS)))
    # ExpTrace after step i (records at i = 0, EVERY, ...): value * (1 - d^(i+1)) / (1 - d), d = exp(-dt/tau),
    # float64 closed form; relative 1e-6 covers float32 rounding near the steady state (measured < 1e-7)
    k = np.arange(0, N_STEPS, EVERY) + 1.0
    growth = np.expm1(k * -dt / tau) / np.expm1(-dt / tau)
    np.testing.assert_allclose(mon["vtrace"], v * growth[:, None] * np.ones((1, 2)), rtol=1e-6)
    np.testing.assert_allclose(mon["rate"], growth[:, None] * np.ones((1, 3)), rtol=1e-6)
    # time stamps: Runner's float64 on the host, simulate's float32 on the device (the nearest float, exactly)
    np.testing.assert_allclose(mon.ts, np.arange(0, N_STEPS, EVERY) * dt, rtol=1e-15, atol=0)
    assert int(runner.state.step) == N_STEPS
    _, rec = sj.simulate(net, net.init(dt=dt), duration=N_STEPS * dt, dt=dt)
    np.testing.assert_array_equal(np.asarray(rec["ts"]), _nearest_float32(np.arange(N_STEPS), dt))
