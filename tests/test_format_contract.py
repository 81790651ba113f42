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
