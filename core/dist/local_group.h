// Replicas in one process, on threads, reducing through shared memory.
// Sums are deterministic: replica r adds slice r of every buffer in rank
// order and writes the result to slice r of every buffer.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "core/dist/communicator.h"

namespace tk {

class LocalGroup {
 public:
  LocalGroup(int size, std::chrono::milliseconds timeout);
  int size() const { return size_; }
  // The communicator of replica `rank`; owned by the group.
  Communicator* communicator(int rank) { return members_[rank].get(); }
  // After a failed collective, with every replica's thread finished: ready again.
  void reset();

 private:
  friend class LocalCommunicator;
  // Waits until every replica arrives; throws on timeout or abort.
  void arrive_and_wait(int rank);

  int size_;
  std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  std::condition_variable all_arrived_;
  int arrived_ = 0;
  std::atomic<uint64_t> generation_{0};  // read without the lock while spinning
  bool aborted_ = false;
  std::vector<void*> buffers_;
  // What each rank asked for (kind, dtype or root, count): all must agree.
  std::vector<std::array<int64_t, 3>> requests_;
  std::vector<std::unique_ptr<Communicator>> members_;
};

}  // namespace tk
