// Seeded, shuffled mini-batches over a Dataset. Each epoch's order is a pure
// function of (seed, epoch), so a run can be reproduced or resumed.
#pragma once

#include <cstdint>
#include <vector>

#include "core/data/dataset.h"

namespace tk {

// Where a batcher is, for checkpoints: enough to continue with exactly the
// batches an uninterrupted run would have seen.
struct BatcherCursor {
  int64_t epoch = 0;
  int64_t position = 0;  // samples already served this epoch
  uint64_t seed = 0;
  int64_t batch_size = 0;
  bool shuffle = false;
  bool drop_last = false;
  int64_t dataset_size = 0;
};

class Batcher {
 public:
  Batcher(const Dataset& dataset, int64_t batch_size, bool shuffle, uint64_t seed, bool drop_last);

  // Starts `epoch` from its first batch.
  void reset(int64_t epoch);
  // Fills views of the next batch (valid until the next call); false at the end of the epoch.
  bool next(HostView* features, HostView* targets);
  int64_t epoch() const { return epoch_; }
  int64_t batches_per_epoch() const;
  // Serves only this replica's share of each epoch: the positions p of the
  // epoch's order with p % count == rank (seeded alike on every rank). The
  // shares are equal, so every rank takes the same number of steps and none
  // waits for a partner that has run out: kPad repeats the first
  // count - N % count samples of the epoch's order (as PyTorch's
  // DistributedSampler), kDrop leaves the last N % count out.
  enum class Remainder { kPad, kDrop };
  void shard(int rank, int count, Remainder remainder = Remainder::kPad);
  BatcherCursor cursor() const;
  // Throws kInvalidArgument if the cursor is for another batch size, order,
  // dataset size or an impossible position; otherwise continues from it.
  void restore(const BatcherCursor& cursor);

 private:
  const Dataset& dataset_;
  int64_t batch_size_;
  bool shuffle_;
  uint64_t seed_;
  bool drop_last_;
  int shard_rank_ = 0, shard_count_ = 1;
  Remainder shard_remainder_ = Remainder::kPad;
  int64_t epoch_ = 0;
  int64_t position_ = 0;
  std::vector<int64_t> order_;
  std::vector<float> features_;
  std::vector<int32_t> class_targets_;
  std::vector<float> value_targets_;
};

}  // namespace tk
