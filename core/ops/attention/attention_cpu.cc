// Scaled dot-product attention on the CPU, one (sample, head) pair per task.
// A query row's scores live in a buffer of seq_k values and nothing larger:
// the seq_q x seq_k matrix is never stored. Forward keeps each row's
// log-sum-exp; backward recomputes the probabilities from it (as
// FlashAttention does), so memory stays linear in the sequence. Every inner
// loop runs along a contiguous axis with no reduction in it (keys laid out
// transposed for the scores, values transposed for their gradients) and
// exp is the vectorizable one in f32, so the loops run in SIMD registers.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"
#include "core/backend/cpu/vector_math.h"
#include "core/ops/attention/attention_kernels.h"

namespace tk::cpu {
namespace {

using kernels::AttentionGradients;
using kernels::AttentionShape;

template <typename Fn>
void dispatch_attention(DType dt, DType master_dt, const Fn& fn) {
  dispatch_storage(dt, [&](auto s_tag) { dispatch_float(master_dt, [&](auto m_tag) { fn(s_tag, m_tag); }); });
}

// One head of one sample, its rows converted to T and packed contiguously,
// with k (and v, for backward) also transposed: [head_dim, seq_k].
template <typename S, typename T>
struct HeadRows {
  std::vector<T> q, k, v, k_t, v_t;
  void load(const AttentionShape& a, int64_t b, int64_t h, const S* qs, const S* ks, const S* vs, bool v_transposed) {
    const int64_t width = a.heads * a.head_dim, dh = a.head_dim;
    q.resize(a.seq_q * dh);
    k.resize(a.seq_k * dh);
    v.resize(a.seq_k * dh);
    k_t.resize(dh * a.seq_k);
    for (int64_t i = 0; i < a.seq_q; ++i)
      for (int64_t d = 0; d < dh; ++d) q[i * dh + d] = load_as(qs[(b * a.seq_q + i) * width + h * dh + d]);
    for (int64_t j = 0; j < a.seq_k; ++j)
      for (int64_t d = 0; d < dh; ++d) {
        k[j * dh + d] = k_t[d * a.seq_k + j] = load_as(ks[(b * a.seq_k + j) * width + h * dh + d]);
        v[j * dh + d] = load_as(vs[(b * a.seq_k + j) * width + h * dh + d]);
      }
    if (!v_transposed) return;
    v_t.resize(dh * a.seq_k);
    for (int64_t j = 0; j < a.seq_k; ++j)
      for (int64_t d = 0; d < dh; ++d) v_t[d * a.seq_k + j] = v[j * dh + d];
  }
  static T load_as(S x) { return static_cast<T>(tk::load(x)); }
};

// Keys query i sees: [0, seq_k), or [0, min(i + 1, seq_k)) when causal.
int64_t keys_seen(const AttentionShape& a, int64_t i) { return a.causal ? std::min(i + 1, a.seq_k) : a.seq_k; }

// out[j] = sum_d row[d] * columns[d][j] for j < n: a row times a matrix
// stored [d][seq_k], a multiply-add along j per d.
template <typename T>
TK_CPU_INLINE void row_times_columns(const T* __restrict row, const T* __restrict columns, int64_t dh, int64_t stride, int64_t n,
                       T* __restrict out) {
  std::fill(out, out + n, T(0));
  for (int64_t d = 0; d < dh; ++d) {
    const T x = row[d];
    const T* __restrict column = columns + d * stride;
    for (int64_t j = 0; j < n; ++j) out[j] += x * column[j];
  }
}

// scores[j] = scale q_i . k_j + mask[j] for the keys query i sees; returns the largest.
template <typename T, typename S>
TK_CPU_INLINE T row_scores(const AttentionShape& a, const T* q_row, const std::vector<T>& k_t, const S* mask_row, int64_t seen,
             T* __restrict scores) {
  row_times_columns(q_row, k_t.data(), a.head_dim, a.seq_k, seen, scores);
  const T scale = static_cast<T>(a.scale), hidden = -std::numeric_limits<T>::infinity();
  if (!mask_row) {
    for (int64_t j = 0; j < seen; ++j) scores[j] *= scale;
  } else if (a.keep_mask) {
    for (int64_t j = 0; j < seen; ++j) scores[j] = static_cast<T>(tk::load(mask_row[j])) == T(0) ? hidden : scores[j] * scale;
  } else {
    for (int64_t j = 0; j < seen; ++j) scores[j] = scores[j] * scale + static_cast<T>(tk::load(mask_row[j]));
  }
  T top = hidden;
  for (int64_t j = 0; j < seen; ++j) top = std::max(top, scores[j]);
  return top;
}

// y += alpha x over n: one row's share of a gradient.
template <typename T>
TK_CPU_INLINE void add_scaled(T alpha, const T* __restrict x, T* __restrict y, int64_t n) {
  for (int64_t d = 0; d < n; ++d) y[d] += alpha * x[d];
}

// p[j] = exp(scores[j] - shift) in place.
template <typename T>
TK_CPU_INLINE void exponentiate(T* __restrict p, int64_t n, T shift) {
  for (int64_t j = 0; j < n; ++j) p[j] = vector_math::exp_of(p[j] - shift);
}

void attention_forward(Backend& backend, DType dt, DType master_dt, const AttentionShape& a, const void* q,
                       const void* k, const void* v, const void* mask, void* out, void* logsumexp) {
  const int threads = as_cpu(backend).threads();
  dispatch_attention(dt, master_dt, [&](auto s_tag, auto m_tag) {
    using S = decltype(s_tag);
    using M = decltype(m_tag);
    using T = compute_t<S>;
    const int64_t width = a.heads * a.head_dim, dh = a.head_dim;
    parallel_for(threads, a.batch * a.heads, 1, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
      HeadRows<S, T> rows;
      std::vector<T> scores(a.seq_k), acc(dh);
      for (int64_t task = begin; task < end; ++task) {
        const int64_t b = task / a.heads, h = task % a.heads;
        rows.load(a, b, h, static_cast<const S*>(q), static_cast<const S*>(k), static_cast<const S*>(v), false);
        const S* mask_row = mask ? static_cast<const S*>(mask) + b * a.seq_k : nullptr;
        for (int64_t i = 0; i < a.seq_q; ++i) {
          const int64_t seen = keys_seen(a, i);
          const T top = row_scores(a, &rows.q[i * dh], rows.k_t, mask_row, seen, scores.data());
          std::fill(acc.begin(), acc.end(), T(0));
          T sum = 0;
          if (top > -std::numeric_limits<T>::infinity()) {
            exponentiate(scores.data(), seen, top);
            for (int64_t j = 0; j < seen; ++j) {
              sum += scores[j];
              add_scaled(scores[j], &rows.v[j * dh], acc.data(), dh);
            }
          }
          // A row that sees no key (all masked) gives zeros, and +inf as its
          // log-sum-exp makes backward's probabilities exp(s - inf) = 0.
          const T inv = sum > 0 ? T(1) / sum : T(0);
          S* dst = static_cast<S*>(out) + (b * a.seq_q + i) * width + h * dh;
          for (int64_t d = 0; d < dh; ++d) dst[d] = store<S>(acc[d] * inv);
          if (logsumexp)
            static_cast<M*>(logsumexp)[task * a.seq_q + i] =
                sum > 0 ? static_cast<M>(top + std::log(sum)) : std::numeric_limits<M>::infinity();
        }
      }
    });
  });
}

// dst (strided rows of one head) = or += src (packed rows).
template <typename S, typename T>
void write_head(const AttentionShape& a, int64_t b, int64_t h, int64_t seq, const std::vector<T>& src, void* dst,
                bool accumulate) {
  if (!dst) return;
  const int64_t width = a.heads * a.head_dim, dh = a.head_dim;
  for (int64_t i = 0; i < seq; ++i) {
    S* row = static_cast<S*>(dst) + (b * seq + i) * width + h * dh;
    for (int64_t d = 0; d < dh; ++d) row[d] = store<S>(accumulate ? tk::load(row[d]) + src[i * dh + d] : src[i * dh + d]);
  }
}

void attention_backward(Backend& backend, DType dt, DType master_dt, const AttentionShape& a, const void* q,
                        const void* k, const void* v, const void* mask, const void* out, const void* dout,
                        const void* logsumexp, const AttentionGradients& g) {
  const int threads = as_cpu(backend).threads();
  dispatch_attention(dt, master_dt, [&](auto s_tag, auto m_tag) {
    using S = decltype(s_tag);
    using M = decltype(m_tag);
    using T = compute_t<S>;
    const int64_t width = a.heads * a.head_dim, dh = a.head_dim;
    // Each task's mask gradient, summed over heads after the tasks end (heads
    // of one sample run on different threads).
    std::vector<T> dmask_parts(g.dmask ? a.batch * a.heads * a.seq_k : 0);
    const bool mask_gradient = g.dmask && !a.keep_mask;
    parallel_for(threads, a.batch * a.heads, 1, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
      HeadRows<S, T> rows, grad;
      std::vector<T> p(a.seq_k), ds(a.seq_k), dout_row(dh);
      for (int64_t task = begin; task < end; ++task) {
        const int64_t b = task / a.heads, h = task % a.heads;
        rows.load(a, b, h, static_cast<const S*>(q), static_cast<const S*>(k), static_cast<const S*>(v), true);
        grad.q.assign(a.seq_q * dh, T(0));
        grad.k.assign(a.seq_k * dh, T(0));
        grad.v.assign(a.seq_k * dh, T(0));
        const S* mask_row = mask ? static_cast<const S*>(mask) + b * a.seq_k : nullptr;
        T* dmask_row = g.dmask ? &dmask_parts[task * a.seq_k] : nullptr;
        const T scale = static_cast<T>(a.scale);
        for (int64_t i = 0; i < a.seq_q; ++i) {
          const int64_t seen = keys_seen(a, i);
          const int64_t at = (b * a.seq_q + i) * width + h * dh;
          T delta = 0;  // dout_i . out_i = sum_j p_ij (dout_i . v_j)
          for (int64_t d = 0; d < dh; ++d) {
            dout_row[d] = static_cast<T>(tk::load(static_cast<const S*>(dout)[at + d]));
            delta += dout_row[d] * static_cast<T>(tk::load(static_cast<const S*>(out)[at + d]));
          }
          const T lse = static_cast<T>(static_cast<const M*>(logsumexp)[task * a.seq_q + i]);
          // p_ij recomputed from the log-sum-exp; ds_ij = d loss / d score = p_ij (dout_i . v_j - delta).
          row_scores(a, &rows.q[i * dh], rows.k_t, mask_row, seen, p.data());
          exponentiate(p.data(), seen, lse);
          row_times_columns(dout_row.data(), rows.v_t.data(), dh, a.seq_k, seen, ds.data());
          for (int64_t j = 0; j < seen; ++j) ds[j] = p[j] * (ds[j] - delta);
          if (dmask_row && mask_gradient)
            for (int64_t j = 0; j < seen; ++j) dmask_row[j] += ds[j];
          const T* q_row = &rows.q[i * dh];
          T* dq_row = &grad.q[i * dh];
          for (int64_t j = 0; j < seen; ++j) {
            if (p[j] == T(0)) continue;
            const T dss = ds[j] * scale;
            add_scaled(p[j], dout_row.data(), &grad.v[j * dh], dh);
            add_scaled(dss, &rows.k[j * dh], dq_row, dh);
            add_scaled(dss, q_row, &grad.k[j * dh], dh);
          }
        }
        write_head<S>(a, b, h, a.seq_q, grad.q, g.dq, g.accumulate[0]);
        write_head<S>(a, b, h, a.seq_k, grad.k, g.dk, g.accumulate[1]);
        write_head<S>(a, b, h, a.seq_k, grad.v, g.dv, g.accumulate[2]);
      }
    });
    if (g.dmask) {
      S* dmask = static_cast<S*>(g.dmask);
      for (int64_t b = 0; b < a.batch; ++b)
        for (int64_t j = 0; j < a.seq_k; ++j) {
          T sum = 0;
          for (int64_t h = 0; h < a.heads; ++h) sum += dmask_parts[(b * a.heads + h) * a.seq_k + j];
          dmask[b * a.seq_k + j] = store<S>(g.accumulate[3] ? tk::load(dmask[b * a.seq_k + j]) + sum : sum);
        }
    }
  });
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::attention_forward, DeviceKind::kCpu, attention_forward},
    {kernels::attention_backward, DeviceKind::kCpu, attention_backward},
};

}  // namespace tk::cpu
