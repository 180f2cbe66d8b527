// Fused optimizer passes over the flat parameter buffer (PyTorch semantics).
// The per-range kernels take restrict pointers and values, so the compiler
// keeps constants in registers and vectorizes the loops.

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"
#include "core/optim/optim_kernels.h"
#include "core/optim/optimizer_math.h"

namespace tk::cpu {
namespace {

constexpr int64_t kGrain = 16384;

template <typename T>
void sgd_range(int64_t begin, int64_t end, T* __restrict p, const T* __restrict g, T* __restrict buf, T scale, T lr,
               T momentum, T decay, bool nesterov, bool first_step) {
  if (momentum == T(0)) {
    for (int64_t i = begin; i < end; ++i) math::sgd_plain(p[i], g[i], scale, lr, decay);
    return;
  }
  const T keep = first_step ? T(0) : momentum;
  for (int64_t i = begin; i < end; ++i)
    math::sgd_momentum(p[i], g[i], buf[i], scale, lr, keep, momentum, decay, nesterov);
}

template <typename T>
void adam_range(int64_t begin, int64_t end, T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v,
                const math::AdamConstants<T> c) {
  for (int64_t i = begin; i < end; ++i) math::adam(p[i], g[i], m[i], v[i], c);
}

// The step's values, or false when a device-decided step was not applied.
bool resolve(const UpdateStep& step, double* grad_scale, double* lr, int64_t* number) {
  const StepControl* c = step.control;
  if (c && !c->applied) return false;
  *grad_scale = c ? c->update_grad_scale : step.grad_scale;
  *lr = c ? c->learning_rate : step.lr;
  *number = c ? c->update_step : step.step;
  return true;
}

void sgd_update(Backend& backend, DType dt, int64_t n, void* params, const void* grads, void* momentum_buf,
                const UpdateStep& step, double momentum, double weight_decay, bool nesterov, const HalfCopy& half) {
  const int threads = as_cpu(backend).threads();
  double grad_scale, lr;
  int64_t number;
  if (!resolve(step, &grad_scale, &lr, &number)) return;
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    parallel_for(threads, n, kGrain, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
      sgd_range<T>(begin, end, static_cast<T*>(params), static_cast<const T*>(grads), static_cast<T*>(momentum_buf),
                   static_cast<T>(grad_scale), static_cast<T>(lr), static_cast<T>(momentum),
                   static_cast<T>(weight_decay), nesterov, number == 1);
    });
  });
  if (half.data) as_cpu(backend).convert(dt, half.dtype, n, params, half.data);
}

void adam_update(Backend& backend, DType dt, int64_t n, void* params, const void* grads, void* m, void* v,
                 const UpdateStep& step, double beta1, double beta2, double eps, double weight_decay,
                 bool decoupled_weight_decay, const HalfCopy& half) {
  const int threads = as_cpu(backend).threads();
  double grad_scale, lr;
  int64_t number;
  if (!resolve(step, &grad_scale, &lr, &number)) return;
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    const math::AdamConstants<T> c =
        math::adam_constants<T>(grad_scale, lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, number);
    parallel_for(threads, n, kGrain, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
      adam_range<T>(begin, end, static_cast<T*>(params), static_cast<const T*>(grads), static_cast<T*>(m),
                    static_cast<T*>(v), c);
    });
  });
  if (half.data) as_cpu(backend).convert(dt, half.dtype, n, params, half.data);
}

void decide_step(Backend& /*backend*/, StepControl* control, const StepRules& rules) {
  tk::decide_step(*control, rules);
}

void copy_if_applied(Backend& backend, const StepControl* control, void* dst, const void* src, size_t bytes) {
  if (control->applied) backend.copy(dst, src, bytes);
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::sgd_update, DeviceKind::kCpu, sgd_update},
    {kernels::adam_update, DeviceKind::kCpu, adam_update},
    {kernels::decide_step, DeviceKind::kCpu, decide_step},
    {kernels::copy_if_applied, DeviceKind::kCpu, copy_if_applied},
};

}  // namespace tk::cpu
