#include "core/api/replicated_trainer.h"

#include <omp.h>

#include <exception>
#include <thread>

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

}  // namespace

ReplicatedTrainer::ReplicatedTrainer(const Graph& graph, const TrainerConfig& config, int replicas,
                                     std::chrono::milliseconds timeout) {
  if (replicas < 1 || replicas > 256)
    fail(ErrorCode::kInvalidArgument, "replicas must be in [1, 256], got ", replicas);
  TrainerConfig per_replica = config;
  if (replicas > 1 && config.device >= 0)
    fail(ErrorCode::kUnsupported, "several replicas on GPUs need the NCCL communicator, which this build lacks; "
         "use one replica per GPU process, or CPU replicas");
  if (replicas > 1) per_replica.device = kDeviceCpu;  // auto: in-process replicas share the CPU
  // Share the cores: each replica's own loops get its part of them.
  if (replicas > 1 && config.threads == 0) per_replica.threads = std::max(1, omp_get_num_procs() / replicas);
  for (int r = 0; r < replicas; ++r) replicas_.push_back(std::make_unique<Trainer>(graph, per_replica));
  if (replicas > 1) {
    group_ = std::make_unique<LocalGroup>(replicas, timeout);
    // Joining broadcasts rank 0's weights: a collective, so all at once.
    std::vector<std::thread> threads;
    std::vector<std::exception_ptr> errors(replicas);
    for (int r = 0; r < replicas; ++r)
      threads.emplace_back([&, r] {
        try {
          replicas_[r]->join(group_->communicator(r));
        } catch (...) {
          errors[r] = std::current_exception();
          group_->communicator(r)->abort();
        }
      });
    for (std::thread& t : threads) t.join();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
  }
}

void ReplicatedTrainer::for_each(const std::function<void(Trainer&)>& fn) {
  for (auto& replica : replicas_) fn(*replica);
}

StepResult ReplicatedTrainer::step(const HostView& inputs, const HostView& targets) {
  if (replicas_.size() == 1) return replicas_[0]->step(inputs, targets);
  // Check the whole batch once, so a bad one fails before any replica starts.
  primary().plan().check_batch(inputs, &targets);
  const int n = replicas();
  const int64_t rows = inputs.shape[0];
  if (rows < n) fail(ErrorCode::kShapeMismatch, "a batch of ", rows, " rows cannot be split over ", n, " replicas");
  std::vector<StepResult> results(n);
  std::vector<std::exception_ptr> errors(n);
  auto run = [&](int r) {
    const int64_t begin = rows * r / n, end = rows * (r + 1) / n;
    try {
      results[r] = replicas_[r]->step(rows_of(inputs, begin, end - begin), rows_of(targets, begin, end - begin));
    } catch (...) {
      errors[r] = std::current_exception();
      group_->communicator(r)->abort();
    }
  };
  std::vector<std::thread> threads;
  for (int r = 1; r < n; ++r) threads.emplace_back(run, r);
  run(0);
  for (std::thread& t : threads) t.join();
  group_->reset();
  // Report the root cause: a replica's own error before the others' "peer failed".
  std::exception_ptr first;
  for (auto& e : errors) {
    if (!e) continue;
    try {
      std::rethrow_exception(e);
    } catch (const Error& error) {
      if (error.code() != ErrorCode::kCommunication) std::rethrow_exception(e);
      if (!first) first = e;
    } catch (...) {
      std::rethrow_exception(e);
    }
  }
  if (first) std::rethrow_exception(first);
  return results[0];
}

}  // namespace tk
