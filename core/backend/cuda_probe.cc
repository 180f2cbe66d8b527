#include "core/backend/cuda_probe.h"

#include <dlfcn.h>

namespace tk {

bool cuda_driver_has_device(std::string* why) {
  // The driver API by name, without its header: CUresult is an int, 0 is success.
  using CuInitFn = int (*)(unsigned flags);
  using CuDeviceGetCountFn = int (*)(int* count);
  constexpr int kNoDevice = 100;  // CUDA_ERROR_NO_DEVICE
  // Kept open: the plugin loads the same library when a device is found, and
  // unloading a driver that initialized is not safe.
  void* driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!driver) {
    const char* error = dlerror();
    *why = std::string("no CUDA driver on this machine (") + (error ? error : "libcuda.so.1 not found") + ")";
    return false;
  }
  auto init = reinterpret_cast<CuInitFn>(dlsym(driver, "cuInit"));
  auto device_count = reinterpret_cast<CuDeviceGetCountFn>(dlsym(driver, "cuDeviceGetCount"));
  if (!init || !device_count) {
    *why = "libcuda.so.1 lacks cuInit or cuDeviceGetCount";
    return false;
  }
  const int status = init(0);
  if (status == kNoDevice) {
    *why = "the CUDA driver reports no GPU";
    return false;
  }
  if (status != 0) {
    *why = "the CUDA driver could not be initialized (CUresult " + std::to_string(status) + ")";
    return false;
  }
  int count = 0;
  if (device_count(&count) != 0 || count == 0) {
    *why = "the CUDA driver reports no GPU";
    return false;
  }
  return true;
}

}  // namespace tk
