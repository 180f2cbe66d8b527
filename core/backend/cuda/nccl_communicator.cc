#include "core/backend/cuda/nccl_communicator.h"

#include <cstring>
#include <thread>

#include "core/backend/cuda/cuda_status.h"
#include "core/base/error.h"

namespace tk::cuda {
namespace {

ncclDataType_t nccl_type(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return ncclFloat32;
    case DType::kF64:
      return ncclFloat64;
    case DType::kF16:
      return ncclFloat16;
    case DType::kBF16:
      return ncclBfloat16;
    default:
      fail(ErrorCode::kUnsupported, "NCCL sums take float data, not ", dtype_name(dtype));
  }
}

}  // namespace

NcclCommunicator::NcclCommunicator(const void* id, int rank, int size, CudaBackend* backend,
                                   std::chrono::milliseconds timeout)
    : rank_(rank), size_(size), backend_(backend), timeout_(timeout) {
  if (size < 1 || rank < 0 || rank >= size)
    fail(ErrorCode::kInvalidArgument, "NCCL rank ", rank, " is outside a world of ", size);
  backend_->synchronize();  // also makes the backend's device current
  ncclUniqueId unique{};
  std::memcpy(unique.internal, id, sizeof unique.internal);
  // Non-blocking init: a peer that never joins times out instead of hanging.
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  check(ncclCommInitRankConfig(&comm_, size, unique, rank, &config), "ncclCommInitRankConfig");
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  for (;;) {
    ncclResult_t state = ncclSuccess;
    check(ncclCommGetAsyncError(comm_, &state), "ncclCommGetAsyncError");
    if (state == ncclSuccess) break;
    if (state != ncclInProgress) check(state, "ncclCommInitRank");
    if (std::chrono::steady_clock::now() > deadline) {
      ncclCommAbort(comm_);
      comm_ = nullptr;
      fail(ErrorCode::kCommunication, "rank ", rank_, ": NCCL world of ", size_, " did not form within ",
           timeout_.count(), " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  tk::cuda::check(cudaStreamCreateWithFlags(&comm_stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  tk::cuda::check(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming), "cudaEventCreate");
  tk::cuda::check(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming), "cudaEventCreate");
}

NcclCommunicator::~NcclCommunicator() {
  if (comm_) (broken_ ? ncclCommAbort(comm_) : ncclCommDestroy(comm_));
  if (scratch_) backend_->deallocate(scratch_, scratch_bytes_);
  if (done_) cudaEventDestroy(done_);
  if (ready_) cudaEventDestroy(ready_);
  if (comm_stream_) cudaStreamDestroy(comm_stream_);
}

void NcclCommunicator::check_usable(const char* what) const {
  if (broken_ || !comm_)
    fail(ErrorCode::kCommunication, "rank ", rank_, ": NCCL ", what, " refused: an earlier collective failed");
}

void NcclCommunicator::check(ncclResult_t result, const char* what) {
  if (result == ncclSuccess || result == ncclInProgress) return;
  broken_ = true;
  fail(ErrorCode::kCommunication, "rank ", rank_, ": ", what, " failed: ", ncclGetErrorString(result),
       comm_ ? std::string(" (") + ncclGetLastError(comm_) + ")" : std::string());
}

void NcclCommunicator::wait(cudaStream_t stream, const char* what) {
  tk::cuda::check(cudaEventRecord(done_, stream), "cudaEventRecord");
  const auto start = std::chrono::steady_clock::now(), deadline = start + timeout_;
  for (;;) {
    const cudaError_t state = cudaEventQuery(done_);
    if (state == cudaSuccess) return;
    if (state != cudaErrorNotReady) tk::cuda::check(state, what);
    ncclResult_t async = ncclSuccess;
    ncclCommGetAsyncError(comm_, &async);
    if (async != ncclSuccess && async != ncclInProgress) check(async, what);
    const auto now = std::chrono::steady_clock::now();
    if (now > deadline) {
      broken_ = true;
      ncclCommAbort(comm_);
      comm_ = nullptr;
      fail(ErrorCode::kCommunication, "rank ", rank_, ": NCCL ", what, " did not complete within ", timeout_.count(),
           " ms (a peer died or stalled)");
    }
    if (now - start < std::chrono::milliseconds(20))
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void* NcclCommunicator::staged(void* data, size_t bytes, bool* is_host) {
  cudaPointerAttributes attributes{};
  tk::cuda::check(cudaPointerGetAttributes(&attributes, data), "cudaPointerGetAttributes");
  *is_host = attributes.type != cudaMemoryTypeDevice && attributes.type != cudaMemoryTypeManaged;
  if (!*is_host) return data;
  if (bytes > scratch_bytes_) {
    if (scratch_) backend_->deallocate(scratch_, scratch_bytes_);
    scratch_ = nullptr;
    scratch_ = backend_->allocate(bytes);
    scratch_bytes_ = bytes;
  }
  backend_->copy_from_host(scratch_, data, bytes);
  return scratch_;
}

void NcclCommunicator::after_compute() {
  tk::cuda::check(cudaEventRecord(ready_, backend_->stream()), "cudaEventRecord");
  tk::cuda::check(cudaStreamWaitEvent(comm_stream_, ready_, 0), "cudaStreamWaitEvent");
}

void NcclCommunicator::all_reduce_sum(DType dtype, void* data, int64_t count) {
  check_usable("all-reduce");
  const size_t bytes = static_cast<size_t>(count) * dtype_size(dtype);
  bool is_host = false;
  void* device = staged(data, bytes, &is_host);
  after_compute();
  check(ncclAllReduce(device, device, static_cast<size_t>(count), nccl_type(dtype), ncclSum, comm_, comm_stream_),
        "ncclAllReduce");
  wait(comm_stream_, "all-reduce");
  if (is_host) backend_->copy_to_host(data, device, bytes);
}

void NcclCommunicator::start_all_reduce_sum(DType dtype, void* data, int64_t count) {
  check_usable("all-reduce");
  after_compute();
  check(ncclAllReduce(data, data, static_cast<size_t>(count), nccl_type(dtype), ncclSum, comm_, comm_stream_),
        "ncclAllReduce");
  pending_ = true;
}

void NcclCommunicator::wait_all() {
  if (!pending_) return;
  pending_ = false;
  wait(comm_stream_, "all-reduce");
  // Later compute reads the sums: order it after them.
  tk::cuda::check(cudaStreamWaitEvent(backend_->stream(), done_, 0), "cudaStreamWaitEvent");
}

void NcclCommunicator::broadcast(void* data, size_t bytes, int root) {
  check_usable("broadcast");
  bool is_host = false;
  void* device = staged(data, bytes, &is_host);
  after_compute();
  check(ncclBroadcast(device, device, bytes, ncclInt8, root, comm_, comm_stream_), "ncclBroadcast");
  wait(comm_stream_, "broadcast");
  if (is_host) backend_->copy_to_host(data, device, bytes);
}

void NcclCommunicator::barrier() {
  float one = 1.0f;
  all_reduce_sum(DType::kF32, &one, 1);
}

void NcclCommunicator::abort() noexcept {
  if (comm_) ncclCommAbort(comm_);
  comm_ = nullptr;
  broken_ = true;
}

}  // namespace tk::cuda
