// How a trainer joins others: N replicas in this process, or this process as
// one rank of an MPI world, or one GPU rank of an NCCL world whose unique id
// comes from MPI or from the host's own rendezvous.
#pragma once

#include <functional>
#include <string>

namespace tk {

struct DistributedOptions {
  int replicas = 1;
  bool mpi = false;
  bool nccl = false;
  // The host's rendezvous for NCCL: this rank, the world's size, and a
  // broadcast of rank 0's bytes to every rank (throws when it fails). Without
  // a broadcast, MPI hands out the NCCL id.
  int rendezvous_rank = 0, rendezvous_size = 1;
  std::function<void(std::string& bytes)> rendezvous_broadcast;
  double timeout_seconds = 300;
};

}  // namespace tk
