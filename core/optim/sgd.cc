// SGD with optional momentum, Nesterov momentum and L2 weight decay (PyTorch's
// torch.optim.SGD with dampening 0): the momentum buffer starts as the first
// gradient.
#include <algorithm>

#include "core/optim/optim_kernels.h"
#include "core/optim/optimizer.h"

namespace tk {
namespace {

class Sgd final : public Optimizer {
 public:
  Sgd(const OptimizerConfig& config, Backend* backend, DType dtype, const UpdateLayout& layout)
      : Optimizer(layout, dtype), config_(config), backend_(backend) {
    if (config.momentum != 0) momentum_ = Tensor(backend, dtype, {layout.grad_count});
  }

  void update_run(void* params, const void* grads, const std::vector<void*>& state, const UpdateRun& run,
                  const UpdateStep& step, const HalfCopy& half) override {
    kernels::sgd_update(*backend_, dtype_, run.count, params, grads, state.empty() ? nullptr : state[0], step,
                        config_.momentum, run.weight_decay, config_.nesterov, half);
  }

  std::vector<OptimizerState> state() override {
    if (!momentum_.data()) return {};
    return {{"momentum", &momentum_}};
  }

  MagnitudeBounds bounds_after(const MagnitudeBounds& now, double grad_bound, double lr,
                               int64_t step) const override {
    // d = g + wd p; buf = d on the first step, momentum buf + d after;
    // p -= lr (Nesterov ? d + momentum buf : buf), or lr d without momentum.
    // Every run's update is bounded by the largest rate and decay.
    const double mu = config_.momentum, decay = layout_.max_weight_decay();
    lr *= layout_.max_lr_scale();
    const double d = grad_bound + decay * now.params;
    MagnitudeBounds after;
    double update = d;
    if (momentum_.data()) {
      // A run on its first step starts its buffer afresh, which is within this.
      const double buf = step == 1 ? d : mu * now.state_bound(0) + d;
      after.state = {buf};
      update = config_.nesterov ? d + mu * buf : buf;
    }
    after.params = now.params + lr * update;
    // The kernel holds lr and the decay in the compute dtype too.
    after.intermediate = std::max({d, lr, decay});
    return after;
  }

 private:
  OptimizerConfig config_;
  Backend* backend_;
  Tensor momentum_;
};

}  // namespace

std::unique_ptr<Optimizer> make_sgd(const OptimizerConfig& config, Backend* backend, DType dtype,
                                    const UpdateLayout& layout) {
  return std::make_unique<Sgd>(config, backend, dtype, layout);
}

}  // namespace tk
