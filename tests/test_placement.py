"""Placement as a strategy (snnjax.placement) and the spike exchange as a piece of Network.step (issue 23): Runner and
simulate pick a placement from devices= and nothing else branches on it; no Network subclass overrides the step's
private hooks. (The sharded runs themselves: tests/test_sharding.py, tests/test_ring.py.)"""

from __future__ import annotations

import importlib
import pkgutil

import jax
import jax.numpy as jnp
import numpy as np

import snnjax as sj
from snnjax.network import LocalExchange, Network


def small_net():
    lif = dict(v_rest=0.0, v_reset=0.0, v_th=1.0, tau=5.0)
    return sj.Network(
        A=sj.neurons.LIF(6, **lif),
        B=sj.neurons.LIF(5, **lif),
        AB=sj.Projection("A", "B", conn=sj.conn.FixedProb(0.6, seed=2), weight=15.0, delay=0.3),
        BB=sj.Projection("B", "B", conn=sj.conn.All2All(include_self=False), weight=0.2),
    )


def run(net, exchange=None, steps=80):
    state = net.init(dt=0.1)
    prep = net.prepare(0.1)
    step = jax.jit(lambda s: net.step(prep, s, {"A": jnp.full(6, 2.5)}, dt=0.1, exchange=exchange))
    spikes = []
    for _ in range(steps):
        state = step(state)
        spikes.append(np.asarray(state.neurons["B"].spike))
    return np.array(spikes)


def test_placement_of_devices():
    assert isinstance(sj.placement.of(None), sj.placement.OneDevice)
    where = sj.placement.of(jax.devices()[:1])
    assert isinstance(where, sj.placement.Sharded) and where.sharded and where.shard is None
    net = small_net()
    bound = where.bind(net, 0.1)
    assert isinstance(bound.shard, sj.sharding.ShardedNetwork)
    r = sj.Runner(net, dt=0.1, devices=jax.devices()[:1])
    assert isinstance(r.placement, sj.placement.Sharded) and r.shard is r.placement.shard
    assert sj.Runner(net, dt=0.1).shard is None


def test_exchange_is_a_piece_of_the_step():
    """The default exchange is LocalExchange; a step given another one sees the spikes that one gives."""
    net = small_net()
    default = run(net)
    assert default.sum() > 0  # B fires, driven by A
    np.testing.assert_array_equal(run(net, LocalExchange()), default)

    class Silent(LocalExchange):  # A's spikes never reach its projections
        def now(self, name, delays, own):
            return jnp.zeros_like(own) if name == "A" else own

        def write(self, delays, step, spikes):
            return super().write(delays, step, {n: jnp.zeros_like(s) if n == "A" else s for n, s in spikes.items()})

    assert run(net, Silent()).sum() == 0


def test_no_network_subclass_overrides_private_hooks():
    """A sharded device runs a plain Network (the exchange is a parameter of its step), and no class in snnjax
    subclasses Network to override a private method of it."""
    for mod in pkgutil.walk_packages(sj.__path__, "snnjax."):
        if mod.name.startswith("snnjax.examples"):
            continue
        importlib.import_module(mod.name)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    private = {n for n in vars(Network) if n.startswith("_") and not n.startswith("__")} | {"step"}
    bad = {
        f"{c.__module__}.{c.__qualname__}": sorted(private & set(vars(c)))
        for c in subclasses(Network)
        if c.__module__.startswith("snnjax") and private & set(vars(c))
    }
    assert bad == {}
    shard = sj.sharding.ShardedNetwork(small_net(), jax.devices()[:1], 0.1)
    assert type(shard._local(0)) is Network
    assert isinstance(shard.exchange, sj.sharding.SpikeExchange)
