// SGD with optional momentum, Nesterov momentum and L2 weight decay (PyTorch's
// torch.optim.SGD with dampening 0): the momentum buffer starts as the first
// gradient.
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
