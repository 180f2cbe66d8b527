// Trainer: a compiled plan plus the flat parameter, gradient and optimizer
// buffers it owns, and the counters of a run. step() is all-or-nothing: on any
// error it throws with weights, optimizer state and counters unchanged.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/backend/backend.h"
#include "core/backend/tensor.h"
#include "core/data/dataset.h"
#include "core/graph/plan.h"
#include "core/optim/optimizer.h"
#include "core/optim/schedule.h"

namespace tk {

// Values mirror tk_nonfinite in capi/trainkit.h.
enum class NonFinitePolicy : int32_t {
  kError = 0,  // the step fails with kNonFinite and changes nothing
  kSkip = 1,   // the batch is dropped, counted in skipped_steps()
};

struct TrainerConfig {
  LossKind loss = LossKind::kSoftmaxCrossEntropy;
  Reduction reduction = Reduction::kMean;
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  double clip_norm = 0.0;  // 0: no clipping
  int accumulation_steps = 1;
  uint64_t seed = 0;
  int threads = 0;  // 0: all cores
  NonFinitePolicy nonfinite = NonFinitePolicy::kError;
  DType compute_dtype = DType::kF32;
  int64_t batch_hint = 0;    // rows to plan for up front (0: first batch decides)
  size_t memory_limit = 0;   // bytes the backend may hold (0: no limit)
};

void validate(const TrainerConfig& config);

struct StepResult {
  double loss = 0;
  bool applied = false;  // the optimizer ran (last micro-batch of an accumulation)
  bool skipped = false;  // dropped under NonFinitePolicy::kSkip
};

struct Evaluation {
  double loss = 0;
  double accuracy = 0;  // NaN for losses without accuracy (MSE)
  int64_t samples = 0;
  int64_t correct = 0, judged = 0;
};

class Trainer {
 public:
  Trainer(const Graph& graph, const TrainerConfig& config);
  ~Trainer();

  StepResult step(const HostView& inputs, const HostView& targets);
  Evaluation evaluate(const HostView& inputs, const HostView& targets);
  // Over a whole dataset in batches; the mean loss is over all samples.
  Evaluation evaluate(const Dataset& dataset, int64_t batch_size);
  void predict(const HostView& inputs, bool probabilities, const HostView& out);

  const Plan& plan() const { return *plan_; }
  Backend& backend() { return *backend_; }
  const TrainerConfig& config() const { return config_; }
  int64_t optimizer_steps() const { return optimizer_steps_; }
  int64_t micro_steps() const { return micro_steps_; }
  int64_t skipped_steps() const { return skipped_steps_; }
  double current_learning_rate() const;
  double last_grad_norm() const { return last_grad_norm_; }

  // Parameters by tensor, converted from/to caller memory (any float dtype).
  void get_parameter(size_t index, const HostView& out) const;
  void set_parameter(size_t index, const HostView& in);
  // Device buffers, for tests and checkpoints.
  const Tensor& flat_params() const { return params_; }
  Optimizer& optimizer() { return *optimizer_; }

 private:
  // The gradient the optimizer sees: grads_, or the running sum when accumulating.
  const void* update_grads() const;

  TrainerConfig config_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Plan> plan_;
  Tensor params_, grads_, accumulated_;
  std::unique_ptr<Optimizer> optimizer_;
  int64_t optimizer_steps_ = 0;
  int64_t micro_steps_ = 0;      // accepted micro-batches, also the dropout stream
  int64_t skipped_steps_ = 0;
  int accumulated_count_ = 0;    // micro-batches in accumulated_ so far
  double last_grad_norm_ = 0;
};

}  // namespace tk
