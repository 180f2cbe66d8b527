// Trainer: a compiled plan plus the flat parameter, gradient and optimizer
// buffers it owns, and the counters of a run. step() is all-or-nothing: on any
// error it throws with weights, optimizer state and counters unchanged.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/amp/loss_scaler.h"
#include "core/amp/precision.h"
#include "core/api/gradient_exchange.h"
#include "core/api/param_groups.h"
#include "core/backend/backend.h"
#include "core/backend/buffer.h"
#include "core/backend/device.h"
#include "core/backend/tensor.h"
#include "core/base/input_views.h"
#include "core/data/dataset.h"
#include "core/dist/communicator.h"
#include "core/graph/plan.h"
#include "core/optim/guarded_update.h"
#include "core/optim/optimizer.h"
#include "core/optim/schedule.h"
#include "core/optim/update_shard.h"

namespace tk {

// Values mirror tk_nonfinite in capi/trainkit.h.
enum class NonFinitePolicy : int32_t {
  kError = 0,  // the step fails with kNonFinite and changes nothing
  kSkip = 1,   // the batch is dropped, counted in skipped_steps()
};

// Values mirror tk_loss_scaling in capi/trainkit.h.
enum class LossScaling : int32_t {
  kAuto = 0,     // dynamic for fp16, off for bf16 and fp32
  kDynamic = 1,
  kOff = 2,
};

// Where a step's decision (apply or skip, loss scale, clip, learning rate) is
// made. On the device, a step needs no wait for the device, so steps can be
// queued back to back and recorded once as a CUDA graph.
enum class StepDecision : int32_t {
  kAuto = 0,    // on the device where the backend records steps (CUDA) and the step allows it
  kHost = 1,
  kDevice = 2,  // on the device wherever the step allows it (tests run it on the CPU)
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
  int device = kDeviceCpu;  // kDeviceCpu, kDeviceAuto or a CUDA index (core/backend/device.h)
  NonFinitePolicy nonfinite = NonFinitePolicy::kError;
  DType compute_dtype = DType::kF32;  // master weights (f64 for gradient checks)
  Precision precision = Precision::kFp32;
  LossScaling loss_scaling = LossScaling::kAuto;
  LossScalerConfig scaler;  // `enabled` is derived from loss_scaling
  int64_t batch_hint = 0;    // rows to plan for up front (0: first batch decides)
  size_t bucket_bytes = 25u << 20;  // gradient all-reduce bucket (data parallel)
  size_t memory_limit = 0;   // bytes the backend may hold (0: no limit)
  StepDecision step_decision = StepDecision::kAuto;
  bool record_steps = true;  // replay recorded steps (CUDA graphs) where the backend offers it
  // Data parallel: batch norm normalizes over every replica's rows (sync
  // batch norm) instead of each replica's own. CPU replicas only, for now.
  bool sync_batch_norm = false;
  // Data parallel on CPU threads: each replica updates its share of the
  // weights and moments, and the replicas exchange the updated weights,
  // instead of each running the whole update (ZeRO stage 1 in one process).
  bool shard_update = true;
  // Weight decay on biases and normalization parameters too (off: they get
  // none unless a parameter group gives them one).
  bool decay_bias_and_norm = false;
};

constexpr int kMaxThreads = 1024;
constexpr int64_t kMaxBatchRows = int64_t{1} << 40;

void validate(const TrainerConfig& config);

struct StepResult {
  double loss = 0;
  bool applied = false;  // the optimizer ran (last micro-batch of an accumulation)
  bool skipped = false;  // dropped: non-finite under loss scaling or NonFinitePolicy::kSkip
  double loss_scale = 1;  // the scale this step's backward used
  double learning_rate = 0;  // of the update, when applied
  double grad_norm = 0;      // unscaled global norm, when applied
  // With set_count_correct: the training forward's right predictions and
  // how many it judged (0 for losses without accuracy); -1 when not counted
  // (off, or a step decided on the device).
  int64_t correct = -1, judged = 0;
};

// Everything that changes while training, copied to the host: what a
// checkpoint holds. Buffers are per parameter tensor, in plan order, as raw
// bytes of the master dtype.
struct TrainerSnapshot {
  int64_t optimizer_steps = 0;
  int64_t micro_steps = 0;
  int64_t skipped_steps = 0;
  int accumulated_count = 0;
  float loss_scale = 1;
  int64_t growth_tracker = 0;
  uint64_t seed = 0;
  double last_grad_norm = 0;
  // The base learning rate (the schedule's peak), which set_learning_rate
  // may have changed; NaN in a snapshot from before it was kept: restore()
  // then keeps the trainer's own.
  double learning_rate = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::vector<uint8_t>> params;
  std::vector<std::vector<uint8_t>> state;  // per Plan::states() tensor (running statistics)
  // By state name, per parameter tensor; a tensor's entry is empty where it
  // had no moments (frozen), and restores as fresh moments if it trains.
  std::map<std::string, std::vector<std::vector<uint8_t>>> optimizer_state;
  // Per parameter tensor: the optimizer step its moments began at (empty: all 0).
  std::vector<int64_t> moments_since;
  std::vector<std::vector<uint8_t>> accumulated;  // empty unless accumulated_count > 0; empty entries as above
  std::map<std::string, std::string> properties;
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

