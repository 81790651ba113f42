// The row-table format's compiled CPU kernels (snnjax/formats/rows/: the Python wrappers transmission.py, ring.py,
// stdp.py, each beside its XLA reference), built with snnjax/kernels/kernels.cc into one library (snnjax/kernels/_build.py).
//
//   snnjax_event        transmission of a step's spikes through a CSR or ELL synapse list
//   snnjax_ring         delivery of a step's spikes into a ring buffer of future input (per-synapse delays)
//   snnjax_stdp_arrive  transmission fused with the depression of every transmitted synapse (STDP at arrivals)
//   snnjax_stdp_post    the potentiation of the synapses onto the postsynaptic spikes (transposed table)

#include "kernels.h"

namespace {

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
