// The devices a host can ask a trainer for, as the API reports them (from
// core/backend/device.h, which the C layer does not see).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tk {

struct GpuInfo {
  std::string name;
  uint64_t memory_bytes = 0;
  int compute_major = 0, compute_minor = 0;
};

// The CUDA GPUs that can be used; when none, *why_none says why.
std::vector<GpuInfo> usable_gpus(std::string* why_none);

}  // namespace tk
