// snnjax's compiled CPU kernels of the drives: the counter-based Philox4x32-10 numbers and the Poisson counts of
// PoissonInput (snnjax/kernels/rng.py). The shared part is kernels.h; the row-table format's kernels are
// snnjax/formats/rows/rows.cc; snnjax/kernels/_build.py compiles them all into one library.
//
//   snnjax_uniform      uniform numbers of the counter-based Philox4x32-10 generator
//   snnjax_poisson      Poisson counts by inversion of those uniforms (PoissonInput's draws)

#include "kernels.h"

namespace {

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
