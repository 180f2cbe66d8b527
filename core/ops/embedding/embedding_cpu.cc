// The embedding family on the CPU: row gathers, their scatter-add gradient,
// and position encodings. Arithmetic in compute_t of the storage (f32 for
// half storage); gradients accumulate in their own dtype (f32 or f64).
#include <cmath>
#include <cstring>
#include <vector>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"
#include "core/ops/embedding/embedding_kernels.h"

namespace tk::cpu {
namespace {

template <typename Fn>
void dispatch_pair(DType dt, DType other_dt, const Fn& fn) {
  dispatch_storage(dt, [&](auto s_tag) { dispatch_float(other_dt, [&](auto p_tag) { fn(s_tag, p_tag); }); });
}

void embedding_forward(Backend& backend, DType dt, DType param_dt, int64_t rows, int64_t dim, const int32_t* ids,
                       const void* table, void* out) {
  const int threads = as_cpu(backend).threads();
  dispatch_pair(dt, param_dt, [&](auto s_tag, auto p_tag) {
    using S = decltype(s_tag);
    using P = decltype(p_tag);
    const P* weights = static_cast<const P*>(table);
    S* y = static_cast<S*>(out);
    parallel_for(threads, rows, std::max<int64_t>(1, 16384 / dim), [&](int64_t begin, int64_t end) TK_CPU_CLONES {
      for (int64_t r = begin; r < end; ++r) {
        const P* src = weights + static_cast<int64_t>(ids[r]) * dim;
        S* dst = y + r * dim;
        for (int64_t d = 0; d < dim; ++d) dst[d] = store<S>(static_cast<compute_t<S>>(src[d]));
      }
    });
  });
}

void embedding_backward(Backend& backend, DType dt, DType grad_dt, int64_t rows, int64_t dim, int64_t vocab,
                        int64_t padding, const int32_t* ids, const void* dout, void* dtable) {
  const int threads = as_cpu(backend).threads();
  dispatch_pair(dt, grad_dt, [&](auto s_tag, auto g_tag) {
    using S = decltype(s_tag);
    using G = decltype(g_tag);
    const S* dy = static_cast<const S*>(dout);
    G* grad = static_cast<G*>(dtable);
    // Each thread owns a band of columns over every row: no two threads add
    // into one element, and the sum's order is the rows' order (repeatable).
    parallel_for(threads, dim, 16, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
      for (int64_t v = 0; v < vocab; ++v)
        for (int64_t d = begin; d < end; ++d) grad[v * dim + d] = G(0);
      for (int64_t r = 0; r < rows; ++r) {
        if (ids[r] == padding) continue;
        G* dst = grad + static_cast<int64_t>(ids[r]) * dim;
        const S* src = dy + r * dim;
        for (int64_t d = begin; d < end; ++d) dst[d] += static_cast<G>(load(src[d]));
      }
    });
  });
}

// Row `s` of the sinusoidal encoding: sin(s w_k) at 2k, cos(s w_k) at 2k + 1,
// w_k = 10000^(-2k / dim).
void sinusoid_row(int64_t s, int64_t dim, double* row) {
  for (int64_t d = 0; d < dim; ++d) {
    const double w = std::pow(10000.0, -static_cast<double>(d - d % 2) / static_cast<double>(dim));
    row[d] = d % 2 == 0 ? std::sin(static_cast<double>(s) * w) : std::cos(static_cast<double>(s) * w);
  }
}

void positions_forward(Backend& backend, DType dt, DType param_dt, int64_t batch, int64_t seq, int64_t dim,
                       const void* x, const void* table, void* y) {
  const int threads = as_cpu(backend).threads();
  dispatch_pair(dt, param_dt, [&](auto s_tag, auto p_tag) {
    using S = decltype(s_tag);
    using P = decltype(p_tag);
    using T = compute_t<S>;
    const S* in = static_cast<const S*>(x);
    S* out = static_cast<S*>(y);
    parallel_for(threads, seq, 1, [&](int64_t begin, int64_t end) {
      std::vector<double> row(static_cast<size_t>(dim));
      for (int64_t s = begin; s < end; ++s) {
        if (table)
          for (int64_t d = 0; d < dim; ++d) row[d] = static_cast<double>(static_cast<const P*>(table)[s * dim + d]);
        else
          sinusoid_row(s, dim, row.data());
        for (int64_t b = 0; b < batch; ++b) {
          const int64_t base = (b * seq + s) * dim;
          for (int64_t d = 0; d < dim; ++d) out[base + d] = store<S>(load(in[base + d]) + static_cast<T>(row[d]));
        }
      }
    });
  });
}

void positions_table_backward(Backend& backend, DType dt, DType grad_dt, int64_t batch, int64_t seq, int64_t dim,
                              int64_t table_rows, const void* dy, void* dtable) {
  const int threads = as_cpu(backend).threads();
  dispatch_pair(dt, grad_dt, [&](auto s_tag, auto g_tag) {
    using S = decltype(s_tag);
    using G = decltype(g_tag);
    const S* grad_out = static_cast<const S*>(dy);
    G* grad = static_cast<G*>(dtable);
    parallel_for(threads, table_rows, 1, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
      for (int64_t s = begin; s < end; ++s) {
        G* dst = grad + s * dim;
        for (int64_t d = 0; d < dim; ++d) dst[d] = G(0);
        if (s >= seq) continue;
        for (int64_t b = 0; b < batch; ++b) {
          const S* src = grad_out + (b * seq + s) * dim;
          for (int64_t d = 0; d < dim; ++d) dst[d] += static_cast<G>(load(src[d]));
        }
      }
    });
  });
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::embedding_forward, DeviceKind::kCpu, embedding_forward},
    {kernels::embedding_backward, DeviceKind::kCpu, embedding_backward},
    {kernels::positions_forward, DeviceKind::kCpu, positions_forward},
    {kernels::positions_table_backward, DeviceKind::kCpu, positions_table_backward},
};

}  // namespace tk::cpu
