// Gradients summed across GPUs (in one process or many, on one machine or
// many) through NCCL. Every collective runs on one communication stream of
// its own, in issue order (NCCL needs one communicator's operations ordered),
// after the compute stream's work so far; a bucket started during backward
// overlaps the rest of backward, and wait_all() joins the sums back into the
// compute stream. Every wait polls against the
// timeout and aborts the communicator rather than hang on a dead peer.
#pragma once

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <chrono>

#include "core/backend/cuda/cuda_backend.h"
#include "core/dist/communicator.h"

namespace tk::cuda {

class NcclCommunicator final : public Communicator {
 public:
  // `id` is NCCL's unique id from rank 0 (NCCL_UNIQUE_ID_BYTES bytes).
  NcclCommunicator(const void* id, int rank, int size, CudaBackend* backend, std::chrono::milliseconds timeout);
  ~NcclCommunicator() override;
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  bool device_memory() const override { return true; }
  // Host pointers (small control values) are staged through device memory.
  void all_reduce_sum(DType dtype, void* data, int64_t count) override;
  void start_all_reduce_sum(DType dtype, void* data, int64_t count) override;
  void wait_all() override;
  void broadcast(void* data, size_t bytes, int root) override;
  void barrier() override;
  void abort() noexcept override;

 private:
  void check_usable(const char* what) const;
  void check(ncclResult_t result, const char* what);
  // Waits for everything issued on `stream`, polling the timeout.
  void wait(cudaStream_t stream, const char* what);
  // Orders the communication stream after the compute stream's work so far.
  void after_compute();
  // A device copy of host `data` (or data itself when it is device memory).
  void* staged(void* data, size_t bytes, bool* is_host);

  int rank_, size_;
  CudaBackend* backend_;
  std::chrono::milliseconds timeout_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t comm_stream_ = nullptr;
  cudaEvent_t ready_ = nullptr, done_ = nullptr;
  void* scratch_ = nullptr;
  size_t scratch_bytes_ = 0;
  bool pending_ = false;
  bool broken_ = false;
};

}  // namespace tk::cuda
