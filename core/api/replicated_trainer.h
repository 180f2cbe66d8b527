// Data parallel in one process: N replicas of a trainer on N threads, each
// taking an equal share of the rows of every global batch. CPU replicas
// average their gradients through a LocalGroup; GPU replicas (one GPU each,
// from the configured device up) through NCCL. N = 1 is a plain trainer.
// A step that fails on one replica aborts the group's collectives; a
// LocalGroup is reset for the next step, NCCL communicators stay aborted (the
// trainer must be made again). Replica 0 answers
// everything that only reads (evaluate, predict, parameters); calls that
// change state go to every replica, so they stay identical.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "core/api/replica_workers.h"
#include "core/api/trainer.h"
#include "core/dist/local_group.h"

namespace tk {

class ReplicatedTrainer {
 public:
  ReplicatedTrainer(const Graph& graph, const TrainerConfig& config, int replicas,
                    std::chrono::milliseconds timeout = std::chrono::seconds(300));
  // Its replicas' hooks (Trainer::shard_update) hold its address.
  ReplicatedTrainer(const ReplicatedTrainer&) = delete;
  ReplicatedTrainer& operator=(const ReplicatedTrainer&) = delete;

  int replicas() const { return static_cast<int>(replicas_.size()); }
  Trainer& primary() { return *replicas_[0]; }
  const Trainer& primary() const { return *replicas_[0]; }

  // Splits the global batch by rows (at least one row per replica).
  StepResult step(const InputViews& inputs, const HostView& targets);
  // Trainer::step_async and wait(); over several replicas a step is synchronous.
  void step_async(const InputViews& inputs, const HostView& targets);
  StepResult wait();
  // Runs fn on every replica in turn, on the calling thread. fn must not
  // call collectives itself; a replica's read of its moments whole (snapshot,
  // a change of the frozen set) gathers them from every replica through
  // the group's threads, which is why this never runs inside a step.
  void for_each(const std::function<void(Trainer&)>& fn);

 private:
  Communicator* communicator(int rank);
  // Replica r joins through `communicator_for(r)`, all at once (a collective).
  void join_all(const std::function<Communicator*(int)>& communicator_for);
  // With sharded updates: every replica's share of the moments to every
  // replica, before one of them reads its moments whole.
  void gather_optimizer_state();

  std::unique_ptr<LocalGroup> group_;
  std::vector<std::unique_ptr<Trainer>> replicas_;
  // GPU replicas' NCCL communicators; destroyed before the replicas' backends.
  std::vector<std::unique_ptr<Communicator>> nccl_;
  // The threads that join and step replicas 1..n-1 (made by join_all).
  std::unique_ptr<ReplicaWorkers> workers_;
  StepResult last_result_;  // of the last synchronous step over several replicas
};

}  // namespace tk
