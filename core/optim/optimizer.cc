#include "core/optim/optimizer.h"

#include <algorithm>
#include <cmath>

#include "core/base/error.h"

namespace tk {

void validate(const OptimizerConfig& c) {
  auto check = [](bool ok, const char* field, double value) {
    if (!ok) fail(ErrorCode::kInvalidArgument, "optimizer ", field, " is out of range: ", value);
  };
  check(c.kind == OptimizerKind::kSgd || c.kind == OptimizerKind::kAdam || c.kind == OptimizerKind::kAdamW, "kind",
        static_cast<double>(c.kind));
  check(std::isfinite(c.learning_rate) && c.learning_rate >= 0, "learning rate", c.learning_rate);
  check(std::isfinite(c.momentum) && c.momentum >= 0 && c.momentum < 1, "momentum (needs [0, 1))", c.momentum);
  check(!c.nesterov || c.momentum > 0, "momentum (Nesterov needs momentum > 0)", c.momentum);
  const double decay = effective_weight_decay(c);
  check(std::isfinite(decay) && decay >= 0, "weight decay", decay);
  check(c.beta1 >= 0 && c.beta1 < 1, "beta1 (needs [0, 1))", c.beta1);
  check(c.beta2 >= 0 && c.beta2 < 1, "beta2 (needs [0, 1))", c.beta2);
  check(std::isfinite(c.eps) && c.eps > 0, "eps", c.eps);
}

double effective_weight_decay(const OptimizerConfig& c) {
  if (c.weight_decay) return *c.weight_decay;
  return c.kind == OptimizerKind::kAdamW ? 0.01 : 0.0;  // PyTorch's defaults
}

UpdateLayout UpdateLayout::whole(int64_t count, double weight_decay) {
  UpdateLayout layout;
  layout.runs.push_back({0, 0, count, 1.0, weight_decay, 0});
  layout.grad_count = count;
  return layout;
}

bool UpdateLayout::uniform() const {
  for (const UpdateRun& r : runs)
    if (r.param_offset != r.grad_offset || r.lr_scale != 1 || r.first_step != 0) return false;
  return true;
}

double UpdateLayout::max_lr_scale() const {
  double most = 0;
  for (const UpdateRun& r : runs) most = std::max(most, r.lr_scale);
  return most;
}

double UpdateLayout::max_weight_decay() const {
  double most = 0;
  for (const UpdateRun& r : runs) most = std::max(most, r.weight_decay);
  return most;
}

int64_t UpdateLayout::min_run_step(int64_t step) const {
  int64_t fewest = step;
  for (const UpdateRun& r : runs) fewest = std::min(fewest, step - r.first_step);
  return std::max<int64_t>(fewest, 1);
}

void Optimizer::set_layout(const UpdateLayout& layout) {
  if (layout.grad_count != layout_.grad_count)
    fail(ErrorCode::kInternal, "an optimizer's layout changed size (", layout_.grad_count, " to ", layout.grad_count,
         ")");
  layout_ = layout;
}

void Optimizer::set_shard(int64_t begin, int64_t end) {
  if (begin < 0 || end < begin || end > layout_.grad_count)
    fail(ErrorCode::kInternal, "an update shard [", begin, ", ", end, ") outside ", layout_.grad_count, " gradients");
  shard_begin_ = begin;
  shard_end_ = end;
}

void Optimizer::update(void* params, const void* grads, const UpdateStep& step, const HalfCopy& half) {
  // A device-decided step carries one rate and one step count for everything.
  if (step.control && !layout_.uniform())
    fail(ErrorCode::kInternal, "a step decided on the device cannot run parameter groups or late-started moments");
  const std::vector<OptimizerState> state = this->state();
  const size_t elem = dtype_size(dtype_);
  for (const UpdateRun& whole : layout_.runs) {
    // The part of the run inside this replica's shard.
    const int64_t begin = std::max(whole.grad_offset, shard_begin_);
    const int64_t end = std::min(whole.grad_offset + whole.count, shard_end_);
    if (begin >= end) continue;
    UpdateRun run = whole;
    run.grad_offset = begin;
    run.param_offset += begin - whole.grad_offset;
    run.count = end - begin;
    UpdateStep run_step = step;
    run_step.lr = step.lr * run.lr_scale;
    run_step.step = step.step - run.first_step;
    std::vector<void*> run_state;
    for (const OptimizerState& s : state) run_state.push_back(static_cast<char*>(s.tensor->data()) + run.grad_offset * elem);
    HalfCopy run_half = half;
    if (half.data) run_half.data = static_cast<char*>(half.data) + run.param_offset * dtype_size(half.dtype);
    update_run(static_cast<char*>(params) + run.param_offset * elem,
               static_cast<const char*>(grads) + run.grad_offset * elem, run_state, run, run_step, run_half);
  }
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config, Backend* backend, DType dtype,
                                          const UpdateLayout& layout) {
  validate(config);
  for (const UpdateRun& r : layout.runs)
    if (!(std::isfinite(r.lr_scale) && r.lr_scale >= 0 && std::isfinite(r.weight_decay) && r.weight_decay >= 0))
      fail(ErrorCode::kInvalidArgument, "a parameter group's rate factor and weight decay must be finite and >= 0");
  if (config.kind == OptimizerKind::kSgd) return make_sgd(config, backend, dtype, layout);
  return make_adam(config, backend, dtype, layout);
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config, Backend* backend, DType dtype, int64_t count) {
  validate(config);
  return make_optimizer(config, backend, dtype, UpdateLayout::whole(count, effective_weight_decay(config)));
}

}  // namespace tk
