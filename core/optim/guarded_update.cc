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
  // leaves the bound infinite, which proves nothing and is safe. The weights
  // are whole on every replica; the moments only on each one's slice, whose
  // squares the replicas add up.
  const size_t elem = dtype_size(dtype_);
  std::vector<double> sums;
  for (const OptimizerState& s : optimizer.state())
    sums.push_back(kernels::sum_squares(*backend_, dtype_, state_end() - state_begin(),
                                        static_cast<const char*>(s.tensor->data()) + state_begin() * elem));
  if (sharded_ && !sums.empty()) shard_.sum(sums.data(), static_cast<int>(sums.size()));
  MagnitudeBounds bounds;
  bounds.params = std::sqrt(kernels::sum_squares(*backend_, dtype_, param_count_, params));
  for (double sum : sums) bounds.state.push_back(std::sqrt(sum));
  return bounds;
}

bool GuardedUpdate::all_finite(Optimizer& optimizer, const void* params, const HalfCopy& half) const {
  const size_t elem = dtype_size(dtype_);
  const int64_t weights = params_end() - params_begin(), moments = state_end() - state_begin();
  bool finite = kernels::all_finite(*backend_, dtype_, weights, static_cast<const char*>(params) + params_begin() * elem);
  if (finite && half.data)
    finite = kernels::all_finite(*backend_, half.dtype, weights,
                                 static_cast<const char*>(half.data) + params_begin() * dtype_size(half.dtype));
  for (const OptimizerState& s : optimizer.state())
    finite = finite && kernels::all_finite(*backend_, dtype_, moments,
                                           static_cast<const char*>(s.tensor->data()) + state_begin() * elem);
  if (!sharded_) return finite;
  double not_finite = finite ? 0 : 1;
  shard_.sum(&not_finite, 1);
  return not_finite == 0;
}

void GuardedUpdate::gather(void* params, const HalfCopy& half) const {
  if (!sharded_) return;
  shard_.gather(params, dtype_size(dtype_));
  if (half.data) shard_.gather(half.data, dtype_size(half.dtype));
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
    gather(params, half);
    bounds_ = after;
    return true;
  }
  // Not provable: update a kept copy's originals in place, check, and put
  // them back if anything became non-finite (the caller makes the half copy
  // again from the weights put back). A replica keeps only what it updates.
  const size_t elem = dtype_size(dtype_);
  const size_t bytes = static_cast<size_t>(params_end() - params_begin()) * elem;
  const size_t state_bytes = static_cast<size_t>(state_end() - state_begin()) * elem;
  char* own_params = static_cast<char*>(params) + params_begin() * elem;
  auto own_state = [&](const OptimizerState& s) { return static_cast<char*>(s.tensor->data()) + state_begin() * elem; };
  Tensor kept_params(backend_, dtype_, {params_end() - params_begin()});
  backend_->copy(kept_params.data(), own_params, bytes);
  std::vector<Tensor> kept_state;
  for (const OptimizerState& s : optimizer.state()) {
    kept_state.emplace_back(backend_, dtype_, Shape{state_end() - state_begin()});
    backend_->copy(kept_state.back().data(), own_state(s), state_bytes);
  }
  optimizer.step(params, grads, grad_scale, lr, half);
  if (all_finite(optimizer, params, half)) {
    gather(params, half);
    bounds_ = measure(optimizer, params);
    return true;
  }
  backend_->copy(own_params, kept_params.data(), bytes);
  const std::vector<OptimizerState> state = optimizer.state();
  for (size_t i = 0; i < state.size(); ++i) backend_->copy(own_state(state[i]), kept_state[i].data(), state_bytes);
  optimizer.set_steps(step - 1);
  return false;
}

}  // namespace tk
