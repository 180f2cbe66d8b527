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
  void* handle = open_plugin(kMpiPluginName, "TK_MPI_LIBRARY", &why);
  if (!handle) {
    plugin.why_not = std::string("MPI data parallel needs the MPI plugin ") + kMpiPluginName +
                     ", which could not be loaded (" + why +
                     "); install it beside libtrainkit.so or set TK_MPI_LIBRARY to its path";
    return plugin;
  }
  auto abi = reinterpret_cast<MpiPluginAbiFn>(dlsym(handle, "trainkit_mpi_plugin_abi"));
  auto world = reinterpret_cast<MpiWorldFn>(dlsym(handle, "trainkit_mpi_world"));
  if (!abi || !world) {
    plugin.why_not = std::string(kMpiPluginName) + " lacks trainkit's MPI plugin entry points";
  } else if (abi() != kMpiPluginAbi) {
    plugin.why_not = std::string(kMpiPluginName) + " is from another trainkit build (plugin ABI " +
                     std::to_string(abi()) + ", expected " + std::to_string(kMpiPluginAbi) + ")";
  } else {
    plugin.world = world;
  }
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
