#include "core/api/param_groups.h"

#include <fnmatch.h>

#include "core/base/error.h"

namespace tk {

std::vector<size_t> match_parameters(const Plan& plan, const std::string& pattern) {
  std::vector<size_t> matched;
  const std::vector<ParamTensor>& params = plan.params();
  for (size_t i = 0; i < params.size(); ++i)
    if (::fnmatch(pattern.c_str(), params[i].name.c_str(), 0) == 0) matched.push_back(i);
  if (matched.empty()) {
    std::string names;
    for (const ParamTensor& p : params) names += (names.empty() ? "" : ", ") + p.name;
    fail(ErrorCode::kInvalidArgument, "the pattern '", pattern, "' matches no parameter tensor (they are: ", names,
         ")");
  }
  return matched;
}

double resolved_weight_decay(const Plan& plan, size_t index, const TensorSettings& settings,
                             const OptimizerConfig& optimizer, bool decay_bias_and_norm) {
  if (settings.weight_decay) return *settings.weight_decay;
  return plan.params()[index].spec.decays || decay_bias_and_norm ? effective_weight_decay(optimizer) : 0.0;
}

UpdateLayout update_layout(const Plan& plan, const std::vector<TensorSettings>& settings,
                           const OptimizerConfig& optimizer, bool decay_bias_and_norm) {
  UpdateLayout layout;
  layout.grad_count = plan.flat_grad_count();
  const std::vector<ParamTensor>& params = plan.params();
  for (size_t i = 0; i < params.size(); ++i) {
    const ParamTensor& p = params[i];
    if (p.grad_offset < 0) continue;
    const UpdateRun run{p.offset,
                        p.grad_offset,
                        p.count,
                        settings[i].lr_scale,
                        resolved_weight_decay(plan, i, settings[i], optimizer, decay_bias_and_norm),
                        settings[i].moments_since};
    // A neighbour at the same distance in both layouts with the same
    // settings extends the run over the padding between them (zeros, which
    // every update leaves zero).
    if (!layout.runs.empty()) {
      UpdateRun& last = layout.runs.back();
      if (last.lr_scale == run.lr_scale && last.weight_decay == run.weight_decay &&
          last.first_step == run.first_step && run.param_offset - last.param_offset == run.grad_offset - last.grad_offset) {
        last.count = run.param_offset + run.count - last.param_offset;
        continue;
      }
    }
    layout.runs.push_back(run);
  }
  return layout;
}

}  // namespace tk
