#include "core/backend/cuda/cuda_backend.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstring>
#include <system_error>
#include <thread>
#include <vector>

#include "core/backend/cuda/convert.h"
#include "core/backend/cuda/cuda_status.h"
#include "core/base/error.h"

namespace tk::cuda {
namespace {

constexpr size_t kGemmWorkspaceBytes = size_t{32} << 20;  // cuBLASLt's recommendation for Hopper

// Validates the index and makes the device current; returns it.
int select_device(int device) {
  int count = 0;
  check(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
  if (device < 0 || device >= count)
    fail(ErrorCode::kInvalidArgument, "CUDA device ", device, " does not exist (", count, " present)");
  check(cudaSetDevice(device), "cudaSetDevice");
  return device;
}

std::string device_name(int device) {
  cudaDeviceProp props{};
  check(cudaGetDeviceProperties(&props, device), "cudaGetDeviceProperties");
  return "cuda:" + std::to_string(device) + " (" + props.name + ")";
}

// Whether `ptr` is page-locked host memory the GPU can read directly.
bool is_page_locked(const void* ptr) {
  cudaPointerAttributes attributes{};
  if (cudaPointerGetAttributes(&attributes, ptr) != cudaSuccess) {
    cudaGetLastError();  // an unknown pointer only means pageable memory
    return false;
  }
  return attributes.type == cudaMemoryTypeHost;
}

// A single core copies pageable memory at a few GB/s, far below the bus; large
// batches are split over several threads.
void parallel_memcpy(void* dst, const void* src, size_t bytes) {
  constexpr size_t kBytesPerThread = size_t{8} << 20;
  const size_t threads =
      std::min<size_t>({bytes / kBytesPerThread, 8, std::max(1u, std::thread::hardware_concurrency())});
  if (threads <= 1) {
    std::memcpy(dst, src, bytes);
    return;
  }
  const size_t share = (bytes + threads - 1) / threads;
  auto copy = [=](size_t begin, size_t end) {
    std::memcpy(static_cast<char*>(dst) + begin, static_cast<const char*>(src) + begin, end - begin);
  };
  std::vector<std::thread> helpers;
  size_t handed_out = share;  // this thread copies [0, share) and whatever no helper took
  try {
    for (; handed_out < bytes; handed_out += share)
      helpers.emplace_back(copy, handed_out, std::min(bytes, handed_out + share));
  } catch (const std::system_error&) {
    // No thread to be had: the rest is copied here.
  }
  copy(0, share);
  if (handed_out < bytes) copy(handed_out, bytes);
  for (std::thread& helper : helpers) helper.join();
}

// Element offsets of a strided view, in index order.
template <typename Fn>
void for_each_offset(const HostView& view, const Fn& fn) {
  const size_t rank = view.shape.size();
  const int64_t n = shape_numel(view.shape);
  std::vector<int64_t> index(rank, 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t offset = 0;
    for (size_t d = 0; d < rank; ++d) offset += index[d] * view.strides[d];
    fn(i, offset);
    for (size_t d = rank; d-- > 0;) {
      if (++index[d] < view.shape[d]) break;
      index[d] = 0;
    }
  }
}

}  // namespace

// cudaMalloc and cudaFree behind the caching allocator.
class CudaBackend::RawMemory final : public RawDeviceMemory {
 public:
  void* allocate(size_t bytes) override {
    void* ptr = nullptr;
    const cudaError_t status = cudaMalloc(&ptr, bytes);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      return nullptr;
    }
    check(status, "cudaMalloc");
    return ptr;
  }
  void free(void* ptr) noexcept override { cudaFree(ptr); }
};

CudaBackend::CudaBackend(int device)
    : device_(select_device(device)),
      name_(device_name(device_)),
      raw_(std::make_unique<RawMemory>()),
      allocator_(raw_.get()) {
  check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  gemm_workspace_ = allocator_.allocate(kGemmWorkspaceBytes);
  gemm_workspace_bytes_ = kGemmWorkspaceBytes;
  reduce_partials_ = static_cast<double*>(allocator_.allocate((kReduceBlocks + 1) * sizeof(double)));
  counter_ = static_cast<unsigned long long*>(allocator_.allocate(sizeof(unsigned long long)));
  queued_results_ = static_cast<double*>(allocator_.allocate(kMaxQueued * sizeof(double)));
  check(cudaStreamCreateWithFlags(&copy_stream_, cudaStreamNonBlocking), "cudaStreamCreate(copy)");
  for (Incoming& in : incoming_) {
    check(cudaEventCreateWithFlags(&in.copied, cudaEventDisableTiming), "cudaEventCreate");
    check(cudaEventCreateWithFlags(&in.consumed, cudaEventDisableTiming), "cudaEventCreate");
  }
}

CudaBackend::~CudaBackend() {
  cudaSetDevice(device_);
  if (stream_) cudaStreamSynchronize(stream_);
  allocator_.deallocate(gemm_workspace_);
  allocator_.deallocate(reduce_partials_);
  allocator_.deallocate(counter_);
  allocator_.deallocate(queued_results_);
  for (Incoming& in : incoming_) {
    allocator_.deallocate(in.ptr);
    if (in.copied) cudaEventDestroy(in.copied);
    if (in.consumed) cudaEventDestroy(in.consumed);
  }
  if (copy_stream_) cudaStreamDestroy(copy_stream_);
  if (load_staging_) cudaFreeHost(load_staging_);
  allocator_.deallocate(scratch_.ptr);
  allocator_.deallocate(column_partials_.ptr);
  allocator_.deallocate(conv_workspace_.ptr);
  if (pinned_) cudaFreeHost(pinned_);
  if (stream_) cudaStreamDestroy(stream_);
}

void CudaBackend::activate() const {
  // Several replicas' threads may each drive their own GPU.
  thread_local int current = -1;
  if (current != device_) {
    check(cudaSetDevice(device_), "cudaSetDevice");
    current = device_;
  }
}

void CudaBackend::synchronize() {
  activate();
  check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
}

void* CudaBackend::grow(Scratch& scratch, size_t bytes) {
  if (bytes > scratch.bytes) {
    void* grown = allocator_.allocate(bytes);
    allocator_.deallocate(scratch.ptr);
    scratch.ptr = grown;
    scratch.bytes = bytes;
    ++memory_generation_;
  }
  return scratch.ptr;
}

void* CudaBackend::pinned(size_t bytes) {
  if (bytes > pinned_bytes_) {
    synchronize();  // the old buffer may still feed a copy
    void* grown = nullptr;
    check(cudaMallocHost(&grown, bytes), "cudaMallocHost");
    if (pinned_) cudaFreeHost(pinned_);
    pinned_ = grown;
    pinned_bytes_ = bytes;
  }
  return pinned_;
}

void* CudaBackend::allocate(size_t bytes) {
  activate();
  void* ptr = allocator_.allocate(bytes);
  ++allocation_count_;
  return ptr;
}

void CudaBackend::deallocate(void* ptr, size_t) noexcept { allocator_.deallocate(ptr); }

void CudaBackend::fill_zero(void* dst, size_t bytes) {
  activate();
  check(cudaMemsetAsync(dst, 0, bytes, stream_), "cudaMemsetAsync");
}

void CudaBackend::copy(void* dst, const void* src, size_t bytes) {
  activate();
  if (bytes) check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_), "cudaMemcpyAsync(D2D)");
}

