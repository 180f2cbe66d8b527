// Host memory for batches that a GPU reads without staging (page-locked when
// a GPU can be used). Blocks are remembered with how they were allocated, so
// a pointer that did not come from here is refused instead of freed.
#pragma once

#include <cstddef>

namespace tk {

void* allocate_host_memory(size_t bytes);
// Null is ignored; throws kInvalidArgument for a pointer not from allocate_host_memory.
void free_host_memory(void* ptr);

}  // namespace tk
