"""Side-by-side COBA benchmark: snnjax, BrainPy and Brian2 (C++ standalone), one process at a time.

    python benchmarks/peers/make_envs.py                     # once: the peers' venvs in .peers/
    python benchmarks/compare.py --n 4000 16000 64000 --duration 1000
    python benchmarks/compare.py --n 4000 --plasticity stdp  # STDP on E->E: snnjax and Brian2

Each peer runs in its own virtual environment, made by ``benchmarks/peers/make_envs.py`` in the peers' folder:
``--peers DIR``, else the environment variable ``SNNJAX_PEERS``, else ``.peers/`` in the clone (the same rule as
``make_envs.py``). ``--brainpy PYTHON`` / ``--brian2 PYTHON`` name an interpreter directly (``none``: skip that
peer); a peer whose interpreter is not found is skipped with a line saying how to make it. Every measurement is printed
as one JSON line (the peer script's own line, with ``lib``), then the table is written to
``--out`` (markdown, default ``benchmarks/results/compare.md``) with the ratios snnjax / peer, and a plot
of steady time against N beside it (``.png``, when matplotlib is installed). ``--plot-tables A.md B.md
--out curve.md`` runs nothing and plots the tables of earlier runs together (``results/curve.png``: 4k to
1M neurons).

Brian2 runs with synaptic delay 0 (snnjax's lag 1) once per integration method in ``--brian2-method``
(default both): ``brian2`` is ``exponential_euler`` (exact in v for frozen conductances, the more accurate),
``brian2-euler`` is ``euler`` (in this network the closer to snnjax's scheme for v; see
``benchmarks/peers/brian2_coba.py``). Their ``steady_s`` is Brian2's timer of the simulation loop; the JSON
lines also carry ``steady_wall_s``, the whole re-run of the compiled binary.

``--plasticity stdp`` puts STDP on E->E: snnjax runs ``coba.py --plasticity stdp``, Brian2
``peers/brian2_coba_stdp.py`` (the same rule, same methods and columns); BrainPy has no STDP peer and is skipped.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from peers import how_to_make, peer_python  # benchmarks/peers/make_envs.py: the peers' folder, one rule

HERE = Path(__file__).resolve().parent
# Brian2 integration method -> column name ("brian2" stays exponential_euler, as in earlier tables)
BRIAN2_METHODS = {"exponential_euler": "brian2", "euler": "brian2-euler"}


def _run(cmd: list[str], timeout: float) -> dict | None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=HERE.parent)
    except subprocess.TimeoutExpired:
        print(json.dumps({"cmd": " ".join(cmd), "error": f"timeout after {timeout} s"}), flush=True)
        return None
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        print(json.dumps({"cmd": " ".join(cmd), "error": proc.stderr[-500:]}), flush=True)
        return None
    out = json.loads(lines[-1])
    print(json.dumps(out), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[4000, 16000, 64000])
    ap.add_argument("--duration", type=float, default=1000.0, help="ms")
    ap.add_argument("--peers", help="the peers' folder (default $SNNJAX_PEERS, else .peers/ in the clone)")
    ap.add_argument("--brainpy", help="BrainPy venv's python (default: the peers' folder's; 'none' skips it)")
    ap.add_argument("--brian2", help="Brian2 venv's python (default: the peers' folder's; 'none' skips it)")
    ap.add_argument(
        "--plasticity",
        default="none",
        choices=("none", "stdp"),
        help="stdp: STDP on E->E (snnjax coba.py --plasticity stdp, Brian2 peers/brian2_coba_stdp.py; no BrainPy)",
    )
    ap.add_argument(
        "--brian2-method",
        nargs="+",
        choices=list(BRIAN2_METHODS),
        default=list(BRIAN2_METHODS),
        help="Brian2 integration method(s), one run each (columns brian2 and brian2-euler)",
    )
    ap.add_argument("--timeout", type=float, default=1800.0, help="per run, s")
    ap.add_argument("--out", default=str(HERE / "results" / "compare.md"))
    ap.add_argument(
        "--plot-tables",
        nargs="+",
        metavar="MD",
        help="run nothing: plot steady time against N from these tables (written by earlier runs) to --out's .png",
    )
    args = ap.parse_args()
    if args.plot_tables:
        rows = {}
        for path in args.plot_tables:
            for n, res in _read_table(path).items():
                rows.setdefault(n, {}).update(res)
        libs = list(dict.fromkeys(lib for res in rows.values() for lib in res))
        _plot(dict(sorted(rows.items())), libs, args.duration, Path(args.out).with_suffix(".png"))
        return

    stdp = args.plasticity == "stdp"
    libs = {"snnjax": [sys.executable, str(HERE / "coba.py"), *(["--plasticity", "stdp"] if stdp else [])]}
    brainpy = _interpreter("brainpy", args.brainpy, args.peers)
    if brainpy and stdp:
        print("brainpy: skipped (no STDP peer)", file=sys.stderr)
    elif brainpy:
        libs["brainpy"] = [brainpy, str(HERE / "peers" / "brainpy_coba.py")]
    brian2 = _interpreter("brian2", args.brian2, args.peers)
    if brian2:
        script = str(HERE / "peers" / ("brian2_coba_stdp.py" if stdp else "brian2_coba.py"))
        for method in dict.fromkeys(args.brian2_method):
            libs[BRIAN2_METHODS[method]] = [brian2, script, "--method", method]
    rows: dict[int, dict[str, dict]] = {}
    for n in args.n:
        for lib, cmd in libs.items():
            res = _run([*cmd, "--n", str(n), "--duration", str(args.duration)], args.timeout)
            if res is not None:
                rows.setdefault(n, {})[lib] = res

    peers = [lib for lib in libs if lib != "snnjax"]
    head = "| N | " + " | ".join(f"{lib} first_s | {lib} steady_s" for lib in libs)
    head += "".join(f" | steady snnjax/{p}" for p in peers) + " | rate_hz (" + ", ".join(libs) + ") |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for n, res in rows.items():
        cells = [f"{n:,}"]
        for lib in libs:
            r = res.get(lib)
            cells += [f"{r['first_s']:.2f}", f"{r['steady_s']:.3f}"] if r else ["-", "-"]
        for p in peers:
            a, b = res.get("snnjax"), res.get(p)
            cells.append(f"{a['steady_s'] / b['steady_s']:.2f}" if a and b else "-")
        cells.append(" / ".join(f"{res[lib]['rate_hz']:.1f}" if lib in res else "-" for lib in libs))
        lines.append("| " + " | ".join(cells) + " |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    methods = ", ".join(f"{lib} = {m}" for m, lib in BRIAN2_METHODS.items() if lib in libs)
    note = f"; Brian2 C++ standalone with synaptic delay 0 (snnjax's lag 1), {methods}" if methods else ""
    bench = "COBA with STDP on E->E" if stdp else "COBA"
    cmd = " --plasticity stdp" if stdp else ""
    out.write_text(
        f"{bench}, {args.duration:g} ms simulated, dt 0.1 ms{note}; `python benchmarks/compare.py{cmd}`\n\n"
        + "\n".join(lines)
        + "\n"
    )
    print("\n".join(lines), file=sys.stderr)
    _plot(rows, list(libs), args.duration, out.with_suffix(".png"))


def _interpreter(peer: str, given: str | None, folder: str | None) -> str | None:
    """The interpreter to run ``peer`` with: ``given`` (``none`` skips it), else the peers' folder's; ``None`` with a
    line on stderr saying how to make it when it does not exist."""
    if given and given.lower() == "none":
        return None
    python = Path(given) if given else peer_python(peer, folder)
    if python.exists():
        return str(python)
    print(
        f"{peer}: skipped, {how_to_make(peer, folder) if not given else f'no interpreter at {python}'}", file=sys.stderr
    )
    return None


def _read_table(path: str) -> dict[int, dict[str, dict]]:
    """``{N: {lib: {"steady_s": ...}}}`` from a markdown table this script wrote."""
    lines = [line for line in Path(path).read_text().splitlines() if line.startswith("| ")]
    head = [c.strip() for c in lines[0].strip().strip("|").split("|")]
    rows: dict[int, dict[str, dict]] = {}
    for line in lines[1:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        for h, c in zip(head, cells):
            if h.endswith(" steady_s") and c not in ("-", "–"):
                rows.setdefault(int(cells[0].replace(",", "")), {})[h.split()[0]] = {"steady_s": float(c)}
    return rows


def _plot(rows: dict[int, dict[str, dict]], libs: list[str], duration: float, png: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for lib in libs:
        pts = [(n, res[lib]["steady_s"]) for n, res in rows.items() if lib in res]
        if pts:
            ax.loglog(*zip(*pts), "o-", label=lib)
    ax.set(xlabel="neurons N (80 synapses each)", ylabel=f"steady wall time for {duration:g} ms, s")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(png, dpi=120)


if __name__ == "__main__":
    main()
