#include "core/dist/mpi_world.h"

#include <dlfcn.h>

#include <string>

#include "core/base/error.h"
#include "core/base/plugin_library.h"
#include "core/dist/mpi_plugin.h"

namespace tk {
namespace {

struct MpiPlugin {
  MpiWorldFn world = nullptr;
  std::string why_not;  // when not loaded
};

MpiPlugin load_mpi_plugin() {
  MpiPlugin plugin;
  std::string why;
  void* handle = open_plugin(kMpiPluginName, "TK_MPI_LIBRARY", "trainkit_mpi_plugin_abi", kMpiPluginAbi, &why);
  if (handle) plugin.world = reinterpret_cast<MpiWorldFn>(dlsym(handle, "trainkit_mpi_world"));
  if (!handle || !plugin.world)
    plugin.why_not = "MPI data parallel needs the MPI plugin: " +
                     (handle ? std::string(kMpiPluginName) + " lacks trainkit's plugin entry points" : why) +
                     "; install it beside libtrainkit.so or set TK_MPI_LIBRARY to its path";
  return plugin;
}

}  // namespace

Communicator* mpi_world(std::chrono::milliseconds timeout) {
  static const MpiPlugin plugin = load_mpi_plugin();
  if (!plugin.world) fail(ErrorCode::kUnsupported, plugin.why_not);
  char message[512] = "";
  Communicator* world = nullptr;
  const int code = plugin.world(static_cast<long long>(timeout.count()), &world, message, sizeof message);
  if (code != 0) fail(static_cast<ErrorCode>(code), message);
  return world;
}

}  // namespace tk
