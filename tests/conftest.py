import os

# Tests run on the CPU, single-threaded XLA keeps timings out of the picture and memory small.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
