// MPI data parallel from libtrainkit's side: the world communicator, reached
// through the MPI plugin (libtrainkit_mpi.so), loaded on first use.
#pragma once

#include <chrono>

#include "core/dist/communicator.h"

namespace tk {

// The process-wide communicator over MPI_COMM_WORLD. Throws kUnsupported,
// naming the plugin and where it was looked for, when it cannot be loaded;
// kCommunication when MPI cannot start.
Communicator* mpi_world(std::chrono::milliseconds timeout);

}  // namespace tk
