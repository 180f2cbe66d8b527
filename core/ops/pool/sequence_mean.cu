// Masked mean pooling over a sequence on CUDA GPUs: a thread per pooled
// element sums its column down the sequence in order, as on the CPU.
#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda/cuda_kernel.h"
#include "core/ops/pool/pool_kernels.h"

namespace tk::cuda {
namespace {

constexpr double kMinCount = 1e-9;  // sentence-transformers' clamp of the token count

template <typename S>
__device__ compute_t<S> mask_at(const S* mask, int64_t i) {
  return mask ? load(mask[i]) : compute_t<S>(1);
}

template <typename S>
__device__ compute_t<S> token_count(const S* mask, int64_t b, int64_t seq) {
  compute_t<S> count = 0;
  for (int64_t s = 0; s < seq; ++s) count += mask_at(mask, b * seq + s);
  return count;
}

template <typename S>
__global__ void mean_forward_kernel(int64_t batch, int64_t seq, int64_t dim, const S* x, const S* mask, S* y) {
  using T = compute_t<S>;
  TK_GRID_STRIDE(i, batch * dim) {
    const int64_t b = i / dim, d = i % dim;
    T sum = 0;
    for (int64_t s = 0; s < seq; ++s) {
      const T m = mask_at(mask, b * seq + s);
      if (m != T(0)) sum += m * load(x[(b * seq + s) * dim + d]);
    }
    y[i] = store<S>(sum / max(token_count(mask, b, seq), static_cast<T>(kMinCount)));
  }
}

template <typename S>
__global__ void mean_backward_dx_kernel(int64_t batch, int64_t seq, int64_t dim, const S* mask, const S* dy, S* dx,
                                        bool accumulate) {
  using T = compute_t<S>;
  TK_GRID_STRIDE(i, batch * seq * dim) {
    const int64_t d = i % dim, bs = i / dim, b = bs / seq;
    const T inv = T(1) / max(token_count(mask, b, seq), static_cast<T>(kMinCount));
    const T grad = mask_at(mask, bs) * inv * load(dy[b * dim + d]);
    dx[i] = store<S>(accumulate ? load(dx[i]) + grad : grad);
  }
}

// d y / d m_s = (x_s - y) / count (x_s / clamp once clamped), dotted with dy.
template <typename S>
__global__ void mean_backward_mask_kernel(int64_t batch, int64_t seq, int64_t dim, const S* x, const S* mask,
                                          const S* y, const S* dy, S* dmask, bool accumulate) {
  using T = compute_t<S>;
  TK_GRID_STRIDE(bs, batch * seq) {
    const int64_t b = bs / seq;
    const T count = token_count(mask, b, seq);
    const bool clamped = count < static_cast<T>(kMinCount);
    T grad = 0;
    for (int64_t d = 0; d < dim; ++d)
      grad += load(dy[b * dim + d]) * (load(x[bs * dim + d]) - (clamped ? T(0) : load(y[b * dim + d])));
    grad /= max(count, static_cast<T>(kMinCount));
    dmask[bs] = store<S>(accumulate ? load(dmask[bs]) + grad : grad);
  }
}

void sequence_mean_forward(cudaStream_t s, DType dt, int64_t batch, int64_t seq, int64_t dim, const void* x,
                           const void* mask, void* y) {
  if (batch * dim <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    mean_forward_kernel<S><<<blocks_for(batch * dim), kThreads, 0, s>>>(
        batch, seq, dim, static_cast<const S*>(x), static_cast<const S*>(mask), static_cast<S*>(y));
  });
  check_launch("sequence_mean_forward");
}

void sequence_mean_backward(cudaStream_t s, DType dt, int64_t batch, int64_t seq, int64_t dim, const void* x,
                            const void* mask, const void* y, const void* dy, void* dx, bool accumulate_dx, void* dmask,
                            bool accumulate_dmask) {
  if (batch * seq * dim <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    if (dx)
      mean_backward_dx_kernel<S><<<blocks_for(batch * seq * dim), kThreads, 0, s>>>(
          batch, seq, dim, static_cast<const S*>(mask), static_cast<const S*>(dy), static_cast<S*>(dx), accumulate_dx);
    if (dmask)
      mean_backward_mask_kernel<S><<<blocks_for(batch * seq), kThreads, 0, s>>>(
          batch, seq, dim, static_cast<const S*>(x), static_cast<const S*>(mask), static_cast<const S*>(y),
          static_cast<const S*>(dy), static_cast<S*>(dmask), accumulate_dmask);
  });
  check_launch("sequence_mean_backward");
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::sequence_mean_forward, DeviceKind::kCuda, OnStream<sequence_mean_forward>::run},
    {kernels::sequence_mean_backward, DeviceKind::kCuda, OnStream<sequence_mean_backward>::run},
};

}  // namespace tk::cuda
