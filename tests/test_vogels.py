"""Vogels-Sprekeler (2011) inhibitory STDP (snnjax.plasticity.VogelsSprekeler, a rule written on the contract) against
Brian2 2.9 synapse by synapse, on fixed spike trains at both ends (two SpikeTimeGroups, the projection only learns:
output=None), and the same weights on every format.

Reference: ``tests/data/brian2_istdp.npz`` from ``tests/data/make_brian2_istdp.py`` (Brian2 2.9.0; its docstring has
the keys, the variants and the timing): 16 synapses in an unsorted explicit list, per-synapse delays (``on_pre``
delayed by each synapse's delay, before ``on_post`` in a step) or one scalar delay (variant ``scalar``); the whole
weight trajectory ``{v}_w`` (after every step) is compared.
"""

import pathlib

import numpy as np
import pytest

import snnjax as sj

DATA = np.load(pathlib.Path(__file__).parent / "data" / "brian2_istdp.npz")
DT = float(DATA["dt"])
T = int(DATA["n_steps"])
VARIANTS = [str(v) for v in DATA["variants"]]
# Brian2 decays its traces exactly (float64) at events; we decay every step in float32 and add ~400 updates of
# eta * O(1): measured max errors 8.4e-7 (vogels), 9.7e-7 (high_rho), 1.8e-6 (unbounded), 2.5e-7 (nearest), 9.4e-7
# (scalar, sparse and event); 1e-4 is what issue 23 asks, and a wrong rule misses by > 1e-2 (see below)
ATOL = 1e-4


def rule(variant: str) -> sj.plasticity.VogelsSprekeler:
    p = {k: float(DATA[f"{variant}_{k}"]) for k in ("eta", "rho0", "w_min", "w_max")}
    pairing = "nearest" if bool(DATA[f"{variant}_nearest"]) else "all-to-all"
    return sj.plasticity.VogelsSprekeler(**p, tau=float(DATA["tau_stdp"]), pairing=pairing)


def network(variant: str, method: str = "sparse") -> sj.Network:
    pre = sj.inputs.SpikeTimeGroup(6, indices=DATA["pre_neurons"], times=DATA["pre_times"])
    post = sj.inputs.SpikeTimeGroup(5, indices=DATA["post_neurons"], times=DATA["post_times"])
    delay = float(DATA["scalar_delay"]) if bool(DATA[f"{variant}_scalar_delay"]) else DATA["delays"]
    proj = sj.Projection("pre", "post", conn=(DATA["pre_idx"], DATA["post_idx"]), weight=DATA["w0"], delay=delay,
                         output=None, plasticity=rule(variant), method=method)  # fmt: skip
    return sj.Network(pre=pre, post=post, PQ=proj)


def run(net: sj.Network, monitors=("PQ.w",)):
    return sj.simulate(net, net.init(dt=DT), duration=T * DT, dt=DT, monitors=list(monitors))


@pytest.mark.parametrize("variant", VARIANTS)
def test_vogels_sprekeler_equals_brian2_synapse_by_synapse(variant):
    state, rec = run(network(variant), monitors=("PQ.w", "pre.spike", "post.spike"))
    # the fixed trains are the reference's, on both sides
    steps, neurons = np.nonzero(np.asarray(rec["post.spike"]))
    np.testing.assert_array_equal(steps, DATA["post_steps"])
    np.testing.assert_array_equal(neurons, DATA["post_neurons"])
    assert np.asarray(rec["pre.spike"]).sum() == DATA["pre_steps"].size
    w, want = np.asarray(rec["PQ.w"]), DATA[f"{variant}_w"]
    assert w.shape == want.shape == (T, 16)
    assert np.abs(want[-1] - want[0]).max() > 0.05  # the weights moved
    err = np.abs(w - want).max()
    assert err <= ATOL, (variant, err)
    np.testing.assert_allclose(state.synapses["PQ"].w, DATA[f"{variant}_w_final"], atol=ATOL, rtol=0)
    # the traces at the last step (Brian2's, decayed to t = (T - 1) dt), per synapse: apre of its source (per
    # synapse with per-synapse delays), apost of its target
    apre = np.asarray(state.synapses["PQ"].apre)
    apre = apre if apre.shape == (16,) else apre[DATA["pre_idx"]]
    np.testing.assert_allclose(apre, DATA[f"{variant}_apre"], atol=1e-5)
    np.testing.assert_allclose(np.asarray(state.synapses["PQ"].apost)[DATA["post_idx"]], DATA[f"{variant}_apost"],
                               atol=1e-5)  # fmt: skip


@pytest.mark.parametrize("method", ["event", "vector_event"])
def test_vogels_sprekeler_on_the_event_formats_equals_sparse_and_brian2(method):
    # the scalar-delay variant (per-synapse delays with plasticity run on sparse): rows of the arrivals and columns
    # of the postsynaptic spikes instead of every synapse, the same weights
    _, sparse = run(network("scalar", "sparse"))
    net = network("scalar", method)
    assert net.projections["PQ"].method == method
    _, rec = run(net)
    np.testing.assert_allclose(rec["PQ.w"], sparse["PQ.w"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(rec["PQ.w"], DATA["scalar_w"], atol=ATOL, rtol=0)


def test_a_wrong_rule_is_told_apart_by_the_data():
    # the test can fail: the rule without its target-rate term (rho0 = 0, so alpha = 0) misses Brian2 by far more
    # than the tolerance
    flipped = rule("vogels").replace(rho0=0.0)
    net = network("vogels")
    net.projections["PQ"] = net.projections["PQ"].replace(plasticity=flipped)
    _, rec = run(net)
    assert np.abs(np.asarray(rec["PQ.w"]) - DATA["vogels_w"]).max() > 100 * ATOL


def test_a_projection_onto_a_spike_source_needs_output_none():
    pre = sj.inputs.SpikeTimeGroup(2, indices=[0], times=[1.0])
    for post in (sj.inputs.SpikeTimeGroup(2, indices=[1], times=[2.0]), sj.inputs.PoissonGroup(2, rate=10.0),
                 sj.inputs.SpikeArray(2)):  # fmt: skip
        proj = sj.Projection("a", "b", conn=sj.conn.All2All(), weight=0.5, plasticity=rule("vogels"))
        with pytest.raises(ValueError, match="output=None"):
            sj.Network(a=pre, b=post, p=proj)
        sj.Network(a=pre, b=post, p=proj.replace(output=None))  # allowed: it only learns
