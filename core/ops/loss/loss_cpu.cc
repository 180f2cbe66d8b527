// Loss kernels (forward and gradient in one pass), softmax and accuracy
// counts. Logits have storage type S; arithmetic, row losses and value targets
// use V (f32 or f64), so half logits still get an f32 softmax and loss.
#include <algorithm>
#include <cmath>
#include <utility>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"
#include "core/backend/cpu/vector_math.h"
#include "core/ops/loss/loss_kernels.h"

namespace tk::cpu {
namespace {

// Calls fn(S{}, V{}) for logits dtype dt and value dtype value_dt.
template <typename Fn>
void dispatch_loss(DType dt, DType value_dt, const Fn& fn) {
  dispatch_storage(dt, [&](auto s) { dispatch_float(value_dt, [&](auto v) { fn(s, v); }); });
}

void softmax_cross_entropy(Backend& backend, DType dt, DType value_dt, int64_t rows, int64_t classes,
                           const void* logits, const int32_t* labels, void* row_loss, void* dlogits, GradScale scale) {
  const int threads = as_cpu(backend).threads();
  const double grad_scale = scale.factor();
  dispatch_loss(dt, value_dt, [&](auto s_tag, auto v_tag) {
    using S = decltype(s_tag);
    using V = decltype(v_tag);
    const S* x = static_cast<const S*>(logits);
    V* loss = static_cast<V*>(row_loss);
    S* dx = static_cast<S*>(dlogits);
    parallel_for(threads, rows, 8, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
      for (int64_t r = begin; r < end; ++r) {
        const S* row = x + r * classes;
        V max_logit = load(row[0]);
        for (int64_t c = 1; c < classes; ++c) max_logit = std::max<V>(max_logit, load(row[c]));
        const V log_sum_exp = max_logit + std::log(vector_math::sum_exp(row, classes, max_logit));
        if (labels[r] == kIgnoreIndex) {
          loss[r] = 0;
          if (dx)
            for (int64_t c = 0; c < classes; ++c) dx[r * classes + c] = store<S>(compute_t<S>(0));
          continue;
        }
        loss[r] = log_sum_exp - static_cast<V>(load(row[labels[r]]));
        if (!dx) continue;
        for (int64_t c = 0; c < classes; ++c) {
          V target = c == labels[r] ? V(1) : V(0);
          V g = static_cast<V>(grad_scale) * (vector_math::exp_of(static_cast<V>(load(row[c])) - log_sum_exp) - target);
          dx[r * classes + c] = store<S>(static_cast<compute_t<S>>(g));
        }
      }
    });
  });
}

// The per-element losses (MSE, BCE): row loss = sum over the row of
// element(x, t).first, gradient grad_scale * element(x, t).second. Only the
// element's formula differs between them.
template <typename Element>
void elementwise_loss(Backend& backend, DType dt, DType value_dt, int64_t rows, int64_t cols, const void* out,
                      const void* target, void* row_loss, void* dout, GradScale scale, const Element& element) {
  const int threads = as_cpu(backend).threads();
  const double grad_scale = scale.factor();
  dispatch_loss(dt, value_dt, [&](auto s_tag, auto v_tag) {
    using S = decltype(s_tag);
    using V = decltype(v_tag);
    const S* x = static_cast<const S*>(out);
    const V* t = static_cast<const V*>(target);
    V* loss = static_cast<V*>(row_loss);
    S* dx = static_cast<S*>(dout);
    parallel_for(threads, rows, 8, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
      for (int64_t r = begin; r < end; ++r) {
        V total = 0;
        for (int64_t c = r * cols; c < (r + 1) * cols; ++c) {
          const auto [value, slope] = element(static_cast<V>(load(x[c])), t[c]);
          total += value;
          if (dx) dx[c] = store<S>(static_cast<compute_t<S>>(static_cast<V>(grad_scale) * slope));
        }
        loss[r] = total;
      }
    });
  });
}

void squared_error(Backend& backend, DType dt, DType value_dt, int64_t rows, int64_t cols, const void* pred,
                   const void* target, void* row_loss, void* dpred, GradScale scale) {
  elementwise_loss(backend, dt, value_dt, rows, cols, pred, target, row_loss, dpred, scale, [](auto p, auto t) {
    const auto diff = p - t;
    return std::pair{diff * diff, 2 * diff};
  });
}

void bce_with_logits(Backend& backend, DType dt, DType value_dt, int64_t rows, int64_t cols, const void* logits,
                     const void* target, void* row_loss, void* dlogits, GradScale scale) {
  elementwise_loss(backend, dt, value_dt, rows, cols, logits, target, row_loss, dlogits, scale, [](auto x, auto t) {
    using V = decltype(x);
    // Stable form: max(x,0) - x*t + log(1 + exp(-|x|)).
    return std::pair{std::max(x, V(0)) - x * t + std::log1p(std::exp(-std::abs(x))), V(1) / (V(1) + std::exp(-x)) - t};
  });
}

void softmax(Backend& backend, DType dt, int64_t rows, int64_t cols, const void* x, void* y) {
  const int threads = as_cpu(backend).threads();
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    using T = compute_t<S>;
    const S* in = static_cast<const S*>(x);
    S* out = static_cast<S*>(y);
    parallel_for(threads, rows, 8, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
      for (int64_t r = begin; r < end; ++r) {
        const S* row = in + r * cols;
        T max_value = load(row[0]);
        for (int64_t c = 1; c < cols; ++c) max_value = std::max<T>(max_value, load(row[c]));
        const T total = vector_math::sum_exp(row, cols, max_value);
        for (int64_t c = 0; c < cols; ++c)
          out[r * cols + c] = store<S>(vector_math::exp_of(load(row[c]) - max_value) / total);
      }
    });
  });
}

int64_t count_correct_argmax(Backend& /*backend*/, DType dt, int64_t rows, int64_t classes, const void* logits,
                             const int32_t* labels) {
  int64_t correct = 0;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    const S* x = static_cast<const S*>(logits);
    for (int64_t r = 0; r < rows; ++r) {
      int64_t best = 0;
      for (int64_t c = 1; c < classes; ++c)
        if (load(x[r * classes + c]) > load(x[r * classes + best])) best = c;
      if (best == labels[r]) ++correct;
    }
  });
  return correct;
}

int64_t count_correct_binary(Backend& /*backend*/, DType dt, DType value_dt, int64_t n, const void* logits,
                             const void* target) {
  int64_t correct = 0;
  dispatch_loss(dt, value_dt, [&](auto s_tag, auto v_tag) {
    using S = decltype(s_tag);
    using V = decltype(v_tag);
    const S* x = static_cast<const S*>(logits);
    const V* t = static_cast<const V*>(target);
    for (int64_t i = 0; i < n; ++i) correct += (load(x[i]) > 0) == (t[i] > V(0.5));
  });
  return correct;
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::softmax_cross_entropy, DeviceKind::kCpu, softmax_cross_entropy},
    {kernels::squared_error, DeviceKind::kCpu, squared_error},
    {kernels::bce_with_logits, DeviceKind::kCpu, bce_with_logits},
    {kernels::softmax, DeviceKind::kCpu, softmax},
    {kernels::count_correct_argmax, DeviceKind::kCpu, count_correct_argmax},
    {kernels::count_correct_binary, DeviceKind::kCpu, count_correct_binary},
};

}  // namespace tk::cpu
