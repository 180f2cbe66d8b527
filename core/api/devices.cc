#include "core/api/devices.h"

#include "core/backend/device.h"

namespace tk {

std::vector<GpuInfo> usable_gpus(std::string* why_none) {
  std::vector<GpuInfo> gpus;
  for (const DeviceInfo& d : cuda_devices(why_none)) gpus.push_back({d.name, d.memory_bytes, d.major, d.minor});
  return gpus;
}

}  // namespace tk
