#include "core/api/host_memory.h"

#include <mutex>
#include <unordered_map>

#include "core/backend/device.h"
#include "core/base/error.h"

namespace tk {
namespace {

struct Registry {
  std::mutex mutex;
  std::unordered_map<void*, HostMemory> blocks;
};

Registry& registry() {
  static Registry* instance = new Registry;  // never destroyed: frees may come during exit
  return *instance;
}

}  // namespace

void* allocate_host_memory(size_t bytes) {
  const HostMemory memory = host_alloc(bytes);
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.blocks[memory.ptr] = memory;
  return memory.ptr;
}

void free_host_memory(void* ptr) {
  if (!ptr) return;
  HostMemory memory;
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    auto found = r.blocks.find(ptr);
    if (found == r.blocks.end())
      fail(ErrorCode::kInvalidArgument, "tk_host_free: the pointer did not come from tk_host_alloc");
    memory = found->second;
    r.blocks.erase(found);
  }
  host_free(memory);
}

}  // namespace tk
