"""State checkpoints: save a simulation state (any pytree of arrays) to a ``.npz`` file and restore it.

A run resumed from a checkpoint is bit-identical to one that never stopped: every leaf of the state is
stored exactly (delay buffers with their ring ``head`` and event lists, the int32 ``step`` counter,
typed random keys), and ``load_state`` rebuilds the state on the structure of a template.

```python
state, rec = sj.simulate(net, state, duration=500., dt=0.1, ...)
sj.save_state("run.ckpt.npz", state, metadata={"dt": 0.1, "seed": 0})
...
state = sj.load_state("run.ckpt.npz", like=net.init(dt=0.1))   # or like=jax.eval_shape(net.init, ...)
state, rec = sj.simulate(net, state, duration=500., dt=0.1, ...)  # continues at t = 500 ms
```

File format: a numpy ``.npz`` archive (``np.savez``; nothing is pickled, and files are read with
``allow_pickle=False``). Each leaf is the entry named by its key path (``jax.tree_util.keystr``, e.g.
``.delays['E'].head``); typed random keys are stored as their ``jax.random.key_data`` (uint32) and
rebuilt with ``jax.random.wrap_key_data``; ml_dtypes such as bfloat16 are stored as unsigned-integer
bit patterns. The entry ``__snnjax_checkpoint__`` holds a UTF-8 JSON header: format name and version,
snnjax and jax versions, the tree structure (for information), each leaf's path, dtype and shape, and
the user's metadata.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import zipfile
import zlib
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from snnjax._version import __version__

FORMAT = "snnjax-checkpoint"
FORMAT_VERSION = 1
_HEADER = "__snnjax_checkpoint__"

PathLike = str | os.PathLike


def _fspath(fn: str, path: Any) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{fn}: path must be a str or os.PathLike, got {type(path).__name__}")
    return os.fspath(path)


def _is_key(x: Any) -> bool:
    return jnp.issubdtype(getattr(x, "dtype", np.float32), jax.dtypes.prng_key)


def _spec(leaf: Any) -> tuple[tuple[int, ...], str]:
    """(shape, dtype name) of a template leaf: an array, a ShapeDtypeStruct or a Python number."""
    if hasattr(leaf, "shape") and hasattr(leaf, "dtype"):
        return tuple(leaf.shape), str(leaf.dtype)
    a = np.asarray(leaf)
    return a.shape, str(a.dtype)


def _to_host(fn: str, path: str, leaf: Any) -> tuple[np.ndarray, dict]:
    """Leaf -> (numpy array to store, its header entry)."""
    if isinstance(leaf, jax.core.Tracer):
        raise TypeError(
            f"{fn}: leaf {path} is a tracer; save_state cannot run inside jit/vmap/grad (save the state the "
            "compiled function returns)"
        )
    if isinstance(leaf, jax.ShapeDtypeStruct):
        raise TypeError(f"{fn}: leaf {path} is a ShapeDtypeStruct (shapes only), not an array with values")
    if _is_key(leaf):
        data = np.asarray(jax.random.key_data(leaf))
        return data, {"dtype": str(leaf.dtype), "shape": list(leaf.shape), "key_impl": str(jax.random.key_impl(leaf))}
    arr = np.asarray(leaf)
    entry = {"dtype": str(arr.dtype), "shape": list(arr.shape)}
    if arr.dtype.kind in "biufc":
        return arr, entry
    if arr.dtype.kind == "V" and arr.dtype.names is None and arr.dtype.itemsize in (1, 2, 4, 8):
        return arr.view(f"u{arr.dtype.itemsize}"), entry  # ml_dtypes (bfloat16, float8, int4): keep the bits
    raise TypeError(
        f"{fn}: leaf {path} must be a numeric array, a number or a typed random key, got dtype {arr.dtype} "
        f"({type(leaf).__name__})"
    )


def save_state(path: PathLike, state: Any, *, metadata: Mapping[str, Any] | None = None, compress: bool = False) -> str:
    """Write ``state`` to the ``.npz`` checkpoint ``path`` (exactly that name; no suffix is added).

    The write is atomic: the archive goes to a temporary file in the same directory, is flushed to disk,
    then renamed over ``path``, so an interrupted save leaves the previous checkpoint (or none) intact.

    Args:
      path: file to write; its directory must exist. An existing file is replaced.
      state: a :class:`snnjax.NetworkState` or any pytree whose leaves are arrays (jax or numpy, any
        shape, including leading batch axes), Python numbers or typed random keys (``jax.random.key``).
        Call it outside ``jit``: the leaves must have values.
      metadata: JSON-serializable dict stored with the state (e.g. ``{"dt": 0.1}`` in ms, sweep
        parameters); read it back with :func:`read_metadata`.
      compress: deflate the archive (``np.savez_compressed``); smaller (spike buffers are mostly zeros),
        slower to write.

    Returns:
      ``path``, as a str.

    Raises:
      TypeError: a leaf is not numeric (or is a tracer), or ``metadata`` is not a JSON-serializable dict.
      FileNotFoundError: the directory of ``path`` does not exist.
    """
    path = _fspath("save_state", path)
    if metadata is not None and not isinstance(metadata, Mapping):
        raise TypeError(f"save_state: metadata must be a dict or None, got {type(metadata).__name__}")
    try:
        json.dumps(dict(metadata or {}))
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"save_state: metadata must be JSON-serializable (str keys; str, int, float, bool, None, lists, dicts); {e}"
        ) from None
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save_state: the directory {directory!r} of path {path!r} does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(f"save_state: path {path!r} is a directory; give a file name such as 'state.npz'")

    leaves, treedef = jax.tree_util.tree_flatten_with_path(state)
    arrays: dict[str, np.ndarray] = {}
    entries = []
    for key_path, leaf in leaves:
        name = jax.tree_util.keystr(key_path)
        if name in arrays or name == _HEADER:
            raise ValueError(f"save_state: two leaves of the state have the same key path {name!r}")
        arrays[name], entry = _to_host("save_state", name, leaf)
        entries.append({"path": name, **entry})
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "snnjax_version": __version__,
        "jax_version": jax.__version__,
        "treedef": str(treedef),
        "leaves": entries,
        "metadata": dict(metadata or {}),
    }
    arrays[_HEADER] = np.frombuffer(json.dumps(header).encode("utf-8"), np.uint8)

    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(8)}.tmp")
    try:
        # os.open with 0o666 lets the umask set the permissions, as for any new file
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as f:
            (np.savez_compressed if compress else np.savez)(f, allow_pickle=False, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX); best effort elsewhere
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return path


def _open(fn: str, path: PathLike) -> tuple[str, Any, dict]:
    """-> (path, open NpzFile, header), with clear errors for anything that is not a snnjax checkpoint."""
    path = _fspath(fn, path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{fn}: no checkpoint at path {path!r} (the file does not exist)")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{fn}: path {path!r} is a directory, not a checkpoint file")
    not_ours = f"{fn}: path {path!r} is not a snnjax checkpoint (written by snnjax.save_state)"
    try:
        f = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, OSError, zipfile.BadZipFile) as e:
        raise ValueError(f"{not_ours}: not a readable .npz archive ({e})") from None
    if not isinstance(f, np.lib.npyio.NpzFile):
        raise ValueError(f"{not_ours}: it holds a single .npy array, not a .npz archive")
    try:
        header = _read_header(fn, path, f, not_ours)
    except BaseException:
        f.close()
        raise
    return path, f, header


def _read_header(fn: str, path: str, f: Any, not_ours: str) -> dict:
    if _HEADER not in f.files:
        raise ValueError(f"{not_ours}: the .npz archive has no {_HEADER!r} entry (entries: {f.files[:5]})")
    try:
        header = json.loads(f[_HEADER].tobytes().decode("utf-8"))
    except (
        ValueError,
        OSError,
        EOFError,
        zipfile.BadZipFile,
        zlib.error,
    ) as e:  # JSON and Unicode errors are ValueErrors
        raise ValueError(f"{not_ours}: unreadable header ({e})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT or not isinstance(header.get("leaves"), list):
        raise ValueError(f"{not_ours}: its header does not describe the format {FORMAT!r}")
    version = header.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{fn}: checkpoint {path!r} has format version {version!r} (written by snnjax "
            f"{header.get('snnjax_version')}); this snnjax reads versions up to {FORMAT_VERSION}"
        )
    return header


def read_metadata(path: PathLike) -> dict[str, Any]:
    """The ``metadata`` dict given to :func:`save_state` for the checkpoint at ``path`` (no arrays read)."""
    _, f, header = _open("read_metadata", path)
    f.close()
    return header["metadata"]


def load_state(path: PathLike, like: Any) -> Any:
    """Read the checkpoint at ``path`` into the structure of the template ``like``.

    Every leaf path of ``like`` must be in the checkpoint with the same shape and dtype, and the checkpoint
    must hold no other leaf; so a checkpoint from a network with other sizes, another delay buffer
    (length, event lists), another batch shape or other state fields is refused before anything is read.

    Args:
      path: a file written by :func:`save_state`.
      like: a template of the state, e.g. ``net.init(dt=dt, batch_shape=...)`` with the ``dt`` (ms) and
        batch shape of the saved run, or ``jax.eval_shape`` of it (no memory used). Only its structure,
        shapes and dtypes are read, never its values.

    Returns:
      The state, with the structure of ``like``. A leaf whose template is a ``jax.Array`` (or a
      ``ShapeDtypeStruct`` with a sharding) is placed with that leaf's sharding; other ``jax.ShapeDtypeStruct``
      leaves give arrays on the default device; numpy or Python-number leaves give numpy arrays.

    Raises:
      FileNotFoundError: ``path`` does not exist.
      ValueError: ``path`` is not a snnjax checkpoint, or it does not match ``like`` (the message names
        the first mismatching leaf path and what the template expects).
    """
    path, f, header = _open("load_state", path)
    with f:
        stored = {e["path"]: e for e in header["leaves"]}
        leaves, treedef = jax.tree_util.tree_flatten_with_path(like)
        names = [jax.tree_util.keystr(k) for k, _ in leaves]
        for name, (_, leaf) in zip(names, leaves):
            shape, dtype = _spec(leaf)
            if name not in stored:
                raise ValueError(
                    f"load_state: checkpoint {path!r} has no leaf {name}, which the template `like` has (shape "
                    f"{shape}, dtype {dtype}); it was saved from another state structure (another network, "
                    f"delay buffer or model?); its leaves are {list(stored)[:8]}"
                )
            e = stored[name]
            if tuple(e["shape"]) != shape or e["dtype"] != dtype:
                raise ValueError(
                    f"load_state: leaf {name} of checkpoint {path!r} has shape {tuple(e['shape'])}, dtype "
                    f"{e['dtype']}, but the template `like` expects shape {shape}, dtype {dtype} (a network of "
                    "another size, batch shape or dt, which sizes the delay buffers?)"
                )
        extra = [n for n in stored if n not in set(names)]
        if extra:
            raise ValueError(
                f"load_state: checkpoint {path!r} has leaf {extra[0]} (shape {tuple(stored[extra[0]]['shape'])}), "
                "which the template `like` does not have; it was saved from another state structure"
            )
        out = [_restore(path, f, name, stored[name], leaf) for name, (_, leaf) in zip(names, leaves)]
    return jax.tree_util.tree_unflatten(treedef, out)


def _restore(path: str, f: Any, name: str, entry: dict, like: Any) -> Any:
    try:
        arr = f[name]
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise ValueError(f"load_state: checkpoint {path!r} is damaged: cannot read leaf {name} ({e})") from None
    shape = tuple(entry["shape"])
    if arr.shape[: len(shape)] != shape:
        raise ValueError(f"load_state: checkpoint {path!r} is damaged: leaf {name} has shape {arr.shape}, not {shape}")
    if "key_impl" in entry:
        x = jax.random.wrap_key_data(arr, impl=entry["key_impl"])
    else:
        dtype = like.dtype if hasattr(like, "dtype") else np.asarray(like).dtype
        arr = arr.view(dtype) if arr.dtype != dtype and arr.dtype.itemsize == np.dtype(dtype).itemsize else arr
        if arr.dtype != dtype or arr.shape != shape:
            raise ValueError(
                f"load_state: checkpoint {path!r} is damaged: leaf {name} is {arr.dtype}{list(arr.shape)}, "
                f"its header says {entry['dtype']}{list(shape)}"
            )
        if not isinstance(like, (jax.Array, jax.ShapeDtypeStruct)):
            return arr
        x = arr
    sharding = getattr(like, "sharding", None)
    return jax.device_put(x, sharding) if sharding is not None else jnp.asarray(x)
