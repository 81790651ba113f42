"""Brette et al. 2007 benchmark 3 structure (COBAHH): ``python benchmarks/cobahh.py --n 4000 --duration 1000``.

Hodgkin-Huxley neurons (snnjax's ``HH``: classic squid-axon kinetics, not the original Traub-Miles
channels; see :func:`snnjax.examples.brette.build`), exponential COBA synapses, 80 synapses per neuron.
Prints one JSON line: ``first_s`` (compile + run), ``steady_s`` (a compiled run), ``rate_hz``, ``n``.
"""

from snnjax.examples.brette import main

if __name__ == "__main__":
    main("cobahh")
