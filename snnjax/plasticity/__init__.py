"""Plasticity: rules that run on a Projection's synapse list, and the Inferno view's local rules.

* Projection rules (:mod:`snnjax.plasticity.stdp`, :mod:`snnjax.plasticity.reward`):
  ``Projection(..., plasticity=STDP(...))``, ``TripletSTDP(...)`` or ``MSTDPET(...)`` (with a reward input
  ``"<projection>.reward"``); the weights live in the network state and change during ``simulate``/``Runner``.
* Local rules over an Inferno-view connection (:mod:`snnjax.plasticity.local`): ``pair_stdp``,
  ``triplet_stdp``, ``mstdpet`` as optax-like ``(init, update)`` pairs, and :func:`accumulate` to apply one
  offline to recorded spike trains.
"""

from snnjax.plasticity.local import (
    HardBounds,
    LocalRule,
    MSTDPETState,
    PairSTDPState,
    SoftBounds,
    TripletSTDPState,
    accumulate,
    mstdpet,
    pair_stdp,
    stdp_window,
    triplet_stdp,
)
from snnjax.plasticity.reward import MSTDPET
from snnjax.plasticity.reward import MSTDPETState as ProjectionMSTDPETState
from snnjax.plasticity.stdp import STDP, STDPState, TripletSTDP

__all__ = [
    "MSTDPET",
    "ProjectionMSTDPETState",
    "STDP",
    "HardBounds",
    "LocalRule",
    "MSTDPETState",
    "PairSTDPState",
    "STDPState",
    "SoftBounds",
    "TripletSTDP",
    "TripletSTDPState",
    "accumulate",
    "mstdpet",
    "pair_stdp",
    "stdp_window",
    "triplet_stdp",
]
