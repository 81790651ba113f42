"""The user's format of ``tests/columns_format.py`` split over 4 forced host devices against one device, for
``tests/test_format_contract.py`` (run in a subprocess: the devices must be set before jax starts).

``python tests/format_cases.py OUT.json`` writes, per monitor, whether the sharded run equals the one-device run, and
the spike counts.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import columns_format  # noqa: E402

import snnjax as sj  # noqa: E402

assert len(jax.devices()) == 4, jax.devices()
columns_format.register()
net = columns_format.network("columns")
kw = dict(dt=0.1, monitors=["E.spike", "I.spike", "E.v"])
one = sj.Runner(net, **kw).run(200.0)
four = sj.Runner(net, devices=jax.devices(), **kw).run(200.0)
out = {
    k: {"equal": bool(np.array_equal(np.asarray(one[k]), np.asarray(four[k]))), "spikes": int(np.asarray(one[k]).sum())}
    for k in ("E.spike", "I.spike", "E.v")
}
Path(sys.argv[1]).write_text(json.dumps(out))
