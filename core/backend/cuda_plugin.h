// The entry points libtrainkit_cuda.so exports with C linkage, looked up by
// name when libtrainkit loads it (device.cc). Each returns 0 or an ErrorCode
// value, with a message written into `message` (NUL-terminated, truncated).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/backend/plugin_abi.h"

namespace tk {

class Backend;
class Communicator;

// kCudaPluginAbi (plugin_abi.h) is derived from the headers both sides
// compile against; the plugin's trainkit_cuda_plugin_abi() returns its own,
// and open_plugin refuses a plugin from another build instead of calling it
// through a wrong vtable or kernel signature.

struct CudaDeviceProperties {
  char name[256];
  uint64_t memory_bytes;
  int32_t major, minor;  // compute capability
};

using CudaDeviceCountFn = int (*)(int* count, char* message, size_t capacity);
using CudaDevicePropertiesFn = int (*)(int device, CudaDeviceProperties* out, char* message, size_t capacity);
// *out is owned by the caller, who deletes it through Backend's virtual destructor.
using CudaBackendCreateFn = int (*)(int device, Backend** out, char* message, size_t capacity);
// The plugin's CUDA kernels (core/kernels/kernel_table.h): *count entries at
// *entries, valid while the plugin stays loaded.
struct KernelEntry;
using CudaKernelsFn = int (*)(const KernelEntry** entries, size_t* count, char* message, size_t capacity);

// Page-locked host memory (cudaHostAlloc, portable to every device).
using CudaHostAllocFn = int (*)(size_t bytes, void** out, char* message, size_t capacity);
using CudaHostFreeFn = void (*)(void* ptr);

// NCCL: rank 0 makes the unique id (kNcclIdBytes), every rank passes it to
// communicator_create with its rank, the world size and its CUDA backend.
constexpr size_t kNcclIdBytes = 128;
using NcclUniqueIdFn = int (*)(void* id, char* message, size_t capacity);
using NcclCommunicatorCreateFn = int (*)(const void* id, int rank, int size, Backend* backend, int64_t timeout_ms,
                                         Communicator** out, char* message, size_t capacity);

}  // namespace tk
