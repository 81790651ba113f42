"""The peers of the benchmarks (Brian2, BrainPy): scripts run in their own virtual environments, and the one rule
that finds those environments (:mod:`make_envs`), for the tools that run them (``benchmarks/compare.py``)."""

from .make_envs import ENV_VAR, PEERS, how_to_make, peer_python, peers_dir

__all__ = ["ENV_VAR", "PEERS", "how_to_make", "peer_python", "peers_dir"]
