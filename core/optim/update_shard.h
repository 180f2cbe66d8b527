// An optimizer update split over the replicas of a group: replica r updates
// only its slice of the gradients, moments and weights, and the replicas
// then exchange their updated weights. Over n replicas each one's update
// reads and writes 1/n of the memory a whole update does; the moments a
// replica holds are current only on its own slice.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/optim/optimizer.h"

namespace tk {

struct UpdateShard {
  // This replica's gradient (and moment) elements, and the weights they map
  // to; a rank's weights run up to the next rank's, so frozen tensors between
  // runs travel with the rank before them and every weight has one owner.
  int64_t grad_begin = 0, grad_end = 0;
  int64_t param_begin = 0, param_end = 0;
  // Every rank's first gradient element and weight, and the counts last:
  // rank r owns [grad_bounds[r], grad_bounds[r + 1]) and likewise weights.
  std::vector<int64_t> grad_bounds, param_bounds;
  // The group's collectives, made by the layer that owns the communicator:
  // an in-place sum of `count` doubles over the replicas, and the exchange
  // that leaves every rank's slice of a weight buffer of `elem`-byte
  // elements in every replica's copy.
  std::function<void(double* values, int count)> sum;
  std::function<void(void* weights, size_t elem)> gather;
};

// Rank `rank` of `ranks`' share of `layout` over `param_count` weights:
// gradient slices of equal size, cut at multiples of 64 elements so that no
// two replicas' slices share a cache line.
UpdateShard shard_of(const UpdateLayout& layout, int64_t param_count, int rank, int ranks);

}  // namespace tk
