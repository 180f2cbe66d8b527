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
  Sgd(const OptimizerConfig& config, Backend* backend, DType dtype, int64_t count)
      : config_(config), backend_(backend), dtype_(dtype), count_(count) {
    if (config.momentum != 0) momentum_ = Tensor(backend, dtype, {count});
  }

  void update(void* params, const void* grads, const UpdateStep& step, const HalfCopy& half) override {
    kernels::sgd_update(*backend_, dtype_, count_, params, grads, momentum_.data(), step, config_.momentum,
                        effective_weight_decay(config_), config_.nesterov, half);
  }

  std::vector<OptimizerState> state() override {
    if (!momentum_.data()) return {};
    return {{"momentum", &momentum_}};
  }

  MagnitudeBounds bounds_after(const MagnitudeBounds& now, double grad_bound, double lr,
                               int64_t step) const override {
    // d = g + wd p; buf = d on the first step, momentum buf + d after;
    // p -= lr (Nesterov ? d + momentum buf : buf), or lr d without momentum.
    const double mu = config_.momentum;
    const double d = grad_bound + effective_weight_decay(config_) * now.params;
    MagnitudeBounds after;
    double update = d;
    if (momentum_.data()) {
      const double buf = step == 1 ? d : mu * now.state_bound(0) + d;
      after.state = {buf};
      update = config_.nesterov ? d + mu * buf : buf;
    }
    after.params = now.params + lr * update;
    // The kernel holds lr and the decay in the compute dtype too.
    after.intermediate = std::max({d, lr, effective_weight_decay(config_)});
    return after;
  }

 private:
  OptimizerConfig config_;
  Backend* backend_;
  DType dtype_;
  int64_t count_;
  Tensor momentum_;
};

}  // namespace

std::unique_ptr<Optimizer> make_sgd(const OptimizerConfig& config, Backend* backend, DType dtype, int64_t count) {
  return std::make_unique<Sgd>(config, backend, dtype, count);
}

}  // namespace tk
