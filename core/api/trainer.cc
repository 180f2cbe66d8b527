#include "core/api/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <functional>

#include "core/backend/cpu/cpu_backend.h"
#include "core/base/error.h"
#include "core/kernels/elementwise_kernels.h"
#include "core/kernels/reduce_kernels.h"
#include "core/optim/optim_kernels.h"

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

}  // namespace

Trainer::Trainer(const Graph& graph, const TrainerConfig& config)
    : config_((validate(config), config)),  // validated before anything is derived from it
      policy_(make_precision_policy(config.precision, config.compute_dtype)),
      scaler_(resolve_scaler(config)) {
  backend_ = make_backend(config.device, config.threads);
  backend_->set_memory_limit(config.memory_limit);
  plan_ = std::make_unique<Plan>(graph, config.loss, config.reduction, backend_.get(), policy_);
  const Shape flat = {plan_->flat_param_count()};
  params_ = Tensor(backend_.get(), config.compute_dtype, flat);
  grads_ = Tensor(backend_.get(), config.compute_dtype, flat);
  if (config.accumulation_steps > 1) accumulated_ = Tensor(backend_.get(), config.compute_dtype, flat);
  if (policy_.mixed()) half_params_ = Tensor(backend_.get(), policy_.activation, flat);
  optimizer_ = make_optimizer(config.optimizer, backend_.get(), config.compute_dtype, plan_->flat_param_count());
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
    kernels::convert(*backend_, policy_.master, policy_.activation, plan_->flat_param_count(), params_.data(),
                     half_params_.data());
}

bool Trainer::gradients_finite(double* sum_squares) {
  *sum_squares = kernels::sum_squares(*backend_, config_.compute_dtype, plan_->flat_param_count(), grads_.data());
  return gradients_finite_given(*sum_squares);
}

bool Trainer::gradients_finite_given(double sum_squares) {
  // A finite sum of squares proves every gradient finite in one pass; only
  // when it is not (Inf/NaN, or a huge f64 square) look element by element.
  return std::isfinite(sum_squares) ||
         kernels::all_finite(*backend_, config_.compute_dtype, plan_->flat_param_count(), grads_.data());
}

void Trainer::backward_into_grads(uint64_t stream) {
  plan_->backward(params_.data(), grads_.data(), config_.seed, stream, half_params());
  // grads_ becomes the running sum of the accumulation window, so the check
  // that follows covers the sum too (two large finite halves can add up to Inf).
  if (accumulated_count_ > 0)
    kernels::axpy(*backend_, config_.compute_dtype, plan_->flat_param_count(), 1.0, accumulated_.data(), grads_.data(),
                  true);
}

StepResult Trainer::skip(StepResult result) {
  if (scaler_.enabled()) {
    scaler_.update(true);
    // Micro-batches already summed carry the old scale; mixing them with the
    // new one would be wrong, so the whole accumulation window goes.
    accumulated_count_ = 0;
  }
  ++skipped_steps_;
  result.skipped = true;
  return result;
}

double Trainer::current_learning_rate() const {
  settle();
  return scheduled_learning_rate(config_.schedule, config_.optimizer.learning_rate, optimizer_steps_);
}

void Trainer::join(Communicator* communicator) {
  settle();
  throw_pending_error();
  comm_ = communicator;
  // Joining or leaving switches between host- and device-decided steps.
  recording_.reset();
  upload_control();
  if (!comm_) return;
  // Everyone starts from rank 0's weights.
  host_grads_.resize(params_.bytes());
  backend_->copy_to_host(host_grads_.data(), params_.data(), params_.bytes());
  comm_->broadcast(host_grads_.data(), host_grads_.size(), 0);
  backend_->copy_from_host(params_.data(), host_grads_.data(), params_.bytes());
  refresh_half_params();
  // And from rank 0's running statistics. Each replica then updates its own
  // from its shard (as PyTorch DDP without SyncBatchNorm between broadcasts).
  if (plan_->flat_state_count() > 0) {
    std::vector<uint8_t> host_state(state_.bytes());
    backend_->copy_to_host(host_state.data(), state_.data(), state_.bytes());
    comm_->broadcast(host_state.data(), host_state.size(), 0);
    backend_->copy_from_host(state_.data(), host_state.data(), state_.bytes());
  }
}

