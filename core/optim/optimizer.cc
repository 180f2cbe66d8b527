#include "core/optim/optimizer.h"

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

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config, Backend* backend, DType dtype, int64_t count) {
  validate(config);
  if (config.kind == OptimizerKind::kSgd) return make_sgd(config, backend, dtype, count);
  return make_adam(config, backend, dtype, count);
}

}  // namespace tk
