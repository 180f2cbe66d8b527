// tk_trainer_options_*: each setter validates the whole configuration it would
// produce, so a bad value is reported at the call that sets it.
#include "capi/handles.h"

using tk::capi::enum_value;
using tk::capi::check_flag;
using tk::capi::guarded;
using tk::capi::require;

namespace {

template <typename Change>
tk_status update(tk_trainer_options* options, const Change& change) {
  return guarded([&] {
    require(options, "options");
    tk::TrainerConfig config = options->config;
    change(config);
    tk::validate(config);
    options->config = config;
  });
}

}  // namespace

extern "C" {

TK_API tk_status tk_trainer_options_create(tk_trainer_options** out_options) {
  return guarded([&] {
    require(out_options, "out_options");
    *out_options = new tk_trainer_options();
    (*out_options)->config.device = tk::kDeviceAuto;
  });
}

TK_API void tk_trainer_options_destroy(tk_trainer_options* options) { delete options; }

TK_API tk_status tk_trainer_options_set_optimizer(tk_trainer_options* options, tk_optimizer optimizer) {
  return update(options, [&](tk::TrainerConfig& c) { c.optimizer.kind = static_cast<tk::OptimizerKind>(enum_value(optimizer)); });
}

TK_API tk_status tk_trainer_options_set_learning_rate(tk_trainer_options* options, double learning_rate) {
  return update(options, [&](tk::TrainerConfig& c) { c.optimizer.learning_rate = learning_rate; });
}

TK_API tk_status tk_trainer_options_set_momentum(tk_trainer_options* options, double momentum, int32_t nesterov) {
  return update(options, [&](tk::TrainerConfig& c) {
    check_flag(nesterov, "nesterov");
    c.optimizer.momentum = momentum;
    c.optimizer.nesterov = nesterov == 1;
  });
}

TK_API tk_status tk_trainer_options_set_weight_decay(tk_trainer_options* options, double weight_decay) {
  return update(options, [&](tk::TrainerConfig& c) { c.optimizer.weight_decay = weight_decay; });
}

TK_API tk_status tk_trainer_options_set_adam(tk_trainer_options* options, double beta1, double beta2, double eps) {
  return update(options, [&](tk::TrainerConfig& c) {
    c.optimizer.beta1 = beta1;
    c.optimizer.beta2 = beta2;
    c.optimizer.eps = eps;
  });
}

TK_API tk_status tk_trainer_options_set_schedule(tk_trainer_options* options, tk_schedule schedule,
                                                 int64_t warmup_steps, int64_t step_size, double gamma,
                                                 int64_t total_steps, double min_lr) {
  return update(options, [&](tk::TrainerConfig& c) {
    c.schedule.kind = static_cast<tk::ScheduleKind>(enum_value(schedule));
    c.schedule.warmup_steps = warmup_steps;
    c.schedule.step_size = step_size;
    c.schedule.gamma = gamma;
    c.schedule.total_steps = total_steps;
    c.schedule.min_lr = min_lr;
  });
}

TK_API tk_status tk_trainer_options_set_clip_norm(tk_trainer_options* options, double max_norm) {
  return update(options, [&](tk::TrainerConfig& c) { c.clip_norm = max_norm; });
}

TK_API tk_status tk_trainer_options_set_accumulation_steps(tk_trainer_options* options, int32_t steps) {
  return update(options, [&](tk::TrainerConfig& c) { c.accumulation_steps = steps; });
}

TK_API tk_status tk_trainer_options_set_seed(tk_trainer_options* options, uint64_t seed) {
  return update(options, [&](tk::TrainerConfig& c) { c.seed = seed; });
}

TK_API tk_status tk_trainer_options_set_threads(tk_trainer_options* options, int32_t threads) {
  return update(options, [&](tk::TrainerConfig& c) { c.threads = threads; });
}

TK_API tk_status tk_trainer_options_set_cuda_graphs(tk_trainer_options* options, int32_t enabled) {
  return update(options, [&](tk::TrainerConfig& c) {
    if (enabled != 0 && enabled != 1) tk::fail(tk::ErrorCode::kInvalidArgument, "cuda graphs is 0 or 1, got ", enabled);
    c.record_steps = enabled == 1;
  });
}

TK_API tk_status tk_trainer_options_set_sync_batch_norm(tk_trainer_options* options, int32_t enabled) {
  return update(options, [&](tk::TrainerConfig& c) {
    if (enabled != 0 && enabled != 1)
      tk::fail(tk::ErrorCode::kInvalidArgument, "sync batch norm is 0 or 1, got ", enabled);
    c.sync_batch_norm = enabled == 1;
  });
}

TK_API tk_status tk_trainer_options_set_decay_bias_and_norm(tk_trainer_options* options, int32_t enabled) {
  return update(options, [&](tk::TrainerConfig& c) {
    if (enabled != 0 && enabled != 1)
      tk::fail(tk::ErrorCode::kInvalidArgument, "decay on biases and norms is 0 or 1, got ", enabled);
    c.decay_bias_and_norm = enabled == 1;
  });
}

TK_API tk_status tk_trainer_options_set_reduction(tk_trainer_options* options, tk_reduction reduction) {
  return update(options, [&](tk::TrainerConfig& c) { c.reduction = static_cast<tk::Reduction>(enum_value(reduction)); });
}

TK_API tk_status tk_trainer_options_set_nonfinite(tk_trainer_options* options, tk_nonfinite policy) {
  return update(options, [&](tk::TrainerConfig& c) { c.nonfinite = static_cast<tk::NonFinitePolicy>(enum_value(policy)); });
}

TK_API tk_status tk_trainer_options_set_device(tk_trainer_options* options, tk_device device) {
  return update(options, [&](tk::TrainerConfig& c) {
    switch (enum_value(device)) {
      case TK_DEVICE_AUTO: c.device = tk::kDeviceAuto; return;
      case TK_DEVICE_CPU: c.device = tk::kDeviceCpu; return;
      case TK_DEVICE_CUDA: c.device = 0; return;
    }
    tk::fail(tk::ErrorCode::kInvalidArgument, "unknown device ", enum_value(device));
  });
}

TK_API tk_status tk_trainer_options_set_cuda_device(tk_trainer_options* options, int32_t index) {
  return update(options, [&](tk::TrainerConfig& c) {
    if (index < 0) tk::fail(tk::ErrorCode::kInvalidArgument, "a GPU index is >= 0, got ", index);
    c.device = index;
  });
}

TK_API tk_status tk_trainer_options_set_compute_dtype(tk_trainer_options* options, tk_dtype dtype) {
  return update(options, [&](tk::TrainerConfig& c) {
    if (enum_value(dtype) != TK_DTYPE_F32 && enum_value(dtype) != TK_DTYPE_F64)
      tk::fail(tk::ErrorCode::kInvalidArgument, "the compute dtype must be TK_DTYPE_F32 or TK_DTYPE_F64, got ", enum_value(dtype));
    c.compute_dtype = static_cast<tk::DType>(enum_value(dtype));
  });
}

TK_API tk_status tk_trainer_options_set_batch_hint(tk_trainer_options* options, int64_t rows) {
  return update(options, [&](tk::TrainerConfig& c) { c.batch_hint = rows; });
}

TK_API tk_status tk_trainer_options_set_memory_limit(tk_trainer_options* options, uint64_t bytes) {
  return update(options, [&](tk::TrainerConfig& c) { c.memory_limit = bytes; });
}

TK_API tk_status tk_trainer_options_set_precision(tk_trainer_options* options, tk_precision precision) {
  return update(options, [&](tk::TrainerConfig& c) { c.precision = static_cast<tk::Precision>(enum_value(precision)); });
}

TK_API tk_status tk_trainer_options_set_loss_scaling(tk_trainer_options* options, tk_loss_scaling mode,
                                                     double init_scale, double growth_factor, double backoff_factor,
                                                     int64_t growth_interval) {
  return update(options, [&](tk::TrainerConfig& c) {
    c.loss_scaling = static_cast<tk::LossScaling>(enum_value(mode));
    c.scaler.init_scale = init_scale;
    c.scaler.growth_factor = growth_factor;
    c.scaler.backoff_factor = backoff_factor;
    c.scaler.growth_interval = growth_interval;
  });
}

TK_API tk_status tk_trainer_options_set_replicas(tk_trainer_options* options, int32_t replicas) {
  return guarded([&] {
    require(options, "options");
    if (replicas < 1 || replicas > 256)
      tk::fail(tk::ErrorCode::kInvalidArgument, "replicas must be in [1, 256], got ", replicas);
    options->distributed.replicas = replicas;
  });
}

TK_API tk_status tk_trainer_options_set_distributed(tk_trainer_options* options, tk_distributed mode) {
  return guarded([&] {
    require(options, "options");
    if (enum_value(mode) != TK_DISTRIBUTED_NONE && enum_value(mode) != TK_DISTRIBUTED_MPI && enum_value(mode) != TK_DISTRIBUTED_NCCL)
      tk::fail(tk::ErrorCode::kInvalidArgument, "unknown distributed mode ", enum_value(mode));
    options->distributed.mpi = enum_value(mode) == TK_DISTRIBUTED_MPI;
    options->distributed.nccl = enum_value(mode) == TK_DISTRIBUTED_NCCL;
  });
}

TK_API tk_status tk_trainer_options_set_rendezvous(tk_trainer_options* options, int32_t rank, int32_t world_size,
                                                   tk_rendezvous_broadcast broadcast, void* user_data) {
  return guarded([&] {
    require(options, "options");
    require(reinterpret_cast<void*>(broadcast), "broadcast");
    if (world_size < 1 || rank < 0 || rank >= world_size)
      tk::fail(tk::ErrorCode::kInvalidArgument, "rank ", rank, " is outside a world of ", world_size);
    options->distributed.rendezvous_rank = rank;
    options->distributed.rendezvous_size = world_size;
    // The host's callback as the core calls it: a failing status becomes an error.
    options->distributed.rendezvous_broadcast = [broadcast, user_data](std::string& bytes) {
      const tk_status status = broadcast(bytes.data(), bytes.size(), user_data);
      if (status != TK_OK)
        tk::fail(tk::ErrorCode::kCommunication, "the host's rendezvous broadcast failed with ",
                 tk_status_string(status));
    };
  });
}

TK_API tk_status tk_trainer_options_set_communication_timeout(tk_trainer_options* options, double seconds) {
  return guarded([&] {
    require(options, "options");
    if (!(seconds > 0 && seconds <= 86400))
      tk::fail(tk::ErrorCode::kInvalidArgument, "the timeout must be in (0, 86400] seconds, got ", seconds);
    options->distributed.timeout_seconds = seconds;
  });
}

TK_API tk_status tk_trainer_options_set_bucket_bytes(tk_trainer_options* options, uint64_t bytes) {
  return update(options, [&](tk::TrainerConfig& c) {
    if (bytes < 1024) tk::fail(tk::ErrorCode::kInvalidArgument, "buckets must be at least 1024 bytes, got ", bytes);
    c.bucket_bytes = bytes;
  });
}

}  // extern "C"
