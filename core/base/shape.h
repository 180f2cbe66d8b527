// Shapes are row-major extents. Activations carry a per-sample shape; the batch
// dimension is added when a plan runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tk {

using Shape = std::vector<int64_t>;

constexpr int kMaxRank = 8;

// Product of the extents; throws kInvalidArgument on a negative extent or overflow.
int64_t shape_numel(const Shape& shape);
// a * b for sizes, throwing kOutOfMemory (naming `what`) past kMaxBytes.
int64_t checked_size(int64_t a, int64_t b, const char* what);
// Buffers beyond this are refused outright (2^56 bytes).
constexpr int64_t kMaxBytes = int64_t{1} << 56;
std::string shape_to_string(const Shape& shape);

}  // namespace tk
