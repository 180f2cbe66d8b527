// The entry points libtrainkit_mpi.so exports with C linkage, looked up by
// name the first time a trainer asks for MPI data parallel (mpi_world.cc).
// libtrainkit itself links no MPI: a machine without MPI still loads it, and a
// site with its own MPI rebuilds only this plugin against it.
#pragma once

#include <cstddef>

#include "core/dist/mpi_plugin_abi.h"

namespace tk {

class Communicator;

constexpr const char* kMpiPluginName = "libtrainkit_mpi.so";

// kMpiPluginAbi (mpi_plugin_abi.h) hashes the headers both sides compile
// against; the plugin's trainkit_mpi_plugin_abi() returns its own, and
// open_plugin refuses a plugin from another build.
// The process's world (initializing MPI unless the host did), owned by the
// plugin until exit. Returns 0 or an ErrorCode value with a message.
using MpiWorldFn = int (*)(long long timeout_ms, Communicator** out, char* message, size_t capacity);

}  // namespace tk