  StepResult step(const InputViews& inputs, const HostView& targets);
  // Steps also count their training forward's right predictions (the
  // training accuracy a fit reports); steps decided on the device do not.
  void set_count_correct(bool on) { count_correct_ = on; }
  // step() without waiting for the device, where steps are decided on the
  // device (decides_on_device()); elsewhere the same as step(). The views
  // may be reused as soon as it returns. wait() returns the last queued
  // step's result; an error of a queued step (a non-finite loss under
  // NonFinitePolicy::kError) is thrown by wait() (or by the next step_async,
  // where a call in between waited for the steps), and that step and any
  // queued after it changed nothing.
  void step_async(const InputViews& inputs, const HostView& targets);
  StepResult wait();
  // Whether steps are decided on the device (see StepDecision): no data-parallel
  // group, no gradient accumulation, f32 master weights, no dropout.
  bool decides_on_device() const;
  // Steps replayed from a recording so far (CUDA graphs).
  int64_t replayed_steps() const { return replayed_steps_; }
  // With `outputs`, the same forward also writes the batch's logits there
  // (checked as predict() checks them).
  Evaluation evaluate(const InputViews& inputs, const HostView& targets, const HostView* outputs = nullptr);
  // Over a whole dataset in batches; the mean loss is over all samples.
  // `cancel`, when set (from any thread), ends it between batches with kCancelled.
  Evaluation evaluate(const Dataset& dataset, int64_t batch_size, const std::atomic<bool>* cancel = nullptr);
  void predict(const InputViews& inputs, bool probabilities, const HostView& out);
  // Outputs 0 .. outs.size() - 1 of one forward (the loss's output first,
  // then the model's other named outputs); probabilities apply to the first.
  void predict_outputs(const InputViews& inputs, bool probabilities, const std::vector<HostView>& outs);

  const Plan& plan() const { return *plan_; }
  Backend& backend() { return *backend_; }
  const TrainerConfig& config() const { return config_; }
  // Counters and the scaler's state; each waits for queued steps first.
  int64_t optimizer_steps() { return (wait_for_queued_steps(), optimizer_steps_); }
  int64_t micro_steps() { return (wait_for_queued_steps(), micro_steps_); }
  int64_t skipped_steps() { return (wait_for_queued_steps(), skipped_steps_); }
  double current_learning_rate();
  // Sets the base learning rate (what the schedule scales) of a running
  // trainer, from the next step on; finite and >= 0.
  void set_learning_rate(double learning_rate);
  double base_learning_rate() const { return config_.optimizer.learning_rate; }
  double last_grad_norm() { return (wait_for_queued_steps(), last_grad_norm_); }
  const LossScaler& loss_scaler() { return (wait_for_queued_steps(), scaler_); }
  const PrecisionPolicy& precision_policy() const { return policy_; }

  // Freezing and parameter groups, by tensor-name pattern (match_parameters);
  // each returns how many tensors matched and throws, changing nothing, when
  // none do. A frozen tensor gets no gradient and keeps no optimizer moments;
  // unfrozen, it starts with fresh moments (Adam's bias correction counted
  // from then). Refused inside a gradient accumulation window. With every
  // tensor frozen, steps fail (kInvalidArgument) until one is unfrozen. In
  // a data-parallel group every replica must make the same calls.
  int64_t set_frozen(const std::string& pattern, bool frozen);
  // A factor on the scheduled learning rate and a weight decay (unset: the
  // default, see TrainerConfig::decay_bias_and_norm) for the matching tensors.
  int64_t set_param_group(const std::string& pattern, double lr_scale, std::optional<double> weight_decay);
  const TensorSettings& tensor_settings(size_t index) const;
  // The weight decay tensor `index` trains with.
  double weight_decay_of(size_t index) const;
  // Bytes of device memory the trainer holds now (weights, gradients,
  // optimizer state, activations, scratch).
  size_t memory_bytes() const { return backend_->bytes_in_use(); }

