#include "core/api/trainer.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <exception>
#include <functional>
#include <string>

#include "core/base/error.h"
#include "core/base/half.h"
#include "core/base/host_view.h"
#include "core/kernels/elementwise_kernels.h"
#include "core/kernels/reduce_kernels.h"
#include "core/optim/optim_kernels.h"
#include "core/optim/update_shard.h"

namespace tk {

void validate(const TrainerConfig& c) {
  validate(c.optimizer);
  validate(c.schedule);
  if (!(std::isfinite(c.clip_norm) && c.clip_norm >= 0))
    fail(ErrorCode::kInvalidArgument, "clip norm must be finite and >= 0, got ", c.clip_norm);
  if (c.accumulation_steps < 1)
    fail(ErrorCode::kInvalidArgument, "accumulation steps must be >= 1, got ", c.accumulation_steps);
  if (c.device < kDeviceAuto || c.device > 1023)
    fail(ErrorCode::kInvalidArgument, "device must be -2 (auto), -1 (CPU) or a GPU index, got ", c.device);
  if (c.threads < 0 || c.threads > kMaxThreads)
    fail(ErrorCode::kInvalidArgument, "threads must be in [0, ", kMaxThreads, "], got ", c.threads);
  if (c.batch_hint < 0 || c.batch_hint > kMaxBatchRows)
    fail(ErrorCode::kInvalidArgument, "batch hint must be in [0, ", kMaxBatchRows, "], got ", c.batch_hint);
  if (c.reduction != Reduction::kMean && c.reduction != Reduction::kSum)
    fail(ErrorCode::kInvalidArgument, "unknown reduction ", static_cast<int>(c.reduction));
  if (c.nonfinite != NonFinitePolicy::kError && c.nonfinite != NonFinitePolicy::kSkip)
    fail(ErrorCode::kInvalidArgument, "unknown non-finite policy ", static_cast<int>(c.nonfinite));
  if (c.loss_scaling != LossScaling::kAuto && c.loss_scaling != LossScaling::kDynamic &&
      c.loss_scaling != LossScaling::kOff)
    fail(ErrorCode::kInvalidArgument, "unknown loss scaling mode ", static_cast<int>(c.loss_scaling));
  if (c.step_decision != StepDecision::kAuto && c.step_decision != StepDecision::kHost &&
      c.step_decision != StepDecision::kDevice)
    fail(ErrorCode::kInvalidArgument, "unknown step decision ", static_cast<int>(c.step_decision));
  validate(c.scaler);
  make_precision_policy(c.precision, c.compute_dtype);  // rejects unknown or f64 mixed precision
}

namespace {

LossScalerConfig resolve_scaler(const TrainerConfig& c) {
  LossScalerConfig scaler = c.scaler;
  scaler.enabled = c.loss_scaling == LossScaling::kDynamic ||
                   (c.loss_scaling == LossScaling::kAuto && c.precision == Precision::kFp16);
  return scaler;
}

// What a non-finite step's error says first.
const char* nonfinite_cause(double loss) {
  return std::isfinite(loss) ? "a gradient is not finite" : "the loss is not finite";
}

// What a decided step reports.
StepResult result_of(const StepControl& c, double loss) {
  StepResult r;
  r.loss = loss;
  r.applied = c.applied != 0;
  r.skipped = !c.accepted && !c.halted;
  r.loss_scale = c.used_scale;
  r.learning_rate = c.applied ? c.learning_rate : 0.0;
  r.grad_norm = c.applied ? c.grad_norm : 0.0;
  return r;
}

}  // namespace

Trainer::Trainer(const Graph& graph, const TrainerConfig& config)
    : config_((validate(config), config)),  // validated before anything is derived from it
      policy_(make_precision_policy(config.precision, config.compute_dtype)),
      scaler_(resolve_scaler(config)) {
  backend_ = make_backend(config.device, config.threads);
  backend_->set_memory_limit(config.memory_limit);
  plan_ = std::make_unique<Plan>(graph, config.loss, config.reduction, backend_.get(), policy_);
  const Shape flat = {plan_->flat_param_count()}, flat_grads = {plan_->flat_grad_count()};
  params_ = Tensor(backend_.get(), config.compute_dtype, flat);
  grads_ = Tensor(backend_.get(), config.compute_dtype, flat_grads);
  if (config.accumulation_steps > 1) accumulated_ = Tensor(backend_.get(), config.compute_dtype, flat_grads);
  if (policy_.mixed()) half_params_ = Tensor(backend_.get(), policy_.activation, flat);
  tensor_settings_.assign(plan_->params().size(), TensorSettings{});
  optimizer_ = make_optimizer(config.optimizer, backend_.get(), config.compute_dtype, update_layout_for(tensor_settings_));
  guard_ = std::make_unique<GuardedUpdate>(backend_.get(), config.compute_dtype, plan_->flat_param_count(),
                                           plan_->flat_grad_count());
  plan_->init_params(params_.data(), config.seed);
  if (plan_->flat_state_count() > 0) {
    state_ = Tensor(backend_.get(), config.compute_dtype, {plan_->flat_state_count()});
    next_state_ = Tensor(backend_.get(), config.compute_dtype, {plan_->flat_state_count()});
    plan_->init_state(state_.data());
    plan_->init_state(next_state_.data());
  }
  refresh_half_params();
  if (config.batch_hint > 0) plan_->reserve(config.batch_hint);
  rules_.scaler = scaler_.rules();
  rules_.skip_nonfinite = config.nonfinite == NonFinitePolicy::kSkip;
  rules_.clip_norm = config.clip_norm;
  rules_.schedule = schedule_rules(config.schedule, config.optimizer.learning_rate);
  rules_.accumulation_steps = config.accumulation_steps;
  exchange_ = std::make_unique<GradientExchange>(backend_.get(), config.compute_dtype, plan_->flat_grad_count(),
                                                 config.bucket_bytes);
  control_ = Buffer(backend_.get(), sizeof(StepControl));
  upload_control();
}

Trainer::~Trainer() {
  // Buffers must go before the backend that allocated them.
  recording_.reset();
  control_ = Buffer();
  optimizer_.reset();
  params_ = Tensor();
  grads_ = Tensor();
  accumulated_ = Tensor();
  half_params_ = Tensor();
  state_ = Tensor();
  next_state_ = Tensor();
  plan_.reset();
}

void Trainer::refresh_half_params() {
  if (policy_.mixed())
    kernels::convert(*backend_, policy_.master, policy_.activation, plan_->flat_param_count(), params_.data(), half_params_.data());
}

namespace {

void require_trainable(const Plan& plan) {
  if (plan.flat_grad_count() == 0)
    fail(ErrorCode::kInvalidArgument, "every parameter is frozen: unfreeze one to train");
}

}  // namespace

StepResult Trainer::step(const InputViews& inputs, const HostView& targets) {
  require_trainable(*plan_);
  if (decides_on_device()) {
    queue_device_step(inputs, targets);
    return wait();
  }
  // Until the commit at the end, nothing that outlives this call is written.
  const double share = load_batch(inputs, targets);
  StepControl decision = counters();
  // Replicas draw different dropout masks: the stream includes the rank.
  const uint64_t stream =
      static_cast<uint64_t>(decision.micro_steps) ^ (static_cast<uint64_t>(exchange_->rank()) << 48);
  const double loss_grad_scale = decision.loss_scale * share / config_.accumulation_steps;
  const bool last_micro_batch = decision.accumulated_count + 1 == config_.accumulation_steps;
  const StepSums sums = exchange_->joined()
                            ? forward_backward_exchanged(stream, loss_grad_scale, share, last_micro_batch)
                            : forward_backward(stream, loss_grad_scale);
  decision.loss_sum = sums.loss;
  decision.grad_sum_squares = sums.grad_sum_squares;
  decide_step(decision, rules_, sums.finite);
  if (decision.halted)
    fail(ErrorCode::kNonFinite, nonfinite_cause(sums.loss), " (loss ", sums.loss, "); the step was not applied");
  // Gradients carry the loss scale; the optimizer pass divides it out. An
  // update that would leave a weight or a moment non-finite is refused, and
  // the step is decided again as a non-finite one (skipped or halted).
  if (decision.applied) {
    const double grad_bound = decision.update_grad_scale * std::sqrt(decision.grad_sum_squares);
    // Stale from here, whatever happens: a collective of the sharded update
    // that fails leaves this replica's share updated and the others' not.
    state_stale_ = state_stale_ || sharded_;
    const bool updated = guard_->apply(*optimizer_, params_.data(), grads_.data(), decision.update_grad_scale,
                                       grad_bound, decision.learning_rate, half_copy());
    if (!updated) {
      refresh_half_params();
      const double learning_rate = decision.learning_rate;
      decision = counters();
      decision.loss_sum = sums.loss;
      decision.grad_sum_squares = sums.grad_sum_squares;
      decide_step(decision, rules_, false);
      if (decision.halted)
        fail(ErrorCode::kNonFinite, "the update at learning rate ", learning_rate,
             " would make weights or optimizer moments non-finite; the step was not applied");
    }
  }
  commit(decision);
  last_result_ = result_of(decision, sums.loss);
  last_result_.correct = sums.correct;
  last_result_.judged = sums.judged;
  return last_result_;
}

double Trainer::load_batch(const InputViews& inputs, const HostView& targets) {
  // Joined to a group, a replica that fails here still tells its peers, so
  // that every replica fails the step together instead of waiting.
  std::exception_ptr local_error;
  try {
    plan_->check_batch(inputs, &targets);
    plan_->reserve(inputs.rows());
    plan_->load_batch(inputs, &targets);
  } catch (...) {
    if (!exchange_->joined()) throw;
    local_error = std::current_exception();
  }
  if (!exchange_->joined()) return 1.0;
  return exchange_->agree_on_batch(local_error ? 0 : inputs.rows(), local_error,
                                   config_.reduction == Reduction::kMean);
}

// Alone, a step waits for the device once: the loss and the gradients' sum
// of squares are read together at the end. Backward runs even when the loss
// turns out not finite; only the commit depends on it.
Trainer::StepSums Trainer::forward_backward(uint64_t stream, double loss_grad_scale) {
  backend_->clear_queued();
  const int loss_ticket = plan_->forward_queued(params_.data(), true, config_.seed, stream, loss_grad_scale,
                                                half_params(), state_.data(), next_state_.data());
  StepSums sums;
  count_predictions(&sums);  // before backward reuses the outputs' memory
  backward_into_grads(stream);
  const int grad_ticket = kernels::queue_sum_squares(*backend_, config_.compute_dtype, plan_->flat_grad_count(), grads_.data());
  const std::vector<double> queued = backend_->read_queued();
  sums.loss = plan_->loss_from(queued.at(static_cast<size_t>(loss_ticket)));
  sums.grad_sum_squares = queued.at(static_cast<size_t>(grad_ticket));
  sums.finite = std::isfinite(sums.loss) && gradients_finite_given(sums.grad_sum_squares);
  return sums;
}

void Trainer::count_predictions(StepSums* sums) const {
  if (!count_correct_) return;
  sums->judged = plan_->predictions_per_batch();
  sums->correct = sums->judged ? plan_->count_correct() : 0;
}

// Joined to a group, the last micro-batch's gradients are summed across
// replicas, and every micro-batch ends with the replicas agreeing on the loss
// and on finiteness, so that all of them decide the same.
Trainer::StepSums Trainer::forward_backward_exchanged(uint64_t stream, double loss_grad_scale, double share,
                                                      bool last_micro_batch) {
  StepSums sums;
  sums.loss = plan_->forward(params_.data(), true, config_.seed, stream, loss_grad_scale, half_params(), state_.data(),
                             next_state_.data());
  count_predictions(&sums);
  bool finite = std::isfinite(sums.loss);
  // Sync batch norm's backward sums across replicas: every replica runs
  // backward, whatever its own loss, so all make the same collectives (a
  // non-finite loss is still agreed on below, and the step skipped).
  const bool run_backward = finite || plan_->shares_batch_statistics();
  if (last_micro_batch) {
    backward_exchanging(finite, run_backward, stream);
    // A communicator summing in place (NCCL, or over a CPU backend's host
    // memory) is changing the gradients by now: only the check after the
    // sum, below, may read them.
    if (finite && exchange_->gradients_readable_while_summing()) finite = gradients_finite(&sums.grad_sum_squares);
  } else if (run_backward) {
    backward_into_grads(stream);
    const bool gradients_ok = gradients_finite(&sums.grad_sum_squares);
    finite = finite && gradients_ok;
  }
  finite = exchange_->agree_on_loss(&sums.loss, share, finite);
  if (last_micro_batch) {
    exchange_->end_sum(/*keep=*/finite);
    // The summed gradients are the same on every replica, and so is this.
    if (finite) finite = summed_gradients_finite(&sums.grad_sum_squares);
  }
  sums.finite = finite;
  return sums;
}

void Trainer::backward_into_grads(uint64_t stream) {
  plan_->backward(params_.data(), grads_.data(), config_.seed, stream, half_params());
  // grads_ becomes the running sum of the accumulation window, so the check
  // that follows covers the sum too (two large finite halves can add up to Inf).
  if (accumulated_count_ > 0)
    kernels::axpy(*backend_, config_.compute_dtype, plan_->flat_grad_count(), 1.0, accumulated_.data(), grads_.data(), true);
}

void Trainer::backward_exchanging(bool finite_loss, bool run_backward, uint64_t stream) {
  exchange_->begin_sum(grads_.data(), accumulated_count_ > 0 ? accumulated_.data() : nullptr, finite_loss);
  if (run_backward) {
    const std::function<void(int)> after_op = [&](int node) {
      const int64_t first = plan_->first_grad_offset(node);
      if (first >= 0) exchange_->backward_reached(first);
    };
    plan_->backward(params_.data(), grads_.data(), config_.seed, stream, half_params(), &after_op);
  }
  exchange_->backward_done();
}

bool Trainer::gradients_finite(double* sum_squares) {
  *sum_squares = kernels::sum_squares(*backend_, config_.compute_dtype, plan_->flat_grad_count(), grads_.data());
  return gradients_finite_given(*sum_squares);
}

bool Trainer::summed_gradients_finite(double* sum_squares) {
  if (!sharded_) return gradients_finite(sum_squares);
  // Each replica squares the slice it updates; the replicas add them up.
  const auto [begin, end] = shard_grads_;
  *sum_squares = kernels::sum_squares(*backend_, config_.compute_dtype, end - begin, grads_.element(begin));
  exchange_->sum_across(sum_squares, 1);
  return gradients_finite_given(*sum_squares);
}

bool Trainer::gradients_finite_given(double sum_squares) {
  // A finite sum of squares proves every gradient finite in one pass; only
  // when it is not (Inf/NaN, or a huge f64 square) look element by element.
  return std::isfinite(sum_squares) ||
         kernels::all_finite(*backend_, config_.compute_dtype, plan_->flat_grad_count(), grads_.data());
}

void Trainer::commit(const StepControl& decision) {
  if (decision.accepted) {
    // Adopt the running statistics this forward wrote; short of the window's
    // end, keep the running sum of its gradients.
    std::swap(state_, next_state_);
    if (!decision.applied) backend_->copy(accumulated_.data(), grads_.data(), grads_.bytes());
  }
  adopt(decision);
}

StepControl Trainer::counters() const {
  StepControl c;
  c.loss_scale = scaler_.scale();
  c.growth_tracker = scaler_.growth_tracker();
  c.optimizer_steps = optimizer_steps_;
  c.micro_steps = micro_steps_;
  c.skipped_steps = skipped_steps_;
  c.grad_norm = last_grad_norm_;
  c.accumulated_count = accumulated_count_;
  return c;
}

void Trainer::adopt(const StepControl& c) {
  optimizer_steps_ = c.optimizer_steps;
  micro_steps_ = c.micro_steps;
  skipped_steps_ = c.skipped_steps;
  accumulated_count_ = static_cast<int>(c.accumulated_count);
  last_grad_norm_ = c.grad_norm;
  optimizer_->set_steps(c.optimizer_steps);
  if (scaler_.enabled()) scaler_.restore(static_cast<float>(c.loss_scale), c.growth_tracker);
}

double Trainer::current_learning_rate() {
  wait_for_queued_steps();
  return scheduled_learning_rate(config_.schedule, config_.optimizer.learning_rate, optimizer_steps_);
}

void Trainer::set_learning_rate(double learning_rate) {
  if (!std::isfinite(learning_rate) || learning_rate < 0)
    fail(ErrorCode::kInvalidArgument, "the learning rate must be finite and >= 0, got ", learning_rate);
  wait_for_queued_steps();
  config_.optimizer.learning_rate = learning_rate;
  rules_.schedule = schedule_rules(config_.schedule, learning_rate);
  // A recorded step holds the rules it was recorded with.
  recording_.reset();
}

int64_t Trainer::set_frozen(const std::string& pattern, bool frozen) {
  const std::vector<size_t> matched = match_parameters(*plan_, pattern);
  std::vector<TensorSettings> next = tensor_settings_;
  for (size_t i : matched) next[i].frozen = frozen;
  apply_settings(next);
  return static_cast<int64_t>(matched.size());
}

int64_t Trainer::set_param_group(const std::string& pattern, double lr_scale, std::optional<double> weight_decay) {
  if (!std::isfinite(lr_scale) || lr_scale < 0)
    fail(ErrorCode::kInvalidArgument, "a parameter group's learning-rate factor must be finite and >= 0, got ", lr_scale);
  if (weight_decay && (!std::isfinite(*weight_decay) || *weight_decay < 0))
    fail(ErrorCode::kInvalidArgument, "a parameter group's weight decay must be finite and >= 0, got ", *weight_decay);
  const std::vector<size_t> matched = match_parameters(*plan_, pattern);
  std::vector<TensorSettings> next = tensor_settings_;
  for (size_t i : matched) {
    next[i].lr_scale = lr_scale;
    next[i].weight_decay = weight_decay;
  }
  apply_settings(next);
  return static_cast<int64_t>(matched.size());
}

const TensorSettings& Trainer::tensor_settings(size_t index) const {
  plan_->param(static_cast<int64_t>(index));  // checks the index
  return tensor_settings_[index];
}

double Trainer::weight_decay_of(size_t index) const {
  return resolved_weight_decay(*plan_, index, tensor_settings(index), config_.optimizer, config_.decay_bias_and_norm);
}

void Trainer::apply_settings(const std::vector<TensorSettings>& requested) {
  wait_for_queued_steps();
  std::vector<TensorSettings> next = requested;
  std::vector<bool> frozen(next.size()), was_frozen(next.size());
  bool layout_changes = false;
  for (size_t i = 0; i < next.size(); ++i) {
    frozen[i] = next[i].frozen;
    was_frozen[i] = tensor_settings_[i].frozen;
    layout_changes = layout_changes || frozen[i] != was_frozen[i];
    // Moments begin when a tensor starts training.
    if (was_frozen[i] && !frozen[i]) next[i].moments_since = optimizer_steps_;
  }
  if (!layout_changes) {
    const UpdateLayout layout = update_layout_for(next);
    std::optional<UpdateShard> shard = shard_for(layout);
    optimizer_->set_layout(layout);
    install_shard(std::move(shard));
    tensor_settings_ = next;
    // A recorded step holds the runs it was recorded with, and the runs
    // decide between host- and device-decided steps.
    recording_.reset();
    upload_control();
    return;
  }
  if (accumulated_count_ > 0)
    fail(ErrorCode::kInvalidArgument, "freezing cannot change inside a gradient accumulation window (",
         accumulated_count_, " of ", config_.accumulation_steps, " micro-batches in); change it after the window's "
         "last micro-batch");
  // The moments of tensors that train before and after, on the host.
  read_state_whole();
  const size_t elem = dtype_size(config_.compute_dtype);
  std::vector<std::vector<std::vector<uint8_t>>> kept;
  for (const OptimizerState& state : optimizer_->state()) {
    std::vector<std::vector<uint8_t>> tensors(next.size());
    for (size_t i = 0; i < next.size(); ++i) {
      if (was_frozen[i] || frozen[i]) continue;
      const ParamTensor& p = plan_->params()[i];
      tensors[i].resize(static_cast<size_t>(p.count) * elem);
      backend_->copy_to_host(tensors[i].data(), state.tensor->element(p.grad_offset), tensors[i].size());
    }
    kept.push_back(std::move(tensors));
  }
  // Throws (out of memory) changing nothing; `previous` swapped back undoes it.
  GradientLayout previous = plan_->swap_gradient_layout(plan_->gradient_layout(frozen));
  try {
    const Shape flat_grads = {plan_->flat_grad_count()};
    Tensor grads(backend_.get(), config_.compute_dtype, flat_grads), accumulated;
    if (config_.accumulation_steps > 1) accumulated = Tensor(backend_.get(), config_.compute_dtype, flat_grads);
    std::unique_ptr<Optimizer> optimizer =
        make_optimizer(config_.optimizer, backend_.get(), config_.compute_dtype, update_layout_for(next));
    const std::vector<OptimizerState> states = optimizer->state();
    for (size_t s = 0; s < states.size(); ++s)
      for (size_t i = 0; i < next.size(); ++i)
        if (!kept[s][i].empty())
          backend_->copy_from_host(states[s].tensor->element(plan_->params()[i].grad_offset), kept[s][i].data(),
                                   kept[s][i].size());
    optimizer->set_steps(optimizer_steps_);
    std::optional<UpdateShard> shard = shard_for(optimizer->layout());
    // Commit: nothing below can fail.
    grads_ = std::move(grads);
    accumulated_ = std::move(accumulated);
    optimizer_ = std::move(optimizer);
    guard_ = std::make_unique<GuardedUpdate>(backend_.get(), config_.compute_dtype, plan_->flat_param_count(),
                                             plan_->flat_grad_count());
    exchange_->set_count(plan_->flat_grad_count());
    tensor_settings_ = next;
    recording_.reset();
    install_shard(std::move(shard));
  } catch (...) {
    plan_->swap_gradient_layout(std::move(previous));
    throw;
  }
  upload_control();
}

void Trainer::join(Communicator* communicator) {
  wait_for_queued_steps();
  throw_pending_error();
  // Its moments are spread over the group it is in.
  if (sharded_) fail(ErrorCode::kInternal, "a replica with a sharded update cannot join or leave a group");
  if (communicator && config_.sync_batch_norm && backend_->kind() != DeviceKind::kCpu)
    fail(ErrorCode::kUnsupported,
         "sync batch norm runs on CPU replicas, not yet on GPUs (turn it off to normalize over each replica's rows)");
  exchange_->join(communicator);
  if (communicator) exchange_->require_same("sync batch norm", config_.sync_batch_norm ? 1.0 : 0.0);
  plan_->share_batch_statistics(config_.sync_batch_norm ? communicator : nullptr);
  // Joining or leaving switches between host- and device-decided steps.
  recording_.reset();
  upload_control();
  if (!communicator) return;
  // Everyone starts from rank 0's weights.
  exchange_->broadcast_from_first(params_.data(), params_.bytes());
  guard_->forget();
  refresh_half_params();
  // And from rank 0's running statistics. Each replica then updates its own
  // from its shard (as PyTorch DDP without SyncBatchNorm between broadcasts),
  // or, with sync batch norm, from every shard alike.
  if (plan_->flat_state_count() > 0) exchange_->broadcast_from_first(state_.data(), state_.bytes());
}

void Trainer::shard_update(std::function<void()> before_state_read) {
  if (!exchange_->joined()) fail(ErrorCode::kInternal, "only a replica in a group can share its update");
  sharded_ = true;
  try {
    install_shard(shard_for(optimizer_->layout()));
  } catch (...) {
    sharded_ = false;
    throw;
  }
  before_state_read_ = std::move(before_state_read);
}

std::optional<UpdateShard> Trainer::shard_for(const UpdateLayout& layout) const {
  if (!sharded_) return std::nullopt;
  Communicator* comm = exchange_->communicator();
  UpdateShard shard = shard_of(layout, plan_->flat_param_count(), comm->rank(), comm->size());
  shard.sum = [exchange = exchange_.get()](double* values, int count) { exchange->sum_across(values, count); };
  shard.gather = [comm, bounds = shard.param_bounds](void* weights, size_t elem) {
    std::vector<size_t> bytes;
    for (int64_t b : bounds) bytes.push_back(static_cast<size_t>(b) * elem);
    comm->all_gather(weights, bytes);
  };
  return shard;
}

void Trainer::install_shard(std::optional<UpdateShard> shard) {
  if (!shard) return;
  optimizer_->set_shard(shard->grad_begin, shard->grad_end);
  shard_grads_ = {shard->grad_begin, shard->grad_end};
  guard_->set_shard(std::move(*shard));
}

void Trainer::gather_optimizer_state() {
  if (!sharded_) return;
  Communicator* comm = exchange_->communicator();
  const size_t elem = dtype_size(config_.compute_dtype);
  std::vector<size_t> bounds;
  for (int64_t b : shard_of(optimizer_->layout(), plan_->flat_param_count(), comm->rank(), comm->size()).grad_bounds)
    bounds.push_back(static_cast<size_t>(b) * elem);
  for (const OptimizerState& state : optimizer_->state()) comm->all_gather(state.tensor->data(), bounds);
  state_stale_ = false;
}

bool Trainer::decides_on_device() const {
  if (config_.step_decision == StepDecision::kHost) return false;
  if (config_.step_decision == StepDecision::kAuto && !backend_->offers_recording()) return false;
  // The device's step has one rate and step count for every tensor.
  return !exchange_->joined() && config_.accumulation_steps == 1 && config_.compute_dtype == DType::kF32 &&
         !plan_->draws_per_step() && optimizer_->layout().uniform();
}

void Trainer::upload_control() {
  const StepControl c = counters();
  backend_->copy_from_host(control_.data(), &c, sizeof c);
}

void Trainer::wait_for_queued_steps() {
  if (!queued_) return;
  queued_ = false;
  StepControl c;
  backend_->copy_to_host(&c, control_.data(), sizeof c);  // waits for every queued step
  adopt(c);
  last_result_ = result_of(c, c.loss_sum / queued_loss_divisor_);
  if (c.halted) {
    // Steps after the failed one changed nothing either; the trainer goes on
    // from the last good step once the error has been reported.
    pending_error_ = std::string(nonfinite_cause(c.failed_loss)) + " (loss " + std::to_string(c.failed_loss) +
                     "); neither it nor any step queued after it was applied";
    c.halted = 0;
    backend_->copy_from_host(control_.data(), &c, sizeof c);
  }
}

void Trainer::throw_pending_error() {
  if (pending_error_.empty()) return;
  const std::string message = std::exchange(pending_error_, {});
  fail(ErrorCode::kNonFinite, message);
}

// The device's step, in the order of the host's: forward, backward, the sums,
// one decision, the optimizer pass (a no-op unless applied), the commit.
void Trainer::run_device_step(const StepRules& rules) {
  StepControl* c = control();
  plan_->forward_into(params_.data(), config_.seed, 0, GradScale(1.0, &c->loss_scale), &c->loss_sum, half_params(),
                      state_.data(), next_state_.data());
  plan_->backward(params_.data(), grads_.data(), config_.seed, 0, half_params());
  kernels::sum_into(*backend_, config_.compute_dtype, plan_->flat_grad_count(), grads_.data(), true, &c->grad_sum_squares);
  kernels::decide_step(*backend_, c, rules);
  optimizer_->step_decided_on_device(params_.data(), grads_.data(), c, half_copy());
  // Not guarded on the device (the host does not see the step); the bounds
  // are measured again if the host decides later steps.
  guard_->forget();
  if (plan_->flat_state_count() > 0) kernels::copy_if_applied(*backend_, c, state_.data(), next_state_.data(), state_.bytes());
}

void Trainer::queue_device_step(const InputViews& inputs, const HostView& targets) {
  // A failure already seen is reported here; one still on the device makes
  // this step a no-op there and is reported by wait().
  throw_pending_error();
  require_trainable(*plan_);
  plan_->check_batch(inputs, &targets);
  const int64_t rows = inputs.rows();
  plan_->reserve(rows);
  plan_->load_batch(inputs, &targets);
  queued_loss_divisor_ = static_cast<double>(plan_->loss_divisor());
  StepRules rules = rules_;
  rules.loss_divisor = queued_loss_divisor_;
  const RecordingKey key{rows, plan_->reserved(), backend_->memory_generation()};
  if (recording_ && !(recorded_for_ == key)) recording_.reset();
  // The first step of a batch size runs directly (it sizes every scratch
  // buffer); a repeat is recorded, and later steps of that size replay it.
  if (!recording_ && config_.record_steps && !recording_failed_ && rows == previous_rows_ &&
      backend_->begin_recording()) {
    try {
      run_device_step(rules);
      recording_ = backend_->end_recording();
    } catch (const Error&) {
      backend_->end_recording();  // what was recorded never ran; the step runs directly below
    } catch (...) {
      backend_->end_recording();
      throw;
    }
    // A recording that saw scratch replaced may hold a freed address.
    if (recording_ && backend_->memory_generation() != key.generation) recording_.reset();
    recording_failed_ = !recording_;
    recorded_for_ = key;
  }
  previous_rows_ = rows;
  if (recording_) {
    recording_->replay();
    ++replayed_steps_;
  } else {
    run_device_step(rules);
  }
  queued_ = true;
}

void Trainer::step_async(const InputViews& inputs, const HostView& targets) {
  if (!decides_on_device()) {
    step(inputs, targets);
    return;
  }
  queue_device_step(inputs, targets);
}

StepResult Trainer::wait() {
  wait_for_queued_steps();
  throw_pending_error();
  return last_result_;
}

Evaluation Trainer::evaluate(const InputViews& inputs, const HostView& targets, const HostView* outputs) {
  wait_for_queued_steps();
  plan_->check_batch(inputs, &targets);
  if (outputs) plan_->check_predictions(inputs.rows(), false, *outputs);
  plan_->reserve(inputs.rows());
  plan_->load_batch(inputs, &targets);
  Evaluation result;
  result.loss = plan_->forward(params_.data(), false, config_.seed, 0, 0.0, half_params(), state_.data());
  if (outputs) plan_->store_output(false, *outputs);
  result.samples = inputs.rows();
  result.judged = plan_->predictions_per_batch();
  result.correct = result.judged ? plan_->count_correct() : 0;
  result.accuracy = result.judged ? static_cast<double>(result.correct) / result.judged : std::nan("");
  return result;
}

Evaluation Trainer::evaluate(const Dataset& dataset, int64_t batch_size, const std::atomic<bool>* cancel) {
  if (batch_size <= 0) fail(ErrorCode::kInvalidArgument, "batch size must be > 0, got ", batch_size);
  if (dataset.size() == 0) fail(ErrorCode::kInvalidArgument, "cannot evaluate on an empty dataset");
  Evaluation total;
  for (int64_t begin = 0; begin < dataset.size(); begin += batch_size) {
    if (cancel && cancel->load(std::memory_order_relaxed))
      fail(ErrorCode::kCancelled, "the evaluation was cancelled after ", begin, " of ", dataset.size(), " samples");
    const int64_t count = std::min(batch_size, dataset.size() - begin);
    Evaluation part = evaluate(dataset.feature_view(begin, count), dataset.target_view(begin, count));
    // A mean loss is weighted by its batch; a summed loss simply adds up.
    total.loss += config_.reduction == Reduction::kMean ? part.loss * count : part.loss;
    total.samples += count;
    total.correct += part.correct;
    total.judged += part.judged;
  }
  if (config_.reduction == Reduction::kMean) total.loss /= static_cast<double>(total.samples);
  total.accuracy = total.judged ? static_cast<double>(total.correct) / total.judged : std::nan("");
  return total;
}

void Trainer::predict(const InputViews& inputs, bool probabilities, const HostView& out) {
  predict_outputs(inputs, probabilities, {out});
}

void Trainer::predict_outputs(const InputViews& inputs, bool probabilities, const std::vector<HostView>& outs) {
  wait_for_queued_steps();
  plan_->check_batch(inputs, nullptr);
  plan_->check_outputs(inputs.rows(), probabilities, outs);
  plan_->reserve(inputs.rows());
  plan_->load_batch(inputs, nullptr);
  plan_->forward(params_.data(), false, config_.seed, 0, 0.0, half_params(), state_.data());
  plan_->store_outputs(probabilities, outs);
}

namespace {

void check_parameter_view(const ParamTensor& p, const HostView& view) {
  if (!view.data) fail(ErrorCode::kNullArgument, "the view for parameter '", p.name, "' has no data pointer");
  if (!dtype_is_float(view.dtype))
    fail(ErrorCode::kDtypeMismatch, "parameter '", p.name, "' is read and written as f32, f64, f16 or bf16, not ",
         dtype_name(view.dtype));
  if (view.shape != p.spec.shape)
    fail(ErrorCode::kShapeMismatch, "parameter '", p.name, "' has shape ", shape_to_string(p.spec.shape),
         ", the view has ", shape_to_string(view.shape));
}

// A weight set from outside must be a number the trainer holds: a NaN or
// Inf (or an f64 value beyond f32, stored as Inf; or, under f16 mixed
// precision, a weight beyond f16, Inf in the copy the matrix products read)
// would poison every later step. `held_in` names where the limit comes from.
void check_finite_values(const ParamTensor& p, const HostView& view, double limit, const char* held_in) {
  std::vector<double> values(static_cast<size_t>(p.count));
  copy_from_view(view, DType::kF64, values.data());
  for (size_t i = 0; i < values.size(); ++i)
    if (!(std::abs(values[i]) <= limit))
      fail(ErrorCode::kInvalidArgument, "parameter '", p.name, "' cannot be set to ", values[i], " (element ", i,
           ", held in ", held_in, ")");
}

double dtype_limit(DType dtype) { return dtype == DType::kF64 ? DBL_MAX : FLT_MAX; }

}  // namespace

double Trainer::weight_limit() const {
  return half_copy_is_f16() ? kF16Max : dtype_limit(config_.compute_dtype);
}

const char* Trainer::weight_storage() const {
  return half_copy_is_f16() ? "f16 under mixed precision" : dtype_name(config_.compute_dtype);
}

void Trainer::get_parameter(size_t index, const HostView& out) const {
  const ParamTensor& p = plan_->param(static_cast<int64_t>(index));
  check_parameter_view(p, out);
  backend_->store_host(config_.compute_dtype, params_.element(p.offset), out);
}

void Trainer::get_state(size_t index, const HostView& out) const {
  const ParamTensor& p = plan_->state(static_cast<int64_t>(index));
  check_parameter_view(p, out);
  backend_->store_host(config_.compute_dtype, state_.element(p.offset), out);
}

void Trainer::set_state(size_t index, const HostView& in) {
  wait_for_queued_steps();
  const ParamTensor& p = plan_->state(static_cast<int64_t>(index));
  check_parameter_view(p, in);
  check_finite_values(p, in, dtype_limit(config_.compute_dtype), dtype_name(config_.compute_dtype));
  backend_->load_host(in, config_.compute_dtype, state_.element(p.offset));
}

void Trainer::set_parameter(size_t index, const HostView& in) {
  wait_for_queued_steps();
  const ParamTensor& p = plan_->param(static_cast<int64_t>(index));
  check_parameter_view(p, in);
  check_finite_values(p, in, weight_limit(), weight_storage());
  backend_->load_host(in, config_.compute_dtype, params_.element(p.offset));
  guard_->forget();
  refresh_half_params();
}

TrainerSnapshot Trainer::snapshot() {
  read_state_whole();
  wait_for_queued_steps();
  TrainerSnapshot s;
  s.optimizer_steps = optimizer_steps_;
  s.micro_steps = micro_steps_;
  s.skipped_steps = skipped_steps_;
  s.accumulated_count = accumulated_count_;
  s.loss_scale = scaler_.scale();
  s.growth_tracker = scaler_.growth_tracker();
  s.seed = config_.seed;
  s.last_grad_norm = last_grad_norm_;
  s.learning_rate = config_.optimizer.learning_rate;
  s.properties = properties_;
  auto read = [&](const Tensor& flat, const std::vector<ParamTensor>& layout) {
    std::vector<std::vector<uint8_t>> tensors;
    for (const ParamTensor& p : layout) {
      std::vector<uint8_t> bytes(p.count * dtype_size(flat.dtype()));
      backend_->copy_to_host(bytes.data(), flat.element(p.offset), bytes.size());
      tensors.push_back(std::move(bytes));
    }
    return tensors;
  };
  // Gradient-layout buffers: frozen tensors have no entry's bytes.
  auto read_trained = [&](const Tensor& flat) {
    std::vector<std::vector<uint8_t>> tensors;
    for (const ParamTensor& p : plan_->params()) {
      std::vector<uint8_t> bytes(p.grad_offset < 0 ? 0 : p.count * dtype_size(flat.dtype()));
      if (!bytes.empty()) backend_->copy_to_host(bytes.data(), flat.element(p.grad_offset), bytes.size());
      tensors.push_back(std::move(bytes));
    }
    return tensors;
  };
  s.params = read(params_, plan_->params());
  s.state = read(state_, plan_->states());
  for (const OptimizerState& state : optimizer_->state()) s.optimizer_state[state.name] = read_trained(*state.tensor);
  for (const TensorSettings& t : tensor_settings_) s.moments_since.push_back(t.moments_since);
  if (accumulated_count_ > 0) s.accumulated = read_trained(accumulated_);
  return s;
}

void Trainer::restore(const TrainerSnapshot& s) {
  wait_for_queued_steps();
  // Check everything first.
  const auto& params = plan_->params();
  const auto& states = plan_->states();
  const size_t elem = dtype_size(config_.compute_dtype);
  // empty_allowed: a tensor saved without moments (it was frozen).
  auto check = [&](const std::vector<std::vector<uint8_t>>& tensors, const std::string& what,
                   const std::vector<ParamTensor>& layout, bool empty_allowed = false) {
    if (tensors.size() != layout.size())
      fail(ErrorCode::kInvalidArgument, what, " has ", tensors.size(), " tensors, the model has ", layout.size());
    for (size_t i = 0; i < layout.size(); ++i)
      if (tensors[i].size() != layout[i].count * elem && !(empty_allowed && tensors[i].empty()))
        fail(ErrorCode::kInvalidArgument, what, " tensor '", layout[i].name, "' has ", tensors[i].size(),
             " bytes, expected ", layout[i].count * elem);
  };
  check(s.params, "the weights", params);
  for (size_t i = 0; i < params.size(); ++i)
    check_finite_values(params[i],
                        {const_cast<uint8_t*>(s.params[i].data()), config_.compute_dtype, params[i].spec.shape, {}},
                        weight_limit(), weight_storage());
  check(s.state, "the non-trainable state", states);
  std::vector<OptimizerState> optimizer_states = optimizer_->state();
  if (s.optimizer_state.size() != optimizer_states.size())
    fail(ErrorCode::kInvalidArgument, "the optimizer state has ", s.optimizer_state.size(),
         " buffers, this trainer's optimizer has ", optimizer_states.size());
  for (const OptimizerState& state : optimizer_states) {
    auto it = s.optimizer_state.find(state.name);
    if (it == s.optimizer_state.end())
      fail(ErrorCode::kInvalidArgument, "the optimizer state lacks '", state.name, "'");
    check(it->second, "optimizer state '" + state.name + "'", params, /*empty_allowed=*/true);
  }
  // A tensor's moments were saved whole (it trained) or not at all (frozen).
  for (size_t i = 0; i < params.size() && optimizer_states.size() > 1; ++i) {
    const bool saved = !s.optimizer_state.at(optimizer_states[0].name)[i].empty();
    for (const OptimizerState& state : optimizer_states)
      if (s.optimizer_state.at(state.name)[i].empty() == saved)
        fail(ErrorCode::kInvalidArgument, "tensor '", params[i].name, "' has optimizer state '",
             saved ? optimizer_states[0].name : state.name, "' but not '", saved ? state.name : optimizer_states[0].name,
             "'");
  }
  if (!s.moments_since.empty() && s.moments_since.size() != params.size())
    fail(ErrorCode::kInvalidArgument, "the moments' start steps cover ", s.moments_since.size(),
         " tensors, the model has ", params.size());
  for (int64_t since : s.moments_since)
    if (since < 0 || since > s.optimizer_steps)
      fail(ErrorCode::kInvalidArgument, "a tensor's moments start at step ", since, ", outside [0, ",
           s.optimizer_steps, "]");
  if (s.accumulated_count < 0 || s.accumulated_count >= config_.accumulation_steps)
    fail(ErrorCode::kInvalidArgument, "accumulated micro-batches ", s.accumulated_count, " out of range [0, ",
         config_.accumulation_steps, ")");
  if (s.accumulated_count > 0) {
    check(s.accumulated, "the accumulated gradients", params, /*empty_allowed=*/true);
    // A window continues only under the freezing it was gathered with.
    for (size_t i = 0; i < params.size(); ++i)
      if (s.accumulated[i].empty() != (params[i].grad_offset < 0))
        fail(ErrorCode::kInvalidArgument, "the accumulated gradients were gathered with tensor '", params[i].name,
             s.accumulated[i].empty() ? "' frozen" : "' training", ", it is ", params[i].grad_offset < 0 ? "frozen" : "training",
             " here: resume it under the same freezing, or from a checkpoint at a window's end");
  }
  if (s.optimizer_steps < 0 || s.micro_steps < 0 || s.skipped_steps < 0)
    fail(ErrorCode::kInvalidArgument, "step counters must be >= 0");
  LossScaler scaler = scaler_;
  if (scaler.enabled()) scaler.restore(s.loss_scale, s.growth_tracker);
  std::map<std::string, std::string> properties = s.properties;
  const bool restores_rate = !std::isnan(s.learning_rate);
  if (restores_rate && (!std::isfinite(s.learning_rate) || s.learning_rate < 0))
    fail(ErrorCode::kInvalidArgument, "the learning rate must be finite and >= 0, got ", s.learning_rate);

  // The moments' start steps, and the update runs they make.
  std::vector<TensorSettings> settings = tensor_settings_;
  for (size_t i = 0; i < params.size(); ++i) {
    const bool fresh = !optimizer_states.empty() && s.optimizer_state.at(optimizer_states[0].name)[i].empty();
    settings[i].moments_since = fresh ? s.optimizer_steps : s.moments_since.empty() ? 0 : s.moments_since[i];
  }
  const UpdateLayout layout = update_layout_for(settings);
  std::optional<UpdateShard> shard = shard_for(layout);
  // Commit: nothing below can fail.
  auto write = [&](Tensor& flat, const std::vector<std::vector<uint8_t>>& tensors,
                   const std::vector<ParamTensor>& layout) {
    for (size_t i = 0; i < layout.size(); ++i)
      backend_->copy_from_host(flat.element(layout[i].offset), tensors[i].data(), tensors[i].size());
  };
  write(params_, s.params, params);
  guard_->forget();
  write(state_, s.state, states);
  // Trained tensors' moments (fresh where none were saved); frozen ones keep none.
  auto write_trained = [&](Tensor& flat, const std::vector<std::vector<uint8_t>>& tensors) {
    for (size_t i = 0; i < params.size(); ++i) {
      if (params[i].grad_offset < 0) continue;
      void* at = flat.element(params[i].grad_offset);
      if (tensors[i].empty())
        backend_->fill_zero(at, static_cast<size_t>(params[i].count) * elem);
      else
        backend_->copy_from_host(at, tensors[i].data(), tensors[i].size());
    }
  };
  for (const OptimizerState& state : optimizer_states) write_trained(*state.tensor, s.optimizer_state.at(state.name));
  state_stale_ = false;  // written whole
  if (s.accumulated_count > 0) write_trained(accumulated_, s.accumulated);
  tensor_settings_ = std::move(settings);
  optimizer_->set_layout(layout);
  install_shard(std::move(shard));
  recording_.reset();
  refresh_half_params();
  scaler_ = scaler;
  optimizer_->set_steps(s.optimizer_steps);
  optimizer_steps_ = s.optimizer_steps;
  micro_steps_ = s.micro_steps;
  skipped_steps_ = s.skipped_steps;
  accumulated_count_ = s.accumulated_count;
  last_grad_norm_ = s.last_grad_norm;
  if (restores_rate) {
    config_.optimizer.learning_rate = s.learning_rate;
    rules_.schedule = schedule_rules(config_.schedule, s.learning_rate);
    recording_.reset();
  }
  config_.seed = s.seed;
  properties_.swap(properties);
  pending_error_.clear();  // the failed step's state is gone with the rest
  upload_control();
}

}  // namespace tk
