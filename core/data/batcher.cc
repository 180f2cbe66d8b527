#include "core/data/batcher.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "core/base/error.h"
#include "core/base/rng.h"

namespace tk {

Batcher::Batcher(const Dataset& dataset, int64_t batch_size, bool shuffle, uint64_t seed, bool drop_last)
    : dataset_(dataset), batch_size_(batch_size), shuffle_(shuffle), seed_(seed), drop_last_(drop_last) {
  if (batch_size <= 0) fail(ErrorCode::kInvalidArgument, "batch size must be > 0, got ", batch_size);
  // A batch never holds more rows than the dataset.
  const int64_t rows = std::min(batch_size, dataset.size());
  features_.resize(checked_size(rows, dataset.sample_numel(), "a batch"));
  if (!dataset.has_targets()) {
    // Features alone.
  } else if (dataset.has_class_targets()) {
    class_targets_.resize(rows);
  } else {
    value_targets_.resize(checked_size(rows, dataset.target_numel(), "a batch"));
  }
  reset(0);
}

int64_t Batcher::batches_per_epoch() const {
  const int64_t size = static_cast<int64_t>(order_.size());
  return drop_last_ ? size / batch_size_ : (size + batch_size_ - 1) / batch_size_;
}

void Batcher::shard(int rank, int count, Remainder remainder) {
  if (count < 1 || rank < 0 || rank >= count)
    fail(ErrorCode::kInvalidArgument, "shard ", rank, " of ", count, " is out of range");
  if (remainder == Remainder::kDrop && dataset_.size() < count)
    fail(ErrorCode::kInvalidArgument, "dropping the remainder leaves no samples: ", dataset_.size(),
         " samples over ", count, " shards");
  shard_rank_ = rank;
  shard_count_ = count;
  shard_remainder_ = remainder;
  reset(epoch_);
}

void Batcher::reset(int64_t epoch) {
  epoch_ = epoch;
  position_ = 0;
  order_.resize(dataset_.size());
  std::iota(order_.begin(), order_.end(), 0);
  if (shuffle_) {
    // Fisher-Yates with a stream derived from (seed, epoch).
    Rng rng(mix64(seed_) ^ mix64(static_cast<uint64_t>(epoch) + 0x5851F42D4C957F2Dull));
    for (int64_t i = dataset_.size() - 1; i > 0; --i) {
      int64_t j = static_cast<int64_t>(rng.next_u64() % static_cast<uint64_t>(i + 1));
      std::swap(order_[i], order_[j]);
    }
  }
  if (shard_count_ > 1) {
    const size_t n = order_.size(), count = static_cast<size_t>(shard_count_);
    const size_t total = shard_remainder_ == Remainder::kPad ? (n + count - 1) / count * count : n / count * count;
    for (size_t p = n; p < total; ++p) order_.push_back(order_[p - n]);
    size_t kept = 0;
    for (size_t p = static_cast<size_t>(shard_rank_); p < total; p += count) order_[kept++] = order_[p];
    order_.resize(kept);
  }
}

BatcherCursor Batcher::cursor() const {
  return {epoch_, position_, seed_, batch_size_, shuffle_, drop_last_, dataset_.size(),
          (position_ + batch_size_ - 1) / batch_size_};
}

void Batcher::check_cursor(const BatcherCursor& c) const {
  if (c.batch_size != batch_size_ || c.shuffle != shuffle_ || c.drop_last != drop_last_ ||
      c.dataset_size != dataset_.size())
    fail(ErrorCode::kInvalidArgument, "the saved data cursor is for batch size ", c.batch_size, ", shuffle ", c.shuffle,
         ", drop_last ", c.drop_last, " over ", c.dataset_size, " samples; this batcher has ", batch_size_, ", ",
         shuffle_, ", ", drop_last_, " over ", dataset_.size());
  if (c.epoch < 0 || c.position < 0 || c.position > dataset_.size())
    fail(ErrorCode::kInvalidArgument, "the saved data cursor (epoch ", c.epoch, ", position ", c.position,
         ") is out of range");
}

void Batcher::restore(const BatcherCursor& c) {
  check_cursor(c);
  seed_ = c.seed;
  reset(c.epoch);
  position_ = c.position;
}

bool Batcher::next(HostView* features, HostView* targets, const std::atomic<bool>*) {
  const int64_t remaining = static_cast<int64_t>(order_.size()) - position_;
  if (remaining <= 0 || (drop_last_ && remaining < batch_size_)) return false;
  const int64_t count = std::min(batch_size_, remaining);
  const int64_t feature_numel = dataset_.sample_numel(), target_numel = dataset_.target_numel();
  for (int64_t r = 0; r < count; ++r) {
    const int64_t sample = order_[position_ + r];
    std::memcpy(&features_[r * feature_numel], &dataset_.features()[sample * feature_numel], feature_numel * sizeof(float));
    if (!dataset_.has_targets()) {
      // Features alone.
    } else if (dataset_.has_class_targets()) {
      class_targets_[r] = dataset_.class_targets()[sample];
    } else {
      std::memcpy(&value_targets_[r * target_numel], &dataset_.value_targets()[sample * target_numel], target_numel * sizeof(float));
    }
  }
  position_ += count;
  Shape shape = {count};
  shape.insert(shape.end(), dataset_.sample_shape().begin(), dataset_.sample_shape().end());
  *features = {features_.data(), DType::kF32, shape, {}};
  if (!dataset_.has_targets()) {
    *targets = {nullptr, DType::kI32, {count}, {}};
  } else if (dataset_.has_class_targets()) {
    *targets = {class_targets_.data(), DType::kI32, {count}, {}};
  } else {
    Shape target_shape = {count};
    target_shape.insert(target_shape.end(), dataset_.target_shape().begin(), dataset_.target_shape().end());
    *targets = {value_targets_.data(), DType::kF32, target_shape, {}};
  }
  return true;
}

}  // namespace tk
