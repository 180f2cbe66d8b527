// Seeded, shuffled mini-batches over a Dataset. Each epoch's order is a pure
// function of (seed, epoch), so a run can be reproduced or resumed.
#pragma once

#include <cstdint>
#include <vector>

#include "core/data/batch_source.h"
#include "core/data/dataset.h"

namespace tk {

class Batcher : public BatchSource {
 public:
  Batcher(const Dataset& dataset, int64_t batch_size, bool shuffle, uint64_t seed, bool drop_last);

  void reset(int64_t epoch) override;
  bool next(HostView* features, HostView* targets, const std::atomic<bool>* cancel = nullptr) override;
  int64_t epoch() const override { return epoch_; }
  int64_t batches_per_epoch() const override;
  bool has_targets() const override { return dataset_.has_targets(); }
  // Serves only this replica's share of each epoch: the positions p of the
  // epoch's order with p % count == rank (seeded alike on every rank). The
  // shares are equal, so every rank takes the same number of steps and none
  // waits for a partner that has run out: kPad repeats the first
  // count - N % count samples of the epoch's order (as PyTorch's
  // DistributedSampler), kDrop leaves the last N % count out.
  enum class Remainder { kPad, kDrop };
  void shard(int rank, int count, Remainder remainder = Remainder::kPad);
  BatcherCursor cursor() const override;
  // Refuses a cursor for another batch size, order, dataset size or an
  // impossible position.
  void check_cursor(const BatcherCursor& cursor) const override;
  void restore(const BatcherCursor& cursor) override;

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
