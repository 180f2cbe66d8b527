// libFuzzer target: the model-spec parser on arbitrary text.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/base/error.h"
#include "core/io/model_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    tk::model_spec_from_json(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const tk::Error&) {
  }
  return 0;
}
