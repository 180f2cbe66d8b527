// Loss kernels (forward and gradient in one pass), softmax and accuracy counts.
#include <algorithm>
#include <cmath>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"

namespace tk::cpu {

void CpuBackend::softmax_cross_entropy(DType dt, int64_t rows, int64_t classes,
                                       const void* logits, const int32_t* labels, void* row_loss,
                                       void* dlogits, double grad_scale) {
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    const T* x = static_cast<const T*>(logits);
    T* loss = static_cast<T*>(row_loss);
    T* dx = static_cast<T*>(dlogits);
    parallel_for(threads_, rows, 8, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const T* row = x + r * classes;
        T max_logit = *std::max_element(row, row + classes);
        T sum_exp = 0;
        for (int64_t c = 0; c < classes; ++c) sum_exp += std::exp(row[c] - max_logit);
        T log_sum_exp = max_logit + std::log(sum_exp);
        loss[r] = log_sum_exp - row[labels[r]];
        if (!dx) continue;
        T* grad = dx + r * classes;
        for (int64_t c = 0; c < classes; ++c) {
          T target = c == labels[r] ? T(1) : T(0);
          grad[c] = static_cast<T>(grad_scale) * (std::exp(row[c] - log_sum_exp) - target);
        }
      }
    });
  });
}

void CpuBackend::squared_error(DType dt, int64_t rows, int64_t cols, const void* pred,
                               const void* target, void* row_loss, void* dpred,
                               double grad_scale) {
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    const T* p = static_cast<const T*>(pred);
    const T* t = static_cast<const T*>(target);
    T* loss = static_cast<T*>(row_loss);
    T* dp = static_cast<T*>(dpred);
    parallel_for(threads_, rows, 8, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        T total = 0;
        for (int64_t c = r * cols; c < (r + 1) * cols; ++c) {
          T diff = p[c] - t[c];
          total += diff * diff;
          if (dp) dp[c] = static_cast<T>(2 * grad_scale) * diff;
        }
        loss[r] = total;
      }
    });
  });
}

void CpuBackend::bce_with_logits(DType dt, int64_t rows, int64_t cols, const void* logits,
                                 const void* target, void* row_loss, void* dlogits,
                                 double grad_scale) {
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    const T* x = static_cast<const T*>(logits);
    const T* t = static_cast<const T*>(target);
    T* loss = static_cast<T*>(row_loss);
    T* dx = static_cast<T*>(dlogits);
    parallel_for(threads_, rows, 8, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        T total = 0;
        for (int64_t c = r * cols; c < (r + 1) * cols; ++c) {
          // Stable form: max(x,0) - x*t + log(1 + exp(-|x|)).
          total += std::max(x[c], T(0)) - x[c] * t[c] + std::log1p(std::exp(-std::abs(x[c])));
          if (dx) dx[c] = static_cast<T>(grad_scale) * (T(1) / (T(1) + std::exp(-x[c])) - t[c]);
        }
        loss[r] = total;
      }
    });
  });
}

void CpuBackend::softmax(DType dt, int64_t rows, int64_t cols, const void* x, void* y) {
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    const T* in = static_cast<const T*>(x);
    T* out = static_cast<T*>(y);
    parallel_for(threads_, rows, 8, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const T* row = in + r * cols;
        T max_value = *std::max_element(row, row + cols);
        T total = 0;
        for (int64_t c = 0; c < cols; ++c) total += (out[r * cols + c] = std::exp(row[c] - max_value));
        for (int64_t c = 0; c < cols; ++c) out[r * cols + c] /= total;
      }
    });
  });
}

int64_t CpuBackend::count_correct_argmax(DType dt, int64_t rows, int64_t classes,
                                         const void* logits, const int32_t* labels) {
  int64_t correct = 0;
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    const T* x = static_cast<const T*>(logits);
    for (int64_t r = 0; r < rows; ++r) {
      const T* row = x + r * classes;
      if (std::max_element(row, row + classes) - row == labels[r]) ++correct;
    }
  });
  return correct;
}

int64_t CpuBackend::count_correct_binary(DType dt, int64_t n, const void* logits,
                                         const void* target) {
  int64_t correct = 0;
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    const T* x = static_cast<const T*>(logits);
    const T* t = static_cast<const T*>(target);
    for (int64_t i = 0; i < n; ++i) correct += (x[i] > T(0)) == (t[i] > T(0.5));
  });
  return correct;
}

}  // namespace tk::cpu
