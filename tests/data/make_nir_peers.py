"""Export small networks from snnTorch and Norse to NIR, with each tool's own output spikes for a fixed input.

Run in its own virtual environment (not snnjax's; torch, nir>=1.0,<2, h5py, snntorch, norse, nirtorch), made by
benchmarks/peers/make_envs.py (folder: --dir / $SNNJAX_PEERS, default .peers/ in the clone)::

    python benchmarks/peers/make_envs.py --peer nir
    "$(python benchmarks/peers/make_envs.py --which nir)" tests/data/make_nir_peers.py

Writes ``tests/data/nir_<tool>_<net>.nir`` (the graph, ``nir.write``), ``nir_<tool>_<net>.npz`` (``input``
``(T, B, *in_shape)`` 0/1 spikes, ``output`` ``(T, B, n_out)`` the tool's output spikes, ``dt_ms``, ``integration``,
``synapse_input``: how ``snnjax.nir.from_nir`` must discretise the graph to follow the tool) and
``nir_peers_versions.json``. ``tests/test_nir.py`` imports each graph and compares.

Conventions of the tools (see ``snnjax.nir``): snnTorch steps ``mem = beta mem + input`` (forward Euler of its
exported ``tau = dt / (1 - beta)``, ``r = tau / dt``) and writes times with ``dt = 1e-4`` s; its neurons here use
``reset_mechanism="zero", reset_delay=False``, which is NIR's reset to ``v_reset = 0`` in the step of the spike.
Norse's ``LIFCell`` (CubaLIF) adds its input to the synaptic current (a jump, ``w_in = 1``) and takes Euler steps of
``dt = 1e-3`` s.
"""

from __future__ import annotations

import json
import os
import platform

import nir
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
T, B = 40, 3
torch.manual_seed(0)


def _input(shape, p=0.3, seed=1):
    rng = np.random.default_rng(seed)
    return (rng.random((T, B, *shape)) < p).astype(np.float32)


def _arrays(graph):
    """Torch tensors and 0-d arrays in node parameters -> 1-d NumPy arrays (``nir.write`` cannot store scalars)."""
    for node in graph.nodes.values():
        if isinstance(node, nir.NIRGraph):
            _arrays(node)
            continue
        for k, v in list(getattr(node, "__dict__", {}).items()):
            if isinstance(v, torch.Tensor):
                v = v.detach().numpy()
            if isinstance(v, np.ndarray) and k not in ("input_type", "output_type"):
                setattr(node, k, np.atleast_1d(v))


def _save(name, graph, x, out, dt_ms, integration, synapse_input):
    _arrays(graph)
    nir.write(os.path.join(HERE, f"nir_{name}.nir"), graph)
    np.savez_compressed(
        os.path.join(HERE, f"nir_{name}.npz"),
        input=x.astype(np.uint8),
        output=np.asarray(out, np.uint8),
        dt_ms=dt_ms,
        integration=integration,
        synapse_input=synapse_input,
    )
    print(name, "output spikes:", int(np.sum(out)), "of", np.size(out))


def snntorch_nets():
    import snntorch as snn
    import snntorch.utils  # noqa: F401  (snn.utils.reset)
    from snntorch.export_nir import export_to_nir

    kw = dict(reset_mechanism="zero", reset_delay=False, init_hidden=True)

    def full(n, v):  # per-neuron parameters: the exporter writes scalars as shape () or (1,), which fail its types
        return torch.full((n,), float(v))

    def run(net, x):
        for m in net.modules():
            if hasattr(m, "reset_hidden"):
                m.reset_hidden()
        snn.utils.reset(net)
        outs = []
        with torch.no_grad():
            for t in range(x.shape[0]):
                o = net(torch.as_tensor(x[t]))
                outs.append((o[0] if isinstance(o, tuple) else o).numpy())
        return np.stack(outs)

    # feed-forward CubaLIF (Synaptic) with Affine
    ff = torch.nn.Sequential(
        torch.nn.Linear(8, 16),
        snn.Synaptic(alpha=full(16, 0.8), beta=full(16, 0.9), threshold=full(16, 1.0), **kw),
        torch.nn.Linear(16, 4),
        snn.Synaptic(alpha=full(4, 0.8), beta=full(4, 0.9), threshold=full(4, 1.0), output=True, **kw),
    )
    with torch.no_grad():
        ff[0].weight.mul_(3.0)
        ff[2].weight.mul_(3.0)
    x = _input((8,))
    out = run(ff, x)
    g = export_to_nir(ff, torch.as_tensor(x[0, 0]))
    _save("snntorch_ff", g, x, out, 0.1, "euler", "held")

    # recurrent: Linear -> RLeaky (all-to-all recurrent Linear) -> Linear -> Leaky
    rec = torch.nn.Sequential(
        torch.nn.Linear(8, 12),
        snn.RLeaky(beta=full(12, 0.9), linear_features=12, threshold=full(12, 1.0), **kw),
        torch.nn.Linear(12, 4),
        snn.Leaky(beta=full(4, 0.9), threshold=full(4, 1.0), output=True, **kw),
    )
    with torch.no_grad():
        rec[0].weight.mul_(3.0)
        rec[1].recurrent.weight.mul_(2.0)
        rec[2].weight.mul_(3.0)
    x = _input((8,), seed=2)
    out = run(rec, x)
    g = export_to_nir(rec, torch.as_tensor(x[0, 0]))
    _save("snntorch_recurrent", g, x, out, 0.1, "euler", "held")

    # conv: Conv2d -> Leaky -> AvgPool2d -> Flatten -> Linear -> Leaky
    try:
        conv = torch.nn.Sequential(
            torch.nn.Conv2d(1, 2, 3, padding=1),
            snn.Leaky(beta=torch.full((2, 6, 6), 0.9), threshold=torch.ones(2, 6, 6), **kw),
            torch.nn.AvgPool2d(2),
            torch.nn.Flatten(),
            torch.nn.Linear(2 * 3 * 3, 4),
            snn.Leaky(beta=full(4, 0.9), threshold=full(4, 1.0), output=True, **kw),
        )
        with torch.no_grad():
            conv[0].weight.mul_(3.0)
            conv[4].weight.mul_(4.0)
        x = _input((1, 6, 6), seed=3)
        out = run(conv, x)
        g = export_to_nir(conv, torch.as_tensor(x[0, :1]))
        _save("snntorch_conv", g, x, out, 0.1, "euler", "held")
    except Exception as err:  # snnTorch 1.0.0's exporter fails on this net: record it, keep the others
        print("snntorch_conv failed:", repr(err))
        return {"version": snn.__version__, "conv": f"export failed: {type(err).__name__}: {err}"}
    return snn.__version__


