"""Where a run's state lives: one device, or a network split over a mesh. ``Runner`` and ``simulate`` hold one
placement and call it; only :func:`of` looks at their ``devices=`` argument.

A placement has one interface (Brian2's ``Device`` is the model: the groups never branch on the device):

* ``sharded``: whether the network is split (``Network._validate`` needs it: a ``Network.deferred`` runs split only);
* ``check(records, owner, jit=, traced=)``: refuse, before anything is built, what it cannot run;
* ``bind(net, dt, cache=)``: the placement of ``net`` at ``dt`` (one device: itself; a mesh: with its
  :class:`~snnjax.sharding.ShardedNetwork`, the per-device networks built on the host);
* ``init``, ``place``, ``gather``, ``layout``, ``first_step``: its state from ``net.init``, from / to the
  one-device layout, which of the two to check against the network, and its step counter;
* ``init_reducers``, ``gather_reducers``: the reducers' accumulators in its layout, and back;
* ``run_chunk``: ``static.n_steps`` steps by the one run loop (:func:`snnjax.loop._run_chunk`): directly on one
  device, inside ``shard_map`` with the sharded spike exchange on a mesh.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from snnjax import sharding
from snnjax.loop import _compiled_chunk, _run_chunk, _Static
from snnjax.network import Network, NetworkState

__all__ = ["OneDevice", "Sharded", "of"]


class OneDevice:
    """The state on the default device, the network as built: the trivial placement.

    Args:
      net: the network it runs (None until :meth:`bind`).
    """

    sharded = False
    shard = None  # no ShardedNetwork

    def __init__(self, net: Network | None = None):
        self.net = net

    def check(self, records: tuple, owner: str, *, jit: bool = True, traced: Any = ()) -> None:
        """Nothing to refuse: every monitor, ``jit=False`` and traced arguments (``simulate`` under ``jit``) run."""

    def bind(self, net: Network, dt: float, *, cache: bool = False) -> OneDevice:
        """The placement of ``net`` (``dt``, ms, and ``cache`` matter to a mesh only)."""
        return OneDevice(net)

    def init(self, key: jax.Array, batch_shape: tuple[int, ...], dt: float) -> NetworkState:
        """The initial state in this placement's layout: ``net.init(key, batch_shape, dt=dt)``."""
        return self.net.init(key, batch_shape, dt=dt)

    def place(self, state: NetworkState) -> NetworkState:
        """A state of ``net.init``'s layout in this placement's (here: itself)."""
        return state

    def gather(self, state: NetworkState) -> NetworkState:
        """A state of this placement back in ``net.init``'s layout (here: itself)."""
        return state

    def layout(self, state: NetworkState, template: Any) -> NetworkState:
        """What to check against the network: ``state``, or the ``template`` (shapes of ``net.init``) for a
        placement whose states have other shapes."""
        return state

    def first_step(self, state: NetworkState) -> int:
        """The state's step counter, on the host."""
        return int(state.step)

    def init_reducers(self, static: _Static, state: NetworkState) -> dict:
        """The reducers' accumulators for a run of ``static`` (``state``: from :meth:`layout`)."""
        return {name: r.init(state) for name, kind, r in static.records if kind == "reducer"}

    def gather_reducers(self, static: _Static, acc: dict) -> dict:
        """The accumulators in the one-device layout, for ``Reducer.result``."""
        return acc

    def run_chunk(self, static, state, acc, values, lag_arrays, *, host: bool, jit: bool):
        """``jit``: the program compiled once per ``static`` (cached, shared by every run of that structure);
        otherwise the loop runs as called (op by op, or traced into an enclosing ``jit``). ``host``: records moved
        to the host, spike states as bool (the ``Runner``'s); else arrays in the state's dtypes."""
        fn = _compiled_chunk(static, True, host) if jit else functools.partial(_run_chunk, spec=static, host=host)
        state, acc, rec = fn(self.net, state, acc, values, lag_arrays)
        return state, acc, jax.device_get(rec) if host else rec


class Sharded:
    """The network split over the devices of a mesh (:mod:`snnjax.sharding`): neurons partitioned, projections
    split by postsynaptic neuron, spikes exchanged by :class:`~snnjax.sharding.SpikeExchange`.

    Args:
      devices: a list of devices, or a ``jax.sharding.Mesh`` with an axis ``"neurons"``.
      shard: the :class:`~snnjax.sharding.ShardedNetwork` it runs (None until :meth:`bind`).
    """

    sharded = True

    def __init__(self, devices: Any, shard: sharding.ShardedNetwork | None = None):
        self.devices = devices
        self.shard = shard  # set by bind()

    def check(self, records: tuple, owner: str, *, jit: bool = True, traced: Any = ()) -> None:
        """``jit=False``, traced arguments (the state is converted on the host) and monitors a device cannot
        record alone (probes, functions) are refused with a ``ValueError``."""
        if not jit:
            raise ValueError(f"{owner}: devices= needs jit=True (the sharded step is a compiled shard_map)")
        if any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves(traced)):
            raise ValueError(
                f"{owner}: devices= converts the state on the host, so it cannot run under jit/vmap/grad; call it at "
                "top level (it compiles its own program)"
            )
        sharding.check_monitors(records, owner)

    def bind(self, net: Network, dt: float, *, cache: bool = False) -> Sharded:
        """With the :class:`~snnjax.sharding.ShardedNetwork` of ``net`` at ``dt`` (``cache``: reused while
        ``net`` lives, :func:`snnjax.sharding.cached`; else a new one)."""
        make = sharding.cached if cache else sharding.ShardedNetwork
        return Sharded(self.devices, make(net, self.devices, dt))

    def init(self, key: jax.Array, batch_shape: tuple[int, ...], dt: float) -> NetworkState:
        return self.shard.init(key, batch_shape, dt=dt)

    def place(self, state: NetworkState) -> NetworkState:
        return self.shard.shard_state(state)

    def gather(self, state: NetworkState) -> NetworkState:
        return self.shard.gather_state(state)

    def layout(self, state: NetworkState, template: Any) -> Any:
        return template  # a sharded state's leaves carry the device axis: the network is checked on the template

    def first_step(self, state: NetworkState) -> int:
        return int(np.asarray(state.step.addressable_data(0))[0])

    def init_reducers(self, static: _Static, state: Any) -> dict:
        return sharding.init_reducers(self.shard, static, state)

    def gather_reducers(self, static: _Static, acc: dict) -> dict:
        return sharding.gather_reducers(self.shard, static, acc)

    def run_chunk(self, static, state, acc, values, lag_arrays, *, host: bool, jit: bool = True):
        """Always compiled, whatever ``jit`` says (one program per structure, kept by the
        :class:`~snnjax.sharding.ShardedNetwork`); records in the one-device layout, on the host with ``host`` (as
        numpy), else as jax arrays."""
        state, acc, rec = sharding.run_chunk(self.shard, static, state, acc, values, lag_arrays, host=host)
        return state, acc, rec if host else {k: jnp.asarray(v) for k, v in rec.items()}


def of(devices: Any = None) -> OneDevice | Sharded:
    """The placement of a run's ``devices=`` argument: :class:`OneDevice` for ``None``, else :class:`Sharded`."""
    return OneDevice() if devices is None else Sharded(devices)
