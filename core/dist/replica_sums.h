// Small sums across a group's replicas from inside a step: sync batch
// norm's per-channel statistics and gradient sums. Values are f64 in host
// memory owned here and never freed before this object (a grown buffer's
// predecessor is kept), so a peer still writing after this replica gave up
// never writes into freed memory; every replica calls sum() at the same
// points of the step with the same sizes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include "core/dist/communicator.h"

namespace tk {

class ReplicaSums {
 public:
  explicit ReplicaSums(Communicator* communicator) : communicator_(communicator) {}

  int replicas() const { return communicator_->size(); }
  // Room for n values, kept until the next call.
  double* values(size_t n) {
    if (values_.size() < n) {
      retired_.push_back(std::move(values_));
      values_.assign(std::max(n, 2 * retired_.back().size()), 0.0);
    }
    return values_.data();
  }
  // In place: values[i] = the sum over replicas of their values[i], i < n.
  void sum(size_t n) { communicator_->all_reduce_sum(DType::kF64, values_.data(), static_cast<int64_t>(n)); }

 private:
  Communicator* communicator_;
  std::vector<double> values_;
  std::vector<std::vector<double>> retired_;
};

}  // namespace tk
