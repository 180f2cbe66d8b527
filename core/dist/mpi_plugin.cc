// libtrainkit_mpi.so's exported entry points (mpi_plugin.h). No exception
// leaves them: errors become a code and a message (plugin_entry.h).
#include "core/dist/mpi_plugin.h"

#include <chrono>

#include "core/base/plugin_entry.h"
#include "core/dist/mpi_communicator.h"

TK_PLUGIN_EXPORT long long trainkit_mpi_plugin_abi() { return tk::kMpiPluginAbi; }

TK_PLUGIN_EXPORT int trainkit_mpi_world(long long timeout_ms, tk::Communicator** out, char* message,
                                        size_t capacity) {
  return tk::plugin_guarded("the MPI plugin", message, capacity,
                            [&] { *out = tk::open_mpi_world(std::chrono::milliseconds(timeout_ms)); });
}
