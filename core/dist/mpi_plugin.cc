// libtrainkit_mpi.so's exported entry points (mpi_plugin.h). No exception
// leaves them: errors become a code and a message.
#include "core/dist/mpi_plugin.h"

#include <chrono>
#include <cstdio>
#include <exception>
#include <new>

#include "core/base/error.h"
#include "core/dist/mpi_communicator.h"

#define TK_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))

TK_PLUGIN_EXPORT long long trainkit_mpi_plugin_abi() { return tk::kMpiPluginAbi; }

TK_PLUGIN_EXPORT int trainkit_mpi_world(long long timeout_ms, tk::Communicator** out, char* message,
                                        size_t capacity) {
  auto write = [&](const char* text) {
    if (message && capacity) std::snprintf(message, capacity, "%s", text);
  };
  try {
    *out = tk::open_mpi_world(std::chrono::milliseconds(timeout_ms));
    return 0;
  } catch (const tk::Error& e) {
    write(e.what());
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    write("out of host memory");
    return static_cast<int>(tk::ErrorCode::kOutOfMemory);
  } catch (const std::exception& e) {
    write(e.what());
    return static_cast<int>(tk::ErrorCode::kInternal);
  } catch (...) {
    write("unknown error in the MPI plugin");
    return static_cast<int>(tk::ErrorCode::kInternal);
  }
}
