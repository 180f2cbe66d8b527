// Forming an NCCL world: who this rank is, which GPU it trains on, and rank
// 0's NCCL unique id on every rank.
#pragma once

#include <chrono>
#include <string>

#include "core/api/distributed_options.h"
#include "core/dist/communicator.h"

namespace tk {

struct NcclWorld {
  int rank = 0, size = 1;
  int local_rank = -1;          // from mpirun's environment, when there
  Communicator* mpi = nullptr;  // hands out the NCCL id when no rendezvous was given
};

// The rank and size from the host's rendezvous, else from MPI.
NcclWorld form_nccl_world(const DistributedOptions& options, std::chrono::milliseconds timeout);
// The GPU for this rank: `device` when one was asked for, else its local
// rank's, else its rank modulo the GPUs. Throws for the CPU or with no GPU.
int nccl_device(int device, const NcclWorld& world);
// Rank 0's NCCL unique id on every rank, through the host's rendezvous or MPI.
std::string share_nccl_id(const DistributedOptions& options, const NcclWorld& world);

}  // namespace tk
