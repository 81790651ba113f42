"""snnjax.examples.microcircuit: the Potjans & Diesmann model, here at scale 0.02 with Poisson drive."""

from __future__ import annotations

import json
import math

import numpy as np

from snnjax.examples import microcircuit as mc

KEYS = {"rates_hz", "cv_isi", "n_neurons", "n_synapses", "build_s", "compile_s", "sim_s", "wall_per_sim_s",
        "peak_rss_mb", "bytes_per_synapse"}  # fmt: skip


def test_reference_parameters():
    p = mc.parameters(1.0, "dc")
    assert int(p["synapses"].sum()) == 298_880_968  # the reference's count at full scale
    assert abs(mc.psp_to_current(250.0, 10.0, 0.5) * 0.15 - 87.81) < 0.01  # pA for 0.15 mV
    assert (
        int(mc.parameters(0.1, "poisson")["synapses"].sum()) == 2_988_807 and mc.parameters(0.1)["sizes"].sum() == 7717
    )
    # DC at full scale: 8 Hz x K_ext x 87.81 pA x 0.5 ms
    np.testing.assert_allclose(p["dc"], 8.0 * mc.K_EXT * 87.8085 * 0.5e-3, rtol=1e-5)


def test_scale_002_poisson_every_population_active(tmp_path, capsys):
    summary = mc.main(["--scale", "0.02", "--drive", "poisson", "--presim", "100", "--duration", "400",
                       "--png", str(tmp_path / "mc")])  # fmt: skip
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert KEYS <= set(line) and set(line["rates_hz"]) == set(mc.POPULATIONS)
    assert line["n_neurons"] == 1544 and line["methods"] == ["event"]
    rates = line["rates_hz"]
    assert all(math.isfinite(r) and 0.0 < r < 50.0 for r in rates.values()), rates
    assert rates["L5I"] > rates["L23E"]  # the reference's ordering of the extremes
    steps, neurons = summary["spikes"]
    assert steps.min() >= 0 and steps.max() < 4000 and np.bincount(neurons).max() <= 4000 // 20  # refractory
    assert (tmp_path / "mc_raster.png").exists() and (tmp_path / "mc_rates.png").exists()
