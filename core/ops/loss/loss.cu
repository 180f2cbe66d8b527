// Loss kernels (forward and gradient in one pass) and softmax: one warp per
// row, its lanes striding over the columns (coalesced reads), arithmetic in V
// (f32 or f64) as on the CPU. Warp sums and maxima combine lanes in a fixed
// butterfly order, so results depend on the shape alone.
#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda/warp_rows.cuh"
#include "core/backend/cuda/cuda_kernel.h"
#include "core/backend/cuda/cuda_status.h"
#include "core/ops/loss/loss_kernels.h"

namespace tk::cuda {
namespace {

template <typename S>
__global__ void argmax_kernel(int64_t rows, int64_t classes, const S* x, const int32_t* labels,
                              unsigned long long* count) {
  TK_GRID_STRIDE(r, rows) {
    int64_t best = 0;
    for (int64_t c = 1; c < classes; ++c)
      if (load(x[r * classes + c]) > load(x[r * classes + best])) best = c;
    if (best == labels[r]) atomicAdd(count, 1ull);
  }
}

template <typename S, typename V>
__global__ void binary_kernel(int64_t n, const S* x, const V* t, unsigned long long* count) {
  TK_GRID_STRIDE(i, n) {
    if ((load(x[i]) > 0) == (t[i] > V(0.5))) atomicAdd(count, 1ull);
  }
}


template <typename S, typename V>
__global__ void softmax_cross_entropy_kernel(int64_t rows, int64_t classes, const S* x, const int32_t* labels, V* loss,
                                             S* dx, GradScale scale) {
  const V grad_scale = static_cast<V>(scale.factor());
  TK_WARP_PER_ROW(r, rows, lane) {
    const S* row = x + r * classes;
    const V max_logit = row_max<V>(row, classes, lane);
    V sum_exp = 0;
    for (int64_t c = lane; c < classes; c += kWarp) sum_exp += exp_v<V>(static_cast<V>(load(row[c])) - max_logit);
    const V log_sum_exp = max_logit + log_v<V>(warp_sum(sum_exp));
    const int32_t label = labels[r];
    if (label == kIgnoreIndex) {  // no loss, no gradient
      if (lane == 0) loss[r] = 0;
      if (dx)
        for (int64_t c = lane; c < classes; c += kWarp) dx[r * classes + c] = store<S>(V(0));
      continue;
    }
    if (lane == 0) loss[r] = log_sum_exp - static_cast<V>(load(row[label]));
    if (!dx) continue;
    for (int64_t c = lane; c < classes; c += kWarp) {
      const V target = c == label ? V(1) : V(0);
      dx[r * classes + c] = store<S>(grad_scale * (exp_v<V>(static_cast<V>(load(row[c])) - log_sum_exp) - target));
    }
  }
}

template <typename S, typename V>
__global__ void squared_error_kernel(int64_t rows, int64_t cols, const S* p, const V* t, V* loss, S* dp,
                                     GradScale scale) {
  const V grad_scale = static_cast<V>(scale.factor());
  TK_WARP_PER_ROW(r, rows, lane) {
    V total = 0;
    for (int64_t c = r * cols + lane; c < (r + 1) * cols; c += kWarp) {
      const V diff = static_cast<V>(load(p[c])) - t[c];
      total += diff * diff;
      if (dp) dp[c] = store<S>(V(2) * grad_scale * diff);
    }
    total = warp_sum(total);
    if (lane == 0) loss[r] = total;
  }
}

template <typename S, typename V>
__global__ void bce_kernel(int64_t rows, int64_t cols, const S* x, const V* t, V* loss, S* dx, GradScale scale) {
  const V grad_scale = static_cast<V>(scale.factor());
  TK_WARP_PER_ROW(r, rows, lane) {
    V total = 0;
    for (int64_t c = r * cols + lane; c < (r + 1) * cols; c += kWarp) {
      const V xc = load(x[c]);
      // Stable form: max(x,0) - x*t + log(1 + exp(-|x|)).
      total += max(xc, V(0)) - xc * t[c] + log1p(exp_v<V>(-fabs(xc)));
      if (dx) dx[c] = store<S>(grad_scale * (V(1) / (V(1) + exp_v<V>(-xc)) - t[c]));
    }
    total = warp_sum(total);
    if (lane == 0) loss[r] = total;
  }
}

template <typename S>
__global__ void softmax_kernel(int64_t rows, int64_t cols, const S* x, S* y) {
  using T = compute_t<S>;
  TK_WARP_PER_ROW(r, rows, lane) {
    const S* row = x + r * cols;
    const T max_value = row_max<T>(row, cols, lane);
    T total = 0;
    for (int64_t c = lane; c < cols; c += kWarp) total += exp_v<T>(load(row[c]) - max_value);
    total = warp_sum(total);
    for (int64_t c = lane; c < cols; c += kWarp) y[r * cols + c] = store<S>(exp_v<T>(load(row[c]) - max_value) / total);
  }
}

template <typename Fn>
void dispatch_loss(DType dt, DType value_dt, const Fn& fn) {
  dispatch_storage(dt, [&](auto s) { dispatch_float(value_dt, [&](auto v) { fn(s, v); }); });
}

void softmax_cross_entropy(cudaStream_t s, DType dt, DType value_dt, int64_t rows, int64_t classes, const void* logits,
                           const int32_t* labels, void* row_loss, void* dlogits, GradScale grad_scale) {
  if (rows <= 0) return;
  dispatch_loss(dt, value_dt, [&](auto s_tag, auto v_tag) {
    using S = decltype(s_tag);
    using V = decltype(v_tag);
    softmax_cross_entropy_kernel<S, V>
        <<<blocks_for_rows(rows), kThreads, 0, s>>>(rows, classes, static_cast<const S*>(logits), labels,
                                                    static_cast<V*>(row_loss), static_cast<S*>(dlogits), grad_scale);
  });
  check_launch("softmax_cross_entropy");
}

void squared_error(cudaStream_t s, DType dt, DType value_dt, int64_t rows, int64_t cols, const void* pred,
                   const void* target, void* row_loss, void* dpred, GradScale grad_scale) {
  if (rows <= 0) return;
  dispatch_loss(dt, value_dt, [&](auto s_tag, auto v_tag) {
    using S = decltype(s_tag);
    using V = decltype(v_tag);
    squared_error_kernel<S, V><<<blocks_for_rows(rows), kThreads, 0, s>>>(
        rows, cols, static_cast<const S*>(pred), static_cast<const V*>(target), static_cast<V*>(row_loss),
        static_cast<S*>(dpred), grad_scale);
  });
  check_launch("squared_error");
}

void bce_with_logits(cudaStream_t s, DType dt, DType value_dt, int64_t rows, int64_t cols, const void* logits,
                     const void* target, void* row_loss, void* dlogits, GradScale grad_scale) {
  if (rows <= 0) return;
  dispatch_loss(dt, value_dt, [&](auto s_tag, auto v_tag) {
    using S = decltype(s_tag);
    using V = decltype(v_tag);
    bce_kernel<S, V><<<blocks_for_rows(rows), kThreads, 0, s>>>(
        rows, cols, static_cast<const S*>(logits), static_cast<const V*>(target), static_cast<V*>(row_loss),
        static_cast<S*>(dlogits), grad_scale);
  });
  check_launch("bce_with_logits");
}

void softmax(cudaStream_t s, DType dt, int64_t rows, int64_t cols, const void* x, void* y) {
  if (rows <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    softmax_kernel<S>
        <<<blocks_for_rows(rows), kThreads, 0, s>>>(rows, cols, static_cast<const S*>(x), static_cast<S*>(y));
  });
  check_launch("softmax");
}

void count_correct_argmax(cudaStream_t s, DType dt, int64_t rows, int64_t classes, const void* logits,
                          const int32_t* labels, unsigned long long* count) {
  if (rows <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    argmax_kernel<S><<<blocks_for(rows), kThreads, 0, s>>>(rows, classes, static_cast<const S*>(logits), labels, count);
  });
  check_launch("count_correct_argmax");
}

