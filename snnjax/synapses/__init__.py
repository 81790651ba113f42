"""Synapse kinetics models: ``init(post_shape, batch_shape)`` and ``update(state, inp, dt=)``."""

from snnjax.synapses.kinetics import Alpha, Delta, Exponential, SynapseState

__all__ = ["Alpha", "Delta", "Exponential", "SynapseState"]
