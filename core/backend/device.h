// Devices a trainer can run on: the CPU, always, and CUDA GPUs when
// libtrainkit_cuda.so loads and finds a driver and a GPU. The plugin is found
// at $TK_CUDA_LIBRARY, else beside the library holding this code, else on the
// loader's search path.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/backend/backend.h"
#include "core/dist/communicator.h"

namespace tk {

// Values mirror TK_DEVICE_CPU and TK_DEVICE_AUTO in capi/trainkit.h; 0 and
// up are CUDA device indices.
constexpr int kDeviceCpu = -1;
constexpr int kDeviceAuto = -2;

struct DeviceInfo {
  int index = 0;
  std::string name;
  uint64_t memory_bytes = 0;
  int major = 0, minor = 0;  // compute capability
};

// The CUDA GPUs; when there are none, *why_none (if given) says why (no
// plugin, no driver, no GPU).
std::vector<DeviceInfo> cuda_devices(std::string* why_none = nullptr);

// The backend for `device` (kDeviceCpu, kDeviceAuto or a CUDA index).
// `threads` sizes the CPU backend. Throws kInvalidArgument for a bad index and
// kUnsupported when a GPU was asked for and none can be used.
std::unique_ptr<Backend> make_backend(int device, int threads);

// Host memory for batches: page-locked when a GPU can be used (it copies
// from there at full bus speed, without staging), else ordinary memory.
struct HostMemory {
  void* ptr = nullptr;
  bool page_locked = false;
};
HostMemory host_alloc(size_t bytes);
void host_free(const HostMemory& memory);

// NCCL through the plugin: rank 0 makes the id (kNcclIdBytes bytes) and hands
// it to every rank, which joins with its CUDA backend. Throws kUnsupported
// without the plugin, kCommunication when the world does not form in time.
std::string nccl_unique_id();
std::unique_ptr<Communicator> make_nccl_communicator(const std::string& id, int rank, int size, Backend* backend,
                                                     int64_t timeout_ms);

}  // namespace tk
