#include "core/api/distributed_setup.h"

#include <cstdlib>

#include "core/backend/cuda_plugin.h"
#include "core/backend/device.h"
#include "core/base/error.h"
#include "core/dist/mpi_world.h"

namespace tk {

NcclWorld form_nccl_world(const DistributedOptions& options, std::chrono::milliseconds timeout) {
  NcclWorld world;
  if (options.rendezvous_broadcast) {
    world.rank = options.rendezvous_rank;
    world.size = options.rendezvous_size;
  } else {
    world.mpi = mpi_world(timeout);
    world.rank = world.mpi->rank();
    world.size = world.mpi->size();
  }
  if (const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK")) world.local_rank = std::atoi(local);
  return world;
}

int nccl_device(int device, const NcclWorld& world) {
  if (device >= 0) return device;
  if (device == kDeviceCpu) fail(ErrorCode::kInvalidArgument, "NCCL trains on GPUs, not the CPU");
  std::string why;
  const size_t gpus = cuda_devices(&why).size();
  if (gpus == 0) fail(ErrorCode::kUnsupported, "NCCL needs a GPU, and none can be used: ", why);
  return static_cast<int>((world.local_rank >= 0 ? world.local_rank : world.rank) % static_cast<int>(gpus));
}

std::string share_nccl_id(const DistributedOptions& options, const NcclWorld& world) {
  std::string id = world.rank == 0 ? nccl_unique_id() : std::string(kNcclIdBytes, '\0');
  if (options.rendezvous_broadcast)
    options.rendezvous_broadcast(id);
  else
    world.mpi->broadcast(id.data(), id.size(), 0);
  return id;
}

}  // namespace tk
