"""Plasticity: rules on a Projection's synapse list (one contract, :class:`Rule`), and the Inferno view's local rules.

* The contract (:mod:`snnjax.plasticity.rule`): a rule declares its state (per synapse, per presynaptic and per
  postsynaptic neuron) and gives pure functions (decay, what an arrival does, what a postsynaptic spike does,
  optional per-step terms); the projection's connectivity format owns the traversal (every synapse, or the rows and
  columns of the spikes). ``docs/models.md`` ("Your own plasticity rule") has a complete example.
* Rules on it: :class:`STDP`, :class:`TripletSTDP` (:mod:`snnjax.plasticity.stdp`), :class:`MSTDPET` with a reward
  input ``"<projection>.reward"`` (:mod:`snnjax.plasticity.reward`), :class:`VogelsSprekeler` (inhibitory STDP,
  :mod:`snnjax.plasticity.vogels`) and :class:`BCM` (sliding threshold, :mod:`snnjax.plasticity.bcm`):
  ``Projection(..., plasticity=STDP(...))``; the weights live in the network state and change during
  ``simulate``/``Runner``.
* Local rules over an Inferno-view connection (:mod:`snnjax.plasticity.local`): ``pair_stdp``,
  ``triplet_stdp``, ``mstdpet`` as optax-like ``(init, update)`` pairs (adapters over the rules above), and
  :func:`accumulate` to apply one offline to recorded spike trains.
"""

from snnjax.plasticity.bcm import BCM
from snnjax.plasticity.bounds import HardBounds, SoftBounds
from snnjax.plasticity.local import (
    LocalRule,
    MSTDPETState,
    PairSTDPState,
    TripletSTDPState,
    accumulate,
    mstdpet,
    pair_stdp,
    stdp_window,
    triplet_stdp,
)
from snnjax.plasticity.reward import MSTDPET
from snnjax.plasticity.rule import Rule
from snnjax.plasticity.stdp import STDP, STDPState, TripletSTDP
from snnjax.plasticity.vogels import VogelsSprekeler

ProjectionMSTDPETState = MSTDPET.State
"""The state class of :class:`MSTDPET` on a projection (``w``, ``z``, ``apre``, ``apost``); the name
``MSTDPETState`` is the Inferno view's layout of the same state (:func:`mstdpet`)."""

__all__ = [
    "BCM",
    "MSTDPET",
    "ProjectionMSTDPETState",
    "STDP",
    "HardBounds",
    "LocalRule",
    "MSTDPETState",
    "PairSTDPState",
    "Rule",
    "STDPState",
    "SoftBounds",
    "TripletSTDP",
    "TripletSTDPState",
    "VogelsSprekeler",
    "accumulate",
    "mstdpet",
    "pair_stdp",
    "stdp_window",
    "triplet_stdp",
]
