#include "core/api/training_group.h"

#include <chrono>
#include <string>

#include "core/api/distributed_setup.h"
#include "core/backend/device.h"
#include "core/base/error.h"
#include "core/dist/mpi_world.h"

namespace tk {

TrainingGroup::TrainingGroup(const Model& model, const TrainerConfig& trainer_config,
                             const DistributedOptions& options) {
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(options.timeout_seconds * 1000));
  if ((options.mpi || options.nccl) && options.replicas > 1)
    fail(ErrorCode::kInvalidArgument, "MPI and NCCL run one replica per process; set replicas to 1");
  TrainerConfig config = trainer_config;
  NcclWorld world;
  if (options.nccl) {
    world = form_nccl_world(options, timeout);
    config.device = nccl_device(config.device, world);
  }
  group_ = std::make_unique<ReplicatedTrainer>(model.graph(), config, options.replicas, timeout);
  if (options.mpi) primary().join(mpi_world(timeout));
  if (options.nccl) {
    const std::string id = share_nccl_id(options, world);
    communicator_ = make_nccl_communicator(id, world.rank, world.size, &primary().backend(), timeout.count());
    primary().join(communicator_.get());
  }
}

int TrainingGroup::rank() const {
  const Communicator* comm = primary().communicator();
  return comm && group_->replicas() == 1 ? comm->rank() : 0;
}

int TrainingGroup::world_size() const {
  const Communicator* comm = primary().communicator();
  return comm && group_->replicas() == 1 ? comm->size() : 1;
}

}  // namespace tk
