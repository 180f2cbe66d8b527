// Collective operations between the replicas of a data-parallel run. Every
// replica calls the same collectives in the same order; a peer that does not
// arrive within the timeout, or that failed, makes the others throw
// Error(kCommunication) instead of hanging.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/base/dtype.h"
#include "core/base/error.h"

namespace tk {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // True when sums take the backend's device memory (NCCL) rather than host
  // memory; small host values are still accepted by all_reduce_sum.
  virtual bool device_memory() const { return false; }
  // In place: data[i] = sum over replicas of data[i] (f32 or f64, host memory).
  virtual void all_reduce_sum(DType dtype, void* data, int64_t count) = 0;
  // Starts an in-place sum that completes while the caller goes on
  // computing; wait_all() finishes every started one. Replicas start the same
  // sums in the same order. Without native support the sum runs at once.
  virtual void start_all_reduce_sum(DType dtype, void* data, int64_t count) { all_reduce_sum(dtype, data, count); }
  // Lets started sums advance (MPI moves them only inside its calls).
  virtual void progress() {}
  virtual void wait_all() {}
  // In place: every replica gets root's bytes.
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  // In place: every replica gets rank q's bytes [bounds[q], bounds[q + 1])
  // of `data` (host memory), for every q; `bounds` has size() + 1 entries,
  // the same on every replica. Replicas that share memory only.
  virtual void all_gather(void* /*data*/, const std::vector<size_t>& /*bounds*/) {
    fail(ErrorCode::kUnsupported, "this communicator has no all-gather");
  }
  virtual void barrier() = 0;
  // Tells the peers this replica failed, so they stop waiting for it.
  virtual void abort() noexcept = 0;
};

}  // namespace tk
