// tk_op_catalog: the registered ops, their inputs and attributes, as JSON.
#include "core/api/op_catalog.h"

#include <cstring>

#include "capi/handles.h"

using tk::capi::guarded;
using tk::capi::require;

extern "C" TK_API tk_status tk_op_catalog(char* buffer, size_t capacity, size_t* out_length) {
  return guarded([&] {
    require(out_length, "out_length");
    const std::string text = tk::op_catalog_json();
    if (buffer) {
      if (capacity < text.size() + 1)
        tk::fail(tk::ErrorCode::kInvalidArgument, "the op catalog needs ", text.size() + 1, " bytes, the buffer has ",
                 capacity);
      std::memcpy(buffer, text.c_str(), text.size() + 1);
    }
    *out_length = text.size() + 1;
  });
}