def norse_nets():
    import norse
    import norse.torch as nt

    def fix_tau(graph, dt=1e-3):
        """Norse 1.1.0 writes ``tau = dt / tau_inv`` (e.g. 5e-6 s for 5 ms) instead of ``1 / tau_inv``: divide by dt."""
        for node in graph.nodes.values():
            for k in ("tau", "tau_mem", "tau_syn"):
                if hasattr(node, k):
                    setattr(node, k, np.asarray(getattr(node, k)) / dt)

    def run(net, x):
        outs, state = [], None
        with torch.no_grad():
            for t in range(x.shape[0]):
                o, state = net(torch.as_tensor(x[t]), state)
                outs.append(o.numpy())
        return np.stack(outs)

    def lif(shape):  # per-neuron parameters: scalars are exported with shape (), which nir.read's types reject
        z = torch.zeros(shape)
        return nt.LIFParameters(tau_syn_inv=z + 200.0, tau_mem_inv=z + 100.0, v_leak=z, v_th=z + 1.0, v_reset=z)

    def box(shape):
        z = torch.zeros(shape)
        return nt.LIFBoxParameters(tau_mem_inv=z + 100.0, v_leak=z, v_th=z + 1.0, v_reset=z)

    ff = nt.SequentialState(torch.nn.Linear(8, 16), nt.LIFCell(lif(16)), torch.nn.Linear(16, 4), nt.LIFCell(lif(4)))
    with torch.no_grad():
        ff[0].weight.mul_(8.0)
        ff[2].weight.mul_(8.0)
    x = _input((8,), seed=4)
    out = run(ff, x)
    g = nt.to_nir(ff, torch.as_tensor(x[0, 0]))
    _arrays(g)
    fix_tau(g)
    _save("norse_ff", g, x, out, 1.0, "euler", "jump")

    # Norse's exporter has no Flatten: two convolutions
    conv = nt.SequentialState(
        torch.nn.Conv2d(1, 2, 3, padding=1),
        nt.LIFBoxCell(box((2, 6, 6))),
        torch.nn.Conv2d(2, 2, 3),
        nt.LIFBoxCell(box((2, 4, 4))),
    )
    with torch.no_grad():
        conv[0].weight.mul_(20.0)
        conv[2].weight.mul_(20.0)
    x = _input((1, 6, 6), seed=5)
    out = run(conv, x)
    g = nt.to_nir(conv, torch.as_tensor(x[0, 0]))
    _arrays(g)
    fix_tau(g)
    convs = [n for n in g.nodes.values() if isinstance(n, nir.Conv2d)]
    for node, hw in zip(convs, [(6, 6), (6, 6)]):  # Norse leaves input_shape None, which nir.write cannot store
        node.input_shape = np.array(hw)
    _save("norse_conv", g, x, out, 1.0, "euler", "held")
    return norse.__version__


def main():
    versions = {"python": platform.python_version(), "torch": torch.__version__, "nir": nir.__version__}
    for name, fn in (("snntorch", snntorch_nets), ("norse", norse_nets)):
        try:
            versions[name] = fn()
        except Exception as err:  # record what could not be exported, keep the others
            versions[name] = f"failed: {type(err).__name__}: {err}"
            print(name, "failed:", err)
    with open(os.path.join(HERE, "nir_peers_versions.json"), "w") as f:
        json.dump(versions, f, indent=1)
    print(json.dumps(versions))


if __name__ == "__main__":
    main()
