// Scaled dot-product attention on the CPU, one (sample, head) pair per task.
// A query row's scores live in a buffer of seq_k values and nothing larger:
// the seq_q x seq_k matrix is never stored. Forward keeps each row's
// log-sum-exp; backward recomputes the probabilities from it (as
// FlashAttention does), so memory stays linear in the sequence.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"
#include "core/ops/attention/attention_kernels.h"

namespace tk::cpu {
namespace {

using kernels::AttentionGradients;
using kernels::AttentionShape;

template <typename Fn>
void dispatch_attention(DType dt, DType master_dt, const Fn& fn) {
  dispatch_storage(dt, [&](auto s_tag) { dispatch_float(master_dt, [&](auto m_tag) { fn(s_tag, m_tag); }); });
}

template <typename T>
T dot(const T* __restrict a, const T* __restrict b, int64_t n) {
  T sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// One head of one sample, its rows converted to T and packed contiguously.
template <typename S, typename T>
struct HeadRows {
  std::vector<T> q, k, v;
  void load(const AttentionShape& a, int64_t b, int64_t h, const S* qs, const S* ks, const S* vs) {
    const int64_t width = a.heads * a.head_dim, dh = a.head_dim;
    q.resize(a.seq_q * dh);
    k.resize(a.seq_k * dh);
    v.resize(a.seq_k * dh);
    for (int64_t i = 0; i < a.seq_q; ++i)
      for (int64_t d = 0; d < dh; ++d) q[i * dh + d] = load_as(qs[(b * a.seq_q + i) * width + h * dh + d]);
    for (int64_t j = 0; j < a.seq_k; ++j)
      for (int64_t d = 0; d < dh; ++d) {
        k[j * dh + d] = load_as(ks[(b * a.seq_k + j) * width + h * dh + d]);
        v[j * dh + d] = load_as(vs[(b * a.seq_k + j) * width + h * dh + d]);
      }
  }
  static T load_as(S x) { return static_cast<T>(tk::load(x)); }
};

// Keys query i sees: [0, seq_k), or [0, min(i + 1, seq_k)) when causal.
int64_t keys_seen(const AttentionShape& a, int64_t i) { return a.causal ? std::min(i + 1, a.seq_k) : a.seq_k; }

// scores[j] = scale q_i . k_j + mask[j] for the keys query i sees; returns the largest.
template <typename T, typename S>
T row_scores(const AttentionShape& a, const T* q_row, const std::vector<T>& k, const S* mask_row, int64_t seen,
             T* scores) {
  T top = -std::numeric_limits<T>::infinity();
  for (int64_t j = 0; j < seen; ++j) {
    T s = static_cast<T>(a.scale) * dot(q_row, &k[j * a.head_dim], a.head_dim);
    if (mask_row) {
      const T m = static_cast<T>(tk::load(mask_row[j]));
      if (!a.keep_mask)
        s += m;
      else if (m == T(0))
        s = -std::numeric_limits<T>::infinity();
    }
    scores[j] = s;
    top = std::max(top, s);
  }
  return top;
}

void attention_forward(Backend& backend, DType dt, DType master_dt, const AttentionShape& a, const void* q,
                       const void* k, const void* v, const void* mask, void* out, void* logsumexp) {
  const int threads = as_cpu(backend).threads();
  dispatch_attention(dt, master_dt, [&](auto s_tag, auto m_tag) {
    using S = decltype(s_tag);
    using M = decltype(m_tag);
    using T = compute_t<S>;
    const int64_t width = a.heads * a.head_dim, dh = a.head_dim;
    parallel_for(threads, a.batch * a.heads, 1, [&](int64_t begin, int64_t end) {
      HeadRows<S, T> rows;
      std::vector<T> scores(a.seq_k), acc(dh);
      for (int64_t task = begin; task < end; ++task) {
        const int64_t b = task / a.heads, h = task % a.heads;
        rows.load(a, b, h, static_cast<const S*>(q), static_cast<const S*>(k), static_cast<const S*>(v));
        const S* mask_row = mask ? static_cast<const S*>(mask) + b * a.seq_k : nullptr;
        for (int64_t i = 0; i < a.seq_q; ++i) {
          const int64_t seen = keys_seen(a, i);
          const T top = row_scores(a, &rows.q[i * dh], rows.k, mask_row, seen, scores.data());
          std::fill(acc.begin(), acc.end(), T(0));
          T sum = 0;
          if (top > -std::numeric_limits<T>::infinity()) {
            for (int64_t j = 0; j < seen; ++j) {
              const T p = std::exp(scores[j] - top);
              sum += p;
              const T* v_row = &rows.v[j * dh];
              for (int64_t d = 0; d < dh; ++d) acc[d] += p * v_row[d];
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
    parallel_for(threads, a.batch * a.heads, 1, [&](int64_t begin, int64_t end) {
      HeadRows<S, T> rows, grad;
      std::vector<T> scores(a.seq_k), dout_row(dh);
      for (int64_t task = begin; task < end; ++task) {
        const int64_t b = task / a.heads, h = task % a.heads;
        rows.load(a, b, h, static_cast<const S*>(q), static_cast<const S*>(k), static_cast<const S*>(v));
        grad.q.assign(a.seq_q * dh, T(0));
        grad.k.assign(a.seq_k * dh, T(0));
        grad.v.assign(a.seq_k * dh, T(0));
        const S* mask_row = mask ? static_cast<const S*>(mask) + b * a.seq_k : nullptr;
        T* dmask_row = g.dmask ? &dmask_parts[task * a.seq_k] : nullptr;
        for (int64_t i = 0; i < a.seq_q; ++i) {
          const int64_t seen = keys_seen(a, i);
          const int64_t at = (b * a.seq_q + i) * width + h * dh;
          T delta = 0;  // dout_i . out_i = sum_j p_ij (dout_i . v_j)
          for (int64_t d = 0; d < dh; ++d) {
            dout_row[d] = static_cast<T>(tk::load(static_cast<const S*>(dout)[at + d]));
            delta += dout_row[d] * static_cast<T>(tk::load(static_cast<const S*>(out)[at + d]));
          }
          const T lse = static_cast<T>(static_cast<const M*>(logsumexp)[task * a.seq_q + i]);
          row_scores(a, &rows.q[i * dh], rows.k, mask_row, seen, scores.data());
          const T* q_row = &rows.q[i * dh];
          T* dq_row = &grad.q[i * dh];
          for (int64_t j = 0; j < seen; ++j) {
            const T p = std::exp(scores[j] - lse);
            if (p == T(0)) continue;
            const T* k_row = &rows.k[j * dh];
            const T* v_row = &rows.v[j * dh];
            T* dk_row = &grad.k[j * dh];
            T* dv_row = &grad.v[j * dh];
            const T ds = p * (dot(dout_row.data(), v_row, dh) - delta);  // d loss / d score
            const T dss = ds * static_cast<T>(a.scale);
            for (int64_t d = 0; d < dh; ++d) {
              dv_row[d] += p * dout_row[d];
              dq_row[d] += dss * k_row[d];
              dk_row[d] += dss * q_row[d];
            }
            if (dmask_row && mask_gradient) dmask_row[j] += ds;
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
