#include "core/data/stream_batcher.h"

#include <chrono>
#include <exception>
#include <utility>

#include "core/base/error.h"

namespace tk {

StreamBatcher::StreamBatcher(const StreamShape& shape) : shape_(shape) {
  if (shape.batch_size <= 0) fail(ErrorCode::kInvalidArgument, "batch size must be > 0, got ", shape.batch_size);
  if (shape.prefetch < 1 || shape.prefetch > 64)
    fail(ErrorCode::kInvalidArgument, "prefetch must be 1 to 64 batches, got ", shape.prefetch);
  if (shape.batches_per_epoch < 0)
    fail(ErrorCode::kInvalidArgument, "batches per epoch must be >= 0 (0: not known), got ", shape.batches_per_epoch);
  if (shape.sample.empty() || shape.sample.size() >= kMaxRank)
    fail(ErrorCode::kInvalidArgument, "a stream's sample shape needs a rank from 1 to ", kMaxRank - 1, ", got ",
         shape_to_string(shape.sample));
  if (shape.class_targets && !shape.target.empty())
    fail(ErrorCode::kInvalidArgument, "class-index targets are one int32 per sample, not of shape ",
         shape_to_string(shape.target));
  if (shape.target.size() >= kMaxRank)
    fail(ErrorCode::kInvalidArgument, "a stream's target shape ", shape_to_string(shape.target), " has too many axes");
  for (const Shape* s : {&shape.sample, &shape.target})
    for (int64_t extent : *s)
      if (extent <= 0) fail(ErrorCode::kInvalidArgument, "a stream's shapes need positive extents, got ", shape_to_string(*s));
  const size_t features = checked_size(shape.batch_size, shape_numel(shape.sample), "a stream's batch");
  const size_t targets = checked_size(shape.batch_size, shape_numel(shape.target), "a stream's batch");
  // One slot more than the prefetch depth: training holds the batch it
  // steps on while `prefetch` others are filled.
  slots_.resize(static_cast<size_t>(shape.prefetch) + 1);
  for (size_t i = 0; i < slots_.size(); ++i) {
    slots_[i].features.resize(features);
    if (shape.class_targets)
      slots_[i].class_targets.resize(static_cast<size_t>(shape.batch_size));
    else
      slots_[i].value_targets.resize(targets);
    free_.push_back(static_cast<int>(i));
  }
}

StreamBatcher::~StreamBatcher() {
  close();
  if (fill_thread_.joinable()) fill_thread_.join();
}

HostView StreamBatcher::feature_view(Slot& slot, int64_t rows) const {
  Shape shape = {rows};
  shape.insert(shape.end(), shape_.sample.begin(), shape_.sample.end());
  return {slot.features.data(), DType::kF32, shape, {}};
}

HostView StreamBatcher::target_view(Slot& slot, int64_t rows) const {
  if (shape_.class_targets) return {slot.class_targets.data(), DType::kI32, {rows}, {}};
  Shape shape = {rows};
  shape.insert(shape.end(), shape_.target.begin(), shape_.target.end());
  return {slot.value_targets.data(), DType::kF32, shape, {}};
}

StreamRequest StreamBatcher::request() {
  std::unique_lock<std::mutex> lock(mu_);
  if (producing_ >= 0)
    fail(ErrorCode::kInvalidArgument, "the stream's last requested batch was not supplied yet: one request at a time");
  // Two host threads may both wait here: a slot goes to one at a time.
  changed_.wait(lock, [&] { return closed_ || (producing_ < 0 && !free_.empty()); });
  StreamRequest r;
  if (closed_) return r;
  producing_ = free_.front();
  free_.pop_front();
  producing_generation_ = generation_;
  r.epoch = want_epoch_;
  r.batch = want_batch_;
  r.features = feature_view(slots_[producing_], shape_.batch_size);
  r.targets = target_view(slots_[producing_], shape_.batch_size);
  r.open = true;
  return r;
}

void StreamBatcher::supply(int64_t rows) {
  std::lock_guard<std::mutex> lock(mu_);
  if (producing_ < 0) fail(ErrorCode::kInvalidArgument, "a batch was supplied to the stream without a request");
  if (rows < 0 || rows > shape_.batch_size)
    fail(ErrorCode::kInvalidArgument, "a stream batch holds 0 to ", shape_.batch_size, " rows (0 ends the epoch), got ",
         rows);
  const int slot = producing_;
  producing_ = -1;
  if (producing_generation_ != generation_) {
    free_.push_back(slot);  // asked for before a reset: no longer wanted
  } else {
    slots_[slot].rows = rows;
    ready_.push_back(slot);
    if (rows == 0) {
      ++want_epoch_;
      want_batch_ = 0;
    } else {
      ++want_batch_;
    }
  }
  changed_.notify_all();
}

void StreamBatcher::supply_copy(const HostView& features, const HostView& targets) {
  int slot;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (producing_ < 0) fail(ErrorCode::kInvalidArgument, "a batch was supplied to the stream without a request");
    slot = producing_;  // the producer's until supplied: no lock needed to fill it
  }
  const int64_t rows = features.shape.empty() ? -1 : features.shape[0];
  Shape expected_features = {rows}, expected_targets = {rows};
  expected_features.insert(expected_features.end(), shape_.sample.begin(), shape_.sample.end());
  expected_targets.insert(expected_targets.end(), shape_.target.begin(), shape_.target.end());
  if (rows < 0 || rows > shape_.batch_size || features.shape != expected_features)
    fail(ErrorCode::kShapeMismatch, "stream features need shape [rows <= ", shape_.batch_size, ", ",
         shape_to_string(shape_.sample), "], got ", shape_to_string(features.shape));
  if (targets.shape != expected_targets)
    fail(ErrorCode::kShapeMismatch, "stream targets need shape ", shape_to_string(expected_targets), ", got ",
         shape_to_string(targets.shape));
  if (features.dtype != DType::kF32 && features.dtype != DType::kF64 && features.dtype != DType::kU8)
    fail(ErrorCode::kDtypeMismatch, "stream features must be f32, f64 or u8, got ", dtype_name(features.dtype));
  if (shape_.class_targets ? targets.dtype != DType::kI32
                           : targets.dtype != DType::kF32 && targets.dtype != DType::kF64)
    fail(ErrorCode::kDtypeMismatch, "stream targets must be ", shape_.class_targets ? "i32 class indices" : "f32 or f64 values",
         ", got ", dtype_name(targets.dtype));
  if (rows > 0 && (!features.data || !targets.data))
    fail(ErrorCode::kNullArgument, "stream features and targets need data pointers");
  Slot& s = slots_[slot];
  if (rows > 0) {
    copy_from_view(features, DType::kF32, s.features.data());
    if (shape_.class_targets) {
      copy_from_view(targets, DType::kI32, s.class_targets.data());
      for (int64_t i = 0; i < rows; ++i)
        if (s.class_targets[i] < 0) fail(ErrorCode::kInvalidArgument, "stream target ", i, " is a negative class index");
    } else {
      copy_from_view(targets, DType::kF32, s.value_targets.data());
    }
  }
  supply(rows);
}

