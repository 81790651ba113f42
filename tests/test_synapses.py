"""Synaptic kinetics and outputs against their closed-form solutions."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnjax as sj

DT = 0.1


def response(model, n_steps, w=1.5):
    state = model.init((1,))
    inp = jnp.zeros((n_steps, 1)).at[0].set(w)
    _, g = jax.lax.scan(lambda s, x: (lambda s2: (s2, s2.g))(model.update(s, x, dt=DT)), state, inp)
    return np.asarray(g[:, 0])


def test_exponential_decay_is_exact():
    g = response(sj.synapses.Exponential(tau=5.0), 400)
    k = np.arange(400)
    np.testing.assert_allclose(g, 1.5 * np.exp(-k * DT / 5.0), rtol=1e-5, atol=1e-7)  # float32 rounding


def test_alpha_matches_closed_form_and_peaks_at_w_over_e():
    tau = 10.0
    g = response(sj.synapses.Alpha(tau_decay=tau), 1000)
    t = np.arange(1000) * DT  # the spike enters h at step 0; g starts one step later
    expected = 1.5 * (t / tau) * np.exp(-t / tau)
    np.testing.assert_allclose(g, expected, rtol=1e-5, atol=1e-6)
    assert abs(g.max() - 1.5 / np.e) < 1e-4 and abs(np.argmax(g) * DT - tau) < DT


def test_delta_passes_input_through():
    g = response(sj.synapses.Delta(), 5)
    np.testing.assert_array_equal(g, [1.5, 0, 0, 0, 0])


def test_coba_current_is_conductance_times_driving_force():
    out = sj.outputs.COBA(E=-80.0)
    state = sj.neurons.LIF(3).init()
    state = state.replace(v=jnp.array([-60.0, -80.0, -90.0]))
    np.testing.assert_allclose(out.contribution(jnp.array([2.0, 2.0, 2.0]), state), [-40.0, 0.0, 20.0])


@pytest.mark.parametrize(
    "make,arg",
    [
        (lambda: sj.synapses.Exponential(tau=0.0), "tau"),
        (lambda: sj.synapses.Alpha(tau_decay=-1.0), "tau_decay"),
        (lambda: sj.outputs.COBA(E=float("nan")), "E"),
        (lambda: sj.outputs.COBA(E=0.0, target="v"), "target"),
    ],
)
def test_bad_synapse_parameters(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


MODELS = [
    sj.neurons.LIF(3, tau=jnp.ones(3)),
    sj.synapses.Exponential(tau=3.0),
    sj.synapses.Alpha(),
    sj.synapses.Delta(),
    sj.outputs.CUBA(),
    sj.outputs.COBA(E=-80.0),
    sj.Projection("a", "b", conn=sj.conn.All2All(), weight=2.0),
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_tree_map_to_ints_and_back(model):
    # __post_init__ runs on unflatten: it must accept int (and tracer) leaves, as vmap axis trees have
    zeros = jax.tree.map(lambda _: 0, model)
    assert jax.tree.structure(zeros) == jax.tree.structure(model)
    jax.jit(lambda m: jax.tree.map(lambda x: x, m))(model)
