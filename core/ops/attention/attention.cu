// Scaled dot-product attention on CUDA GPUs, one warp per query row: its
// lanes hold the row's query and output columns in registers (head_dim up to
// kMaxHeadDim), the softmax runs online over the keys (a running maximum and
// sum rescale what came before), and only the row's log-sum-exp is kept, so
// memory stays linear in the sequence as on the CPU. Backward recomputes the
// probabilities: one pass per query row for dq, one per key row (over every
// head, which also sums the mask's gradient) for dk and dv, so no two
// threads add into one element and the sums repeat run to run.
#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda/cuda_kernel.h"
#include "core/backend/cuda/warp_rows.cuh"
#include "core/ops/attention/attention_kernels.h"

namespace tk::cuda {
namespace {

using kernels::AttentionGradients;
using kernels::AttentionShape;

constexpr int kPerLane = 8;
constexpr int64_t kMaxHeadDim = kWarp * kPerLane;

// A head's row of a [rows, heads * head_dim] tensor.
template <typename P>
__device__ P head_row(P x, const AttentionShape& a, int64_t b, int64_t seq, int64_t row, int64_t h) {
  return x + ((b * seq + row) * a.heads + h) * a.head_dim;
}

// The lane's columns d = lane + kWarp t of a row, zero past head_dim.
template <typename T, typename S>
__device__ void load_columns(const S* row, int64_t dh, int lane, T* out) {
  for (int t = 0; t < kPerLane; ++t) {
    const int64_t d = lane + kWarp * t;
    out[t] = d < dh ? static_cast<T>(load(row[d])) : T(0);
  }
}

template <typename T, typename S>
__device__ T dot_columns(const T* mine, const S* row, int64_t dh, int lane) {
  T sum = 0;
  for (int t = 0; t < kPerLane; ++t) {
    const int64_t d = lane + kWarp * t;
    if (d < dh) sum += mine[t] * static_cast<T>(load(row[d]));
  }
  return warp_sum(sum);
}

// The score of query row q (the lane's columns) and key j, mask included;
// -inf for a key a keep mask hides. Every lane gets the same value.
template <typename T, typename S>
__device__ T score(const AttentionShape& a, const T* q, const S* k, const S* mask, int64_t b, int64_t h, int64_t j,
                   int lane) {
  T s = dot_columns(q, head_row(k, a, b, a.seq_k, j, h), a.head_dim, lane) * static_cast<T>(a.scale);
  if (!mask) return s;
  const T m = static_cast<T>(load(mask[b * a.seq_k + j]));
  if (a.keep_mask) return m == T(0) ? T(-INFINITY) : s;
  return s + m;
}

__device__ int64_t keys_seen(const AttentionShape& a, int64_t i) {
  return a.causal ? (i + 1 < a.seq_k ? i + 1 : a.seq_k) : a.seq_k;
}

template <typename T, typename S>
__device__ void store_columns(const T* values, int64_t dh, int lane, bool accumulate, S* row) {
  for (int t = 0; t < kPerLane; ++t) {
    const int64_t d = lane + kWarp * t;
    if (d < dh) row[d] = store<S>(accumulate ? static_cast<T>(load(row[d])) + values[t] : values[t]);
  }
}

template <typename S, typename M>
__global__ void attention_forward_kernel(AttentionShape a, const S* q, const S* k, const S* v, const S* mask, S* out,
                                         M* logsumexp) {
  using T = compute_t<S>;
  TK_WARP_PER_ROW(row, a.batch * a.heads * a.seq_q, lane) {
    const int64_t i = row % a.seq_q, h = (row / a.seq_q) % a.heads, b = row / (a.seq_q * a.heads);
    T qi[kPerLane], acc[kPerLane];
    load_columns(head_row(q, a, b, a.seq_q, i, h), a.head_dim, lane, qi);
    for (int t = 0; t < kPerLane; ++t) acc[t] = 0;
    T top = T(-INFINITY), sum = 0;
    const int64_t seen = keys_seen(a, i);
    for (int64_t j = 0; j < seen; ++j) {
      const T s = score(a, qi, k, mask, b, h, j, lane);
      if (s == T(-INFINITY)) continue;
      const T next = max(top, s);
      const T rescale = exp_v<T>(top - next), p = exp_v<T>(s - next);
      const S* vj = head_row(v, a, b, a.seq_k, j, h);
      for (int t = 0; t < kPerLane; ++t) {
        const int64_t d = lane + kWarp * t;
        acc[t] = acc[t] * rescale + (d < a.head_dim ? p * static_cast<T>(load(vj[d])) : T(0));
      }
      sum = sum * rescale + p;
      top = next;
    }
    // A row that sees no key gives zeros, and +inf as its log-sum-exp makes
    // backward's probabilities exp(s - inf) = 0.
    const T inv = sum > 0 ? T(1) / sum : T(0);
    for (int t = 0; t < kPerLane; ++t) acc[t] *= inv;
    store_columns(acc, a.head_dim, lane, false, head_row(out, a, b, a.seq_q, i, h));
    if (logsumexp && lane == 0)
      logsumexp[(b * a.heads + h) * a.seq_q + i] = sum > 0 ? static_cast<M>(top + log_v<T>(sum)) : M(INFINITY);
  }
}

// d loss / d score of query i (its dout and delta = dout . out) and key j.
template <typename T, typename S>
__device__ T score_gradient(const AttentionShape& a, T s, T lse, const T* dout_i, T delta, const S* v, int64_t b,
                            int64_t h, int64_t j, int lane, T* p) {
  *p = s == T(-INFINITY) ? T(0) : exp_v<T>(s - lse);
  const T dp = dot_columns(dout_i, head_row(v, a, b, a.seq_k, j, h), a.head_dim, lane);
  return *p * (dp - delta);
}

template <typename S, typename M>
__global__ void attention_dq_kernel(AttentionShape a, const S* q, const S* k, const S* v, const S* mask, const S* out,
                                    const S* dout, const M* logsumexp, S* dq, bool accumulate) {
  using T = compute_t<S>;
  TK_WARP_PER_ROW(row, a.batch * a.heads * a.seq_q, lane) {
    const int64_t i = row % a.seq_q, h = (row / a.seq_q) % a.heads, b = row / (a.seq_q * a.heads);
    T qi[kPerLane], dout_i[kPerLane], grad[kPerLane];
    load_columns(head_row(q, a, b, a.seq_q, i, h), a.head_dim, lane, qi);
    load_columns(head_row(dout, a, b, a.seq_q, i, h), a.head_dim, lane, dout_i);
    const T delta = dot_columns(dout_i, head_row(out, a, b, a.seq_q, i, h), a.head_dim, lane);
    const T lse = static_cast<T>(logsumexp[(b * a.heads + h) * a.seq_q + i]);
    for (int t = 0; t < kPerLane; ++t) grad[t] = 0;
    const int64_t seen = keys_seen(a, i);
    for (int64_t j = 0; j < seen; ++j) {
      T p;
      const T ds = score_gradient(a, score(a, qi, k, mask, b, h, j, lane), lse, dout_i, delta, v, b, h, j, lane, &p);
      if (p == T(0)) continue;
      const S* kj = head_row(k, a, b, a.seq_k, j, h);
      for (int t = 0; t < kPerLane; ++t) {
        const int64_t d = lane + kWarp * t;
        if (d < a.head_dim) grad[t] += ds * static_cast<T>(a.scale) * static_cast<T>(load(kj[d]));
      }
    }
    store_columns(grad, a.head_dim, lane, accumulate, head_row(dq, a, b, a.seq_q, i, h));
  }
}

template <typename S, typename M>
__global__ void attention_dkv_kernel(AttentionShape a, const S* q, const S* k, const S* v, const S* mask, const S* out,
                                     const S* dout, const M* logsumexp, AttentionGradients g) {
  using T = compute_t<S>;
  TK_WARP_PER_ROW(row, a.batch * a.seq_k, lane) {
    const int64_t j = row % a.seq_k, b = row / a.seq_k;
    T dmask = 0;
    for (int64_t h = 0; h < a.heads; ++h) {
      T dk[kPerLane], dv[kPerLane];
      for (int t = 0; t < kPerLane; ++t) dk[t] = dv[t] = 0;
      // Queries that see key j: all, or with the causal rule those from j on.
      for (int64_t i = a.causal ? j : 0; i < a.seq_q; ++i) {
        T qi[kPerLane], dout_i[kPerLane];
        load_columns(head_row(q, a, b, a.seq_q, i, h), a.head_dim, lane, qi);
        load_columns(head_row(dout, a, b, a.seq_q, i, h), a.head_dim, lane, dout_i);
        const T delta = dot_columns(dout_i, head_row(out, a, b, a.seq_q, i, h), a.head_dim, lane);
        const T lse = static_cast<T>(logsumexp[(b * a.heads + h) * a.seq_q + i]);
        T p;
        const T ds = score_gradient(a, score(a, qi, k, mask, b, h, j, lane), lse, dout_i, delta, v, b, h, j, lane, &p);
        if (p == T(0)) continue;
        dmask += ds;
        for (int t = 0; t < kPerLane; ++t) {
          dv[t] += p * dout_i[t];
          dk[t] += ds * static_cast<T>(a.scale) * qi[t];
        }
      }
      if (g.dk) store_columns(dk, a.head_dim, lane, g.accumulate[1], head_row(static_cast<S*>(g.dk), a, b, a.seq_k, j, h));
      if (g.dv) store_columns(dv, a.head_dim, lane, g.accumulate[2], head_row(static_cast<S*>(g.dv), a, b, a.seq_k, j, h));
    }
    // A keep mask takes no gradient.
    if (g.dmask && lane == 0) {
      S* at = static_cast<S*>(g.dmask) + b * a.seq_k + j;
      const T grad = a.keep_mask ? T(0) : dmask;
      *at = store<S>(g.accumulate[3] ? static_cast<T>(load(*at)) + grad : grad);
    }
  }
}

template <typename Fn>
void dispatch_attention(DType dt, DType master_dt, const Fn& fn) {
  dispatch_storage(dt, [&](auto s_tag) { dispatch_float(master_dt, [&](auto m_tag) { fn(s_tag, m_tag); }); });
}

void check_head_dim(const AttentionShape& a) {
  if (a.head_dim > kMaxHeadDim)
    fail(ErrorCode::kUnsupported, "attention on CUDA takes heads of at most ", kMaxHeadDim, " columns, got ", a.head_dim);
}

void attention_forward(cudaStream_t s, DType dt, DType master_dt, const AttentionShape& a, const void* q,
                       const void* k, const void* v, const void* mask, void* out, void* logsumexp) {
  check_head_dim(a);
  if (a.batch * a.heads * a.seq_q <= 0) return;
  dispatch_attention(dt, master_dt, [&](auto s_tag, auto m_tag) {
    using S = decltype(s_tag);
    using M = decltype(m_tag);
    attention_forward_kernel<S, M><<<blocks_for_rows(a.batch * a.heads * a.seq_q), kThreads, 0, s>>>(
        a, static_cast<const S*>(q), static_cast<const S*>(k), static_cast<const S*>(v), static_cast<const S*>(mask),
        static_cast<S*>(out), static_cast<M*>(logsumexp));
  });
  check_launch("attention_forward");
}

void attention_backward(cudaStream_t s, DType dt, DType master_dt, const AttentionShape& a, const void* q,
                        const void* k, const void* v, const void* mask, const void* out, const void* dout,
                        const void* logsumexp, const AttentionGradients& g) {
  check_head_dim(a);
  if (a.batch * a.heads * a.seq_q <= 0) return;
  dispatch_attention(dt, master_dt, [&](auto s_tag, auto m_tag) {
    using S = decltype(s_tag);
    using M = decltype(m_tag);
    const S *qs = static_cast<const S*>(q), *ks = static_cast<const S*>(k), *vs = static_cast<const S*>(v);
    const S *ms = static_cast<const S*>(mask), *os = static_cast<const S*>(out), *ds = static_cast<const S*>(dout);
    const M* lse = static_cast<const M*>(logsumexp);
    // In order on one stream, so dq, dk and dv may be one buffer (q, k and v
    // of one node): each adds to what the one before wrote, as the flags say.
    if (g.dq)
      attention_dq_kernel<S, M><<<blocks_for_rows(a.batch * a.heads * a.seq_q), kThreads, 0, s>>>(
          a, qs, ks, vs, ms, os, ds, lse, static_cast<S*>(g.dq), g.accumulate[0]);
    if (g.dk || g.dv || g.dmask)
      attention_dkv_kernel<S, M><<<blocks_for_rows(a.batch * a.seq_k), kThreads, 0, s>>>(a, qs, ks, vs, ms, os, ds,
                                                                                          lse, g);
  });
  check_launch("attention_backward");
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::attention_forward, DeviceKind::kCuda, OnStream<attention_forward>::run},
    {kernels::attention_backward, DeviceKind::kCuda, OnStream<attention_backward>::run},
};

}  // namespace tk::cuda
