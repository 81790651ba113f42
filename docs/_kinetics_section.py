# The "Your own synapse kinetics" section of notebooks/07_your_own_rules.ipynb, as cells (jupytext "percent"
# format: `# %%` starts a code cell, `# %% [markdown]` a markdown cell whose lines are comments). Kept here until it
# is merged into the notebook; `python docs/_kinetics_section.py` runs it (about 20 s on a CPU).

# %% [markdown]
# ## Your own synapse kinetics
#
# A synapse model turns the spikes arriving at a synapse into `g`, the variable the projection's output reads
# (a current for `CUBA`, a conductance for `COBA`). `snnjax.synapses.Kinetics` is to synapses what `ODENeuron` is
# to neurons: declare the **parameters**, the **state variables** (`STATE`, with `g` among them), how they evolve
# **between inputs** (`derivatives`, integrated by a named integrator, or a closed form `integrate`) and **what an
# arriving input does** (`on_input`, default `g += inp`). The base gives `init`, `update`, the parameter checks and
# a check of the declaration before anything is compiled.
#
# A conductance with a rise and a decay time, the synapse Brian2 users write as
# `dg/dt = (x - g)/tau_rise`, `dx/dt = -x/tau_decay` with `on_pre: x += w`:

# %%
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from flax import struct

import snnjax as sj


@struct.dataclass
class RiseDecay(sj.synapses.Kinetics):
    """A conductance that rises with tau_rise and decays with tau_decay (the unit of the weights, ms):

    dx/dt = -x / tau_decay,  dg/dt = (x - g) / tau_rise;  each arriving spike adds its weight to x.
    One spike of weight w at t = 0: g(t) = w tau_decay / (tau_decay - tau_rise) (e^{-t/tau_decay} - e^{-t/tau_rise}).
    """

    tau_rise: float = 1.0  # ms
    tau_decay: float = 5.0  # ms

    STATE = dict(g=(0.0, "conductance, unit of the weights"), x=(0.0, "conductance before the rise, same unit"))

    def derivatives(self, s):
        return dict(x=-s.x / self.tau_decay, g=(s.x - s.g) / self.tau_rise)

    def on_input(self, s, inp):
        return dict(x=s.x + inp)


syn = RiseDecay(tau_rise=0.5, tau_decay=4.0)
print(syn, RiseDecay.State.__name__, syn.init((3,)))

# %% [markdown]
# The equations are linear, so the default integrator (`METHOD = "exact"`: the matrix exponential of the system
# over each step) is exact, and the response to a train of spikes is the sum of the analytic responses. A spike
# arriving during step `k` adds its weight to `x` at the end of that step, so it shows in `g` from step `k + 1`.
# Check against that sum in float64, and against RK4 and Euler on the same derivatives (`RiseDecay(method=...)`):

# %%
DT = 0.1  # ms
n_steps = 400
inp = np.zeros((n_steps, 1), np.float32)
inp[[30, 60, 70, 250], 0] = [1.0, 0.5, 1.0, 2.0]  # weights arriving at these steps


def drive(model, inp):
    """The model's g over a run with input `inp` (n_steps, n)."""

    def step(state, x):
        state = model.update(state, x, dt=DT)
        return state, state.g

    return np.asarray(jax.lax.scan(step, model.init((inp.shape[1],)), jnp.asarray(inp))[1])


t = np.arange(n_steps) * DT
ref = np.zeros(n_steps)
for k in np.nonzero(inp[:, 0])[0]:
    s = t[k:] - t[k]
    ref[k:] += inp[k, 0] * 4.0 / (4.0 - 0.5) * (np.exp(-s / 4.0) - np.exp(-s / 0.5))

for method in (None, "rk4", "euler"):
    g = drive(syn.replace(method=method), inp)[:, 0]
    print(f"method={method!s:6s} max |g - analytic| = {np.abs(g - ref).max():.1e} (peak {ref.max():.2f})")
    assert method == "euler" or np.abs(g - ref).max() < 5e-5

plt.figure(figsize=(7, 2.5))
plt.plot(t, ref, "k", lw=3, alpha=0.3, label="analytic (float64)")
plt.plot(t, drive(syn, inp)[:, 0], label="RiseDecay (exact)")
plt.xlabel("time (ms)")
plt.ylabel("g")
plt.legend()
plt.show()

