// tk_host_alloc / tk_host_free: batch buffers the GPU reads without staging.
// The registry remembers how each block was allocated, so a pointer the
// library did not hand out is refused instead of freed.
#include <mutex>
#include <unordered_map>

#include "capi/handles.h"
#include "core/backend/device.h"

using tk::capi::guarded;
using tk::capi::require;

namespace {

struct Registry {
  std::mutex mutex;
  std::unordered_map<void*, tk::HostMemory> blocks;
};

Registry& registry() {
  static Registry* instance = new Registry;  // never destroyed: frees may come during exit
  return *instance;
}

}  // namespace

TK_API tk_status tk_host_alloc(size_t bytes, void** out_ptr) {
  return guarded([&] {
    require(out_ptr, "out_ptr");
    *out_ptr = nullptr;
    const tk::HostMemory memory = tk::host_alloc(bytes);
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    r.blocks[memory.ptr] = memory;
    *out_ptr = memory.ptr;
  });
}

TK_API tk_status tk_host_free(void* ptr) {
  return guarded([&] {
    if (!ptr) return;
    tk::HostMemory memory;
    {
      Registry& r = registry();
      std::lock_guard<std::mutex> lock(r.mutex);
      auto found = r.blocks.find(ptr);
      if (found == r.blocks.end())
        tk::fail(tk::ErrorCode::kInvalidArgument, "tk_host_free: the pointer did not come from tk_host_alloc");
      memory = found->second;
      r.blocks.erase(found);
    }
    tk::host_free(memory);
  });
}
