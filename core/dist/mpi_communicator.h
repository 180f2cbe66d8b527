// Replicas in separate processes (and machines) through MPI (OpenMPI). Every
// collective is non-blocking underneath and polled against the timeout, so a
// peer that died or stalled gives Error(kCommunication) instead of a hang;
// after such an error the world cannot be used again.
#pragma once

#include <chrono>

#include "core/dist/communicator.h"

namespace tk {

// The process-wide communicator over MPI_COMM_WORLD; initializes MPI (thread
// level: serialized) on first use unless the host already did. Part of the MPI
// plugin (libtrainkit_mpi.so); libtrainkit reaches it through mpi_world().
Communicator* open_mpi_world(std::chrono::milliseconds timeout);

}  // namespace tk