# %% [markdown]
# In a network it is a `synapse=` like the built-in kinetics. It is linear in its input, so it is post-aligned (the
# default `align = "post"`): the weights of the spikes arriving at each postsynaptic neuron are summed first and
# integrated once, on any propagator. `sparse` (every synapse every step) and `event` (only the synapses of the
# neurons that spiked) give the same conductances and spikes; `x` is a monitor path like `g`.


# %%
def network(method):
    pre = sj.inputs.PoissonGroup(200, rate=20.0)
    post = sj.neurons.LIF(60, v_rest=-60.0, v_reset=-60.0, v_th=-50.0, tau=20.0, tau_ref=2.0)
    proj = sj.Projection(
        "pre", "post", conn=sj.conn.FixedProb(0.1, seed=3), weight=sj.conn.Normal(0.3, 0.05), delay=1.0,
        synapse=RiseDecay(0.5, 4.0), output=sj.outputs.COBA(E=0.0), method=method,
    )  # fmt: skip
    return sj.Network(pre=pre, post=post, syn=proj)


recs = {}
for method in ("sparse", "event"):
    net = network(method)
    _, rec = sj.simulate(
        net, net.init(key=jax.random.key(0)), duration=150.0, dt=DT, inputs=[("post.input", 0.5)],
        monitors=["post.spike", "syn.g", "syn.x"],
    )  # fmt: skip
    recs[method] = {k: np.asarray(v) for k, v in rec.items()}
    print(f"{method:6s} ({net.projections['syn'].method}): {int(recs[method]['post.spike'].sum())} postsynaptic spikes")
same = all(np.array_equal(recs["sparse"][k], recs["event"][k]) for k in recs["sparse"])
print("sparse and event identical:", same)
assert np.allclose(recs["sparse"]["syn.g"], recs["event"]["syn.g"], rtol=1e-6, atol=1e-6)

plt.figure(figsize=(7, 2.5))
plt.plot(np.arange(1500) * DT, recs["event"]["syn.g"][:, :3])
plt.xlabel("time (ms)")
plt.ylabel("g of 3 neurons")
plt.show()

# %% [markdown]
# A synapse that **saturates** is not linear in its input: summing the weights first would saturate on the sum of
# all inputs. Such kinetics are pre-aligned (`align = "pre"`): one state per presynaptic neuron, driven by its own
# spikes, and the projection sends `sum_j w_ij g_j` to the output every step (dense or sparse propagation, as
# BrainPy's `ProjAlignPreMg2`). This one is given in closed form (`integrate`) instead of derivatives:


# %%
@struct.dataclass
class Saturating(sj.synapses.Kinetics):
    """Open fraction g: dg/dt = -g / tau; a spike opens a fraction U of the closed channels, g += U (1 - g)."""

    tau: float = 5.0  # ms
    U: float = 0.3  # dimensionless, in (0, 1]

    STATE = dict(g=(0.0, "open fraction, in [0, 1)"))
    align = "pre"

    def integrate(self, s, dt):
        return dict(g=s.g * jnp.exp(-dt / self.tau))

    def on_input(self, s, spikes):
        return dict(g=s.g + self.U * spikes * (1.0 - s.g))


spikes = np.zeros((300, 1), np.float32)
spikes[[20, 22, 24, 26, 28, 200], 0] = 1.0  # a burst, then a lone spike
g = drive(Saturating(), spikes)[:, 0]
ref, state = np.zeros(300), 0.0
for k in range(300):  # float64, spike by spike
    state = state * np.exp(-DT / 5.0)
    state = state + 0.3 * spikes[k, 0] * (1.0 - state)
    ref[k] = state
print(f"max |g - event loop| = {np.abs(g - ref).max():.1e}; peak {g.max():.2f} < 1 (a linear sum would reach 1.5)")

# %% [markdown]
# Mistakes are caught before anything is compiled, with the name of what is wrong:


# %%
@struct.dataclass
class Forgetful(RiseDecay):
    def derivatives(self, s):
        return dict(g=(s.x - s.g) / self.tau_rise)  # forgot x


try:
    sj.Projection("pre", "post", conn=sj.conn.All2All(), synapse=Forgetful()).bind(3, 2)
except ValueError as e:
    print("ValueError:", e)
