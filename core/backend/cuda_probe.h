// A cheap look for a usable GPU before the CUDA plugin is loaded: the plugin
// brings cuBLAS, cuBLASLt, cuDNN and NCCL (hundreds of MB mapped, a large
// part of a second), which a machine with the CUDA libraries but no GPU or no
// driver (CI, many servers) should not pay for.
#pragma once

#include <string>

namespace tk {

// True when the CUDA driver (libcuda.so.1) loads, initializes and counts at
// least one device; otherwise false with the reason in *why.
bool cuda_driver_has_device(std::string* why);

}  // namespace tk
