"""The pair-STDP window, measured through :func:`snnjax.plasticity.pair_stdp` and compared with the analytic curve.

``python -m snnjax.examples.stdp [--png stdp_window.png]`` prints one JSON line with ``max_relative_error``
(largest ``|measured - analytic| / |analytic|`` over the window) and, when matplotlib is installed, saves a
plot of the measured points on the analytic curve.

Each time difference ``t_post - t_pre`` in ``-50 .. 50`` ms (1 ms apart) gets its own synapse of a
:class:`~snnjax.connections.LinearDirect` connection, whose pre and post neurons fire once each; all pairs
run together in one ``lax.scan`` (:func:`snnjax.plasticity.accumulate`) with ``dt = 0.1`` ms, and each
synapse's weight change is compared with ``a_plus exp(-dt/tau_plus)`` (``dt >= 0``) or
``-a_minus exp(dt/tau_minus)`` (``dt < 0``).
"""

from __future__ import annotations

import argparse
import json

import jax.numpy as jnp
import numpy as np

from snnjax import plasticity
from snnjax.connections import LinearDirect
from snnjax.synapses.inferno import SingleExponentialCurrent

PARAMS = dict(a_plus=0.01, a_minus=0.0105, tau_plus=16.8, tau_minus=33.7)  # weight units and ms (Bi & Poo fits)
DT = 0.1  # ms


def measure_window(
    delta_t: np.ndarray | None = None, dt: float = DT, params: dict | None = None, pairing: str = "all-to-all"
) -> dict:
    """Weight change of one isolated pre/post pair per synapse.

    Args:
      delta_t: ``t_post - t_pre`` values, ms (multiples of ``dt``); default ``-50 .. 50`` ms by 1 ms.
      dt: simulation step, ms.
      params: ``pair_stdp`` amplitudes and time constants; default :data:`PARAMS`.
      pairing: ``pair_stdp``'s pairing (one isolated pair: the same window either way).

    Returns:
      dict with ``delta_t`` (ms), ``measured`` and ``analytic`` (weight units), numpy arrays.
    """
    params = dict(PARAMS if params is None else params)
    delta_t = np.arange(-50.0, 50.5, 1.0) if delta_t is None else np.asarray(delta_t, float)
    n = delta_t.size
    lag = np.round(delta_t / dt).astype(int)  # post step - pre step
    margin = 5
    pre_step = margin + np.maximum(-lag, 0)
    post_step = pre_step + lag
    steps = int(max(pre_step.max(), post_step.max())) + margin
    pre, post = np.zeros((steps, 1, n), np.float32), np.zeros((steps, 1, n), np.float32)
    pre[pre_step, 0, np.arange(n)] = 1.0
    post[post_step, 0, np.arange(n)] = 1.0
    synapse = SingleExponentialCurrent.partialconstructor(spike_charge=1.0, time_constant=5.0)
    conn = LinearDirect.create(n, dt, synapse=synapse, weight=jnp.zeros(n))
    rule = plasticity.pair_stdp(conn, pairing=pairing, **params)
    weight, _ = plasticity.accumulate(rule, pre, post, conn.weight, dt=dt)
    analytic = plasticity.stdp_window(lag * dt, **params)
    return dict(delta_t=lag * dt, measured=np.asarray(weight, np.float64), analytic=np.asarray(analytic, np.float64))


def plot(result: dict, path: str) -> bool:
    """Save measured vs analytic window to ``path``; False (nothing saved) without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fine = np.linspace(result["delta_t"].min(), result["delta_t"].max(), 1001)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(fine, plasticity.stdp_window(fine, **PARAMS), "k-", lw=1, label="analytic")
    ax.plot(result["delta_t"], result["measured"], "o", ms=3, label="pair_stdp (measured)")
    ax.axhline(0, color="0.7", lw=0.5)
    ax.set_xlabel("t_post - t_pre (ms)")
    ax.set_ylabel("weight change")
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> dict:
    """Run the example and print one JSON line; returns it as a dict."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--png", default="stdp_window.png", help="where to save the plot ('' to skip)")
    args = ap.parse_args(argv)
    res = measure_window()
    rel = np.abs(res["measured"] - res["analytic"]) / np.abs(res["analytic"])
    saved = bool(args.png) and plot(res, args.png)
    summary = dict(max_relative_error=float(rel.max()), pairs=int(rel.size), dt_ms=DT, plot=args.png if saved else None)
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
