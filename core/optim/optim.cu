// Fused optimizer passes over the flat parameter buffer; the per-parameter
// math is the CPU backend's (core/optim/optimizer_math.h).

#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda/cuda_kernel.h"
#include "core/optim/optim_kernels.h"
#include "core/optim/optimizer_math.h"

namespace tk::cuda {
namespace {

// A device-decided step replaces the host's per-step values with its own, or
// skips the update when it was not applied.
// H is the half copy's storage type (its pointer null when there is none).
template <typename T, typename H>
__global__ void sgd_kernel(int64_t n, T* p, const T* g, T* buf, T scale, T lr, T keep, T momentum, T decay,
                           bool nesterov, bool with_momentum, const StepControl* control, H* half) {
  if (control) {
    if (!control->applied) return;
    scale = static_cast<T>(control->update_grad_scale);
    lr = static_cast<T>(control->learning_rate);
    keep = control->update_step == 1 ? T(0) : momentum;
  }
  TK_GRID_STRIDE(i, n) {
    if (with_momentum)
      math::sgd_momentum(p[i], g[i], buf[i], scale, lr, keep, momentum, decay, nesterov);
    else
      math::sgd_plain(p[i], g[i], scale, lr, decay);
    if (half) half[i] = store<H>(p[i]);
  }
}

struct AdamHyper {
  double beta1, beta2, eps, weight_decay;
  bool decoupled;
};

template <typename T, typename H>
__global__ void adam_kernel(int64_t n, T* p, const T* g, T* m, T* v, math::AdamConstants<T> c,
                            const StepControl* control, AdamHyper h, H* half) {
  if (control) {
    if (!control->applied) return;
    c = math::adam_constants<T>(control->update_grad_scale, control->learning_rate, h.beta1, h.beta2, h.eps,
                                h.weight_decay, h.decoupled, control->update_step);
  }
  TK_GRID_STRIDE(i, n) {
    math::adam(p[i], g[i], m[i], v[i], c);
    if (half) half[i] = store<H>(p[i]);
  }
}

// fn(H{}) for the half copy's storage type; __half stands in when there is none.
template <typename Fn>
void dispatch_half_copy(const HalfCopy& half, const Fn& fn) {
  if (!half.data || half.dtype == DType::kF16)
    fn(__half{});
  else if (half.dtype == DType::kBF16)
    fn(__nv_bfloat16{});
  else
    fail(ErrorCode::kUnsupported, "the weights' half copy is f16 or bf16, not ", dtype_name(half.dtype));
}

void sgd_update(cudaStream_t s, DType dt, int64_t n, void* params, const void* grads, void* momentum_buf,
                const UpdateStep& step, double momentum, double weight_decay, bool nesterov, const HalfCopy& half) {
  if (n <= 0) return;
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    dispatch_half_copy(half, [&](auto half_tag) {
      using H = decltype(half_tag);
      sgd_kernel<T, H><<<blocks_for(n), kThreads, 0, s>>>(
          n, static_cast<T*>(params), static_cast<const T*>(grads), static_cast<T*>(momentum_buf),
          static_cast<T>(step.grad_scale), static_cast<T>(step.lr), static_cast<T>(step.step == 1 ? 0.0 : momentum),
          static_cast<T>(momentum), static_cast<T>(weight_decay), nesterov, momentum != 0.0, step.control,
          static_cast<H*>(half.data));
    });
  });
  check_launch("sgd_update");
}

void adam_update(cudaStream_t s, DType dt, int64_t n, void* params, const void* grads, void* m, void* v,
                 const UpdateStep& step, double beta1, double beta2, double eps, double weight_decay,
                 bool decoupled_weight_decay, const HalfCopy& half) {
  if (n <= 0) return;
  const AdamHyper hyper{beta1, beta2, eps, weight_decay, decoupled_weight_decay};
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    // Host values are turned into constants once here; a device-decided step's in each thread.
    const math::AdamConstants<T> constants =
        step.control ? math::AdamConstants<T>{}
                     : math::adam_constants<T>(step.grad_scale, step.lr, beta1, beta2, eps, weight_decay,
                                               decoupled_weight_decay, step.step);
    dispatch_half_copy(half, [&](auto half_tag) {
      using H = decltype(half_tag);
      adam_kernel<T, H><<<blocks_for(n), kThreads, 0, s>>>(n, static_cast<T*>(params), static_cast<const T*>(grads),
                                                           static_cast<T*>(m), static_cast<T*>(v), constants,
                                                           step.control, hyper, static_cast<H*>(half.data));
    });
  });
  check_launch("adam_update");
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::sgd_update, DeviceKind::kCuda, OnStream<sgd_update>::run},
    {kernels::adam_update, DeviceKind::kCuda, OnStream<adam_update>::run},
};

}  // namespace tk::cuda
