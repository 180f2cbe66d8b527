#include "core/optim/update_shard.h"

#include <algorithm>

#include "core/base/error.h"

namespace tk {
namespace {

constexpr int64_t kAlign = 64;  // elements: a cache line of f64, four of f32

// The weight gradient element `at` updates, or for an element in a gap
// between runs the first weight of the run after it.
int64_t weight_at(const std::vector<UpdateRun>& runs, int64_t at, int64_t param_count) {
  for (const UpdateRun& run : runs) {
    if (at < run.grad_offset) return run.param_offset;
    if (at < run.grad_offset + run.count) return run.param_offset + (at - run.grad_offset);
  }
  return param_count;
}

}  // namespace

UpdateShard shard_of(const UpdateLayout& layout, int64_t param_count, int rank, int ranks) {
  if (ranks < 1 || rank < 0 || rank >= ranks)
    fail(ErrorCode::kInternal, "rank ", rank, " of ", ranks, " cannot take a share of an update");
  std::vector<UpdateRun> runs = layout.runs;
  std::sort(runs.begin(), runs.end(),
            [](const UpdateRun& a, const UpdateRun& b) { return a.grad_offset < b.grad_offset; });
  const int64_t count = layout.grad_count;
  auto grad_bound = [&](int r) {
    if (r == ranks) return count;
    return std::min(count, count * r / ranks / kAlign * kAlign);
  };
  UpdateShard shard;
  for (int r = 0; r <= ranks; ++r) {
    const int64_t at = grad_bound(r);
    shard.grad_bounds.push_back(at);
    shard.param_bounds.push_back(r == 0 ? 0 : r == ranks ? param_count : weight_at(runs, at, param_count));
  }
  shard.grad_begin = grad_bound(rank);
  shard.grad_end = grad_bound(rank + 1);
  shard.param_begin = shard.param_bounds[rank];
  shard.param_end = shard.param_bounds[rank + 1];
  return shard;
}

}  // namespace tk
