#include "core/graph/memory_planner.h"

#include <algorithm>
#include <numeric>

namespace tk {
namespace {

constexpr size_t kAlignment = 64;

size_t align_up(size_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

}  // namespace

MemoryLayout plan_memory(const std::vector<BufferLifetime>& buffers) {
  MemoryLayout layout;
  layout.offsets.assign(buffers.size(), 0);
  std::vector<size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return buffers[a].bytes > buffers[b].bytes; });

  struct Placed { size_t offset, bytes; int first, last; };
  std::vector<Placed> placed;
  for (size_t index : order) {
    const BufferLifetime& buffer = buffers[index];
    size_t bytes = align_up(buffer.bytes);
    // Address ranges of placed buffers alive at the same time, by offset.
    std::vector<std::pair<size_t, size_t>> busy;
    for (const Placed& p : placed)
      if (p.first <= buffer.last && buffer.first <= p.last) busy.push_back({p.offset, p.offset + p.bytes});
    std::sort(busy.begin(), busy.end());
    size_t offset = 0;
    for (const auto& [begin, end] : busy) {
      if (offset + bytes <= begin) break;
      offset = std::max(offset, end);
    }
    layout.offsets[index] = offset;
    layout.arena_bytes = std::max(layout.arena_bytes, offset + bytes);
    placed.push_back({offset, bytes, buffer.first, buffer.last});
  }
  return layout;
}

}  // namespace tk