void count_correct_binary(cudaStream_t s, DType dt, DType value_dt, int64_t n, const void* logits, const void* target,
                          unsigned long long* count) {
  if (n <= 0) return;
  dispatch_storage(dt, [&](auto s_tag) {
    dispatch_float(value_dt, [&](auto v_tag) {
      using S = decltype(s_tag);
      using V = decltype(v_tag);
      binary_kernel<S, V>
          <<<blocks_for(n), kThreads, 0, s>>>(n, static_cast<const S*>(logits), static_cast<const V*>(target), count);
    });
  });
  check_launch("count_correct_binary");
}

// Counted on the device, read back (waits for the device).
int64_t argmax_correct(Backend& backend, DType dt, int64_t rows, int64_t classes, const void* logits,
                       const int32_t* labels) {
  CudaBackend& cuda = as_cuda(backend);
  cuda.activate();
  check(cudaMemsetAsync(cuda.counter(), 0, sizeof *cuda.counter(), cuda.stream()), "cudaMemsetAsync(count)");
  count_correct_argmax(cuda.stream(), dt, rows, classes, logits, labels, cuda.counter());
  return cuda.read_count();
}

int64_t binary_correct(Backend& backend, DType dt, DType value_dt, int64_t n, const void* logits, const void* target) {
  CudaBackend& cuda = as_cuda(backend);
  cuda.activate();
  check(cudaMemsetAsync(cuda.counter(), 0, sizeof *cuda.counter(), cuda.stream()), "cudaMemsetAsync(count)");
  count_correct_binary(cuda.stream(), dt, value_dt, n, logits, target, cuda.counter());
  return cuda.read_count();
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::softmax_cross_entropy, DeviceKind::kCuda, OnStream<softmax_cross_entropy>::run},
    {kernels::squared_error, DeviceKind::kCuda, OnStream<squared_error>::run},
    {kernels::bce_with_logits, DeviceKind::kCuda, OnStream<bce_with_logits>::run},
    {kernels::softmax, DeviceKind::kCuda, OnStream<softmax>::run},
    {kernels::count_correct_argmax, DeviceKind::kCuda, argmax_correct},
    {kernels::count_correct_binary, DeviceKind::kCuda, binary_correct},
};

}  // namespace tk::cuda
