// Places buffers with known lifetimes into one arena: two buffers share bytes
// only if their lifetimes [first, last] (inclusive step indices) do not overlap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tk {

struct BufferLifetime {
  size_t bytes;
  int first;
  int last;
};

struct MemoryLayout {
  std::vector<size_t> offsets;  // one per buffer, 64-byte aligned
  size_t arena_bytes = 0;
};

// Greedy: largest buffers first, each at the lowest offset that fits.
MemoryLayout plan_memory(const std::vector<BufferLifetime>& buffers);

}  // namespace tk
