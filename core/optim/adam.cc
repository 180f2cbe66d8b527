// Adam (L2 weight decay added to the gradient) and AdamW (decoupled weight
// decay, Loshchilov & Hutter), with PyTorch's bias correction.
#include "core/optim/optim_kernels.h"
#include "core/optim/optimizer.h"

namespace tk {
namespace {

class Adam final : public Optimizer {
 public:
  Adam(const OptimizerConfig& config, Backend* backend, DType dtype, int64_t count)
      : config_(config),
        backend_(backend),
        dtype_(dtype),
        count_(count),
        exp_avg_(backend, dtype, {count}),
        exp_avg_sq_(backend, dtype, {count}) {}

  void update(void* params, const void* grads, const UpdateStep& step, const HalfCopy& half) override {
    kernels::adam_update(*backend_, dtype_, count_, params, grads, exp_avg_.data(), exp_avg_sq_.data(), step,
                         config_.beta1, config_.beta2, config_.eps, effective_weight_decay(config_),
                         config_.kind == OptimizerKind::kAdamW, half);
  }

  std::vector<OptimizerState> state() override { return {{"exp_avg", &exp_avg_}, {"exp_avg_sq", &exp_avg_sq_}}; }

 private:
  OptimizerConfig config_;
  Backend* backend_;
  DType dtype_;
  int64_t count_;
  Tensor exp_avg_, exp_avg_sq_;
};

}  // namespace

std::unique_ptr<Optimizer> make_adam(const OptimizerConfig& config, Backend* backend, DType dtype, int64_t count) {
  return std::make_unique<Adam>(config, backend, dtype, count);
}

}  // namespace tk
