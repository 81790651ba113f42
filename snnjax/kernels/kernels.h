// The shared part of snnjax's compiled CPU kernels (see snnjax/kernels/_build.py and docs/kernels.md): batch axes,
// the spike loop, the two row formats' row access, shape checks and the thread split. Each kernel source includes it
// (snnjax/kernels/kernels.cc: the random numbers; snnjax/formats/rows/rows.cc: the row-table format's kernels); the
// build compiles them into one library.
//
// Each handler does one projection's whole row loop for one step, for every element of a leading batch:
//   snnjax_event        transmission of a step's spikes through a CSR or ELL synapse list
//   snnjax_ring         delivery of a step's spikes into a ring buffer of future input (per-synapse delays)
//   snnjax_stdp_arrive  transmission fused with the depression of every transmitted synapse (STDP at arrivals)
//   snnjax_stdp_post    the potentiation of the synapses onto the postsynaptic spikes (transposed table)
//   snnjax_uniform      uniform numbers of the counter-based Philox4x32-10 generator
//   snnjax_poisson      Poisson counts by inversion of those uniforms (PoissonInput's draws)
//
// Batching: every operand is (*batch, *core) where the batch axes broadcast against the first result's (numpy rules,
// aligned on the right; a size-1 or missing axis is shared): what jax.ffi.ffi_call's vmap_method="expand_dims"
// produces, and what the Python wrappers pass for batched network states.
//
// Arithmetic follows the XLA programs it replaces operation by operation (same order, same roundings), so the
// results are bit-identical. The library is built with -ffp-contract=off: no product is fused with an addition
// behind our back. Where XLA CPU itself contracts a product into an addition (it does inside a fusion), the code
// says so with an explicit std::fma.
//
// Bounds: no index read from a table is trusted. Rows whose row_ptr range falls outside [0, K] are clamped to it;
// synapse indices outside [0, K) and neuron indices outside their group are skipped (never read or written).

#pragma once

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <cstdint>
#include <cstring>
#include <string>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

using Dims = ffi::AnyBuffer::Dimensions;

// ------------------------------------------------------------------------------------------------ batch axes

// Fixed-size arrays: a call allocates nothing (small calls cost a few microseconds, and a malloc is not free).
constexpr int64_t kMaxBatch = 8;  // batch axes (nested vmaps and batch_shape together)
constexpr int64_t kMaxCore = 2;   // axes of one batch element of an operand

struct Batch {
  int64_t shape[kMaxBatch] = {};  // the result's batch axes
  int64_t rank = 0;
  int64_t count = 1;
};

Batch batch_of(Dims result, int64_t core) {
  Batch b;
  b.rank = std::max<int64_t>(static_cast<int64_t>(result.size()) - core, 0);
  for (int64_t a = 0; a < std::min(b.rank, kMaxBatch); ++a) {
    b.shape[a] = result[a];
    b.count *= result[a];
  }
  return b;
}

// One operand: its core shape and the element offset of each batch element.
class Operand {
 public:
  // Fills the strides; returns an empty string, or what is wrong with the operand's shape.
  std::string init(const char* name, Dims d, int64_t core, const Batch& batch) {
    const int64_t rank = static_cast<int64_t>(d.size());
    if (batch.rank > kMaxBatch) return std::string(name) + ": more than 8 batch axes";
    if (rank < core || core > kMaxCore) return std::string(name) + ": too few axes";
    const int64_t nb = rank - core;
    if (nb > batch.rank) return std::string(name) + ": more batch axes than the result";
    int64_t after = 1;
    for (int64_t c = 0; c < core; ++c) {
      core_[c] = d[nb + c];
      after *= core_[c];
    }
    size_ = after;
    batch_ = &batch;
    for (int64_t a = 0; a < batch.rank; ++a) stride_[a] = 0;
    for (int64_t p = nb - 1; p >= 0; --p) {
      const int64_t a = batch.rank - nb + p;
      if (d[p] != 1) {
        if (d[p] != batch.shape[a]) return std::string(name) + ": batch axis does not broadcast";
        stride_[a] = after;
      }
      after *= d[p];
    }
    return {};
  }
  int64_t offset(int64_t b) const {
    int64_t off = 0;
    for (int64_t a = batch_->rank - 1; a >= 0; --a) {
      off += (b % batch_->shape[a]) * stride_[a];
      b /= batch_->shape[a];
    }
    return off;
  }
  int64_t dim(int64_t i) const { return core_[i]; }
  int64_t size() const { return size_; }  // elements of one batch element

 private:
  int64_t core_[kMaxCore] = {}, stride_[kMaxBatch] = {};
  const Batch* batch_ = nullptr;
  int64_t size_ = 1;
};

// ------------------------------------------------------------------------------------------------ loops

// f(i, s[i]) for every nonzero s[i] (NaN counts as nonzero, -0 does not: as `s != 0`), in increasing i. Most neurons
// do not spike: blocks of 64 are skipped when all their bit patterns, the sign bit shifted out, OR to zero (an integer
// reduction the compiler vectorises; a loop of float comparisons with an early exit is not, and cost ~10x more).
template <class T>
struct Bits;
template <>
struct Bits<float> {
  using type = uint32_t;
};
template <>
struct Bits<double> {
  using type = uint64_t;
};

