"""Building, caching, loading and registering the compiled kernels (``kernels.cc`` and the formats' sources added with
:func:`add_source`, one library), and the switch between paths.

The C++ sources ship with the package. On first use they are compiled with the system C++ compiler (``$CXX``, else
``c++``, ``g++`` or ``clang++`` on the ``PATH``) into a cache folder keyed by a hash of everything that changes the
binary (source, compiler version, jaxlib version, flags), loaded with :mod:`ctypes`, and each handler registered
with XLA as a typed-FFI custom call target for the CPU. Later processes load the cached library (no compiler run).
Any failure (no compiler, a compile error, no write access) leaves the XLA path in use, says why once on the
``snnjax.kernels`` logger (one line), and :func:`status` repeats it.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import jax
import jaxlib

ENV = "SNNJAX_KERNELS"
MODES = ("auto", "xla")
CACHE_ENV = "SNNJAX_CACHE"
SOURCE = Path(__file__).with_name("kernels.cc")  # the drives' kernels and the loader's ABI probe
HEADER = Path(__file__).with_name("kernels.h")  # the part every kernel source includes
PARTS: list[Path] = []  # the formats' kernel sources (add_source), compiled with SOURCE into the one library
FLAGS = ("-std=c++17", "-O3", "-ffp-contract=off", "-fPIC", "-shared", "-DNDEBUG")
NATIVE = "-march=native"  # the host's vector units (the library is built on and for this machine; see _cpu_id)
TARGETS = ("snnjax_uniform", "snnjax_poisson")  # handler symbols registered with XLA (add_source adds a format's)
ABI = 1  # snnjax_kernels_abi() of the source this module calls

_log = logging.getLogger("snnjax.kernels")
_lock = threading.Lock()
_state: dict = {}  # "ok": bool, "why": str, "path": Path (after the first load attempt)


def add_source(path: Path, targets: tuple[str, ...]) -> None:
    """Compile the C++ file ``path`` into the library too and register its handler symbols ``targets`` with XLA: how a
    connectivity format ships its kernels from its own folder (``snnjax/formats/rows/__init__.py`` adds ``rows.cc``).
    The file includes ``kernels.h`` (the shared part; its folder is on the include path). Called when the format's
    module is imported, before the library is first built; later calls raise ``RuntimeError``."""
    global TARGETS
    path = Path(path)
    if path in PARTS:
        return
    if _state:
        raise RuntimeError(f"add_source({path.name}): the kernel library is loaded already; add sources at import")
    PARTS.append(path)
    TARGETS = tuple(dict.fromkeys((*TARGETS, *targets)))


def mode() -> str:
    """The value of ``$SNNJAX_KERNELS``: ``"auto"`` (default: compiled kernels where they can run) or ``"xla"``
    (the XLA path everywhere). ValueError for anything else."""
    value = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if value not in MODES:
        raise ValueError(f"${ENV} must be one of {MODES}, got {value!r}")
    return value


THREADS_ENV = "SNNJAX_KERNEL_THREADS"
PARALLEL_MIN_ENV = "SNNJAX_KERNEL_PARALLEL_MIN"
PARALLEL_MIN = 1 << 24


def _env_int(name: str, default: int, least: int, meaning: str) -> int:
    """The environment variable ``name`` as an int >= ``least`` (``default`` when unset or blank); anything else is
    a ``ValueError`` naming the variable, the bound and ``meaning``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < least:
        raise ValueError(f"${name} must be an int >= {least} ({meaning}), got {raw!r}")
    return int(raw)


def threads() -> int:
    """The most threads a kernel that splits its work uses (the ring delivery): ``$SNNJAX_KERNEL_THREADS`` (an int
    >= 1), else 0 (all of XLA's intra-op threads: the machine's cores). Read when a program is traced."""
    return _env_int(THREADS_ENV, 0, 1, "the most threads a kernel uses")


def parallel_min() -> int:
    """The least synapses a projection has for the ring delivery to split its targets over threads:
    ``$SNNJAX_KERNEL_PARALLEL_MIN`` (an int >= 0), else ``2**24``. Handing parts to XLA's pool costs microseconds per
    call, more than a small projection's step saves; the size is static, so deciding costs nothing per call. Measured
    with the microcircuit on the 2-core VM (2026-12-07): at scale 0.1 (3.0e6 synapses, ~1,000 visited per step)
    0.92 s per simulated second on one thread, 1.54 s on two; at full scale (3.0e8, ~80,000 per step) 20.96 s on
    one, 19.13 s on two. Read when a program is traced."""
    return _env_int(PARALLEL_MIN_ENV, PARALLEL_MIN, 0, "the least synapses split over threads")


def active() -> bool:
    """Whether the compiled CPU kernels run: ``$SNNJAX_KERNELS`` is ``auto`` (the default), JAX's default backend is
    the CPU, and the library is built and registered (compiled now if this is the first use). Read each time a
    network is built (``Event.bind``) or a rule's step is traced, so setting the variable takes effect for the
    networks built after it."""
    return _why_not() is None


