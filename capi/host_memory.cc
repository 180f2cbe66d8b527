// tk_host_alloc / tk_host_free: batch buffers the GPU reads without staging
// (core/api/host_memory.h keeps the blocks).
#include "capi/handles.h"
#include "core/api/host_memory.h"

using tk::capi::guarded;
using tk::capi::require;

TK_API tk_status tk_host_alloc(size_t bytes, void** out_ptr) {
  return guarded([&] {
    require(out_ptr, "out_ptr");
    void* block = tk::allocate_host_memory(bytes);
    *out_ptr = block;  // only on success, as every out-param
  });
}

TK_API tk_status tk_host_free(void* ptr) {
  return guarded([&] { tk::free_host_memory(ptr); });
}
