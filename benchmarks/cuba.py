"""Brette et al. 2007 benchmark 2 (CUBA): ``python benchmarks/cuba.py --n 4000 --duration 1000``."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _brette import main  # noqa: E402

if __name__ == "__main__":
    main("cuba")
