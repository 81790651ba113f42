"""Brette et al. 2007 benchmark 2 (CUBA): ``python benchmarks/cuba.py --n 4000 --duration 1000``.

Prints one JSON line: ``first_s`` (compile + run), ``steady_s`` (a second, compiled run), ``rate_hz``, ``n``.
The network is :func:`snnjax.examples.brette.build`.
"""

from snnjax.examples.brette import main

if __name__ == "__main__":
    main("cuba")
