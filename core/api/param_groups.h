// Per-tensor training settings chosen by name pattern: frozen or not, a
// factor on the scheduled learning rate, a weight decay of its own. They
// resolve into the optimizer's update runs (core/optim/optimizer.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/graph/plan.h"
#include "core/optim/optimizer.h"

namespace tk {

struct TensorSettings {
  bool frozen = false;
  double lr_scale = 1;
  std::optional<double> weight_decay;  // unset: the optimizer's, or 0 where the tensor does not decay by default
  // The optimizer step at which this tensor's moments began (it was
  // unfrozen then, or loaded without moments); 0 from the start.
  int64_t moments_since = 0;
  bool operator==(const TensorSettings& o) const {
    return frozen == o.frozen && lr_scale == o.lr_scale && weight_decay == o.weight_decay &&
           moments_since == o.moments_since;
  }
};

// Indices of the plan's parameter tensors whose names match `pattern` (shell
// glob: '*' and '?' match any characters, dots included; [...] a set).
// Throws kInvalidArgument listing the names when none match.
std::vector<size_t> match_parameters(const Plan& plan, const std::string& pattern);

// The weight decay tensor `index` gets: its own, else the optimizer's where
// it decays by default (weights; biases and normalization parameters too
// when `decay_bias_and_norm`), else 0.
double resolved_weight_decay(const Plan& plan, size_t index, const TensorSettings& settings,
                             const OptimizerConfig& optimizer, bool decay_bias_and_norm);

// The update runs over the plan's trainable tensors (its gradient layout):
// neighbours with equal settings share one run.
UpdateLayout update_layout(const Plan& plan, const std::vector<TensorSettings>& settings,
                           const OptimizerConfig& optimizer, bool decay_bias_and_norm);

}  // namespace tk