void CudaBackend::copy_to_host(void* host_dst, const void* src, size_t bytes) {
  activate();
  if (!bytes) return;
  check(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_), "cudaMemcpyAsync(D2H)");
  synchronize();
}

void CudaBackend::copy_from_host(void* dst, const void* host_src, size_t bytes) {
  activate();
  if (!bytes) return;
  check(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync(H2D)");
  synchronize();  // the caller may reuse its memory as soon as this returns
}

void CudaBackend::load_host(const HostView& src, DType dst_dtype, void* dst) {
  load_host_async(src, dst_dtype, dst);
  synchronize();  // the caller may reuse its memory as soon as this returns
}

void CudaBackend::load_host_async(const HostView& src, DType dst_dtype, void* dst) {
  activate();
  const int64_t n = shape_numel(src.shape);
  if (n == 0) return;
  const size_t elem = dtype_size(src.dtype), bytes = static_cast<size_t>(n) * elem;
  Incoming& in = incoming_[next_incoming_];
  next_incoming_ = (next_incoming_ + 1) % kIncomingBuffers;
  if (bytes > in.bytes) {
    synchronize();  // nothing queued may still read the buffer given up
    void* grown = allocator_.allocate(bytes);
    allocator_.deallocate(in.ptr);
    in.ptr = grown;
    in.bytes = bytes;
    in.used = false;
  }
  // The copy must not overwrite what the compute stream has yet to read.
  if (in.used) check(cudaStreamWaitEvent(copy_stream_, in.consumed, 0), "cudaStreamWaitEvent");
  const void* source = src.data;
  if (!src.strides.empty() || !is_page_locked(src.data)) {
    // Pageable or strided: packed into pinned staging first. Page-locked
    // memory (tk_host_alloc, cudaHostRegister) the copy engine reads directly.
    if (bytes > load_staging_bytes_) {
      if (load_staging_) cudaFreeHost(load_staging_);
      load_staging_ = nullptr;
      load_staging_bytes_ = 0;
      check(cudaMallocHost(&load_staging_, bytes), "cudaMallocHost");
      load_staging_bytes_ = bytes;
    }
    char* packed = static_cast<char*>(load_staging_);
    if (src.strides.empty()) {
      parallel_memcpy(packed, src.data, bytes);
    } else {
      const char* base = static_cast<const char*>(src.data);
      for_each_offset(src,
                      [&](int64_t i, int64_t offset) { std::memcpy(packed + i * elem, base + offset * elem, elem); });
    }
    source = packed;
  }
  check(cudaMemcpyAsync(in.ptr, source, bytes, cudaMemcpyHostToDevice, copy_stream_), "cudaMemcpyAsync(H2D)");
  check(cudaEventRecord(in.copied, copy_stream_), "cudaEventRecord");
  // Only the copy is waited for, not the compute stream's queued work: the
  // caller's memory (and the staging) is free once this returns.
  check(cudaEventSynchronize(in.copied), "cudaEventSynchronize");
  check(cudaStreamWaitEvent(stream_, in.copied, 0), "cudaStreamWaitEvent");
  if (src.dtype == dst_dtype)
    copy(dst, in.ptr, bytes);
  else
    cuda::convert(stream_, src.dtype, dst_dtype, n, in.ptr, dst);
  check(cudaEventRecord(in.consumed, stream_), "cudaEventRecord");
  in.used = true;
}

void CudaBackend::store_host(DType src_dtype, const void* src, const HostView& dst) {
  activate();
  const int64_t n = shape_numel(dst.shape);
  if (n == 0) return;
  const size_t elem = dtype_size(dst.dtype), bytes = static_cast<size_t>(n) * elem;
  const void* source = src;
  if (src_dtype != dst.dtype) {
    void* converted = device_scratch(bytes);
    cuda::convert(stream_, src_dtype, dst.dtype, n, src, converted);
    source = converted;
  }
  char* staging = static_cast<char*>(pinned(bytes));
  check(cudaMemcpyAsync(staging, source, bytes, cudaMemcpyDeviceToHost, stream_), "cudaMemcpyAsync(D2H)");
  synchronize();
  if (dst.strides.empty()) {
    std::memcpy(dst.data, staging, bytes);
  } else {
    char* base = static_cast<char*>(dst.data);
    for_each_offset(dst,
                    [&](int64_t i, int64_t offset) { std::memcpy(base + offset * elem, staging + i * elem, elem); });
  }
}

void CudaBackend::gemm(DType a_dt, DType b_dt, DType c_dt, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                       double alpha, const void* a, const void* b, double beta, void* c) {
  activate();
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    // An empty product: C = beta * C.
    if (beta == 0.0)
      fill_zero(c, static_cast<size_t>(m * n) * dtype_size(c_dt));
    else if (beta != 1.0)
      cuda::axpy(stream_, c_dt, m * n, beta - 1.0, c, c, true);
    return;
  }
  gemm_.run(stream_, gemm_workspace_, gemm_workspace_bytes_, {a_dt, b_dt, c_dt, trans_a, trans_b, m, n, k}, alpha, a, b,
            beta, c);
}

