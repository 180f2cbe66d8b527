// libFuzzer target: the safetensors reader must turn any bytes into a parsed
// file or an Error, never a crash or an out-of-bounds access.
#include <cstddef>
#include <cstdint>

#include "core/base/error.h"
#include "core/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    tk::parse_safetensors("fuzz", data, size);
  } catch (const tk::Error&) {
  }
  return 0;
}
