#include "core/dist/local_group.h"

#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

#include "core/base/error.h"

namespace tk {

class LocalCommunicator final : public Communicator {
 public:
  LocalCommunicator(LocalGroup* group, int rank) : group_(group), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return group_->size(); }

  void all_reduce_sum(DType dtype, void* data, int64_t count) override {
    if (dtype == DType::kF32) reduce<float>(static_cast<float*>(data), count);
    else if (dtype == DType::kF64) reduce<double>(static_cast<double*>(data), count);
    else fail(ErrorCode::kUnsupported, "all-reduce of ", dtype_name(dtype), " is not supported");
  }

  void broadcast(void* data, size_t bytes, int root) override {
    group_->buffers_[rank_] = data;
    group_->requests_[rank_] = {1, root, static_cast<int64_t>(bytes)};
    group_->arrive_and_wait(rank_);
    check_requests();
    if (rank_ != root) std::memcpy(data, group_->buffers_[root], bytes);
    group_->arrive_and_wait(rank_);  // root's buffer stays valid until everyone copied
  }

  void all_gather(void* data, const std::vector<size_t>& bounds) override {
    const int n = group_->size();
    if (bounds.size() != static_cast<size_t>(n) + 1 || !std::is_sorted(bounds.begin(), bounds.end()))
      fail(ErrorCode::kInternal, "an all-gather over ", n, " replicas needs ", n + 1, " ascending bounds");
    // Every bound, not only the ends, must agree: replicas whose layouts
    // differ would otherwise copy each other's slices to the wrong places.
    uint64_t digest = 1469598103934665603u;  // FNV-1a over the bounds
    for (size_t b : bounds) digest = (digest ^ b) * 1099511628211u;
    group_->buffers_[rank_] = data;
    group_->requests_[rank_] = {2, static_cast<int64_t>(digest), static_cast<int64_t>(bounds.back())};
    group_->arrive_and_wait(rank_);
    check_requests();
    // Each replica reads the others' own slices, which nobody writes here.
    for (int q = 0; q < n; ++q)
      if (q != rank_)
        std::memcpy(static_cast<char*>(data) + bounds[q], static_cast<const char*>(group_->buffers_[q]) + bounds[q],
                    bounds[q + 1] - bounds[q]);
    group_->arrive_and_wait(rank_);  // no replica writes its slice again until everyone has it
  }

  void barrier() override { group_->arrive_and_wait(rank_); }

  void abort() noexcept override {
    std::lock_guard<std::mutex> lock(group_->mutex_);
    group_->aborted_ = true;
    group_->all_arrived_.notify_all();
  }

 private:
  // Throws (on every rank alike, before anything is written) if the ranks
  // did not all call the same collective with the same sizes.
  void check_requests() {
    for (int q = 0; q < group_->size(); ++q)
      if (group_->requests_[q] != group_->requests_[rank_])
        fail(ErrorCode::kCommunication, "replica ", rank_, ": replicas called different collectives");
  }

  template <typename T>
  void reduce(T* data, int64_t count) {
    group_->buffers_[rank_] = data;
    group_->requests_[rank_] = {0, static_cast<int64_t>(sizeof(T)), count};
    group_->arrive_and_wait(rank_);
    check_requests();
    const int n = group_->size();
    const int64_t begin = count * rank_ / n, end = count * (rank_ + 1) / n;
    // Sum this replica's slice over the buffers in rank order and write it to
    // every buffer, a cache-sized chunk at a time: one read and one write of
    // each buffer (contiguous, vectorizable passes).
    constexpr int64_t kChunk = 1024;
    T total[kChunk];
    for (int64_t at = begin; at < end; at += kChunk) {
      const int64_t len = std::min(kChunk, end - at);
      const T* first = static_cast<const T*>(group_->buffers_[0]) + at;
      std::copy(first, first + len, total);
      for (int q = 1; q < n; ++q) {
        const T* source = static_cast<const T*>(group_->buffers_[q]) + at;
        for (int64_t i = 0; i < len; ++i) total[i] += source[i];
      }
      for (int q = 0; q < n; ++q) std::copy(total, total + len, static_cast<T*>(group_->buffers_[q]) + at);
    }
    group_->arrive_and_wait(rank_);  // every slice is written before anyone returns
  }

  LocalGroup* group_;
  int rank_;
};

LocalGroup::LocalGroup(int size, std::chrono::milliseconds timeout)
    : size_(size), timeout_(timeout), buffers_(size, nullptr), requests_(size) {
  if (size < 1) fail(ErrorCode::kInvalidArgument, "a group needs at least one replica, got ", size);
  for (int r = 0; r < size; ++r) members_.push_back(std::make_unique<LocalCommunicator>(this, r));
}

void LocalGroup::reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  aborted_ = false;
  arrived_ = 0;
  ++generation_;
}

void LocalGroup::arrive_and_wait(int rank) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (aborted_) fail(ErrorCode::kCommunication, "replica ", rank, ": another replica failed");
  const uint64_t generation = generation_;
  if (++arrived_ == size_) {
    arrived_ = 0;
    generation_.store(generation + 1, std::memory_order_release);
    all_arrived_.notify_all();
    return;
  }
  // Replicas on their own cores arrive within microseconds of each other: a
  // short spin answers that without a sleep and a wake-up; a long wait sleeps.
  lock.unlock();
  const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
  for (int i = 0; generation_.load(std::memory_order_acquire) == generation; ++i) {
    if (i % 64 == 63 && std::chrono::steady_clock::now() > spin_until) break;
    std::this_thread::yield();
  }
  lock.lock();
  if (!all_arrived_.wait_for(lock, timeout_, [&] { return generation_ != generation || aborted_; })) {
    aborted_ = true;
    all_arrived_.notify_all();
    fail(ErrorCode::kCommunication, "replica ", rank, ": peers did not arrive within ", timeout_.count(), " ms");
  }
  if (generation_ == generation)
    fail(ErrorCode::kCommunication, "replica ", rank, ": another replica failed");
}

}  // namespace tk
