"""The STDP network example (snnjax.examples.stdp_network): run small, its E->E weights move, stay within the rule's
hard bounds [0, 2 w_exc], and its figure is saved."""

import json

import numpy as np
import pytest

import snnjax as sj
from snnjax.examples import stdp_network


def test_stdp_network_example_moves_the_weights_within_bounds(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    runners = []

    class Recording(sj.Runner):  # keeps the example's runner, to read every weight at the end
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            runners.append(self)

    monkeypatch.setattr(sj, "Runner", Recording)
    png = tmp_path / "x.png"
    summary = stdp_network.main(["--n", "400", "--duration", "300", "--png", str(png)])

    assert json.loads(capsys.readouterr().out.splitlines()[0]) == summary  # the one JSON line
    assert summary["neurons"] == 400 and summary["simulated_ms"] == 300.0 and summary["spikes"] > 0
    (runner,) = runners
    proj = runner.net.projections["EE"]
    w_exc = float(proj.weight)
    assert proj.plasticity.w_min == 0.0 and proj.plasticity.w_max == pytest.approx(2 * w_exc)
    assert summary["w_before_mean"] == pytest.approx(w_exc, rel=1e-3)  # every weight starts at w_exc
    assert summary["w_after_std"] > 0  # STDP moved them apart
    w = np.asarray(runner.state.synapses["EE"].w)
    assert w.shape == (summary["ee_synapses"],)
    assert w.min() >= 0.0 and w.max() <= 2 * w_exc + 1e-6  # all within the hard bounds
    assert float(w.std()) == pytest.approx(summary["w_after_std"], abs=1e-4)
    assert png.exists() and png.stat().st_size > 0
