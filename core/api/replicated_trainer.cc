#include "core/api/replicated_trainer.h"

#include <omp.h>

#include <algorithm>
#include <exception>
#include <string>

#include "core/backend/device.h"
#include "core/base/error.h"

namespace tk {
namespace {

// Rows [begin, begin + count) of a batch view.
HostView rows_of(const HostView& view, int64_t begin, int64_t count) {
  HostView part = view;
  int64_t row_elements = 1;
  for (size_t d = 1; d < view.shape.size(); ++d) row_elements *= view.shape[d];
  const int64_t stride = view.strides.empty() ? row_elements : view.strides[0];
  part.data = static_cast<char*>(view.data) + begin * stride * static_cast<int64_t>(dtype_size(view.dtype));
  part.shape[0] = count;
  return part;
}

InputViews rows_of(const InputViews& inputs, int64_t begin, int64_t count) {
  std::vector<HostView> parts;
  for (const HostView& view : inputs.views()) parts.push_back(rows_of(view, begin, count));
  return InputViews(std::move(parts));
}

}  // namespace

ReplicatedTrainer::ReplicatedTrainer(const Graph& graph, const TrainerConfig& config, int replicas,
                                     std::chrono::milliseconds timeout) {
  if (replicas < 1 || replicas > 256)
    fail(ErrorCode::kInvalidArgument, "replicas must be in [1, 256], got ", replicas);
  TrainerConfig per_replica = config;
  if (replicas == 1) {
    replicas_.push_back(std::make_unique<Trainer>(graph, config));
    return;
  }
  // Several replicas: on GPUs first..first + replicas - 1 when a GPU was asked
  // for (or, with auto, when there are that many GPUs), else on the CPU.
  std::string why;
  const int gpus = config.device == kDeviceCpu ? 0 : static_cast<int>(cuda_devices(&why).size());
  const bool on_gpus = config.device >= 0 || (config.device == kDeviceAuto && gpus >= replicas);
  if (on_gpus) {
    const int first = std::max(config.device, 0);
    if (first + replicas > gpus)
      fail(ErrorCode::kUnsupported, replicas, " replicas on GPUs ", first, "..", first + replicas - 1, " need ",
           first + replicas, " GPUs; ", gpus, " can be used", gpus == 0 ? ": " + why : std::string());
    for (int r = 0; r < replicas; ++r) {
      per_replica.device = first + r;
      replicas_.push_back(std::make_unique<Trainer>(graph, per_replica));
    }
    const std::string id = nccl_unique_id();
    nccl_.resize(static_cast<size_t>(replicas));
    // Every rank's NCCL set-up waits for the others: one thread each.
    join_all([&](int r) {
      nccl_[r] = make_nccl_communicator(id, r, replicas, &replicas_[r]->backend(), timeout.count());
      return nccl_[r].get();
    });
    return;
  }
  per_replica.device = kDeviceCpu;
  // Share the cores: each replica's own loops get its part of them.
  if (config.threads == 0) per_replica.threads = std::max(1, omp_get_max_threads() / replicas);
  for (int r = 0; r < replicas; ++r) replicas_.push_back(std::make_unique<Trainer>(graph, per_replica));
  group_ = std::make_unique<LocalGroup>(replicas, timeout);
  join_all([&](int r) { return group_->communicator(r); });
  if (config.shard_update)
    for (auto& replica : replicas_) replica->shard_update([this] { gather_optimizer_state(); });
}

void ReplicatedTrainer::gather_optimizer_state() {
  try {
    workers_->run([&](int r) {
      try {
        replicas_[r]->gather_optimizer_state();
      } catch (...) {
        communicator(r)->abort();
        throw;
      }
    });
  } catch (...) {
    group_->reset();
    throw;
  }
}

Communicator* ReplicatedTrainer::communicator(int rank) {
  return group_ ? group_->communicator(rank) : nccl_[static_cast<size_t>(rank)].get();
}

void ReplicatedTrainer::join_all(const std::function<Communicator*(int)>& communicator_for) {
  // Joining broadcasts rank 0's weights: a collective, so all at once.
  if (!workers_) workers_ = std::make_unique<ReplicaWorkers>(replicas());
  workers_->run([&](int r) {
    try {
      replicas_[r]->join(communicator_for(r));
    } catch (...) {
      if (Communicator* c = communicator(r)) c->abort();
      throw;
    }
  });
}

void ReplicatedTrainer::for_each(const std::function<void(Trainer&)>& fn) {
  for (auto& replica : replicas_) fn(*replica);
}

void ReplicatedTrainer::step_async(const InputViews& inputs, const HostView& targets) {
  if (replicas_.size() == 1) return replicas_[0]->step_async(inputs, targets);
  last_result_ = step(inputs, targets);
}

StepResult ReplicatedTrainer::wait() { return replicas_.size() == 1 ? replicas_[0]->wait() : last_result_; }

StepResult ReplicatedTrainer::step(const InputViews& inputs, const HostView& targets) {
  if (replicas_.size() == 1) return replicas_[0]->step(inputs, targets);
  // Check the whole batch once, so a bad one fails before any replica starts.
  primary().plan().check_batch(inputs, &targets);
  const int n = replicas();
  const int64_t rows = inputs.rows();
  if (rows < n) fail(ErrorCode::kShapeMismatch, "a batch of ", rows, " rows cannot be split over ", n, " replicas");
  std::vector<StepResult> results(n);
  std::vector<std::exception_ptr> errors(n);
  auto run = [&](int r) {
    const int64_t begin = rows * r / n, end = rows * (r + 1) / n;
    try {
      results[r] = replicas_[r]->step(rows_of(inputs, begin, end - begin), rows_of(targets, begin, end - begin));
    } catch (...) {
      errors[r] = std::current_exception();
      communicator(r)->abort();
    }
  };
  workers_->run(run);
  if (group_) group_->reset();
  // Report the root cause: a replica's own error before the others' "peer failed".
  std::exception_ptr first;
  for (auto& e : errors) {
    if (!e) continue;
    try {
      std::rethrow_exception(e);
    } catch (const Error& error) {
      // Say which slice failed: a batch one replica trains can be too small
      // per replica (batch norm needs two values per channel in each slice).
      if (error.code() != ErrorCode::kCommunication) {
        const int r = static_cast<int>(&e - errors.data());
        fail(error.code(), "replica ", r, " of ", n, " (rows ", rows * r / n, " to ", rows * (r + 1) / n - 1,
             " of a batch of ", rows, ", split evenly",
             primary().config().sync_batch_norm ? "" : "; each replica normalizes batch norm over its own rows",
             "): ", error.what());
      }
      if (!first) first = e;
    } catch (...) {
      std::rethrow_exception(e);
    }
  }
  if (first) std::rethrow_exception(first);
  // Every replica counted its own rows.
  StepResult result = results[0];
  for (int r = 1; r < n && result.correct >= 0; ++r) {
    if (results[r].correct < 0) {
      result.correct = -1;
      result.judged = 0;
      break;
    }
    result.correct += results[r].correct;
    result.judged += results[r].judged;
  }
  return result;
}

}  // namespace tk
