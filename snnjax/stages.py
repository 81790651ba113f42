"""The stages of one step of a bound projection, one small class per way of composing them.

A :class:`~snnjax.projection.Projection` is the spec (what connects to what, with which weights, delays, kinetics,
output, STP and rule); once bound (:meth:`Projection.bind`: the synapse list and the configured propagator), one step
runs these stages in order:

1. **delay**: the spikes the presynaptic group emitted ``lag`` steps earlier, read from the network's delay buffer
   (``Network.step``), or, with per-synapse delays on an event format, the last step's spikes, delivered at emission
   into the projection's ring of future input;
2. **STP** (optional): each spike scaled by its synapse's efficacy ``u x`` (:class:`snnjax.synapses.STP`);
3. **propagation**: spikes x weights summed per postsynaptic neuron by the connectivity format
   (:mod:`snnjax.formats`);
4. **kinetics**: the synapse model integrates what arrives (:class:`snnjax.synapses.Kinetics`);
5. **output**: ``g`` turned into a current or a jump of the postsynaptic population (``Network.step``, through
   :mod:`snnjax.outputs`);
6. **learning** (optional): the plasticity rule after the neurons' update (:class:`Learning`).

How stages 2-4 compose depends on where the kinetics live, so each composition is its own class
(:func:`transmission` picks one per projection):

* :class:`PostAligned`: STP, then propagation of the (scaled) spikes, then kinetics per postsynaptic neuron;
* :class:`PreAligned`: kinetics (and STP) per presynaptic neuron (or per synapse), then propagation of ``g`` every
  step (``AMPA``, ``GABAa``, ``NMDA``);
* :class:`RingDelivered`: per-synapse delays on an event format: delivery at emission into the ring, then kinetics of
  the slot that arrives now;
* :class:`FusedPlastic`: post-aligned with a plasticity rule whose arrival update runs inside the format's
  transmission loop (one pass over the rows of the arriving spikes).

The stage classes hold no arrays (the projection holds them, as pytree leaves, so ``vmap`` over weights and ``grad``
work as before); each ``transmit`` takes the projection.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp

from snnjax import ops, propagators
from snnjax.propagators.base import DEFAULT_ACTIVITY, default_max_events

if TYPE_CHECKING:  # pragma: no cover
    from snnjax.projection import Projection, ProjectionState

__all__ = ["FusedPlastic", "Learning", "PostAligned", "PreAligned", "RingDelivered", "Transmission", "transmission"]


@dataclasses.dataclass(frozen=True)
class Transmission:
    """One way of composing the STP, propagation and kinetics stages of a projection's step.

    ``transmit(proj, prep, state, spikes, index, *, dt, post_shape, step) -> (state, g)``, with the arguments of
    :meth:`snnjax.projection.Projection.transmit`.
    """

    name = "transmission"

    def transmit(self, proj: Projection, prep, state, spikes, index, *, dt, post_shape, step=None):
        raise NotImplementedError  # pragma: no cover - abstract

    @staticmethod
    def _send(proj: Projection, prep: dict, w, values, index):
        """Propagation: ``(*batch, n_post)`` from presynaptic values (or per-synapse values read with per-synapse
        delays from the delay buffer)."""
        if jnp.ndim(prep["lag"]) == 1:
            return proj.propagator.propagate_synapses(proj.topology, w, values)
        return proj.propagator.propagate(proj.topology, w, values, index)

    @staticmethod
    def _weights(proj: Projection, prep: dict, state: ProjectionState):
        """The fixed weights of ``prepare`` or the plastic ones of the rule's state."""
        return prep["w"] if proj.plasticity is None else state.plasticity.w


@dataclasses.dataclass(frozen=True)
class PostAligned(Transmission):
    """STP (each spike carries its efficacy) -> propagation -> kinetics per postsynaptic neuron."""

    name = "post-aligned"

    def transmit(self, proj, prep, state, spikes, index, *, dt, post_shape, step=None):
        terminal = state.stp
        if terminal is not None:
            terminal, spikes = proj.stp.update(terminal, spikes, dt=dt)  # spikes now carry their efficacy
        inp = self._send(proj, prep, self._weights(proj, prep, state), spikes, index)
        kinetics = proj.synapse.update(state.kinetics, inp.reshape(*inp.shape[:-1], *post_shape), dt=dt)
        return state.replace(kinetics=kinetics, stp=terminal), kinetics.g


