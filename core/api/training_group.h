// The trainer a host holds: replicas in this process (ReplicatedTrainer), and
// for MPI or NCCL this process's place in the world, formed when it is made.
// Replica 0 answers every read.
#pragma once

#include <memory>

#include "core/api/distributed_options.h"
#include "core/api/model.h"
#include "core/api/replicated_trainer.h"

namespace tk {

class TrainingGroup {
 public:
  TrainingGroup(const Model& model, const TrainerConfig& config, const DistributedOptions& options);

  ReplicatedTrainer& replicas() { return *group_; }
  const ReplicatedTrainer& replicas() const { return *group_; }
  Trainer& primary() { return group_->primary(); }
  const Trainer& primary() const { return group_->primary(); }
  // This process's rank in an MPI or NCCL world and the world's size; 0 and 1
  // for replicas in one process.
  int rank() const;
  int world_size() const;

 private:
  std::unique_ptr<ReplicatedTrainer> group_;
  // An NCCL world this trainer joined; it uses the primary's backend, so it is
  // destroyed first (members go in reverse order).
  std::unique_ptr<Communicator> communicator_;
};

}  // namespace tk
