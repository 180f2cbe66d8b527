// Optimizers over one flat parameter buffer. Each owns its state buffers (the
// gradients' layout, which leaves frozen tensors out) and updates each run of
// tensors that share their settings in one fused backend pass.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/backend/tensor.h"
#include "core/optim/optim_kernels.h"

namespace tk {

// Values mirror tk_optimizer in capi/trainkit.h.
enum class OptimizerKind : int32_t { kSgd = 0, kAdam = 1, kAdamW = 2 };

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::kSgd;
  double learning_rate = 0.01;
  double momentum = 0.0;  // SGD
  bool nesterov = false;  // SGD
  // L2 for SGD and Adam, decoupled for AdamW. Unset: 0, or 0.01 for AdamW.
  std::optional<double> weight_decay;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // Adam, AdamW
};

// Throws kInvalidArgument naming the first bad field.
void validate(const OptimizerConfig& config);
double effective_weight_decay(const OptimizerConfig& config);

// One stretch of the update: adjacent tensors that share their settings,
// contiguous in the parameters and in the gradients.
struct UpdateRun {
  int64_t param_offset = 0;  // elements into the flat parameters (and their half copy)
  int64_t grad_offset = 0;   // elements into the gradients and each state buffer
  int64_t count = 0;
  double lr_scale = 1;  // times the scheduled learning rate
  double weight_decay = 0;
  // Optimizer steps taken before these tensors' moments began (they were
  // frozen): Adam's bias correction and SGD's first step count from there,
  // as PyTorch's per-parameter state does.
  int64_t first_step = 0;
  bool operator==(const UpdateRun& o) const {
    return param_offset == o.param_offset && grad_offset == o.grad_offset && count == o.count &&
           lr_scale == o.lr_scale && weight_decay == o.weight_decay && first_step == o.first_step;
  }
};

struct UpdateLayout {
  std::vector<UpdateRun> runs;
  int64_t grad_count = 0;  // elements of the gradients and of each state buffer
  // One run over all `count` elements.
  static UpdateLayout whole(int64_t count, double weight_decay);
  // One run with the scheduled rate from step 0 over gradients laid out as
  // the parameters: what a step decided on the device can run.
  bool uniform() const;
  // The largest rate factor and decay, and the fewest steps any run's moments
  // have taken by 1-based step `step`: what bounds every run's update.
  double max_lr_scale() const;
  double max_weight_decay() const;
  int64_t min_run_step(int64_t step) const;
};

struct OptimizerState {
  std::string name;  // "momentum", "exp_avg", "exp_avg_sq"
  Tensor* tensor;    // the gradients' layout (UpdateLayout::grad_count elements)
};

// Upper bounds of the magnitudes of the weights' and of each state buffer's
// elements (state() order), and of the largest intermediate an update forms;
// infinite where unknown. GuardedUpdate carries them from step to step.
struct MagnitudeBounds {
  double params = INFINITY;
  std::vector<double> state;
  double intermediate = 0;
  double state_bound(size_t i) const { return i < state.size() ? state[i] : INFINITY; }
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update with learning rate lr; grads are multiplied by grad_scale
  // first. The updated weights also go to `half`, if set (mixed precision).
  void step(void* params, const void* grads, double grad_scale, double lr, const HalfCopy& half = {}) {
    update(params, grads, UpdateStep{grad_scale, lr, steps_ + 1, nullptr}, half);
    ++steps_;
  }
  // The update of a step decided on the device: it reads the values from
  // `control` and does nothing unless that step was applied. The step count
  // is the device's (set_steps() brings this one up to date).
  void step_decided_on_device(void* params, const void* grads, const StepControl* control,
                              const HalfCopy& half = {}) {
    update(params, grads, UpdateStep{0, 0, 0, control}, half);
  }
  virtual std::vector<OptimizerState> state() = 0;
  // The bounds after one update at learning rate lr and 1-based step `step`,
  // from the bounds before and a bound on every gradient's magnitude (after
  // grad_scale), by the update's own arithmetic in real numbers.
  virtual MagnitudeBounds bounds_after(const MagnitudeBounds& now, double grad_bound, double lr,
                                       int64_t step) const = 0;
  int64_t steps() const { return steps_; }
  void set_steps(int64_t steps) { steps_ = steps; }  // restoring a checkpoint
  const UpdateLayout& layout() const { return layout_; }
  // New rate factors and decays over the same gradient layout.
  void set_layout(const UpdateLayout& layout);
  // Updates only gradient elements [begin, end) and the weights and moments
  // they belong to: this replica's share of an update split over a group
  // (UpdateShard). The whole layout until set.
  void set_shard(int64_t begin, int64_t end);

 protected:
  explicit Optimizer(const UpdateLayout& layout, DType dtype) : layout_(layout), dtype_(dtype) {}
  // One fused pass over `run`, its buffers already offset to the run.
  virtual void update_run(void* params, const void* grads, const std::vector<void*>& state, const UpdateRun& run,
                          const UpdateStep& step, const HalfCopy& half) = 0;
  UpdateLayout layout_;
  DType dtype_;

 private:
  void update(void* params, const void* grads, const UpdateStep& step, const HalfCopy& half);
  int64_t steps_ = 0;
  int64_t shard_begin_ = 0, shard_end_ = INT64_MAX;
};

std::unique_ptr<Optimizer> make_sgd(const OptimizerConfig& config, Backend* backend, DType dtype,
                                    const UpdateLayout& layout);  // sgd.cc
std::unique_ptr<Optimizer> make_adam(const OptimizerConfig& config, Backend* backend, DType dtype,
                                     const UpdateLayout& layout);  // adam.cc (Adam and AdamW)
// Over `layout` (optimizer.cc); over `count` elements with the config's decay.
std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config, Backend* backend, DType dtype,
                                          const UpdateLayout& layout);
std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config, Backend* backend, DType dtype,
                                          int64_t count);

}  // namespace tk
