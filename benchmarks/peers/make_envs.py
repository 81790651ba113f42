"""Make the peers' virtual environments (Brian2, BrainPy, optionally the NIR exporters) in one folder.

    python benchmarks/peers/make_envs.py                    # brian2 and brainpy in .peers/ of the clone
    python benchmarks/peers/make_envs.py --dir ~/peers      # elsewhere (or: export SNNJAX_PEERS=~/peers)
    python benchmarks/peers/make_envs.py --peer brian2      # one of them
    python benchmarks/peers/make_envs.py --which brian2     # print the interpreter's path, make nothing

The folder is, in this order: ``--dir``, the environment variable ``SNNJAX_PEERS``, ``.peers/`` at the root of
the clone (ignored by git). Each peer gets ``<folder>/<peer>/``, a venv made with the interpreter that runs this
script (``--python`` for another one), holding the pinned versions of ``PEERS`` below. Running it again is cheap: a
venv whose packages already have the pinned versions is left as it is; one that is missing or differs is made or
completed with pip. It prints one line per peer, ``<peer>: <path of its python>``.

Every tool that runs a peer (``benchmarks/compare.py``, the reference-data scripts ``tests/data/make_*.py``) finds
the interpreters through :func:`peer_python`, with the same ``--peers`` option / ``SNNJAX_PEERS`` variable; run a
peer script by hand with ``"$(python benchmarks/peers/make_envs.py --which brian2)" benchmarks/peers/...``.
Standard library only (it runs before any environment exists). Brian2's C++ standalone mode needs a C++ compiler
on the PATH (``g++``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ENV_VAR = "SNNJAX_PEERS"
ROOT = Path(__file__).resolve().parents[2]  # the clone
DEFAULT_DIR = ROOT / ".peers"

# peer -> (pip install calls, each a list of arguments; {distribution: pinned version ("" = any)} that makes the
# venv complete). brian2: the version every reference file and benchmark of the project used (numpy < 2.3: Brian2
# 2.9.0 predates it). brainpy: the exact set of benchmarks/peers/brainpy_coba.py and tests/data/make_brainpy_refs.py.
# nir: the exporters of tests/data/make_nir_peers.py, torch's CPU build first (not made by default: it is large).
PEERS = {
    "brian2": ([["brian2==2.9.0", "numpy<2.3"]], {"brian2": "2.9.0"}),
    "brainpy": (
        [["brainpy[cpu]==2.8.2", "jax==0.10.2", "jaxlib==0.10.2", "brainevent==0.2.1", "brainstate==0.5.4"]],
        {"brainpy": "2.8.2", "jax": "0.10.2", "brainevent": "0.2.1", "brainstate": "0.5.4"},
    ),
    "nir": (
        [
            ["torch", "--index-url", "https://download.pytorch.org/whl/cpu"],
            ["nir>=1.0,<2", "h5py", "snntorch", "norse", "nirtorch"],
        ],
        {"torch": "", "nir": "", "snntorch": "", "norse": "", "nirtorch": ""},
    ),
}
DEFAULT_PEERS = ("brian2", "brainpy")


def peers_dir(path: str | os.PathLike | None = None) -> Path:
    """The peers' folder: ``path`` if given, else ``$SNNJAX_PEERS``, else ``.peers/`` at the root of the clone."""
    if path:
        return Path(path).expanduser().resolve()
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser().resolve() if env else DEFAULT_DIR


def peer_python(peer: str, path: str | os.PathLike | None = None) -> Path:
    """Path of the interpreter of ``peer`` (a key of ``PEERS``) in :func:`peers_dir` ``(path)`` (may not exist)."""
    if peer not in PEERS:
        raise ValueError(f"peer must be one of {sorted(PEERS)}, got {peer!r}")
    env = peers_dir(path) / peer
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def how_to_make(peer: str, path: str | os.PathLike | None = None) -> str:
    """One sentence for a tool to print when ``peer``'s interpreter is missing."""
    where = peers_dir(path)
    opt = "" if where == peers_dir() else f" --dir {where}"
    return (
        f"no {peer} peer at {peer_python(peer, path)}: make it with "
        f"`python benchmarks/peers/make_envs.py --peer {peer}{opt}` (folder: --dir / --peers, ${ENV_VAR}, "
        f"default {DEFAULT_DIR})"
    )


def _installed(python: Path, dists: dict[str, str]) -> bool:
    """Whether every distribution of ``dists`` is installed in the venv of ``python`` at its pinned version."""
    if not python.exists():
        return False
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for d in sys.argv[1:]:\n"
        "    try: out[d] = m.version(d)\n"
        "    except m.PackageNotFoundError: out[d] = None\n"
        "print(json.dumps(out))"
    )
    proc = subprocess.run([str(python), "-c", code, *dists], capture_output=True, text=True)
    if proc.returncode != 0:
        return False
    got = json.loads(proc.stdout)
    return all(got.get(d) is not None and (not v or got[d] == v) for d, v in dists.items())


def make(peer: str, path: str | os.PathLike | None = None, python: str = sys.executable) -> Path:
    """Make (or complete) the venv of ``peer`` and return its interpreter's path. Idempotent."""
    steps, dists = PEERS[peer]
    py = peer_python(peer, path)
    if _installed(py, dists):
        return py
    env = py.parent.parent
    if not py.exists():
        env.parent.mkdir(parents=True, exist_ok=True)
        print(f"{peer}: creating {env} with {python}", file=sys.stderr, flush=True)
        subprocess.run([python, "-m", "venv", str(env)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    for step in steps:
        print(f"{peer}: pip install {' '.join(step)}", file=sys.stderr, flush=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", *step], check=True)
    if not _installed(py, dists):
        raise SystemExit(f"{peer}: installed, but the versions differ from {dists} (see pip's output above)")
    return py


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", help=f"the peers' folder (default ${ENV_VAR}, else {DEFAULT_DIR})")
    ap.add_argument("--peer", nargs="+", choices=sorted(PEERS), default=list(DEFAULT_PEERS), help="which venvs to make")
    ap.add_argument("--python", default=sys.executable, help="interpreter the venvs are made with")
    ap.add_argument("--which", choices=sorted(PEERS), help="print this peer's interpreter path and make nothing")
    args = ap.parse_args(argv)
    if args.which:
        print(peer_python(args.which, args.dir))
        return
    failed = []
    for peer in args.peer:
        try:
            print(f"{peer}: {make(peer, args.dir, args.python)}", flush=True)
        except (subprocess.CalledProcessError, SystemExit) as err:
            print(f"{peer}: FAILED ({err})", flush=True)
            failed.append(peer)
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