@dataclasses.dataclass(frozen=True)
class PreAligned(Transmission):
    """Kinetics (and STP) per presynaptic neuron, or per synapse with per-synapse delays, driven by the delayed spikes
    -> propagation of ``g`` (times ``u x`` with STP) every step."""

    name = "pre-aligned"

    def transmit(self, proj, prep, state, spikes, index, *, dt, post_shape, step=None):
        terminal = state.stp
        if terminal is not None:
            terminal, _ = proj.stp.update(terminal, spikes, dt=dt)
        kinetics = proj.synapse.update(state.kinetics, spikes, dt=dt)
        values = kinetics.g if terminal is None else kinetics.g * terminal.u * terminal.x
        inp = self._send(proj, prep, self._weights(proj, prep, state), values, None)
        return state.replace(kinetics=kinetics, stp=terminal), inp.reshape(*inp.shape[:-1], *post_shape)


@dataclasses.dataclass(frozen=True)
class RingDelivered(Transmission):
    """Per-synapse delays on an event format: the last step's spikes delivered once into the ring of future input
    (``propagator.deliver``), then the kinetics of the slot that arrives at this step."""

    name = "ring"

    def transmit(self, proj, prep, state, spikes, index, *, dt, post_shape, step=None):
        depth = state.ring.shape[-2]
        head = jnp.asarray((step - 1) % depth, jnp.int32)
        # deliver clears the slot the last step took first (not right after it was read: a write after the read of the
        # same buffer in one step made XLA copy the whole ring every step)
        ring, inp = proj.propagator.deliver(proj.topology, prep["w"], prep["lag"], state.ring, head, spikes, index)
        kinetics = proj.synapse.update(state.kinetics, inp.reshape(*inp.shape[:-1], *post_shape), dt=dt)
        return state.replace(kinetics=kinetics, ring=ring), kinetics.g


@dataclasses.dataclass(frozen=True)
class FusedPlastic(Transmission):
    """Post-aligned with a rule whose arrival update (``on_pre``) runs inside the format's transmission loop
    (``propagator.propagate_plastic``): the rule's decay, STP, the fused pass, kinetics, then ``rule.arrived``."""

    name = "fused-plastic"

    def transmit(self, proj, prep, state, spikes, index, *, dt, post_shape, step=None):
        rule = proj.plasticity
        st = rule.begin(state.plasticity, dt)
        arrivals, terminal = spikes, state.stp
        if terminal is not None:
            terminal, spikes = proj.stp.update(terminal, spikes, dt=dt)
        inp, st = proj.propagator.propagate_plastic(proj.topology, spikes, index, st, rule)
        kinetics = proj.synapse.update(state.kinetics, inp.reshape(*inp.shape[:-1], *post_shape), dt=dt)
        st = rule.arrived(st, arrivals)
        return state.replace(kinetics=kinetics, stp=terminal, plasticity=st), kinetics.g


POST_ALIGNED, PRE_ALIGNED, RING_DELIVERED, FUSED_PLASTIC = PostAligned(), PreAligned(), RingDelivered(), FusedPlastic()


def fused(proj: Projection, index: Any) -> bool:
    """Whether the rule's arrival update runs inside the propagator's transmission loop (event-driven formats with a
    compacted index, post-aligned kinetics, one delay per projection, a rule whose ``on_pre`` changes synapses and
    reads no voltage)."""
    return (
        proj.plasticity is not None
        and index is not None
        and not proj.per_synapse_delay
        and proj.align == "post"
        and callable(getattr(proj.propagator, "propagate_plastic", None))
        and "v" not in proj.plasticity.NEEDS
        and proj.plasticity.changes("on_pre")
    )


def transmission(proj: Projection, index: Any = None) -> Transmission:
    """The composition of stages a bound projection's step runs (``index``: the compacted spikes it is given, or
    None)."""
    if proj.ring_delivery:
        return RING_DELIVERED
    if fused(proj, index):
        return FUSED_PLASTIC
    return PRE_ALIGNED if proj.align == "pre" else POST_ALIGNED