  // Parameters by tensor, converted from/to caller memory (any float dtype).
  void get_parameter(size_t index, const HostView& out) const;
  void set_parameter(size_t index, const HostView& in);
  // Non-trainable state tensors (Plan::states()), likewise.
  void get_state(size_t index, const HostView& out) const;
  void set_state(size_t index, const HostView& in);
  // Joins a data-parallel group: this replica's weights are replaced by
  // rank 0's, and from now on every step averages gradients across the group
  // (each replica feeds its own shard; the loss is the global mean).
  void join(Communicator* communicator);
  Communicator* communicator() const { return exchange_->communicator(); }
  // Joined, with replicas that share memory (a LocalGroup's): from now on
  // this replica updates only its share of the weights and moments and the
  // replicas exchange the weights (UpdateShard), so the moments outside its
  // share go stale. `before_state_read` runs before they are read whole
  // (snapshot, a change of the frozen set) while they are stale: it must run
  // gather_optimizer_state() on every replica at once.
  void shard_update(std::function<void()> before_state_read);
  bool optimizer_state_stale() const { return state_stale_; }
  // A collective: every replica's share of the moments to every replica.
  void gather_optimizer_state();
  // Gradient buckets whose all-reduce started while backward was still
  // running (since construction): the overlap of communication and compute.
  int64_t overlapped_buckets() const { return exchange_->overlapped_buckets(); }

  TrainerSnapshot snapshot();
  // Replaces all of the state at once; throws (changing nothing) if the
  // snapshot does not fit this trainer.
  void restore(const TrainerSnapshot& snapshot);
  // User key/value pairs, saved with checkpoints.
  std::map<std::string, std::string>& properties() { return properties_; }

  // Device buffers, for tests and checkpoints.
  const Tensor& flat_params() const { return params_; }
  const Tensor& flat_state() const { return state_; }
  // Its moments are whole only where optimizer_state_stale() is false.
  Optimizer& optimizer() { return *optimizer_; }

 private:
  // What a step's decision reads: the loss, the gradients' sum of squares,
  // and whether both are finite (agreed across replicas, when joined).
  struct StepSums {
    double loss = 0;
    double grad_sum_squares = 0;
    bool finite = true;
    int64_t correct = -1, judged = 0;  // when counting
  };
  // After a training forward: its predictions counted, when asked.
  void count_predictions(StepSums* sums) const;

  // The half copy of the weights that half-precision ops read (null if not mixed).
  const void* half_params() const { return policy_.mixed() ? half_params_.data() : nullptr; }
  // The largest weight the trainer holds (f16's, when the matrix products
  // read an f16 copy), and where that limit comes from, for messages.
  double weight_limit() const;
  const char* weight_storage() const;
  bool half_copy_is_f16() const { return policy_.mixed() && policy_.activation == DType::kF16; }
  // The same copy, as the optimizer's update writes it.
  HalfCopy half_copy() { return policy_.mixed() ? HalfCopy{half_params_.data(), policy_.activation} : HalfCopy{}; }
  void refresh_half_params();
  // Adopts new per-tensor settings: a new gradient layout when the frozen
  // set changed (moments of tensors that stay trainable are kept), new
  // update runs otherwise. All-or-nothing.
  void apply_settings(const std::vector<TensorSettings>& next);
  // With a sharded update, this replica's share of `layout` (may throw);
  // installing it in the optimizer and the guard does not.
  std::optional<UpdateShard> shard_for(const UpdateLayout& layout) const;
  void install_shard(std::optional<UpdateShard> shard);
  void read_state_whole() {
    if (state_stale_ && before_state_read_) before_state_read_();
  }
  UpdateLayout update_layout_for(const std::vector<TensorSettings>& settings) const {
    return update_layout(*plan_, settings, config_.optimizer, config_.decay_bias_and_norm);
  }

