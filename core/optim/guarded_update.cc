#include "core/optim/guarded_update.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/base/half.h"
#include "core/kernels/reduce_kernels.h"

namespace tk {
namespace {

// Magnitudes a kernel may reach while staying clear of overflow: the f32 and
// f64 limits with room for the rounding of a few more operations.
double limit_of(DType dtype) { return dtype == DType::kF64 ? 1e300 : 1e37; }

// The largest weight the half copy holds as a finite value (bf16 has f32's range).
double weight_limit(DType dtype, const HalfCopy& half) {
  return half.data && half.dtype == DType::kF16 ? kF16Max : limit_of(dtype);
}

}  // namespace

bool GuardedUpdate::within_limit(const MagnitudeBounds& bounds, const HalfCopy& half) const {
  const double limit = limit_of(dtype_);
  if (!(bounds.params < weight_limit(dtype_, half)) || !(bounds.intermediate < limit)) return false;
  for (double b : bounds.state)
    if (!(b < limit)) return false;
  return true;
}

MagnitudeBounds GuardedUpdate::measure(Optimizer& optimizer, const void* params) const {
  // An L2 norm bounds every element's magnitude; a square that overflows
  // leaves the bound infinite, which proves nothing and is safe.
  MagnitudeBounds bounds;
  bounds.params = std::sqrt(kernels::sum_squares(*backend_, dtype_, param_count_, params));
  for (const OptimizerState& s : optimizer.state())
    bounds.state.push_back(std::sqrt(kernels::sum_squares(*backend_, dtype_, state_count_, s.tensor->data())));
  return bounds;
}

bool GuardedUpdate::all_finite(Optimizer& optimizer, const void* params, const HalfCopy& half) const {
  if (!kernels::all_finite(*backend_, dtype_, param_count_, params)) return false;
  if (half.data && !kernels::all_finite(*backend_, half.dtype, param_count_, half.data)) return false;
  for (const OptimizerState& s : optimizer.state())
    if (!kernels::all_finite(*backend_, dtype_, state_count_, s.tensor->data())) return false;
  return true;
}

bool GuardedUpdate::apply(Optimizer& optimizer, void* params, const void* grads, double grad_scale,
                          double grad_bound, double lr, const HalfCopy& half) {
  const int64_t step = optimizer.steps() + 1;
  if (bounds_.state.size() != optimizer.state().size()) bounds_ = MagnitudeBounds{};
  // grad_scale is one of the kernel's constants too.
  auto advance = [&] {
    MagnitudeBounds next = optimizer.bounds_after(bounds_, grad_bound, lr, step);
    next.intermediate = std::max(next.intermediate, std::abs(grad_scale));
    return next;
  };
  MagnitudeBounds after = advance();
  if (!within_limit(after, half)) {
    bounds_ = measure(optimizer, params);
    after = advance();
  }
  if (within_limit(after, half)) {
    optimizer.step(params, grads, grad_scale, lr, half);
    bounds_ = after;
    return true;
  }
  // Not provable: update a kept copy's originals in place, check, and put
  // them back if anything became non-finite (the caller makes the half copy
  // again from the weights put back).
  const size_t bytes = static_cast<size_t>(param_count_) * dtype_size(dtype_);
  const size_t state_bytes = static_cast<size_t>(state_count_) * dtype_size(dtype_);
  Tensor kept_params(backend_, dtype_, {param_count_});
  backend_->copy(kept_params.data(), params, bytes);
  std::vector<Tensor> kept_state;
  for (const OptimizerState& s : optimizer.state()) {
    kept_state.emplace_back(backend_, dtype_, Shape{state_count_});
    backend_->copy(kept_state.back().data(), s.tensor->data(), state_bytes);
  }
  optimizer.step(params, grads, grad_scale, lr, half);
  if (all_finite(optimizer, params, half)) {
    bounds_ = measure(optimizer, params);
    return true;
  }
  backend_->copy(params, kept_params.data(), bytes);
  const std::vector<OptimizerState> state = optimizer.state();
  for (size_t i = 0; i < state.size(); ++i)
    backend_->copy(state[i].tensor->data(), kept_state[i].data(), state_bytes);
  optimizer.set_steps(step - 1);
  return false;
}

}  // namespace tk