@dataclasses.dataclass(frozen=True)
class Learning:
    """The plasticity stage, after the neurons' update: the rule's functions in the order of
    :class:`snnjax.plasticity.Rule` (decay, the arrivals' ``on_pre`` then ``pre_spike`` -- done in the transmission
    when :class:`FusedPlastic` ran --, the postsynaptic spikes' ``on_post``, the per-step terms ``on_step`` over every
    synapse, the postsynaptic jumps ``post_spike``); the connectivity format decides which synapses ``on_pre`` and
    ``on_post`` visit (its ``learn_pre`` / ``learn_post``)."""

    def learn(self, proj: Projection, state, arrivals, index, post_spikes, *, dt, reward=None, post_state=None):
        """See :meth:`snnjax.projection.Projection.learn`."""
        if proj.plasticity is None:
            return state
        rule, topo, fmt = proj.plasticity, proj.topology, self.format(proj)
        per_synapse = proj.per_synapse_delay
        voltage = self.voltage(proj, post_state, post_spikes)
        st = state.plasticity
        if not fused(proj, index):  # else the arrivals were handled in the transmission
            st = rule.begin(st, dt)
            if rule.changes("on_pre"):
                st = fmt.learn_pre(topo, rule, st, arrivals, index, per_synapse=per_synapse, voltage=voltage)
            st = rule.arrived(st, arrivals)
        if rule.changes("on_post"):
            st = fmt.learn_post(topo, rule, st, post_spikes, per_synapse=per_synapse, voltage=voltage,
                                post_bound=self.post_bound(proj))  # fmt: skip
        if rule.has_step:  # per-step terms: a pass over every synapse, whatever the format
            syn, pre, post = rule.split(st, voltage)
            r = jnp.asarray(0.0 if reward is None else reward, syn["w"].dtype)
            r = r.reshape(*r.shape, 1) if r.ndim else r
            update = rule.step_updater(pre, post, arrivals != 0, post_spikes != 0, dt=dt, reward=r)
            st = rule.merge(st, syn=ops.every_synapse(topo, syn, update, per_synapse=per_synapse))
        return state.replace(plasticity=rule.fired(st, post_spikes))

    @staticmethod
    def format(proj: Projection) -> Any:
        """The object that traverses the synapses for the rule: the propagator (``learn_pre`` / ``learn_post``:
        ``sparse`` every synapse, ``event`` / ``vector_event`` the rows and columns of the spikes), or, for a user's
        propagator without them, ``sparse``'s pass over every synapse."""
        prop = proj.propagator
        if callable(getattr(prop, "learn_pre", None)) and callable(getattr(prop, "learn_post", None)):
            return prop
        return propagators.get("sparse")

    @staticmethod
    def voltage(proj: Projection, post_state: Any, post_spikes: jax.Array) -> jax.Array | None:
        """The postsynaptic voltage ``(*batch, n_post)`` for a rule that needs it (``"v" in rule.NEEDS``), else
        None."""
        if "v" not in proj.plasticity.NEEDS:
            return None
        v = getattr(post_state, "v", None)
        if v is None:
            raise ValueError(
                f"Projection {proj.pre}->{proj.post}: the rule {type(proj.plasticity).__name__} needs the postsynaptic "
                f"voltage (NEEDS 'v'), but {proj.post!r} has no state field v"
            )
        return jnp.reshape(v, post_spikes.shape)

    @staticmethod
    def post_bound(proj: Projection) -> int:
        """Postsynaptic spikes per block of the transposed-table traversal: on an accelerator the propagator's bound,
        on a CPU a small one (expected spikes / 2, at least 16), which costs less there than one loop iteration
        (~9 kernels) per postsynaptic spike."""
        n_post = proj.topology.n_post
        if getattr(proj.propagator, "vectorized", False):
            return default_max_events(n_post, proj.activity)
        a = DEFAULT_ACTIVITY if proj.activity is None else proj.activity
        return min(n_post, max(16, math.ceil(n_post * a / 2)))


LEARNING = Learning()
