"""The one lag rule: lag = max(1, floor(delay / dt + 1/2)) decided on the host; never a wrap-around.

Every delay 0-1 ms in steps of 0.05 ms at dt = 0.1 ms, given as a scalar (each projection alone on its
presynaptic group, the case that once delivered 0.35 ms after one step) and per synapse, in float32 and with
``jax_enable_x64``; the expected lags are written out by hand from the rule.
"""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj

DT = 0.1
DELAYS = [round(0.05 * i, 2) for i in range(21)]
# floor(d / 0.1 + 1/2), at least 1: half steps round up
WANT = [1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10]


def test_rule_on_the_host():
    assert sj.delays.lag_steps(np.array(DELAYS), DT).tolist() == WANT
    assert sj.delays.lag_steps(np.array(DELAYS, np.float32), DT).tolist() == WANT
    assert sj.delays.lag_of(0.35, 0.1) == 4 and sj.delays.lag_of(0.25, 0.1) == 3 and sj.delays.lag_of(0.3, 0.1) == 3
    assert sj.delays.lag_of(2.04, 0.1) == 20 and sj.delays.lag_of(0.0, 0.1) == 1


def test_rule_on_the_device_for_traced_delays():
    got = jax.jit(lambda d: sj.delays.device_lag(d, DT))(jnp.asarray(DELAYS, jnp.float32))
    assert np.asarray(got).tolist() == WANT


def _pulse(n_steps):
    pulse = np.zeros((n_steps, 1), np.float32)
    pulse[0] = 1e4
    return pulse


def arrivals_scalar(delays, dtype=np.float32):
    """One pre group per delay, each read by its projection alone; returns the arrival lag of each."""
    comps = {}
    for i, d in enumerate(delays):
        comps[f"a{i}"] = sj.neurons.LIF(1, v_th=1.0, tau_ref=1000.0)
        comps[f"b{i}"] = sj.neurons.LIF(1, v_th=1e9, tau=1e9)
        comps[f"p{i}"] = sj.Projection(f"a{i}", f"b{i}", conn=sj.conn.All2All(), weight=1.0, delay=dtype(d),
                                       synapse=sj.synapses.Delta(), output=sj.outputs.CUBA(target="v"))  # fmt: skip
    net = sj.Network(**comps)
    n = 20
    inputs = [(f"a{i}.input", _pulse(n), "iter") for i in range(len(delays))]
    monitors = [m for i in range(len(delays)) for m in (f"a{i}.spike", f"b{i}.v")]
    _, rec = sj.simulate(net, net.init(dt=DT), duration=n * DT, dt=DT, inputs=inputs, monitors=monitors)
    out = []
    for i in range(len(delays)):
        s = int(np.nonzero(np.asarray(rec[f"a{i}.spike"])[:, 0])[0][0])
        out.append(int(np.nonzero(np.asarray(rec[f"b{i}.v"])[:, 0] > 0.5)[0][0]) - s)
    return out


def arrivals_per_synapse(delays):
    k = len(delays)
    net = sj.Network(
        a=sj.neurons.LIF(1, v_th=1.0, tau_ref=1000.0),
        b=sj.neurons.LIF(k, v_th=1e9, tau=1e9),
        p=sj.Projection(
            "a",
            "b",
            conn=(np.zeros(k, np.int32), np.arange(k)),
            weight=1.0,
            delay=delays,
            synapse=sj.synapses.Delta(),
            output=sj.outputs.CUBA(target="v"),
        ),  # fmt: skip
    )
    n = 20
    _, rec = sj.simulate(net, net.init(dt=DT), duration=n * DT, dt=DT, inputs=[("a.input", _pulse(n), "iter")],
                         monitors=["a.spike", "b.v"])  # fmt: skip
    s = int(np.nonzero(np.asarray(rec["a.spike"])[:, 0])[0][0])
    v = np.asarray(rec["b.v"])
    return [int(np.nonzero(v[:, j] > 0.5)[0][0]) - s for j in range(k)]


def test_every_delay_as_a_scalar_alone_on_its_group():
    assert arrivals_scalar(DELAYS) == WANT


def test_every_delay_per_synapse_float32():
    assert arrivals_per_synapse(jnp.asarray(DELAYS, jnp.float32)) == WANT
    assert arrivals_per_synapse(np.asarray(DELAYS, np.float64)) == WANT


def test_every_delay_with_x64():
    code = textwrap.dedent(
        f"""
        import jax, numpy as np
        assert jax.config.jax_enable_x64
        import sys; sys.path.insert(0, {os.path.dirname(__file__)!r})
        import test_lags as t
        assert t.arrivals_per_synapse(np.asarray(t.DELAYS, np.float64)) == t.WANT
        assert t.arrivals_scalar(t.DELAYS[:8], dtype=float) == t.WANT[:8]
        print("ok")
        """
    )
    env = {**os.environ, "JAX_ENABLE_X64": "1", "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-3000:]


def test_r01_delay_beyond_max_delay_is_an_error_before_the_run():
    with pytest.raises(ValueError, match="exceeds max_delay"):
        sj.Network(a=sj.neurons.LIF(1), b=sj.neurons.LIF(1),
                   p=sj.Projection("a", "b", conn=sj.conn.All2All(), delay=2.0, max_delay=1.0))  # fmt: skip


def test_r01_traced_delay_beyond_the_buffer_raises_instead_of_wrapping():
    # vmap over delays [0.5, 1, 2, 3] with max_delay=1: the old code delivered 2 and 3 ms after 1 ms
    def run(d):
        net = sj.Network(
            a=sj.neurons.LIF(1, v_th=1.0, tau_ref=1000.0),
            b=sj.neurons.LIF(1, v_th=1e9, tau=1e9),
            p=sj.Projection(
                "a",
                "b",
                conn=sj.conn.All2All(),
                weight=1.0,
                delay=d,
                max_delay=1.0,
                synapse=sj.synapses.Delta(),
                output=sj.outputs.CUBA(target="v"),
            ),  # fmt: skip
        )
        _, rec = sj.simulate(net, net.init(dt=DT), duration=4.0, dt=DT, inputs=[("a.input", _pulse(40), "iter")],
                             monitors=["a.spike", "b.v"])  # fmt: skip
        return rec["a.spike"], rec["b.v"]

    spikes, vs = jax.vmap(run)(jnp.asarray([0.5, 1.0]))
    s = [int(np.nonzero(np.asarray(x)[:, 0])[0][0]) for x in spikes]
    assert [int(np.nonzero(np.asarray(v)[:, 0] > 0.5)[0][0]) for v in vs] == [s[0] + 5, s[1] + 10]
    with pytest.raises(Exception, match="beyond the delay buffer of 10 steps"):
        jax.block_until_ready(jax.vmap(run)(jnp.asarray([0.5, 1.0, 2.0, 3.0])))
