// Batches the host produces while training runs: data read from files,
// a database or a generator that never sits in memory whole. A producer
// (the host's own thread, or the fill thread below) asks which batch is
// wanted, writes it straight into one of `prefetch` slots and hands it over;
// training takes the slots in order. So reading the next batches overlaps
// the current step, and only `prefetch` batches are ever held.
//
// Each request names (epoch, batch index): a producer that can seek serves
// exactly the batches of a resumed run; a reset or restore discards what
// was prefetched and the next request names the new place. An epoch ends
// when the producer hands over a batch of 0 rows; it then goes on with the
// next epoch's batches, prefetched while training validates.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/data/batch_source.h"

namespace tk {

struct StreamShape {
  Shape sample;            // per-sample feature shape (f32)
  bool class_targets;      // int32 class indices, else f32 values of `target`
  Shape target;            // per-sample target shape ([] for class indices)
  int64_t batch_size = 0;  // rows a batch holds at most
  int prefetch = 2;        // batches produced ahead, 1 to 64
  int64_t batches_per_epoch = 0;  // 0 when not known (progress shows no total)
};

// A batch the producer is asked for: write up to `rows_capacity` rows into
// the views (contiguous, shaped for a full batch), then supply() the count.
struct StreamRequest {
  int64_t epoch = 0, batch = 0;
  HostView features, targets;
  bool open = false;  // false once the stream is closed: the producer stops
};

class StreamBatcher : public BatchSource {
 public:
  explicit StreamBatcher(const StreamShape& shape);
  // Closes the stream and joins the fill thread, if one runs.
  ~StreamBatcher() override;

  // The producer's side, from any one thread at a time.
  // Blocks until a slot is free (or the stream closes).
  StreamRequest request();
  // Hands the requested batch over with `rows` rows (0: the epoch has
  // ended). A request made before a reset is dropped here: its batch is no
  // longer wanted.
  void supply(int64_t rows);
  // Copies the batch from views of the producer's own memory (features f32,
  // f64 or u8; targets i32 class indices or f32/f64 values; any strides)
  // into the requested slot and supplies it; rows = features.shape[0].
  // A bad shape or dtype throws, keeping the request open.
  void supply_copy(const HostView& features, const HostView& targets);
  // The producer cannot go on: once the batches supplied before are
  // served, training's next batch fails with kIo and this message.
  void fail_producer(const std::string& message);
  // Wakes a blocked request() with open = false; later requests return at once.
  void close();
  // Runs `fill` on a thread of the batcher's own: fill(request) returns the
  // rows it wrote (0 ends the epoch) or throws to fail the stream.
  // Only fail_producer() and close() may be called from inside fill.
  void start_fill_thread(std::function<int64_t(const StreamRequest&)> fill);
  bool has_fill_thread() const { return fill_thread_.joinable(); }

  // Training's side (BatchSource).
  bool next(HostView* features, HostView* targets, const std::atomic<bool>* cancel = nullptr) override;
  void reset(int64_t epoch) override;
  int64_t epoch() const override;
  int64_t batches_per_epoch() const override { return shape_.batches_per_epoch; }
  BatcherCursor cursor() const override;
  void check_cursor(const BatcherCursor& cursor) const override;
  void restore(const BatcherCursor& cursor) override;

 private:
  struct Slot {
    std::vector<float> features;
    std::vector<int32_t> class_targets;
    std::vector<float> value_targets;
    int64_t rows = 0;
  };
  HostView feature_view(Slot& slot, int64_t rows) const;
  HostView target_view(Slot& slot, int64_t rows) const;
  // Discards what was produced and asks for (epoch, batch) next. Holds mu_.
  void seek(int64_t epoch, int64_t batch);

  const StreamShape shape_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::vector<Slot> slots_;
  std::deque<int> free_, ready_;  // slot indices
  int producing_ = -1;            // the slot a producer holds, or -1
  int serving_ = -1;              // the slot training's views point into
  uint64_t generation_ = 0;       // bumped by every seek
  uint64_t producing_generation_ = 0;
  int64_t want_epoch_ = 0, want_batch_ = 0;  // the next request's batch
  // Training's place: the epoch being served and what it has taken.
  int64_t epoch_ = 0, position_ = 0, batch_ = 0;
  bool epoch_ended_ = false;  // next() has reported the end of epoch_
  bool closed_ = false;
  std::string failure_;
  std::thread fill_thread_;
};

}  // namespace tk