void StreamBatcher::fail_producer(const std::string& message) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failure_.empty()) failure_ = message.empty() ? "(no message)" : message;
  changed_.notify_all();
}

void StreamBatcher::close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  changed_.notify_all();
}

void StreamBatcher::start_fill_thread(std::function<int64_t(const StreamRequest&)> fill) {
  if (fill_thread_.joinable()) fail(ErrorCode::kInvalidArgument, "the stream already has a fill thread");
  fill_thread_ = std::thread([this, fill = std::move(fill)] {
    for (;;) {
      StreamRequest r;
      try {
        r = request();
        if (!r.open) return;
        supply(fill(r));
      } catch (const std::exception& e) {
        fail_producer(e.what());
        return;
      } catch (...) {
        fail_producer("the fill function threw a non-standard exception");
        return;
      }
    }
  });
}

bool StreamBatcher::next(HostView* features, HostView* targets, const std::atomic<bool>* cancel) {
  std::unique_lock<std::mutex> lock(mu_);
  if (serving_ >= 0) {
    free_.push_back(serving_);
    serving_ = -1;
    changed_.notify_all();
  }
  if (epoch_ended_) return false;
  // Batches supplied before a failure are served first. Polls `cancel`: it
  // is set from another thread without notifying.
  for (;;) {
    if (!ready_.empty()) break;
    if (!failure_.empty()) fail(ErrorCode::kIo, "the batch stream's producer failed: ", failure_);
    if (closed_) fail(ErrorCode::kIo, "the batch stream was closed before epoch ", epoch_, " ended");
    if (cancel && cancel->load(std::memory_order_relaxed))
      fail(ErrorCode::kCancelled, "cancelled while waiting for the stream's next batch");
    changed_.wait_for(lock, std::chrono::milliseconds(20));
  }
  const int slot = ready_.front();
  ready_.pop_front();
  const int64_t rows = slots_[slot].rows;
  if (rows == 0) {
    free_.push_back(slot);
    epoch_ended_ = true;
    changed_.notify_all();
    return false;
  }
  serving_ = slot;
  position_ += rows;
  ++batch_;
  *features = feature_view(slots_[slot], rows);
  *targets = target_view(slots_[slot], rows);
  return true;
}