int64_t CudaBackend::read_count() {
  unsigned long long* host = static_cast<unsigned long long*>(pinned(sizeof(unsigned long long)));
  check(cudaMemcpyAsync(host, counter_, sizeof *host, cudaMemcpyDeviceToHost, stream_), "cudaMemcpyAsync(count)");
  synchronize();
  return static_cast<int64_t>(*host);
}

std::vector<double> CudaBackend::read_queued() {
  activate();
  std::vector<double> results(static_cast<size_t>(queued_count_));
  const size_t bytes = results.size() * sizeof(double);
  queued_count_ = 0;
  if (bytes == 0) return results;
  double* host = static_cast<double*>(pinned(bytes));
  check(cudaMemcpyAsync(host, queued_results_, bytes, cudaMemcpyDeviceToHost, stream_), "cudaMemcpyAsync(sums)");
  synchronize();
  std::memcpy(results.data(), host, bytes);
  return results;
}

bool CudaBackend::gemm_epilogue(const GemmShape& shape, double alpha, const void* a, const void* b, double beta,
                                void* c, const void* bias) {
  activate();
  return shape.k > 0 && gemm_.run(stream_, gemm_workspace_, gemm_workspace_bytes_, shape, alpha, a, b, beta, c, bias);
}

bool CudaBackend::cudnn_conv2d_forward(DType dt, const Conv2dShape& shape, const void* x, const void* weight, void* y) {
  activate();
  return conv_.forward(stream_, dt, shape, x, weight, y);
}