  // Steps decided on the host. load_batch returns this replica's share of
  // the global mean (1 alone).
  double load_batch(const InputViews& inputs, const HostView& targets);
  StepSums forward_backward(uint64_t stream, double loss_grad_scale);
  StepSums forward_backward_exchanged(uint64_t stream, double loss_grad_scale, double share, bool last_micro_batch);
  // Backward into grads_, plus the accumulation window's running sum.
  void backward_into_grads(uint64_t stream);
  // The same, with each gradient bucket's sum across replicas started as
  // soon as backward has finished it. With `finite_loss` false NaN buckets
  // are summed; backward runs only with `run_backward` (sync batch norm
  // runs it whatever the loss, for its own collectives).
  void backward_exchanging(bool finite_loss, bool run_backward, uint64_t stream);
  // Sum of squares of grads_ (the norm's square) and whether all are finite.
  bool gradients_finite(double* sum_squares);
  // The same over gradients summed across the group, each replica squaring
  // its share where the update is sharded.
  bool summed_gradients_finite(double* sum_squares);
  // Whether grads_ are all finite, given their sum of squares.
  bool gradients_finite_given(double sum_squares);
  // The decided step takes effect: running statistics, the accumulation
  // window, and the counters.
  void commit(const StepControl& decision);

  // The run's counters and loss scale in the form a decision takes, and
  // back: both paths decide on a StepControl and adopt its outcome.
  StepControl counters() const;
  void adopt(const StepControl& decision);

  // Steps decided on the device: queue one (replaying or making the
  // recording when it fits), the step itself, and the control's upkeep.
  void queue_device_step(const InputViews& inputs, const HostView& targets);
  void run_device_step(const StepRules& rules);
  StepControl* control() const { return static_cast<StepControl*>(control_.data()); }
  // Writes the host's counters and scaler into the device control.
  void upload_control();
  // Waits for queued device steps and adopts their outcome; a failed step's
  // error is kept for the next call that queues or waits.
  void wait_for_queued_steps();
  void throw_pending_error();

  TrainerConfig config_;
  PrecisionPolicy policy_;
  LossScaler scaler_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Plan> plan_;
  Tensor params_, half_params_;
  // Non-trainable state; a training forward writes next_state_, and the two
  // swap when the step commits (empty when the model has none).
  Tensor state_, next_state_;
  Tensor grads_;        // this micro-batch's gradients, plus the window's sum so far
  Tensor accumulated_;  // the window's sum after each committed micro-batch
  std::vector<TensorSettings> tensor_settings_;  // per Plan::params() tensor
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<GuardedUpdate> guard_;  // refuses updates that would leave non-finite weights
  // Counters, as of the last step this host has adopted.
  int64_t optimizer_steps_ = 0;
  int64_t micro_steps_ = 0;      // accepted micro-batches, also the dropout stream
  int64_t skipped_steps_ = 0;
  int accumulated_count_ = 0;    // micro-batches in accumulated_ so far
  double last_grad_norm_ = 0;
  std::map<std::string, std::string> properties_;
  // Data parallel: made once and kept while the trainer lives, joined or
  // not, so a peer late in a collective still finds its buffers.
  std::unique_ptr<GradientExchange> exchange_;
  // A sharded update (shard_update): on, and whether an update ran since the
  // moments were last whole.
  bool sharded_ = false;
  bool state_stale_ = false;
  std::function<void()> before_state_read_;
  std::pair<int64_t, int64_t> shard_grads_;  // the gradient elements this replica updates

  // The decision's rules; on the host a step's loss_sum is its loss (divisor 1).
  StepRules rules_;
  StepResult last_result_;  // of the last step, host-decided or adopted from the device

  // Steps decided on the device.
  Buffer control_;  // one StepControl
  bool count_correct_ = false;      // see set_count_correct
  bool queued_ = false;             // device steps queued since the last wait_for_queued_steps()
  double queued_loss_divisor_ = 1;  // the last queued step's (its batch's mean count)
  std::string pending_error_;       // a queued step's failure, not yet thrown
  std::unique_ptr<Recording> recording_;
  struct RecordingKey {
    int64_t rows = -1, reserved = -1;
    uint64_t generation = 0;
    bool operator==(const RecordingKey& o) const {
      return rows == o.rows && reserved == o.reserved && generation == o.generation;
    }
  } recorded_for_;
  bool recording_failed_ = false;  // the backend could not record this step: run it directly
  int64_t previous_rows_ = -1;     // the last device step's batch (a recording is made on a repeat)
  int64_t replayed_steps_ = 0;
};

}  // namespace tk