def status() -> str:
    """One line saying which path runs and why (e.g. ``"cpu-kernel: <library path>"`` or ``"xla: <reason>"``)."""
    why = _why_not()
    return f"xla: {why}" if why is not None else f"cpu-kernel: {_state['path']}"


def _why_not() -> str | None:
    if mode() == "xla":
        return f"${ENV}=xla"
    backend = jax.default_backend()
    if backend != "cpu":
        return f"the default backend is {backend!r} (the kernels are CPU custom calls)"
    return _loaded()


def _loaded() -> str | None:
    """Loads the library on first use (whatever ``$SNNJAX_KERNELS`` says); None, or why it is not available."""
    if not _state:
        with _lock:
            if not _state:
                _load()
    return None if _state["ok"] else _state["why"]


def require(owner: str) -> None:
    """Makes sure the kernels are registered before ``owner`` calls one (RuntimeError saying why they cannot be)."""
    why = _loaded()
    if why is not None:
        raise RuntimeError(f"{owner}: the compiled kernels are unavailable ({why}); use the XLA path")


def cache_root() -> Path:
    """Where compiled libraries are kept: ``$SNNJAX_CACHE`` if set, else ``$XDG_CACHE_HOME/snnjax/kernels`` (default
    ``~/.cache/snnjax/kernels``); each build in a sub-folder named by its hash."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "snnjax" / "kernels"


def compiler() -> str | None:
    """The C++ compiler used: ``$CXX``, else the first of ``c++``, ``g++``, ``clang++`` on the ``PATH``."""
    if os.environ.get("CXX"):
        return shutil.which(os.environ["CXX"]) or None
    for name in ("c++", "g++", "clang++"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _load() -> None:
    """Build (or find in the cache), load and register the library; records the outcome in ``_state``."""
    try:
        path = _library()
        lib = ctypes.cdll.LoadLibrary(str(path))
        if lib.snnjax_kernels_abi() != ABI:
            raise RuntimeError(f"{path} has ABI {lib.snnjax_kernels_abi()}, expected {ABI}")
        for name in TARGETS:
            jax.ffi.register_ffi_target(name, jax.ffi.pycapsule(getattr(lib, name)), platform="cpu")
    except Exception as e:  # noqa: BLE001 - any failure means: use the XLA path, and say why
        why = " ".join(str(e).split())[:300] or type(e).__name__
        _state.update(ok=False, why=why)
        _log.warning("snnjax: compiled CPU kernels unavailable (%s); using the XLA path", why)
        return
    _state.update(ok=True, why="", path=path, lib=lib)


def _cpu_id() -> str:
    """What identifies this CPU's instruction set in the cache key (a cache shared by machines with other CPUs then
    holds one build per CPU): the model and flags of ``/proc/cpuinfo``, else the platform's description."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return f"{platform.machine()} {platform.processor()}"
    wanted = [line for line in lines if line.startswith(("model name", "flags", "Features", "CPU part"))]
    return "\n".join(sorted(set(wanted)))


def _library() -> Path:
    """The path of the compiled library, compiling it first if the cache does not hold it."""
    cxx = compiler()
    if cxx is None:
        raise RuntimeError("no C++ compiler found (set $CXX or install g++/clang++)")
    version = subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    include = jax.ffi.include_dir()
    sources = (SOURCE, *PARTS)
    key = hashlib.sha256()
    parts = (*(f.read_bytes() for f in (HEADER, *sources)), version.encode(), jaxlib.__version__.encode(),
             " ".join((*FLAGS, NATIVE)).encode(), include.encode(), _cpu_id().encode())  # fmt: skip
    for part in parts:
        key.update(part)
        key.update(b"\0")
    folder = cache_root() / key.hexdigest()[:20]
    path = folder / "libsnnjax_kernels.so"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    # compile to a private name, then rename: another process compiling the same library at the same time
    # writes its own file, and whichever rename comes last replaces an identical library (rename is atomic)
    fd, tmp = tempfile.mkstemp(prefix=".build-", suffix=".so", dir=folder)
    os.close(fd)
    _log.info("snnjax: compiling the CPU kernels into %s (once per machine and version)", folder)
    try:
        cmd = [cxx, *FLAGS, NATIVE, f"-I{include}", f"-I{HEADER.parent}", *map(str, sources), "-o", tmp]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:  # a compiler without -march=native: the portable build
            proc = subprocess.run([c for c in cmd if c != NATIVE], capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            last = [line for line in proc.stderr.splitlines() if "error" in line][:1] or proc.stderr.splitlines()[-1:]
            raise RuntimeError(f"compiling {', '.join(f.name for f in sources)} failed: {' '.join(last)}")
        os.chmod(tmp, 0o755)  # mkstemp made it private; a shared $SNNJAX_CACHE serves other users too
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
