#include "core/backend/device.h"

#include <dlfcn.h>

#include <mutex>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cuda_plugin.h"
#include "core/backend/cuda_probe.h"
#include "core/base/error.h"
#include "core/base/plugin_library.h"
#include "core/kernels/kernel_table.h"

namespace tk {
namespace {

constexpr const char* kPluginName = "libtrainkit_cuda.so";

struct Plugin {
  bool loaded = false;
  std::string why_not;  // when not loaded
  CudaDeviceCountFn device_count = nullptr;
  CudaDevicePropertiesFn device_properties = nullptr;
  CudaBackendCreateFn backend_create = nullptr;
  NcclUniqueIdFn nccl_unique_id = nullptr;
  NcclCommunicatorCreateFn nccl_communicator_create = nullptr;
  CudaHostAllocFn host_alloc = nullptr;
  CudaHostFreeFn host_free = nullptr;
};

Plugin load_plugin() {
  Plugin plugin;
  std::string why;
  // The driver first: without a device the plugin and its libraries stay unloaded.
  if (!cuda_driver_has_device(&why)) {
    plugin.why_not = why;
    return plugin;
  }
  void* handle = open_plugin(kPluginName, "TK_CUDA_LIBRARY", "trainkit_cuda_plugin_abi", kCudaPluginAbi, &why);
  if (!handle) {
    plugin.why_not = why;
    return plugin;
  }
  plugin.device_count = reinterpret_cast<CudaDeviceCountFn>(dlsym(handle, "trainkit_cuda_device_count"));
  plugin.device_properties = reinterpret_cast<CudaDevicePropertiesFn>(dlsym(handle, "trainkit_cuda_device_properties"));
  plugin.backend_create = reinterpret_cast<CudaBackendCreateFn>(dlsym(handle, "trainkit_cuda_backend_create"));
  plugin.nccl_unique_id = reinterpret_cast<NcclUniqueIdFn>(dlsym(handle, "trainkit_cuda_nccl_unique_id"));
  plugin.nccl_communicator_create =
      reinterpret_cast<NcclCommunicatorCreateFn>(dlsym(handle, "trainkit_cuda_nccl_communicator_create"));
  plugin.host_alloc = reinterpret_cast<CudaHostAllocFn>(dlsym(handle, "trainkit_cuda_host_alloc"));
  plugin.host_free = reinterpret_cast<CudaHostFreeFn>(dlsym(handle, "trainkit_cuda_host_free"));
  auto kernels = reinterpret_cast<CudaKernelsFn>(dlsym(handle, "trainkit_cuda_kernels"));
  if (!kernels || !plugin.device_count || !plugin.device_properties || !plugin.backend_create ||
      !plugin.nccl_unique_id || !plugin.nccl_communicator_create || !plugin.host_alloc || !plugin.host_free) {
    plugin.why_not = std::string(kPluginName) + " lacks trainkit's plugin entry points";
  } else {
    // The op families' CUDA kernels join this library's kernel table.
    const KernelEntry* entries = nullptr;
    size_t count = 0;
    char message[512] = "";
    if (kernels(&entries, &count, message, sizeof message) != 0) {
      plugin.why_not = std::string(kPluginName) + " could not list its kernels: " + message;
      return plugin;
    }
    try {
      for (size_t i = 0; i < count; ++i) KernelTable::global().add(entries[i]);
    } catch (const Error& e) {
      plugin.why_not = std::string(kPluginName) + ": " + e.what();
      return plugin;
    }
    plugin.loaded = true;
  }
  // The handle stays open for the life of the process: backends it made may outlive any caller.
  return plugin;
}

const Plugin& plugin() {
  static const Plugin loaded = load_plugin();
  return loaded;
}

}  // namespace

std::vector<DeviceInfo> cuda_devices(std::string* why_none) {
  std::vector<DeviceInfo> devices;
  const Plugin& p = plugin();
  auto none = [&](const std::string& why) {
    if (why_none) *why_none = why;
    return devices;
  };
  if (!p.loaded) return none(p.why_not);
  char message[512] = "";
  int count = 0;
  if (p.device_count(&count, message, sizeof message) != 0) return none(message);
  for (int i = 0; i < count; ++i) {
    CudaDeviceProperties props{};
    if (p.device_properties(i, &props, message, sizeof message) != 0) continue;
    devices.push_back({i, props.name, props.memory_bytes, props.major, props.minor});
  }
  if (devices.empty()) return none("the CUDA driver reports no GPU");
  return devices;
}

std::unique_ptr<Backend> make_backend(int device, int threads) {
  if (device == kDeviceCpu) return std::make_unique<cpu::CpuBackend>(threads);
  if (device < kDeviceAuto)
    fail(ErrorCode::kInvalidArgument, "device ", device, " is not a device (CPU -1, auto -2, GPU 0..)");
  std::string why;
  const std::vector<DeviceInfo> devices = cuda_devices(&why);
  if (device == kDeviceAuto) {
    if (devices.empty()) return std::make_unique<cpu::CpuBackend>(threads);
    device = 0;
  } else if (devices.empty()) {
    fail(ErrorCode::kUnsupported, "CUDA device ", device, " was requested but no GPU can be used: ", why);
  } else if (device >= static_cast<int>(devices.size())) {
    fail(ErrorCode::kInvalidArgument, "CUDA device ", device, " does not exist (", devices.size(), " present)");
  }
  char message[512] = "";
  Backend* backend = nullptr;
  const int code = plugin().backend_create(device, &backend, message, sizeof message);
  if (code != 0) fail(static_cast<ErrorCode>(code), message);
  return std::unique_ptr<Backend>(backend);
}

HostMemory host_alloc(size_t bytes) {
  if (bytes == 0) fail(ErrorCode::kInvalidArgument, "cannot allocate 0 bytes");
  if (!cuda_devices().empty()) {
    char message[512] = "";
    void* ptr = nullptr;
    const int code = plugin().host_alloc(bytes, &ptr, message, sizeof message);
    if (code != 0) fail(static_cast<ErrorCode>(code), message);
    return {ptr, true};
  }
  // No GPU: ordinary memory, aligned for vector loads.
  void* ptr = nullptr;
  if (posix_memalign(&ptr, 64, bytes) != 0) fail(ErrorCode::kOutOfMemory, "cannot allocate ", bytes, " bytes");
  return {ptr, false};
}

void host_free(const HostMemory& memory) {
  if (memory.page_locked)
    plugin().host_free(memory.ptr);
  else
    std::free(memory.ptr);
}

std::string nccl_unique_id() {
  const Plugin& p = plugin();
  if (!p.loaded) fail(ErrorCode::kUnsupported, "NCCL needs the CUDA backend: ", p.why_not);
  std::string id(kNcclIdBytes, '\0');
  char message[512] = "";
  const int code = p.nccl_unique_id(id.data(), message, sizeof message);
  if (code != 0) fail(static_cast<ErrorCode>(code), message);
  return id;
}

std::unique_ptr<Communicator> make_nccl_communicator(const std::string& id, int rank, int size, Backend* backend,
                                                     int64_t timeout_ms) {
  const Plugin& p = plugin();
  if (!p.loaded) fail(ErrorCode::kUnsupported, "NCCL needs the CUDA backend: ", p.why_not);
  if (id.size() != kNcclIdBytes)
    fail(ErrorCode::kInvalidArgument, "an NCCL id has ", kNcclIdBytes, " bytes, got ", id.size());
  char message[512] = "";
  Communicator* communicator = nullptr;
  const int code =
      p.nccl_communicator_create(id.data(), rank, size, backend, timeout_ms, &communicator, message, sizeof message);
  if (code != 0) fail(static_cast<ErrorCode>(code), message);
  return std::unique_ptr<Communicator>(communicator);
}

}  // namespace tk