bool CudaBackend::cudnn_conv2d_backward(DType dt, DType dw_dt, const Conv2dShape& shape, const void* x,
                                        const void* weight, const void* dy, void* dweight, void* dx,
                                        bool accumulate_dx) {
  activate();
  if (dw_dt == dt) return conv_.backward(stream_, dt, shape, x, weight, dy, dweight, dx, accumulate_dx);
  // cuDNN writes the weight gradient in the data's dtype: narrow, then widened into dweight.
  const Window2d& w = shape.window;
  const int64_t count = shape.out_channels * (w.channels / shape.groups) * w.kernel_h * w.kernel_w;
  void* narrow = device_scratch(static_cast<size_t>(count) * dtype_size(dt));
  if (!conv_.backward(stream_, dt, shape, x, weight, dy, narrow, dx, accumulate_dx)) return false;
  cuda::convert(stream_, dt, dw_dt, count, narrow, dweight);
  return true;
}

int CudaBackend::queue_result(double** slot) {
  if (queued_count_ == kMaxQueued)
    fail(ErrorCode::kInternal, "more than ", kMaxQueued, " results queued without read_queued()");
  *slot = queued_results_ + queued_count_;
  return queued_count_++;
}

double CudaBackend::read_double(const double* value) {
  activate();
  double* host = static_cast<double*>(pinned(sizeof(double)));
  check(cudaMemcpyAsync(host, value, sizeof *host, cudaMemcpyDeviceToHost, stream_), "cudaMemcpyAsync(value)");
  synchronize();
  return *host;
}

namespace {

// An instantiated CUDA graph, launched on the stream it was recorded from.
class GraphRecording final : public Recording {
 public:
  GraphRecording(cudaGraphExec_t graph, cudaStream_t stream, int device)
      : graph_(graph), stream_(stream), device_(device) {}
  ~GraphRecording() override { cudaGraphExecDestroy(graph_); }
  void replay() override {
    check(cudaSetDevice(device_), "cudaSetDevice");
    check(cudaGraphLaunch(graph_, stream_), "cudaGraphLaunch");
  }

 private:
  cudaGraphExec_t graph_;
  cudaStream_t stream_;
  int device_;
};

}  // namespace

bool CudaBackend::begin_recording() {
  activate();
  // Thread-local: a call on this thread that would wait for the device (or
  // allocate) fails the recording instead of running outside it.
  return cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal) == cudaSuccess;
}

std::unique_ptr<Recording> CudaBackend::end_recording() {
  activate();
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(stream_, &graph);
  cudaGetLastError();  // a failed recording leaves its error behind; the stream is usable again
  if (ended != cudaSuccess || !graph) {
    if (graph) cudaGraphDestroy(graph);
    return nullptr;
  }
  cudaGraphExec_t exec = nullptr;
  const cudaError_t made = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  if (made != cudaSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  return std::make_unique<GraphRecording>(exec, stream_, device_);
}

}  // namespace tk::cuda