void Trainer::backward_with_all_reduce(bool finite_loss, uint64_t stream) {
  const DType dt = config_.compute_dtype;
  const size_t elem = dtype_size(dt);
  const int64_t count = plan_->flat_param_count();
  const int64_t bucket = std::max<int64_t>(1, static_cast<int64_t>(config_.bucket_bytes / elem));
  host_grads_.resize(static_cast<size_t>(count) * elem);
  // Backward runs nodes in reverse and parameters are laid out in node
  // order, so finished gradients grow down from the end of the buffer:
  // buckets are cut from the end, [unstarted, count) already started.
  int64_t unstarted = count;
  auto start_ready = [&](int64_t frontier) {
    int started = 0;
    while (unstarted > 0 && std::max<int64_t>(0, unstarted - bucket) >= frontier) {
      const int64_t lower = std::max<int64_t>(0, unstarted - bucket), n = unstarted - lower;
      uint8_t* host = host_grads_.data() + lower * elem;
      if (finite_loss) {
        // The accumulation window's sum so far joins this micro-batch's part.
        if (accumulated_count_ > 0)
          kernels::axpy(*backend_, dt, n, 1.0, accumulated_.element(lower), grads_.element(lower), true);
        if (!comm_->device_memory()) backend_->copy_to_host(host, grads_.element(lower), static_cast<size_t>(n) * elem);
      }
      // NCCL sums the gradients where they are; MPI and threads sum host copies.
      comm_->start_all_reduce_sum(dt, comm_->device_memory() ? grads_.element(lower) : host, n);
      unstarted = lower;
      ++started;
    }
    return started;
  };
  if (!finite_loss) {
    std::memset(host_grads_.data(), 0xFF, host_grads_.size());  // all-ones bits: NaN in f32 and f64
    if (comm_->device_memory()) backend_->copy_from_host(grads_.data(), host_grads_.data(), host_grads_.size());
    start_ready(0);
    return;
  }
  const std::function<void(int)> after_op = [&](int node) {
    const int64_t first = plan_->first_param_offset(node);
    if (first < 0) return;
    overlapped_buckets_ += start_ready(first);
    comm_->progress();
  };
  plan_->backward(params_.data(), grads_.data(), config_.seed, stream, half_params(), &after_op);
  start_ready(0);
}

bool Trainer::decides_on_device() const {
  if (config_.step_decision == StepDecision::kHost) return false;
  if (config_.step_decision == StepDecision::kAuto && !backend_->offers_recording()) return false;
  return !comm_ && config_.accumulation_steps == 1 && config_.compute_dtype == DType::kF32 && !plan_->draws_per_step();
}

void Trainer::upload_control() {
  StepControl c;
  c.loss_scale = scaler_.scale();
  c.growth_tracker = scaler_.growth_tracker();
  c.optimizer_steps = optimizer_steps_;
  c.micro_steps = micro_steps_;
  c.skipped_steps = skipped_steps_;
  c.grad_norm = last_grad_norm_;
  backend_->copy_from_host(control_.data(), &c, sizeof c);
}

void Trainer::settle() const {
  if (!queued_) return;
  queued_ = false;
  StepControl c;
  backend_->copy_to_host(&c, control_.data(), sizeof c);  // waits for every queued step
  optimizer_steps_ = c.optimizer_steps;
  micro_steps_ = c.micro_steps;
  skipped_steps_ = c.skipped_steps;
  last_grad_norm_ = c.grad_norm;
  optimizer_->set_steps(c.optimizer_steps);
  if (scaler_.enabled()) scaler_.restore(static_cast<float>(c.loss_scale), c.growth_tracker);
  StepResult& r = last_result_;
  r.loss = c.loss_sum / queued_loss_divisor_;
  r.applied = c.applied != 0;
  r.skipped = !c.applied && !c.halted;
  r.loss_scale = c.used_scale;
  r.learning_rate = c.applied ? c.learning_rate : 0.0;
  r.grad_norm = c.applied ? c.grad_norm : 0.0;
  if (c.halted) {
    // Steps after the failed one changed nothing either; the trainer goes on
    // from the last good step once the error has been reported.
    const double failed_loss = c.failed_loss;
    pending_error_ = std::string(std::isfinite(failed_loss) ? "a gradient is not finite" : "the loss is not finite") +
                     " (loss " + std::to_string(failed_loss) + "); neither it nor any step queued after it was applied";
    StepControl cleared = c;
    cleared.halted = 0;
    backend_->copy_from_host(control_.data(), &cleared, sizeof cleared);
  }
}

