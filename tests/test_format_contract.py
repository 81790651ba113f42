"""A connectivity format written as a user would, in one module outside the package (``tests/columns_format.py``: its
own table, propagator and padding for devices), runs in a network like the built-in ones (issue 23: a new format
touches one folder): the same spikes and voltages as ``sparse``, and split over 4 devices the same as on one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import snnjax as sj

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import columns_format  # noqa: E402


def _run(method: str):
    return sj.Runner(columns_format.network(method), dt=0.1, monitors=["E.spike", "I.spike", "E.v"]).run(200.0)


def test_user_format_runs_with_the_same_spikes_as_sparse():
    columns_format.register()
    net = columns_format.network("columns")
    assert net.projections["EE"].propagator.name == "columns"
    assert isinstance(net.projections["EE"].topology, columns_format.ColumnTopology)
    got, want = _run("columns"), _run("sparse")
    for key in ("E.spike", "I.spike", "E.v"):
        assert np.array_equal(np.asarray(got[key]), np.asarray(want[key])), key
    assert np.asarray(want["E.spike"]).sum() > 100  # an active network


def test_user_format_split_over_4_devices_equals_one_device(tmp_path):
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4").strip()
    package_root = Path(sj.__file__).parents[1]
    env["PYTHONPATH"] = os.pathsep.join([str(package_root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    out = tmp_path / "format.json"
    proc = subprocess.run([sys.executable, str(HERE / "format_cases.py"), str(out)], env=env, capture_output=True,
                          text=True, timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    res = json.loads(out.read_text())
    assert all(v["equal"] for v in res.values()), res
    assert res["E.spike"]["spikes"] > 100


def test_a_format_kernel_source_is_added_before_the_first_build_only(tmp_path):
    """``sj.kernels.add_source``: the row format's ``rows.cc`` is in the library with its handlers; a source added once
    the library is loaded is refused (it could never be compiled in), and adding a known source again is a no-op."""
    from snnjax.kernels import _build

    rows_cc = Path(sj.formats.rows.__file__).with_name("rows.cc")
    assert rows_cc in _build.PARTS and "snnjax_event" in _build.TARGETS
    _build._loaded()  # loads (or fails to build) the library, whatever $SNNJAX_KERNELS says: its sources are fixed now
    sj.kernels.add_source(rows_cc, ("snnjax_event",))  # known: nothing happens
    extra = tmp_path / "late.cc"
    extra.write_text('#include "kernels.h"\n')
    try:
        sj.kernels.add_source(extra, ("snnjax_late",))
    except RuntimeError as err:
        assert "late.cc" in str(err)
    else:
        raise AssertionError("a source added after the library was loaded was accepted")
    assert extra not in _build.PARTS and "snnjax_late" not in _build.TARGETS
