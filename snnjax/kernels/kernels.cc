// Compiled CPU kernels of snnjax, called from XLA as typed-FFI custom calls (see snnjax/kernels/ and docs/kernels.md).
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

// ------------------------------------------------------------------------------------------------ transmission

// out[post[k]] += s[i] * w[k] for every nonzero s[i] (increasing i), its synapses k in increasing k.
template <class T>
ffi::Error EventImpl(ffi::AnyBuffer s, ffi::AnyBuffer t0, ffi::AnyBuffer t1, ffi::AnyBuffer w,
                     ffi::Result<ffi::AnyBuffer> out, int64_t csr, int64_t w_scalar) {
  const Batch batch = batch_of(out->dimensions(), 1);
  Operand os, o0, o1, ow, oo;
  SNNJAX_CHECK(os.init("spikes", s.dimensions(), 1, batch));
  SNNJAX_CHECK(o0.init(csr ? "row_ptr" : "ell_post", t0.dimensions(), csr ? 1 : 2, batch));
  SNNJAX_CHECK(o1.init(csr ? "post" : "ell_syn", t1.dimensions(), csr ? 1 : 2, batch));
  SNNJAX_CHECK(ow.init("w", w.dimensions(), w_scalar ? 0 : 1, batch));
  SNNJAX_CHECK(oo.init("out", out->dimensions(), 1, batch));
  const int64_t n_pre = os.dim(0), n_post = oo.dim(0);
  const int64_t n_syn = csr ? o1.dim(0) : (w_scalar ? -1 : ow.dim(0));
  if (csr) {
    if (auto e = same("row_ptr and spikes", o0.dim(0), n_pre + 2); e.failure()) return e;
    if (!w_scalar) {
      if (auto e = same("w and post", ow.dim(0), n_syn); e.failure()) return e;
    }
  } else {
    if (o0.dim(0) < n_pre || o1.dim(0) != o0.dim(0) || o1.dim(1) != o0.dim(1))
      return ffi::Error::InvalidArgument("snnjax kernel: ell_post / ell_syn shapes");
  }
  const T* sp = s.typed_data<T>();
  const T* wp = w.typed_data<T>();
  T* op = out->typed_data<T>();
  for (int64_t b = 0; b < batch.count; ++b) {
    const T* sb = sp + os.offset(b);
    const T* wb = wp + ow.offset(b);
    T* ob = op + b * n_post;
    std::fill(ob, ob + n_post, T(0));
    const T w0 = w_scalar ? wb[0] : T(0);
    if (csr) {
      const Csr rows{t0.typed_data<int32_t>() + o0.offset(b), t1.typed_data<int32_t>() + o1.offset(b), n_syn};
      for_spikes(sb, n_pre, [&](int64_t i, T v) {
        rows.row(i, [&](int64_t k, int64_t j) {
          if (in(j, n_post)) ob[j] += v * (w_scalar ? w0 : wb[k]);
        });
      });
    } else {
      const Ell rows{t0.typed_data<int32_t>() + o0.offset(b), t1.typed_data<int32_t>() + o1.offset(b), o0.dim(1)};
      for_spikes(sb, n_pre, [&](int64_t i, T v) {
        rows.row(i, [&](int64_t k, int64_t j) {
          // rows.loops._event_rows reads a padding synapse's weight as 0 (w.at[syn].get(mode="fill"))
          if (in(j, n_post)) ob[j] += v * (w_scalar ? w0 : (in(k, n_syn) ? wb[k] : T(0)));
        });
      });
    }
  }
  return ffi::Error::Success();
}