void Trainer::throw_pending_error() {
  if (pending_error_.empty()) return;
  const std::string message = std::exchange(pending_error_, {});
  fail(ErrorCode::kNonFinite, message);
}

void Trainer::run_device_step() {
  StepControl* c = control();
  const DType dt = config_.compute_dtype;
  const int64_t count = plan_->flat_param_count();
  plan_->forward_into(params_.data(), config_.seed, 0, GradScale(1.0, &c->loss_scale), &c->loss_sum, half_params(),
                      state_.data(), next_state_.data());
  plan_->backward(params_.data(), grads_.data(), config_.seed, 0, half_params());
  kernels::sum_into(*backend_, dt, count, grads_.data(), true, &c->grad_sum_squares);
  kernels::decide_step(*backend_, c, rules_);
  optimizer_->step_decided_on_device(params_.data(), grads_.data(), c, half_copy());
  if (plan_->flat_state_count() > 0)
    kernels::copy_if_applied(*backend_, c, state_.data(), next_state_.data(), state_.bytes());
}

void Trainer::queue_device_step(const HostView& inputs, const HostView& targets) {
  // A failure already seen is reported here; one still on the device makes
  // this step a no-op there and is reported by wait().
  throw_pending_error();
  plan_->check_batch(inputs, &targets);
  const int64_t rows = inputs.shape[0];
  plan_->reserve(rows);
  plan_->load_batch(inputs, &targets);
  queued_loss_divisor_ = static_cast<double>(plan_->loss_divisor());
  rules_.loss_divisor = queued_loss_divisor_;
  const RecordingKey key{rows, plan_->reserved(), backend_->memory_generation()};
  if (recording_ && !(recorded_for_ == key)) recording_.reset();
  // The first step of a batch size runs directly (it sizes every scratch
  // buffer); a repeat is recorded, and later steps of that size replay it.
  if (!recording_ && config_.record_steps && !recording_failed_ && rows == previous_rows_ &&
      backend_->begin_recording()) {
    try {
      run_device_step();
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
    run_device_step();
  }
  queued_ = true;
}

void Trainer::step_async(const HostView& inputs, const HostView& targets) {
  if (!decides_on_device()) {
    step(inputs, targets);
    return;
  }
  queue_device_step(inputs, targets);
}

StepResult Trainer::wait() {
  settle();
  throw_pending_error();
  return last_result_;
}

StepResult Trainer::step(const HostView& inputs, const HostView& targets) {
  if (decides_on_device()) {
    queue_device_step(inputs, targets);
    return wait();
  }
  last_result_ = step_on_host(inputs, targets);
  return last_result_;
}

StepResult Trainer::step_on_host(const HostView& inputs, const HostView& targets) {
  // Until the commit point below, nothing that outlives this call is written.
  // Joined to a group, a replica that fails here still tells its peers, so
  // that every replica fails the step together instead of waiting.
  std::exception_ptr local_error;
  try {
    plan_->check_batch(inputs, &targets);
    plan_->reserve(inputs.shape[0]);
    plan_->load_batch(inputs, &targets);
  } catch (...) {
    if (!comm_) throw;
    local_error = std::current_exception();
  }
  const DType dt = config_.compute_dtype;
  const int64_t count = plan_->flat_param_count();
  const int64_t rows = local_error ? 0 : inputs.shape[0];
  const bool mean = config_.reduction == Reduction::kMean;
  const bool last_micro_batch = accumulated_count_ + 1 == config_.accumulation_steps;
  double share = 1.0;  // this replica's part of the global mean
  if (comm_) {
    comm_buffer_[0] = static_cast<double>(rows);
    comm_buffer_[1] = local_error ? 1.0 : 0.0;
    comm_->all_reduce_sum(DType::kF64, comm_buffer_.data(), 2);
    if (local_error) std::rethrow_exception(local_error);
    if (comm_buffer_[1] > 0) fail(ErrorCode::kCommunication, "another replica failed this step");
    if (mean) share = static_cast<double>(rows) / comm_buffer_[0];
  }
  // Replicas draw different dropout masks: the stream includes the rank.
  const uint64_t stream =
      static_cast<uint64_t>(micro_steps_) ^ (comm_ ? static_cast<uint64_t>(comm_->rank()) << 48 : 0);
  StepResult result;
  result.loss_scale = scaler_.scale();
  const double loss_grad_scale = result.loss_scale * share / config_.accumulation_steps;
  bool finite = true;
  double grad_sum_squares = 0;
  // Joined to a group, the last micro-batch's gradients are summed across
  // replicas in buckets, each started as soon as backward has finished it.
  const bool reduce_gradients = comm_ && last_micro_batch;
  if (!comm_) {
    // Alone, a step waits for the device once: the loss and the gradients'
    // sum of squares are read together at the end. Backward runs even when
    // the loss turns out not finite; only the commit below depends on it.
    backend_->clear_queued();
    const int loss_ticket = plan_->forward_queued(params_.data(), true, config_.seed, stream, loss_grad_scale,
                                                  half_params(), state_.data(), next_state_.data());
    backward_into_grads(stream);
    const int grad_ticket = kernels::queue_sum_squares(*backend_, dt, count, grads_.data());
    const std::vector<double> sums = backend_->read_queued();
    result.loss = plan_->loss_from(sums.at(static_cast<size_t>(loss_ticket)));
    grad_sum_squares = sums.at(static_cast<size_t>(grad_ticket));
    finite = std::isfinite(result.loss) && gradients_finite_given(grad_sum_squares);
  } else {
    result.loss = plan_->forward(params_.data(), true, config_.seed, stream, loss_grad_scale, half_params(),
                                 state_.data(), next_state_.data());
    finite = std::isfinite(result.loss);
  }
  if (reduce_gradients) {
    backward_with_all_reduce(finite, stream);
    // A device-memory communicator (NCCL) is summing the gradients in place
    // by now: only the check after the sum, below, may read them.
    if (finite && !comm_->device_memory()) finite = gradients_finite(&grad_sum_squares);
  } else if (comm_ && finite) {
    backward_into_grads(stream);
    finite = gradients_finite(&grad_sum_squares);
  }
  if (comm_) {
    // Agree on the loss and on whether any replica went non-finite, so that
    // every replica takes the same branch below on every micro-batch.
    comm_buffer_[0] = finite ? result.loss * share : 0.0;
    comm_buffer_[1] = finite ? 0.0 : 1.0;
    comm_->all_reduce_sum(DType::kF64, comm_buffer_.data(), 2);
    finite = comm_buffer_[1] == 0.0;
    if (finite) result.loss = comm_buffer_[0];
    if (reduce_gradients) {
      comm_->wait_all();
      if (finite) {
        if (!comm_->device_memory()) backend_->copy_from_host(grads_.data(), host_grads_.data(), host_grads_.size());
        // The summed gradients are the same on every replica, and so is this.
        finite = gradients_finite(&grad_sum_squares);
      }
    }
  }
  if (!finite) {
    // Under loss scaling an overflow is expected now and then: GradScaler skips
    // the step and backs off. Otherwise the trainer's policy decides.
    if (scaler_.enabled() || config_.nonfinite == NonFinitePolicy::kSkip) return skip(result);
    fail(ErrorCode::kNonFinite, std::isfinite(result.loss) ? "a gradient is not finite" : "the loss is not finite",
         " (loss ", result.loss, "); the step was not applied");
  }

  // Commit: adopt the running statistics this forward wrote; keep the
  // running sum, or, on the last micro-batch, update.
  std::swap(state_, next_state_);
  ++micro_steps_;
  if (!last_micro_batch) {
    ++accumulated_count_;
    backend_->copy(accumulated_.data(), grads_.data(), count * dtype_size(dt));
    return result;
  }
  accumulated_count_ = 0;
  // Gradients carry the loss scale; the optimizer pass divides it out.
  const double scale = result.loss_scale;
  last_grad_norm_ = std::sqrt(grad_sum_squares) / scale;
  double clip = 1.0;
  if (config_.clip_norm > 0 && last_grad_norm_ > config_.clip_norm)
    clip = config_.clip_norm / (last_grad_norm_ + 1e-6);  // as torch.nn.utils.clip_grad_norm_
  result.learning_rate = current_learning_rate();
  result.grad_norm = last_grad_norm_;
  optimizer_->step(params_.data(), grads_.data(), clip / scale, result.learning_rate, half_copy());
  scaler_.update(false);
  ++optimizer_steps_;
  result.applied = true;
  return result;
}

Evaluation Trainer::evaluate(const HostView& inputs, const HostView& targets) {
  settle();
  plan_->check_batch(inputs, &targets);
  plan_->reserve(inputs.shape[0]);
  plan_->load_batch(inputs, &targets);
  Evaluation result;
  result.loss = plan_->forward(params_.data(), false, config_.seed, 0, 0.0, half_params(), state_.data());
  result.samples = inputs.shape[0];
  result.judged = plan_->predictions_per_batch();
  result.correct = result.judged ? plan_->count_correct() : 0;
  result.accuracy = result.judged ? static_cast<double>(result.correct) / result.judged : std::nan("");
  return result;
}

Evaluation Trainer::evaluate(const Dataset& dataset, int64_t batch_size) {
  if (batch_size <= 0) fail(ErrorCode::kInvalidArgument, "batch size must be > 0, got ", batch_size);
  if (dataset.size() == 0) fail(ErrorCode::kInvalidArgument, "cannot evaluate on an empty dataset");
  Evaluation total;
  for (int64_t begin = 0; begin < dataset.size(); begin += batch_size) {
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

void Trainer::predict(const HostView& inputs, bool probabilities, const HostView& out) {
  settle();
  plan_->check_batch(inputs, nullptr);
  Shape expected = {inputs.shape[0]};
  expected.insert(expected.end(), plan_->output_shape().begin(), plan_->output_shape().end());
  if (!out.data) fail(ErrorCode::kNullArgument, "the output view has no data pointer");
  if (out.shape != expected)
    fail(ErrorCode::kShapeMismatch, "the output view has shape ", shape_to_string(out.shape),
         ", predictions have shape ", shape_to_string(expected));
  if (out.dtype != DType::kF32 && out.dtype != DType::kF64)
    fail(ErrorCode::kDtypeMismatch, "predictions are written as f32 or f64, not ", dtype_name(out.dtype));
  plan_->reserve(inputs.shape[0]);
  plan_->load_batch(inputs, nullptr);
  plan_->forward(params_.data(), false, config_.seed, 0, 0.0, half_params(), state_.data());
  plan_->store_output(probabilities, out);
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

}  // namespace

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
  settle();
  const ParamTensor& p = plan_->state(static_cast<int64_t>(index));
  check_parameter_view(p, in);
  backend_->load_host(in, config_.compute_dtype, state_.element(p.offset));
}

void Trainer::set_parameter(size_t index, const HostView& in) {
  settle();
  const ParamTensor& p = plan_->param(static_cast<int64_t>(index));
  check_parameter_view(p, in);
  backend_->load_host(in, config_.compute_dtype, params_.element(p.offset));
  refresh_half_params();
}

TrainerSnapshot Trainer::snapshot() {
  settle();
  TrainerSnapshot s;
  s.optimizer_steps = optimizer_steps_;
  s.micro_steps = micro_steps_;
  s.skipped_steps = skipped_steps_;
  s.accumulated_count = accumulated_count_;
  s.loss_scale = scaler_.scale();
  s.growth_tracker = scaler_.growth_tracker();
  s.seed = config_.seed;
  s.last_grad_norm = last_grad_norm_;
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
  s.params = read(params_, plan_->params());
  s.state = read(state_, plan_->states());
  for (const OptimizerState& state : optimizer_->state())
    s.optimizer_state[state.name] = read(*state.tensor, plan_->params());
  if (accumulated_count_ > 0) s.accumulated = read(accumulated_, plan_->params());
  return s;
}

void Trainer::restore(const TrainerSnapshot& s) {
  settle();
  // Check everything first.
  const auto& params = plan_->params();
  const auto& states = plan_->states();
  const size_t elem = dtype_size(config_.compute_dtype);
  auto check = [&](const std::vector<std::vector<uint8_t>>& tensors, const std::string& what,
                   const std::vector<ParamTensor>& layout) {
    if (tensors.size() != layout.size())
      fail(ErrorCode::kInvalidArgument, what, " has ", tensors.size(), " tensors, the model has ", layout.size());
    for (size_t i = 0; i < layout.size(); ++i)
      if (tensors[i].size() != layout[i].count * elem)
        fail(ErrorCode::kInvalidArgument, what, " tensor '", layout[i].name, "' has ", tensors[i].size(),
             " bytes, expected ", layout[i].count * elem);
  };
  check(s.params, "the weights", params);
  check(s.state, "the non-trainable state", states);
  std::vector<OptimizerState> optimizer_states = optimizer_->state();
  if (s.optimizer_state.size() != optimizer_states.size())
    fail(ErrorCode::kInvalidArgument, "the optimizer state has ", s.optimizer_state.size(),
         " buffers, this trainer's optimizer has ", optimizer_states.size());
  for (const OptimizerState& state : optimizer_states) {
    auto it = s.optimizer_state.find(state.name);
    if (it == s.optimizer_state.end())
      fail(ErrorCode::kInvalidArgument, "the optimizer state lacks '", state.name, "'");
    check(it->second, "optimizer state '" + state.name + "'", params);
  }
  if (s.accumulated_count < 0 || s.accumulated_count >= config_.accumulation_steps)
    fail(ErrorCode::kInvalidArgument, "accumulated micro-batches ", s.accumulated_count, " out of range [0, ",
         config_.accumulation_steps, ")");
  if (s.accumulated_count > 0) check(s.accumulated, "the accumulated gradients", params);
  if (s.optimizer_steps < 0 || s.micro_steps < 0 || s.skipped_steps < 0)
    fail(ErrorCode::kInvalidArgument, "step counters must be >= 0");
  LossScaler scaler = scaler_;
  if (scaler.enabled()) scaler.restore(s.loss_scale, s.growth_tracker);
  std::map<std::string, std::string> properties = s.properties;

  // Commit: nothing below can fail.
  auto write = [&](Tensor& flat, const std::vector<std::vector<uint8_t>>& tensors,
                   const std::vector<ParamTensor>& layout) {
    for (size_t i = 0; i < layout.size(); ++i)
      backend_->copy_from_host(flat.element(layout[i].offset), tensors[i].data(), tensors[i].size());
  };
  write(params_, s.params, params);
  write(state_, s.state, states);
  for (const OptimizerState& state : optimizer_states) write(*state.tensor, s.optimizer_state.at(state.name), params);
  if (s.accumulated_count > 0) write(accumulated_, s.accumulated, params);
  refresh_half_params();
  scaler_ = scaler;
  optimizer_->set_steps(s.optimizer_steps);
  optimizer_steps_ = s.optimizer_steps;
  micro_steps_ = s.micro_steps;
  skipped_steps_ = s.skipped_steps;
  accumulated_count_ = s.accumulated_count;
  last_grad_norm_ = s.last_grad_norm;
  config_.seed = s.seed;
  properties_.swap(properties);
  pending_error_.clear();  // the failed step's state is gone with the rest
  upload_control();
}

}  // namespace tk
