"""The Population base: duck-typed populations count, and the engine reads kinds only through the declared hooks."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct

import snnjax as sj
from snnjax.population import hook


@struct.dataclass
class ReplayState:
    spike: jax.Array
    k: jax.Array


@struct.dataclass
class Replay(sj.neurons.Population):
    """A user's spike source: neuron i fires every (i + 2)-th step. It declares itself a source (no input)."""

    size: int = struct.field(pytree_node=False, default=3)
    TAKES_INPUT = False

    @property
    def shape(self):
        return (self.size,)

    @property
    def count(self):
        return self.size

    def init(self, batch_shape=(), key=None):
        z = jnp.zeros((*batch_shape, self.size))
        return ReplayState(spike=z, k=jnp.zeros(batch_shape, jnp.int32))

    def update(self, state, current, *, dt):
        k = state.k + 1
        fire = (k[..., None] % (jnp.arange(self.size) + 2) == 0).astype(jnp.float32)
        return ReplayState(spike=fire, k=k)


class Duck:
    """Follows the four members without subclassing: counts as a Population, gets the default hooks."""

    shape, count = (2,), 2

    def init(self, batch_shape=(), key=None): ...

    def update(self, state, current, *, dt): ...


def test_builtin_models_and_sources_declare_their_hooks():
    assert isinstance(sj.neurons.LIF(2), sj.neurons.Population)
    assert isinstance(sj.neurons.LI(2), sj.neurons.Population)
    for source in (sj.inputs.PoissonGroup(2), sj.inputs.SpikeTimeGroup(2, [0], [1.0]), sj.inputs.SpikeArray(2)):
        assert isinstance(source, sj.neurons.Population) and not source.TAKES_INPUT
    assert sj.neurons.LIF(2).TAKES_INPUT and sj.neurons.LIF(2).SPLITTABLE and sj.neurons.LIF(2).ZERO_GRADIENT == ()
    assert sj.inputs.PoissonGroup(2).SPLITTABLE and not sj.inputs.SpikeTimeGroup(2, [0], [1.0]).SPLITTABLE
    # hooks are class attributes, not dataclass fields (no leaf, no constructor argument)
    assert "TAKES_INPUT" not in {f.name for f in dataclasses.fields(sj.inputs.PoissonGroup)}


@dataclasses.dataclass
class FieldDuck:
    """Members given as dataclass fields without defaults (not class attributes) count too."""

    shape: tuple
    count: int

    def init(self, batch_shape=(), key=None): ...

    def update(self, state, current, *, dt): ...


def test_duck_typed_population_counts_and_gets_the_defaults():
    assert isinstance(Duck(), sj.neurons.Population) and not isinstance(object(), sj.neurons.Population)
    assert isinstance(FieldDuck((2,), 2), sj.neurons.Population)
    assert hook(Duck(), "TAKES_INPUT") is True and hook(Duck(), "SPLITTABLE") is True
    assert hook(Duck(), "ZERO_GRADIENT") == ()
    with pytest.raises(ValueError, match="hook: name must be one of"):
        hook(Duck(), "TAKES_INPUTS")


def test_a_users_source_is_refused_as_a_target_by_its_hook_and_runs_as_a_presynaptic_group():
    proj = sj.Projection("src", "post", conn=sj.conn.One2One(), weight=2.0, synapse=sj.synapses.Delta())
    with pytest.raises(ValueError, match=r"'src', a Replay \(a spike source.*output=None"):
        sj.Network(src=Replay(), post=sj.neurons.LIF(3), p=sj.Projection("post", "src", conn=sj.conn.One2One()))
    net = sj.Network(src=Replay(), post=sj.neurons.LIF(3, tau_ref=0.0), p=proj)
    _, rec = sj.simulate(net, net.init(), duration=3.0, dt=0.1, monitors=["src.spike"])
    spikes = np.asarray(rec["src.spike"])
    steps = np.arange(1, 31)[:, None]
    np.testing.assert_array_equal(spikes, (steps % (np.arange(3) + 2) == 0).astype(np.float32))


def test_zero_gradient_hook_drives_trainable():
    net = sj.Network(P=sj.inputs.PoissonGroup(2, rate=5.0), E=sj.neurons.LIF(2))
    assert hook(net.populations["P"], "ZERO_GRADIENT") == ("rate",)
    from snnjax.training import _zero_gradient_paths

    assert "P.rate" in _zero_gradient_paths(net) and not any(p.startswith("E.") for p in _zero_gradient_paths(net))
