"""One process of the 2-process ``jax.distributed`` test (tests/test_sharding.py).

``python tests/shard_distributed.py PROCESS_ID NUM_PROCESSES PORT OUT.npz TMPDIR`` with
``XLA_FLAGS=--xla_force_host_platform_device_count=2``: joins the coordinator on ``localhost:PORT`` (process 0
runs it), runs the COBA network of 2000 neurons with STDP on E->E over all processes' devices for 20 ms, saves
its own shards (``snnjax.sharding.save_shards``), resumes them for 20 ms more in a new Runner of the same network
built with ``Network.deferred`` (each process streams the connectors and keeps its own devices' synapses only),
writes which devices' lists it built and the bytes of lists it held to ``TMPDIR/lists{PROCESS_ID}.json``, and
(process 0) writes the joined records and the final state in the one-device layout to ``OUT.npz``.
"""

from __future__ import annotations

import json
import sys

import jax

jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU collectives across processes

pid, nproc, port, out, tmp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
jax.distributed.initialize(coordinator_address=f"localhost:{port}", num_processes=nproc, process_id=pid)

import numpy as np  # noqa: E402

import snnjax as sj  # noqa: E402
from snnjax.examples.brette import COBA_INPUTS, build  # noqa: E402

net = build(2000, "coba", "event", plasticity="stdp")
mons = ["E.spike", "I.spike", "E.v"]
first = sj.Runner(net, dt=0.1, inputs=COBA_INPUTS, monitors=mons, devices=jax.devices())
part1 = first.run(20.0)
sj.sharding.save_shards(f"{tmp}/ck", first.state)

deferred = build(2000, "coba", "event", plasticity="stdp", deferred=True)
second = sj.Runner(deferred, dt=0.1, inputs=COBA_INPUTS, monitors=mons, devices=jax.devices())
second.state = sj.sharding.load_shards(f"{tmp}/ck", like=second.state)
part2 = second.run(20.0)
lists = {
    "process_devices": sorted(d for d, dev in enumerate(second.shard.mesh.devices.ravel()) if dev.process_index == pid),
    "built": sorted({d for _, d in second.shard._layouts}),  # before the gather below builds the others' too
    "host_list_bytes": {"whole": first.shard.host_list_bytes(), "deferred": second.shard.host_list_bytes()},
}
with open(f"{tmp}/lists{pid}.json", "w") as f:
    json.dump(lists, f)
final = second.global_state()
if pid == 0:
    np.savez(
        out,
        devices=len(jax.devices()),
        processes=jax.process_count(),
        w=np.asarray(final.synapses["EE"].w),
        v_final=np.asarray(final.neurons["E"].v),
        **{k: np.concatenate([np.asarray(part1[k]), np.asarray(part2[k])]) for k in mons},
    )
jax.distributed.shutdown()
