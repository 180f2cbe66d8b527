// libFuzzer target: the IDX parser on arbitrary (decompressed) bytes.
#include <cstddef>
#include <cstdint>

#include "core/base/error.h"
#include "core/data/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    tk::parse_idx("fuzz", data, size);
  } catch (const tk::Error&) {
  }
  return 0;
}
