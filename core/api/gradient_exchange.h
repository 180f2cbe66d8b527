// What the replicas of a data-parallel group exchange during a step: the
// batch sizes (for the global mean), the gradients (summed in buckets while
// backward still runs), and the loss and finiteness they agree on, so that
// every replica takes the same branch. A trainer not in a group has an
// exchange that is not joined and calls none of this.
#pragma once

#include <array>
#include <cstdint>
#include <exception>
#include <vector>

#include "core/backend/backend.h"
#include "core/dist/communicator.h"

namespace tk {

class GradientExchange {
 public:
  // Over `count` gradients of `dtype` in `backend` memory, in buckets of
  // about `bucket_bytes`.
  GradientExchange(Backend* backend, DType dtype, int64_t count, size_t bucket_bytes);
  GradientExchange(const GradientExchange&) = delete;
  GradientExchange& operator=(const GradientExchange&) = delete;

  // The gradients changed size (freezing); between steps only.
  void set_count(int64_t count) { count_ = count; }

  // Joins (or, with null, leaves) a group.
  void join(Communicator* communicator) { comm_ = communicator; }
  bool joined() const { return comm_ != nullptr; }
  Communicator* communicator() const { return comm_; }
  int rank() const { return comm_ ? comm_->rank() : 0; }

  // Every replica gets rank 0's `bytes` of `data` (backend memory).
  void broadcast_from_first(void* data, size_t bytes);
  // A setting every replica must share (sync batch norm): throws
  // kInvalidArgument on every replica when their `value`s differ.
  void require_same(const char* setting, double value);

  // Every replica says how many rows it loaded, or that loading failed
  // (`local_error`, rethrown here after the peers were told); a peer's
  // failure throws kCommunication. Returns this replica's share of the
  // global mean (1 for a summed loss). Replicas whose gradient counts
  // differ (other tensors frozen) throw kInvalidArgument, all alike.
  double agree_on_batch(int64_t rows, const std::exception_ptr& local_error, bool mean);

  // Summing this micro-batch's gradients `grads` across replicas. Backward
  // runs nodes in reverse and parameters are laid out in node order, so
  // finished gradients grow down from the end of the buffer: buckets are cut
  // from the end. `window_sum`, if set, is the accumulation window's sum so
  // far, added to each bucket before it is sent. Without gradients (the loss
  // is not finite, there was no backward) NaN buckets are summed, so every
  // replica issues the same collectives and all of them skip the step.
  void begin_sum(void* grads, const void* window_sum, bool has_gradients);
  // Backward has finished the gradients from `offset` to the end: starts the
  // buckets that lie there, overlapping backward's remaining work.
  void backward_reached(int64_t offset);
  // Backward is done: starts the rest.
  void backward_done();
  // Whether the gradients can be read before the sum is finished: the sum
  // works on host copies (MPI and threads from GPU memory), not in place
  // (NCCL, and any communicator over a CPU backend's memory, which is host memory).
  bool gradients_readable_while_summing() const { return !in_place(); }

  // Agrees on the loss (the sum of every replica's loss times its share)
  // and on whether every replica is finite; returns the latter, and only
  // then replaces `loss`.
  bool agree_on_loss(double* loss, double share, bool finite);
  // values[i] = their sum over the replicas (a sharded update's measures).
  void sum_across(double* values, int count);
  // Waits for the gradient sums; with `keep`, the summed gradients are in
  // `grads` afterwards, else `grads` holds this replica's own (summed on
  // host copies) or zeros (summed in place).
  void end_sum(bool keep);

  // Buckets started while backward was still running, since construction:
  // the overlap of communication and compute.
  int64_t overlapped_buckets() const { return overlapped_buckets_; }

 private:
  // Starts every whole bucket in [frontier, end of the unstarted part).
  int start_buckets_from(int64_t frontier);
  // Whether the sums work on the gradients where they are: NCCL's device
  // memory, or a CPU backend's (host memory, which MPI and threads sum
  // directly, with no copies).
  bool in_place() const;

  Backend* backend_;
  DType dtype_;
  int64_t count_;
  int64_t bucket_;  // values per bucket
  Communicator* comm_ = nullptr;
  // Host copies the sums work on when they are not in place.
  std::vector<uint8_t> staging_;
  // The sum under way: its gradients, the window's sum, and where the
  // started part begins ([unstarted_, count_) already started).
  void* grads_ = nullptr;
  const void* window_sum_ = nullptr;
  bool has_gradients_ = true;
  int64_t unstarted_ = 0;
  int64_t overlapped_buckets_ = 0;
  // Small collectives' data: a member, not a local, so a peer still writing
  // after this replica gave up never writes into a dead stack frame.
  std::array<double, 3> small_{};
  std::vector<double> sums_;  // sum_across's, for the same reason
};

}  // namespace tk
