// Adam (L2 weight decay added to the gradient) and AdamW (decoupled weight
// decay, Loshchilov & Hutter), with PyTorch's bias correction.
#include <algorithm>
#include <cmath>

#include "core/optim/optim_kernels.h"
#include "core/optim/optimizer.h"

namespace tk {
namespace {

class Adam final : public Optimizer {
 public:
  Adam(const OptimizerConfig& config, Backend* backend, DType dtype, const UpdateLayout& layout)
      : Optimizer(layout, dtype),
        config_(config),
        backend_(backend),
        exp_avg_(backend, dtype, {layout.grad_count}),
        exp_avg_sq_(backend, dtype, {layout.grad_count}) {}

  void update_run(void* params, const void* grads, const std::vector<void*>& state, const UpdateRun& run,
                  const UpdateStep& step, const HalfCopy& half) override {
    kernels::adam_update(*backend_, dtype_, run.count, params, grads, state[0], state[1], step, config_.beta1,
                         config_.beta2, config_.eps, run.weight_decay, config_.kind == OptimizerKind::kAdamW, half);
  }

  std::vector<OptimizerState> state() override { return {{"exp_avg", &exp_avg_}, {"exp_avg_sq", &exp_avg_sq_}}; }

  MagnitudeBounds bounds_after(const MagnitudeBounds& now, double grad_bound, double lr,
                               int64_t step) const override {
    // g' = g (+ wd p for Adam); m = b1 m + (1 - b1) g'; v = b2 v + (1 - b2) g'^2;
    // the step lr m^ / (sqrt(v^) + eps) is at most lr m^ / eps; AdamW first
    // scales p by (1 - lr wd). Every run's update is bounded by the largest
    // rate and decay and the fewest steps (the bound grows with each).
    const double wd = layout_.max_weight_decay(), b1 = config_.beta1, b2 = config_.beta2;
    lr *= layout_.max_lr_scale();
    step = layout_.min_run_step(step);
    const bool decoupled = config_.kind == OptimizerKind::kAdamW;
    const double g = grad_bound + (decoupled ? 0.0 : wd * now.params);
    // 0 * an unknown bound is 0: beta 0 keeps nothing of the old moment.
    const double m = (b1 == 0 ? 0.0 : b1 * now.state_bound(0)) + (1 - b1) * g;
    const double v = (b2 == 0 ? 0.0 : b2 * now.state_bound(1)) + (1 - b2) * g * g;
    const double bias_correction1 = 1 - std::pow(b1, static_cast<double>(step));
    const double bias_correction2 = 1 - std::pow(b2, static_cast<double>(step));
    const double m_hat = m / bias_correction1, step_size = lr / bias_correction1;
    MagnitudeBounds after;
    after.state = {m, v};
    after.params = (decoupled ? now.params * (1 + lr * wd) : now.params) + lr * m_hat / config_.eps;
    // What the kernel forms on the way, its constants in the compute dtype
    // included (adam_constants): a step size or 1 / eps beyond the dtype's
    // range is not proven finite, whatever the gradients.
    after.intermediate = std::max({g * g, m_hat / config_.eps, step_size, step_size * m, 1 / config_.eps,
                                   1 / std::sqrt(bias_correction2), 1 + lr * wd});
    return after;
  }

 private:
  OptimizerConfig config_;
  Backend* backend_;
  Tensor exp_avg_, exp_avg_sq_;
};

}  // namespace

std::unique_ptr<Optimizer> make_adam(const OptimizerConfig& config, Backend* backend, DType dtype,
                                     const UpdateLayout& layout) {
  return std::make_unique<Adam>(config, backend, dtype, layout);
}

}  // namespace tk