template <class T, class F>
inline void for_spikes(const T* s, int64_t n, F&& f) {
  using U = typename Bits<T>::type;
  constexpr int64_t kBlock = 64;
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    U any = 0;
    for (int64_t t = 0; t < kBlock; ++t) {
      U u;
      std::memcpy(&u, s + i + t, sizeof(U));
      any |= static_cast<U>(u << 1);
    }
    if (!any) continue;
    for (int64_t t = 0; t < kBlock; ++t) {
      const T v = s[i + t];
      if (v != T(0)) f(i + t, v);
    }
  }
  for (; i < n; ++i) {
    const T v = s[i];
    if (v != T(0)) f(i, v);
  }
}

// The synapses (k, target) of row i, in increasing k.
struct Csr {  // row_ptr (n_pre + 2,), post (K,)
  const int32_t* row_ptr;
  const int32_t* post;
  int64_t n_syn;
  template <class F>
  inline void row(int64_t i, F&& f) const {
    const int64_t a = std::clamp<int64_t>(row_ptr[i], 0, n_syn);
    const int64_t e = std::clamp<int64_t>(row_ptr[i + 1], a, n_syn);
    for (int64_t k = a; k < e; ++k) f(k, static_cast<int64_t>(post[k]));
  }
};

struct Ell {  // table (n_rows, width) of targets and of synapse indices
  const int32_t* target;
  const int32_t* syn;
  int64_t width;
  template <class F>
  inline void row(int64_t i, F&& f) const {
    const int32_t* t = target + i * width;
    const int32_t* k = syn + i * width;
    for (int64_t c = 0; c < width; ++c) f(static_cast<int64_t>(k[c]), static_cast<int64_t>(t[c]));
  }
};

inline bool in(int64_t x, int64_t n) { return 0 <= x && x < n; }

// jnp.maximum / jnp.minimum as XLA CPU computes them: NaN propagates; ties give the first operand.
template <class T>
inline T xmax(T a, T b) {
  return (a >= b || a != a) ? a : b;
}
template <class T>
inline T xmin(T a, T b) {
  return (a <= b || a != a) ? a : b;
}

// The plasticity rules' pieces (snnjax/plasticity/stdp.py, local.py).
template <class T>
inline T rounded(T x) {  // stdp._rounded: +0 for any zero
  return x != T(0) ? x : T(0);
}

// HardBounds: clip(w + pot - dep, lo, hi), clip = minimum(maximum(lo, x), hi).
// SoftBounds: w + (hi - w) pot - (w - lo) dep; XLA CPU contracts both products into their additions (one fused
// multiply-add each) inside the fusion that computes it, so this does the same.
template <class T>
inline T bounded(bool soft, T w, T pot, T dep, T lo, T hi) {
  if (soft) {
    const T up = std::fma(hi - w, pot, w);
    return std::fma(-(w - lo), dep, up);
  }
  return xmin(xmax(lo, (w + pot) - dep), hi);
}

// ------------------------------------------------------------------------------------------------ shapes

#define SNNJAX_CHECK(expr)                                                            \
  do {                                                                                \
    std::string _why = (expr);                                                        \
    if (!_why.empty()) return ffi::Error::InvalidArgument("snnjax kernel: " + _why); \
  } while (0)

ffi::Error same(const char* what, int64_t a, int64_t b) {
  if (a == b) return ffi::Error::Success();
  return ffi::Error::InvalidArgument(std::string("snnjax kernel: ") + what + " sizes differ");
}

// Copies the aliased operand into the result when XLA did not give them one buffer (then it is a broadcast).
template <class T>
void adopt(const ffi::AnyBuffer& in, const Operand& op, ffi::Result<ffi::AnyBuffer>& out, const Batch& batch) {
  const T* src = in.typed_data<T>();
  T* dst = out->typed_data<T>();
  if (static_cast<const void*>(src) == static_cast<const void*>(dst)) return;
  const int64_t n = op.size();
  for (int64_t b = 0; b < batch.count; ++b) std::memcpy(dst + b * n, src + op.offset(b), sizeof(T) * n);
}

// ------------------------------------------------------------------------------------------------ threads

// The most threads a call may use: XLA's intra-op pool (at most 8), capped by `most` (0: no cap).
inline int64_t thread_count(ffi::ThreadPool& pool, int64_t most) {
  int64_t threads = std::min<int64_t>(std::max<int64_t>(pool.num_threads(), 1), 8);
  return most > 0 ? std::min(threads, most) : threads;
}

// part(lo, hi) over [0, n) cut into as many ranges as XLA's intra-op pool has threads (this thread runs the first),
// waiting for all; one range when n < 4096 or work < least. A task allocates a little (the pool's Schedule), once
// per call.
template <class F>
void parallel_parts(ffi::ThreadPool& pool, int64_t n, int64_t work, int64_t least, F&& part, int64_t most = 0) {
  const int64_t threads = thread_count(pool, most);
  if (threads < 2 || n < 4096 || work < least) {
    part(0, n);
    return;
  }
  std::mutex m;
  std::condition_variable cv;
  int64_t left = threads - 1;
  for (int64_t t = 1; t < threads; ++t) {
    const int64_t lo = n * t / threads, hi = n * (t + 1) / threads;
    pool.Schedule([&, lo, hi] {
      part(lo, hi);
      std::lock_guard<std::mutex> g(m);
      if (--left == 0) cv.notify_one();
    });
  }
  part(0, n / threads);
  std::unique_lock<std::mutex> g(m);
  cv.wait(g, [&] { return left == 0; });
}

}  // namespace
