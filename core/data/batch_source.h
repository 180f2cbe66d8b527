// What a training loop draws its batches from: a Batcher over a dataset in
// memory, or a StreamBatcher fed by the host. Both keep a cursor, so a
// checkpoint can say where the data stood and a resumed run go on from there.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/base/host_view.h"

namespace tk {

// Where a source is, for checkpoints: enough to continue with exactly the
// batches an uninterrupted run would have seen.
struct BatcherCursor {
  int64_t epoch = 0;
  int64_t position = 0;  // samples already served this epoch
  uint64_t seed = 0;
  int64_t batch_size = 0;
  bool shuffle = false;
  bool drop_last = false;
  int64_t dataset_size = 0;  // -1: a stream of unknown length
  int64_t batch = 0;         // batches already served this epoch
};

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // Fills views of the next batch (valid until the next call); false at the
  // end of the epoch. A source that waits for data gives up with
  // kCancelled once `cancel` is set.
  virtual bool next(HostView* features, HostView* targets, const std::atomic<bool>* cancel = nullptr) = 0;
  // Starts `epoch` from its first batch.
  virtual void reset(int64_t epoch) = 0;
  virtual int64_t epoch() const = 0;
  // 0 when the source does not know.
  virtual int64_t batches_per_epoch() const = 0;
  // False for features alone (prediction): targets' views have no data.
  virtual bool has_targets() const { return true; }
  virtual BatcherCursor cursor() const = 0;
  // Throws kInvalidArgument, changing nothing, if `cursor` is not one this
  // source can continue from.
  virtual void check_cursor(const BatcherCursor& cursor) const = 0;
  // check_cursor(), then continues from it.
  virtual void restore(const BatcherCursor& cursor) = 0;
};

}  // namespace tk
