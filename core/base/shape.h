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
std::string shape_to_string(const Shape& shape);

}  // namespace tk