ffi::Error Event(ffi::AnyBuffer s, ffi::AnyBuffer t0, ffi::AnyBuffer t1, ffi::AnyBuffer w,
                 ffi::Result<ffi::AnyBuffer> out, int64_t csr, int64_t w_scalar) {
  switch (s.element_type()) {
    case ffi::DataType::F32:
      return EventImpl<float>(s, t0, t1, w, out, csr, w_scalar);
    case ffi::DataType::F64:
      return EventImpl<double>(s, t0, t1, w, out, csr, w_scalar);
    default:
      return ffi::Error::InvalidArgument("snnjax_event: spikes must be float32 or float64");
  }
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

// ------------------------------------------------------------------------------------------------ ring buffer

// (clear: slot head zeroed first) ring[(head + lag[k]) % D, post[k]] += s[i] * w[k] for every nonzero s[i]
// (increasing i), k in increasing k.
template <class T, class L>
ffi::Error RingImpl(ffi::ThreadPool pool, ffi::AnyBuffer ring, ffi::AnyBuffer head, ffi::AnyBuffer s,
                    ffi::AnyBuffer row_ptr, ffi::AnyBuffer post, ffi::AnyBuffer w, ffi::AnyBuffer lag,
                    ffi::Result<ffi::AnyBuffer> out, ffi::Result<ffi::AnyBuffer> now, int64_t w_scalar, int64_t clear,
                    int64_t take, int64_t threads, int64_t parallel_min) {
  const Batch batch = batch_of(out->dimensions(), 2);
  Operand orr, oh, os, op, opost, ow, ol, oo;
  SNNJAX_CHECK(orr.init("ring", ring.dimensions(), 2, batch));
  SNNJAX_CHECK(oh.init("head", head.dimensions(), 0, batch));
  SNNJAX_CHECK(os.init("spikes", s.dimensions(), 1, batch));
  SNNJAX_CHECK(op.init("row_ptr", row_ptr.dimensions(), 1, batch));
  SNNJAX_CHECK(opost.init("post", post.dimensions(), 1, batch));
  SNNJAX_CHECK(ow.init("w", w.dimensions(), w_scalar ? 0 : 1, batch));
  SNNJAX_CHECK(ol.init("lag", lag.dimensions(), 1, batch));
  SNNJAX_CHECK(oo.init("out", out->dimensions(), 2, batch));
  const int64_t depth = oo.dim(0), n_post = oo.dim(1), n_pre = os.dim(0), n_syn = opost.dim(0);
  if (take) {
    Operand on;
    SNNJAX_CHECK(on.init("now", now->dimensions(), 1, batch));
    if (auto e = same("now and ring", on.dim(0), n_post); e.failure()) return e;
  }
  if (auto e = same("row_ptr and spikes", op.dim(0), n_pre + 2); e.failure()) return e;
  if (auto e = same("lag and post", ol.dim(0), n_syn); e.failure()) return e;
  if (!w_scalar) {
    if (auto e = same("w and post", ow.dim(0), n_syn); e.failure()) return e;
  }
  if (depth < 1) return ffi::Error::InvalidArgument("snnjax_ring: empty ring");
  adopt<T>(ring, orr, out, batch);
  T* rp = out->typed_data<T>();
  for (int64_t b = 0; b < batch.count; ++b) {
    T* rb = rp + b * depth * n_post;
    const T* sb = s.typed_data<T>() + os.offset(b);
    const T* wb = w.typed_data<T>() + ow.offset(b);
    const L* lb = lag.typed_data<L>() + ol.offset(b);
    const int64_t h = ((static_cast<int64_t>(head.typed_data<int32_t>()[oh.offset(b)]) % depth) + depth) % depth;
    const T w0 = w_scalar ? wb[0] : T(0);
    // slot head first cleared (the slot the last step took): done here, in place, where an XLA update before the
    // call made XLA copy the whole ring every step
    if (clear) std::fill(rb + h * n_post, rb + (h + 1) * n_post, T(0));
    const int32_t* rp = row_ptr.typed_data<int32_t>() + op.offset(b);
    const int32_t* pp = post.typed_data<int32_t>() + opost.offset(b);
    // the slot of synapse k: lags are in [1, D] (guaranteed by the engine), anything else is taken modulo D
    auto slot_of = [&](int64_t k) {
      const int64_t x = h + static_cast<int64_t>(lb[k]);
      return x < depth && x >= 0 ? x : ((x % depth) + depth) % depth;
    };
    constexpr int64_t ahead = 16;  // the ring's lines are random accesses: fetch them a few synapses ahead
    // the targets [lo, hi): every part scans all the spiking rows and writes only its own targets, so the parts
    // never write one element and each element still adds its terms in the order of (i, k)
    auto part = [&](int64_t lo, int64_t hi) {
      for_spikes(sb, n_pre, [&](int64_t i, T v) {
        const int64_t a = std::clamp<int64_t>(rp[i], 0, n_syn);
        const int64_t e = std::clamp<int64_t>(rp[i + 1], a, n_syn);
        for (int64_t k = a; k < e; ++k) {
          if (k + ahead < e) {
            const int64_t jn = pp[k + ahead];
            if (jn >= lo && jn < hi) __builtin_prefetch(rb + slot_of(k + ahead) * n_post + jn, 1);
          }
          const int64_t j = pp[k];
          if (j < lo || j >= hi) continue;
          rb[slot_of(k) * n_post + j] += v * (w_scalar ? w0 : wb[k]);
        }
      });
    };
    parallel_parts(pool, n_post, n_syn, parallel_min, part, threads);
    if (take) {  // the slot of the step after head (the current step): handed to the kinetics, no XLA slice
      T* nb = now->typed_data<T>() + b * n_post;
      const int64_t t = h + 1 < depth ? h + 1 : 0;
      std::copy(rb + t * n_post, rb + (t + 1) * n_post, nb);
    }
  }
  return ffi::Error::Success();
}

template <class T>
ffi::Error RingLag(ffi::ThreadPool pool, ffi::AnyBuffer ring, ffi::AnyBuffer head, ffi::AnyBuffer s,
                   ffi::AnyBuffer row_ptr, ffi::AnyBuffer post, ffi::AnyBuffer w, ffi::AnyBuffer lag,
                   ffi::Result<ffi::AnyBuffer> out, ffi::Result<ffi::AnyBuffer> now, int64_t w_scalar, int64_t clear,
                   int64_t take, int64_t threads, int64_t parallel_min) {
  switch (lag.element_type()) {
    case ffi::DataType::U8:
      return RingImpl<T, uint8_t>(pool, ring, head, s, row_ptr, post, w, lag, out, now, w_scalar, clear, take,
                                     threads, parallel_min);
    case ffi::DataType::S16:
      return RingImpl<T, int16_t>(pool, ring, head, s, row_ptr, post, w, lag, out, now, w_scalar, clear, take,
                                     threads, parallel_min);
    case ffi::DataType::S32:
      return RingImpl<T, int32_t>(pool, ring, head, s, row_ptr, post, w, lag, out, now, w_scalar, clear, take,
                                     threads, parallel_min);
    default:
      return ffi::Error::InvalidArgument("snnjax_ring: lag must be uint8, int16 or int32");
  }
}

ffi::Error Ring(ffi::ThreadPool pool, ffi::AnyBuffer ring, ffi::AnyBuffer head, ffi::AnyBuffer s,
                ffi::AnyBuffer row_ptr, ffi::AnyBuffer post, ffi::AnyBuffer w, ffi::AnyBuffer lag,
                ffi::Result<ffi::AnyBuffer> out, ffi::Result<ffi::AnyBuffer> now, int64_t w_scalar, int64_t clear,
                int64_t take, int64_t threads, int64_t parallel_min) {
  switch (ring.element_type()) {
    case ffi::DataType::F32:
      return RingLag<float>(pool, ring, head, s, row_ptr, post, w, lag, out, now, w_scalar, clear, take,
                                     threads, parallel_min);
    case ffi::DataType::F64:
      return RingLag<double>(pool, ring, head, s, row_ptr, post, w, lag, out, now, w_scalar, clear, take,
                                     threads, parallel_min);
    default:
      return ffi::Error::InvalidArgument("snnjax_ring: ring must be float32 or float64");
  }
}

// ------------------------------------------------------------------------------------------------ STDP

// Transmission with the plastic weights, then the depression of each transmitted synapse, row by row:
//   out[j] += s[i] * w[k];  w[k] = bounded(w[k], 0, rounded(apost[j] * factor[i]))
// (factor: the rule's a_minus, or a2_minus + a3_minus apre2[i] for the triplet rule, computed by XLA).
template <class T>
ffi::Error ArriveImpl(ffi::AnyBuffer s, ffi::AnyBuffer t0, ffi::AnyBuffer t1, ffi::AnyBuffer w, ffi::AnyBuffer apost,
                      ffi::AnyBuffer factor, ffi::AnyBuffer lo, ffi::AnyBuffer hi, ffi::Result<ffi::AnyBuffer> out,
                      ffi::Result<ffi::AnyBuffer> w_out, int64_t csr, int64_t soft, int64_t factor_per_row) {
  const Batch batch = batch_of(out->dimensions(), 1);
  Operand os, o0, o1, ow, oa, of, ol, oh, oo, owo;
  SNNJAX_CHECK(os.init("spikes", s.dimensions(), 1, batch));
  SNNJAX_CHECK(o0.init(csr ? "row_ptr" : "ell_post", t0.dimensions(), csr ? 1 : 2, batch));
  SNNJAX_CHECK(o1.init(csr ? "post" : "ell_syn", t1.dimensions(), csr ? 1 : 2, batch));
  SNNJAX_CHECK(ow.init("w", w.dimensions(), 1, batch));
  SNNJAX_CHECK(oa.init("apost", apost.dimensions(), 1, batch));
  SNNJAX_CHECK(of.init("factor", factor.dimensions(), factor_per_row ? 1 : 0, batch));
  SNNJAX_CHECK(ol.init("w_min", lo.dimensions(), 0, batch));
  SNNJAX_CHECK(oh.init("w_max", hi.dimensions(), 0, batch));
  SNNJAX_CHECK(oo.init("out", out->dimensions(), 1, batch));
  SNNJAX_CHECK(owo.init("w_out", w_out->dimensions(), 1, batch));
  const int64_t n_pre = os.dim(0), n_post = oo.dim(0), n_syn = owo.dim(0);
  if (auto e = same("w", ow.dim(0), n_syn); e.failure()) return e;
  if (auto e = same("apost and out", oa.dim(0), n_post); e.failure()) return e;
  if (factor_per_row) {
    if (auto e = same("factor and spikes", of.dim(0), n_pre); e.failure()) return e;
  }
  if (csr) {
    if (auto e = same("row_ptr and spikes", o0.dim(0), n_pre + 2); e.failure()) return e;
    if (auto e = same("post and w", o1.dim(0), n_syn); e.failure()) return e;
  } else if (o0.dim(0) < n_pre || o1.dim(0) != o0.dim(0) || o1.dim(1) != o0.dim(1)) {
    return ffi::Error::InvalidArgument("snnjax kernel: ell_post / ell_syn shapes");
  }
  adopt<T>(w, ow, w_out, batch);
  T* wp = w_out->typed_data<T>();
  T* op = out->typed_data<T>();
  for (int64_t b = 0; b < batch.count; ++b) {
    const T* sb = s.typed_data<T>() + os.offset(b);
    const T* ab = apost.typed_data<T>() + oa.offset(b);
    const T* fb = factor.typed_data<T>() + of.offset(b);
    const T wmin = lo.typed_data<T>()[ol.offset(b)], wmax = hi.typed_data<T>()[oh.offset(b)];
    T* wb = wp + b * n_syn;
    T* ob = op + b * n_post;
    std::fill(ob, ob + n_post, T(0));
    auto arrive = [&](auto const& rows) {
      for_spikes(sb, n_pre, [&](int64_t i, T v) {
        const T f = factor_per_row ? fb[i] : fb[0];
        rows.row(i, [&](int64_t k, int64_t j) {
          const bool target = in(j, n_post);
          if (!in(k, n_syn)) {  // a padding slot: rows.loops.event_update reads its weight as 0 and drops its write
            if (target) ob[j] += v * T(0);
            return;
          }
          const T wk = wb[k];
          if (target) ob[j] += v * wk;
          const T dep = rounded((target ? ab[j] : T(0)) * f);  // apost of a padding target reads as 0
          wb[k] = bounded(soft != 0, wk, T(0), dep, wmin, wmax);
        });
      });
    };
    if (csr) {
      arrive(Csr{t0.typed_data<int32_t>() + o0.offset(b), t1.typed_data<int32_t>() + o1.offset(b), n_syn});
    } else {
      arrive(Ell{t0.typed_data<int32_t>() + o0.offset(b), t1.typed_data<int32_t>() + o1.offset(b), o0.dim(1)});
    }
  }
  return ffi::Error::Success();
}

ffi::Error Arrive(ffi::AnyBuffer s, ffi::AnyBuffer t0, ffi::AnyBuffer t1, ffi::AnyBuffer w, ffi::AnyBuffer apost,
                  ffi::AnyBuffer factor, ffi::AnyBuffer lo, ffi::AnyBuffer hi, ffi::Result<ffi::AnyBuffer> out,
                  ffi::Result<ffi::AnyBuffer> w_out, int64_t csr, int64_t soft, int64_t factor_per_row) {
  switch (w.element_type()) {
    case ffi::DataType::F32:
      return ArriveImpl<float>(s, t0, t1, w, apost, factor, lo, hi, out, w_out, csr, soft, factor_per_row);
    case ffi::DataType::F64:
      return ArriveImpl<double>(s, t0, t1, w, apost, factor, lo, hi, out, w_out, csr, soft, factor_per_row);
    default:
      return ffi::Error::InvalidArgument("snnjax_stdp_arrive: weights must be float32 or float64");
  }
}

// Potentiation at the postsynaptic spikes p[j] != 0, through the transposed table (in_pre, in_syn):
//   w[k] = bounded(w[k], rounded(apre[i] * factor[j]), 0)
// (factor: the rule's a_plus, or a2_plus + a3_plus apost2[j] for the triplet rule, computed by XLA).
template <class T>
ffi::Error PostImpl(ffi::AnyBuffer p, ffi::AnyBuffer in_pre, ffi::AnyBuffer in_syn, ffi::AnyBuffer w,
                    ffi::AnyBuffer apre, ffi::AnyBuffer factor, ffi::AnyBuffer lo, ffi::AnyBuffer hi,
                    ffi::Result<ffi::AnyBuffer> w_out, int64_t soft, int64_t factor_per_col) {
  const Batch batch = batch_of(w_out->dimensions(), 1);
  Operand op, oi, ok, ow, oa, of, ol, oh, owo;
  SNNJAX_CHECK(op.init("post spikes", p.dimensions(), 1, batch));
  SNNJAX_CHECK(oi.init("in_pre", in_pre.dimensions(), 2, batch));
  SNNJAX_CHECK(ok.init("in_syn", in_syn.dimensions(), 2, batch));
  SNNJAX_CHECK(ow.init("w", w.dimensions(), 1, batch));
  SNNJAX_CHECK(oa.init("apre", apre.dimensions(), 1, batch));
  SNNJAX_CHECK(of.init("factor", factor.dimensions(), factor_per_col ? 1 : 0, batch));
  SNNJAX_CHECK(ol.init("w_min", lo.dimensions(), 0, batch));
  SNNJAX_CHECK(oh.init("w_max", hi.dimensions(), 0, batch));
  SNNJAX_CHECK(owo.init("w_out", w_out->dimensions(), 1, batch));
  const int64_t n_post = op.dim(0), n_pre = oa.dim(0), n_syn = owo.dim(0);
  if (auto e = same("w", ow.dim(0), n_syn); e.failure()) return e;
  if (factor_per_col) {
    if (auto e = same("factor and post spikes", of.dim(0), n_post); e.failure()) return e;
  }
  if (oi.dim(0) < n_post || ok.dim(0) != oi.dim(0) || ok.dim(1) != oi.dim(1))
    return ffi::Error::InvalidArgument("snnjax kernel: in_pre / in_syn shapes");
  adopt<T>(w, ow, w_out, batch);
  T* wp = w_out->typed_data<T>();
  for (int64_t b = 0; b < batch.count; ++b) {
    const T* pb = p.typed_data<T>() + op.offset(b);
    const T* ab = apre.typed_data<T>() + oa.offset(b);
    const T* fb = factor.typed_data<T>() + of.offset(b);
    const T wmin = lo.typed_data<T>()[ol.offset(b)], wmax = hi.typed_data<T>()[oh.offset(b)];
    T* wb = wp + b * n_syn;
    const Ell cols{in_pre.typed_data<int32_t>() + oi.offset(b), in_syn.typed_data<int32_t>() + ok.offset(b),
                   oi.dim(1)};
    for_spikes(pb, n_post, [&](int64_t j, T) {
      const T f = factor_per_col ? fb[j] : fb[0];
      cols.row(j, [&](int64_t k, int64_t i) {
        if (!in(k, n_syn)) return;  // padding: the XLA path drops the write
        const T pot = rounded((in(i, n_pre) ? ab[i] : T(0)) * f);
        wb[k] = bounded(soft != 0, wb[k], pot, T(0), wmin, wmax);
      });
    });
  }
  return ffi::Error::Success();
}

ffi::Error Post(ffi::AnyBuffer p, ffi::AnyBuffer in_pre, ffi::AnyBuffer in_syn, ffi::AnyBuffer w, ffi::AnyBuffer apre,
                ffi::AnyBuffer factor, ffi::AnyBuffer lo, ffi::AnyBuffer hi, ffi::Result<ffi::AnyBuffer> w_out,
                int64_t soft, int64_t factor_per_col) {
  switch (w.element_type()) {
    case ffi::DataType::F32:
      return PostImpl<float>(p, in_pre, in_syn, w, apre, factor, lo, hi, w_out, soft, factor_per_col);
    case ffi::DataType::F64:
      return PostImpl<double>(p, in_pre, in_syn, w, apre, factor, lo, hi, w_out, soft, factor_per_col);
    default:
      return ffi::Error::InvalidArgument("snnjax_stdp_post: weights must be float32 or float64");
  }
}

// ------------------------------------------------------------------------------------------------ Philox

// Philox4x32-10 (Salmon et al. 2011; Random123's reference) of the counters (c0, c1, c2, c3): what
// snnjax.random.philox4x32 computes from 16-bit halves in XLA, here with 64-bit products.
inline void philox4(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1, uint32_t out[4]) {
  for (int r = 0; r < 10; ++r) {
    const uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
    const uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

// Philox4x32-10 of L counters at once, in place: the rounds vectorise across the lanes.
template <int64_t L>
void philox_lanes(uint32_t* __restrict x0, uint32_t* __restrict x1, uint32_t* __restrict x2, uint32_t* __restrict x3,
                  uint32_t k0, uint32_t k1) {
  for (int r = 0; r < 10; ++r) {
    for (int64_t l = 0; l < L; ++l) {
      const uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * x0[l];
      const uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * x2[l];
      const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ x1[l] ^ k0;
      const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ x3[l] ^ k1;
      x1[l] = static_cast<uint32_t>(p1);
      x3[l] = static_cast<uint32_t>(p0);
      x0[l] = n0;
      x2[l] = n2;
    }
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
}

// out[b, i] = (word[index[i] % 4] of Philox(index[i] / 4, step[b], c2[b], 0; key[b]) >> 8) * 2^-24: exact in float32
// and float64. Consecutive indices (a population's neurons) share one block of the generator four at a time.
// The Poisson count of mean lam by inversion of its CDF from the uniform u, as snnjax.inputs._poisson_by_inversion
// computes it (p = exp(-lam) given: XLA's exp; the same products and sums in the same order).
template <class T>
inline T poisson_count(T u, T lam, T p, const T* inverse, int64_t terms) {
  T cdf = p, count = T(0);
  for (int64_t j = 0; j < terms; ++j) {
    count += (u >= cdf) ? T(1) : T(0);
    p = p * lam * inverse[j];
    cdf = cdf + p;
  }
  return count;
}

// poisson_count of M lanes at once (u in, counts out, in place): the terms vectorise across the lanes.
template <int64_t M, class T>
void poisson_lanes(T* __restrict u, const T* __restrict lam, const T* __restrict p0, const T* __restrict inverse,
                   int64_t terms) {
  T p[M], cdf[M], count[M];
  for (int64_t l = 0; l < M; ++l) {
    p[l] = p0[l];
    cdf[l] = p0[l];
    count[l] = T(0);
  }
  for (int64_t j = 0; j < terms; ++j) {
    const T inv = inverse[j];
    for (int64_t l = 0; l < M; ++l) {
      count[l] += (u[l] >= cdf[l]) ? T(1) : T(0);
      p[l] = p[l] * lam[l] * inv;
      cdf[l] = cdf[l] + p[l];
    }
  }
  for (int64_t l = 0; l < M; ++l) u[l] = count[l];
}

// With Poisson: out[b, i] = the count of mean lam[b, i] (p0 = exp(-lam)) from that uniform, `terms` terms.
template <class T>
struct PoissonArgs {
  const T* lam = nullptr;
  const T* p0 = nullptr;
  const Operand* olam = nullptr;
  const Operand* op0 = nullptr;
  int64_t terms = 0;
  T inverse[512] = {};
};

template <class T>
ffi::Error UniformImpl(ffi::AnyBuffer key, ffi::AnyBuffer step, ffi::AnyBuffer c2, ffi::AnyBuffer index,
                       ffi::Result<ffi::AnyBuffer> out, PoissonArgs<T>* poisson = nullptr) {
  const Batch batch = batch_of(out->dimensions(), 1);
  Operand ok, os, oc, oi, oo;
  SNNJAX_CHECK(ok.init("key", key.dimensions(), 1, batch));
  SNNJAX_CHECK(os.init("step", step.dimensions(), 0, batch));
  SNNJAX_CHECK(oc.init("counter", c2.dimensions(), 0, batch));
  SNNJAX_CHECK(oi.init("index", index.dimensions(), 1, batch));
  SNNJAX_CHECK(oo.init("out", out->dimensions(), 1, batch));
  const int64_t n = oo.dim(0);
  if (auto e = same("index and out", oi.dim(0), n); e.failure()) return e;
  if (ok.dim(0) != 2) return ffi::Error::InvalidArgument("snnjax_uniform: key must hold 2 words");
  const T scale = static_cast<T>(1.0 / 16777216.0);
  for (int64_t b = 0; b < batch.count; ++b) {
    const uint32_t* kb = key.typed_data<uint32_t>() + ok.offset(b);
    const uint32_t sb = step.typed_data<uint32_t>()[os.offset(b)];
    const uint32_t cb = c2.typed_data<uint32_t>()[oc.offset(b)];
    const uint32_t* ib = index.typed_data<uint32_t>() + oi.offset(b);
    T* ob = out->typed_data<T>() + b * n;
    const T* lb = poisson ? poisson->lam + poisson->olam->offset(b) : nullptr;
    const T* pb = poisson ? poisson->p0 + poisson->op0->offset(b) : nullptr;
    uint32_t block = 0, words[4] = {};
    bool have = false;
    int64_t i = 0;
    // fast path: runs of 4 L consecutive indices starting at a multiple of 4 (a population's neurons): L blocks at
    // once, the rounds vectorised across them (32 x 32 -> 64-bit products)
    constexpr int64_t L = 16;
    while (i + 4 * L <= n && ib[i] % 4u == 0u && ib[i + 4 * L - 1] == ib[i] + static_cast<uint32_t>(4 * L - 1)) {
      uint32_t x0[L], x1[L], x2[L], x3[L];
      for (int64_t l = 0; l < L; ++l) {
        x0[l] = (ib[i] >> 2) + static_cast<uint32_t>(l);
        x1[l] = sb;
        x2[l] = cb;
        x3[l] = 0u;
      }
      philox_lanes<L>(x0, x1, x2, x3, kb[0], kb[1]);
      for (int64_t l = 0; l < L; ++l) {
        ob[i + 4 * l] = static_cast<T>(x0[l] >> 8) * scale;
        ob[i + 4 * l + 1] = static_cast<T>(x1[l] >> 8) * scale;
        ob[i + 4 * l + 2] = static_cast<T>(x2[l] >> 8) * scale;
        ob[i + 4 * l + 3] = static_cast<T>(x3[l] >> 8) * scale;
      }
      if (poisson) poisson_lanes<4 * L>(ob + i, lb + i, pb + i, poisson->inverse, poisson->terms);
      i += 4 * L;
    }
    for (; i < n; ++i) {
      const uint32_t c = ib[i];
      if (!have || (c >> 2) != block) {  // a new block of four (the indices of one device's slots are consecutive)
        block = c >> 2;
        philox4(block, sb, cb, 0u, kb[0], kb[1], words);
        have = true;
      }
      ob[i] = static_cast<T>(words[c & 3u] >> 8) * scale;
      if (poisson) ob[i] = poisson_count(ob[i], lb[i], pb[i], poisson->inverse, poisson->terms);
    }
  }
  return ffi::Error::Success();
}

template <class T>
ffi::Error PoissonImpl(ffi::AnyBuffer key, ffi::AnyBuffer step, ffi::AnyBuffer c2, ffi::AnyBuffer index,
                       ffi::AnyBuffer lam, ffi::AnyBuffer p0, ffi::Result<ffi::AnyBuffer> out, int64_t terms) {
  const Batch batch = batch_of(out->dimensions(), 1);
  Operand ol, op;
  SNNJAX_CHECK(ol.init("lam", lam.dimensions(), 1, batch));
  SNNJAX_CHECK(op.init("p0", p0.dimensions(), 1, batch));
  const int64_t n = out->dimensions()[out->dimensions().size() - 1];
  if (auto e = same("lam and out", ol.dim(0), n); e.failure()) return e;
  if (auto e = same("p0 and out", op.dim(0), n); e.failure()) return e;
  if (lam.element_type() != out->element_type() || p0.element_type() != out->element_type())
    return ffi::Error::InvalidArgument("snnjax_poisson: lam, p0 and out must have one float type");
  PoissonArgs<T> args;
  if (terms < 0 || terms > 512) return ffi::Error::InvalidArgument("snnjax_poisson: terms must be in [0, 512]");
  args.lam = lam.typed_data<T>();
  args.p0 = p0.typed_data<T>();
  args.olam = &ol;
  args.op0 = &op;
  args.terms = terms;
  for (int64_t j = 0; j < terms; ++j) args.inverse[j] = T(1) / static_cast<T>(j + 1);  // correctly rounded
  return UniformImpl<T>(key, step, c2, index, out, &args);
}

ffi::Error Poisson(ffi::AnyBuffer key, ffi::AnyBuffer step, ffi::AnyBuffer c2, ffi::AnyBuffer index,
                   ffi::AnyBuffer lam, ffi::AnyBuffer p0, ffi::Result<ffi::AnyBuffer> out, int64_t terms) {
  switch (out->element_type()) {
    case ffi::DataType::F32:
      return PoissonImpl<float>(key, step, c2, index, lam, p0, out, terms);
    case ffi::DataType::F64:
      return PoissonImpl<double>(key, step, c2, index, lam, p0, out, terms);
    default:
      return ffi::Error::InvalidArgument("snnjax_poisson: out must be float32 or float64");
  }
}

ffi::Error Uniform(ffi::AnyBuffer key, ffi::AnyBuffer step, ffi::AnyBuffer c2, ffi::AnyBuffer index,
                   ffi::Result<ffi::AnyBuffer> out) {
  switch (out->element_type()) {
    case ffi::DataType::F32:
      return UniformImpl<float>(key, step, c2, index, out);
    case ffi::DataType::F64:
      return UniformImpl<double>(key, step, c2, index, out);
    default:
      return ffi::Error::InvalidArgument("snnjax_uniform: out must be float32 or float64");
  }
}

}  // namespace

// The handlers XLA calls (C symbols, looked up by the loader).

XLA_FFI_DEFINE_HANDLER_SYMBOL(snnjax_event, Event,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::AnyBuffer>()  // spikes (*b, n_pre)
                                  .Arg<ffi::AnyBuffer>()  // row_ptr (n_pre + 2,) | ell_post (n_pre + 1, F)
                                  .Arg<ffi::AnyBuffer>()  // post (K,) | ell_syn (n_pre + 1, F)
                                  .Arg<ffi::AnyBuffer>()  // w () | (K,)
                                  .Ret<ffi::AnyBuffer>()  // out (*b, n_post)
                                  .Attr<int64_t>("csr")
                                  .Attr<int64_t>("w_scalar"));

XLA_FFI_DEFINE_HANDLER_SYMBOL(snnjax_ring, Ring,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()  // XLA's intra-op threads: targets split among them
                                  .Arg<ffi::AnyBuffer>()  // ring (*b, D, n_post), aliased to the result
                                  .Arg<ffi::AnyBuffer>()  // head (*b) int32
                                  .Arg<ffi::AnyBuffer>()  // spikes (*b, n_pre)
                                  .Arg<ffi::AnyBuffer>()  // row_ptr (n_pre + 2,)
                                  .Arg<ffi::AnyBuffer>()  // post (K,)
                                  .Arg<ffi::AnyBuffer>()  // w () | (K,)
                                  .Arg<ffi::AnyBuffer>()  // lag (K,) uint8 | int16 | int32
                                  .Ret<ffi::AnyBuffer>()  // ring (*b, D, n_post)
                                  .Ret<ffi::AnyBuffer>()  // now (*b, n_post): slot head + 1 (take), else unwritten
                                  .Attr<int64_t>("w_scalar")
                                  .Attr<int64_t>("clear")  // 1: slot head zeroed first
                                  .Attr<int64_t>("take")  // 1: the slot after head copied to `now`
                                  .Attr<int64_t>("threads")  // the most threads to use (0: XLA's pool)
                                  .Attr<int64_t>("parallel_min"));  // the least synapses (K) split over threads

XLA_FFI_DEFINE_HANDLER_SYMBOL(snnjax_stdp_arrive, Arrive,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::AnyBuffer>()  // spikes (*b, n_pre)
                                  .Arg<ffi::AnyBuffer>()  // row_ptr | ell_post
                                  .Arg<ffi::AnyBuffer>()  // post | ell_syn
                                  .Arg<ffi::AnyBuffer>()  // w (*b, K), aliased to the second result
                                  .Arg<ffi::AnyBuffer>()  // apost (*b, n_post)
                                  .Arg<ffi::AnyBuffer>()  // factor (*b) | (*b, n_pre)
                                  .Arg<ffi::AnyBuffer>()  // w_min (*b)
                                  .Arg<ffi::AnyBuffer>()  // w_max (*b)
                                  .Ret<ffi::AnyBuffer>()  // out (*b, n_post)
                                  .Ret<ffi::AnyBuffer>()  // w (*b, K)
                                  .Attr<int64_t>("csr")
                                  .Attr<int64_t>("soft")
                                  .Attr<int64_t>("factor_per_row"));

XLA_FFI_DEFINE_HANDLER_SYMBOL(snnjax_stdp_post, Post,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::AnyBuffer>()  // post spikes (*b, n_post)
                                  .Arg<ffi::AnyBuffer>()  // in_pre (n_post + 1, F_in)
                                  .Arg<ffi::AnyBuffer>()  // in_syn (n_post + 1, F_in)
                                  .Arg<ffi::AnyBuffer>()  // w (*b, K), aliased to the result
                                  .Arg<ffi::AnyBuffer>()  // apre (*b, n_pre)
                                  .Arg<ffi::AnyBuffer>()  // factor (*b) | (*b, n_post)
                                  .Arg<ffi::AnyBuffer>()  // w_min (*b)
                                  .Arg<ffi::AnyBuffer>()  // w_max (*b)
                                  .Ret<ffi::AnyBuffer>()  // w (*b, K)
                                  .Attr<int64_t>("soft")
                                  .Attr<int64_t>("factor_per_col"));

XLA_FFI_DEFINE_HANDLER_SYMBOL(snnjax_uniform, Uniform,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::AnyBuffer>()  // key (*b, 2) uint32
                                  .Arg<ffi::AnyBuffer>()  // step (*b) uint32
                                  .Arg<ffi::AnyBuffer>()  // counter c2 (*b) uint32
                                  .Arg<ffi::AnyBuffer>()  // index (n,) uint32
                                  .Ret<ffi::AnyBuffer>());  // out (*b, n) float32 | float64

XLA_FFI_DEFINE_HANDLER_SYMBOL(snnjax_poisson, Poisson,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::AnyBuffer>()  // key (*b, 2) uint32
                                  .Arg<ffi::AnyBuffer>()  // step (*b) uint32
                                  .Arg<ffi::AnyBuffer>()  // counter c2 (*b) uint32
                                  .Arg<ffi::AnyBuffer>()  // index (n,) uint32
                                  .Arg<ffi::AnyBuffer>()  // lam (*b, n)
                                  .Arg<ffi::AnyBuffer>()  // p0 = exp(-lam) (*b, n)
                                  .Ret<ffi::AnyBuffer>()  // counts (*b, n) float32 | float64
                                  .Attr<int64_t>("terms"));

// A probe for the loader: the version of this source's calling convention.
extern "C" int snnjax_kernels_abi() { return 1; }