void StreamBatcher::seek(int64_t epoch, int64_t batch) {
  ++generation_;
  while (!ready_.empty()) {
    free_.push_back(ready_.front());
    ready_.pop_front();
  }
  if (serving_ >= 0) free_.push_back(serving_);
  serving_ = -1;
  want_epoch_ = epoch;
  want_batch_ = batch;
  changed_.notify_all();
}

void StreamBatcher::reset(int64_t epoch) {
  if (epoch < 0) fail(ErrorCode::kInvalidArgument, "epoch must be >= 0, got ", epoch);
  std::lock_guard<std::mutex> lock(mu_);
  // The epoch after the one that just ended is already being produced, and
  // an epoch not yet begun is where the stream stands: what was produced
  // for them stays (a producer that cannot seek loses nothing).
  const bool produced_already = epoch_ended_ ? epoch == epoch_ + 1 : epoch == epoch_ && batch_ == 0;
  if (!produced_already) seek(epoch, 0);
  epoch_ = epoch;
  position_ = 0;
  batch_ = 0;
  epoch_ended_ = false;
}

int64_t StreamBatcher::epoch() const {
  std::lock_guard<std::mutex> lock(mu_);
  return epoch_;
}

BatcherCursor StreamBatcher::cursor() const {
  std::lock_guard<std::mutex> lock(mu_);
  BatcherCursor c;
  c.epoch = epoch_;
  c.position = position_;
  c.batch_size = shape_.batch_size;
  c.dataset_size = -1;
  c.batch = batch_;
  return c;
}

void StreamBatcher::check_cursor(const BatcherCursor& c) const {
  if (c.dataset_size != -1)
    fail(ErrorCode::kInvalidArgument, "the saved data cursor is for a dataset of ", c.dataset_size,
         " samples, not for a stream");
  if (c.batch_size != shape_.batch_size)
    fail(ErrorCode::kInvalidArgument, "the saved data cursor is for batch size ", c.batch_size, ", this stream has ",
         shape_.batch_size);
  // position <= batch * batch_size, without the product (it may overflow).
  if (c.epoch < 0 || c.position < 0 || c.batch < 0 || c.position / c.batch_size > c.batch ||
      (c.position / c.batch_size == c.batch && c.position % c.batch_size != 0))
    fail(ErrorCode::kInvalidArgument, "the saved data cursor (epoch ", c.epoch, ", batch ", c.batch, ", position ",
         c.position, ") is out of range");
}

void StreamBatcher::restore(const BatcherCursor& c) {
  check_cursor(c);
  std::lock_guard<std::mutex> lock(mu_);
  if (epoch_ended_ || c.epoch != epoch_ || c.batch != batch_) seek(c.epoch, c.batch);
  epoch_ = c.epoch;
  position_ = c.position;
  batch_ = c.batch;
  epoch_ended_ = false;
}

}  // namespace tk
