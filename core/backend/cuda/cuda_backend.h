// The CUDA backend: one GPU, one stream, device memory from a caching
// allocator, matrix products through cuBLASLt, convolutions through cuDNN.
// The op families' own kernels (their .cu files) run on its stream and
// scratch. Built into libtrainkit_cuda.so, which libtrainkit loads at run
// time (core/backend/device.cc), so machines without CUDA never load it.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <memory>
#include <string>

#include "core/backend/backend.h"
#include "core/backend/caching_allocator.h"
#include "core/backend/cuda/cublaslt_gemm.h"
#include "core/backend/cuda/cudnn_conv.h"
#include "core/base/window2d.h"

namespace tk::cuda {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device);  // throws Error(kUnsupported) for a bad index or no driver
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;
  const char* name() const override { return name_.c_str(); }
  DeviceKind kind() const override { return DeviceKind::kCuda; }
  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  uint64_t device_allocations() const { return allocator_.raw_allocations(); }
  void set_allow_tf32(bool allow) { gemm_.set_allow_tf32(allow); }

  void* allocate(size_t bytes) override;
  void deallocate(void* ptr, size_t bytes) noexcept override;
  void set_memory_limit(size_t bytes) override { allocator_.set_limit(bytes); }
  size_t bytes_in_use() const override { return allocator_.bytes_in_use(); }
  uint64_t allocation_count() const override { return allocation_count_; }
  void fill_zero(void* dst, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void copy_to_host(void* host_dst, const void* src, size_t bytes) override;
  void copy_from_host(void* dst, const void* host_src, size_t bytes) override;
  void synchronize() override;
  void load_host(const HostView& src, DType dst_dtype, void* dst) override;
  void load_host_async(const HostView& src, DType dst_dtype, void* dst) override;
  void store_host(DType src_dtype, const void* src, const HostView& dst) override;

  void gemm(DType a_dt, DType b_dt, DType c_dt, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
            double alpha, const void* a, const void* b, double beta, void* c) override;
  int queue_result(double** slot) override;
  std::vector<double> read_queued() override;
  void clear_queued() override { queued_count_ = 0; }
  bool offers_recording() const override { return true; }
  bool begin_recording() override;
  std::unique_ptr<Recording> end_recording() override;
  uint64_t memory_generation() const override { return memory_generation_; }

  // What the op families' CUDA kernels use (core/backend/cuda/cuda_kernel.h).
  // Makes this backend's device current on the calling thread.
  void activate() const;
  // A product with its bias work in a cuBLASLt epilogue; false when cuBLASLt
  // has none for this shape (nothing ran).
  bool gemm_epilogue(const GemmShape& shape, double alpha, const void* a, const void* b, double beta, void* c,
                     const void* bias);
  // cuDNN's whole convolutions; false: this shape is not offered.
  bool cudnn_conv2d_forward(DType dt, const Conv2dShape& shape, const void* x, const void* weight, void* y);
  bool cudnn_conv2d_backward(DType dt, DType dw_dt, const Conv2dShape& shape, const void* x, const void* weight,
                             const void* dy, void* dweight, void* dx, bool accumulate_dx);
  // Device scratch of at least `bytes`, kept and grown (never shrunk): one
  // for any kernel's temporaries, one for partial sums (column and channel
  // sums, batch norm's), so a kernel may hold one of each at once.
  void* device_scratch(size_t bytes) { return grow(scratch_, bytes); }
  double* partial_sums(size_t doubles) {
    return static_cast<double*>(grow(column_partials_, doubles * sizeof(double)));
  }
  // kReduceBlocks + 1 doubles for a full reduction's partials and result.
  double* reduce_partials() const { return reduce_partials_; }
  static constexpr int kReduceBlocks = 256;
  // A device counter, and its value read back (waits for the device).
  unsigned long long* counter() const { return counter_; }
  int64_t read_count();
  // The double at device address `value`, read back (waits for the device).
  double read_double(const double* value);

 private:
  class RawMemory;
  // Device scratch of at least `bytes`, kept and grown (never shrunk). A block
  // given up on growth goes back to the stream-ordered cache, so work already
  // queued may still read it.
  struct Scratch {
    void* ptr = nullptr;
    size_t bytes = 0;
  };
  void* grow(Scratch& scratch, size_t bytes);
  // Pinned host staging of at least `bytes`, kept and grown.
  void* pinned(size_t bytes);

  int device_;
  std::string name_;
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<RawMemory> raw_;
  CachingAllocator allocator_;
  LtGemm gemm_;
  Scratch conv_workspace_;
  CudnnConv conv_{[this](size_t bytes) { return grow(conv_workspace_, bytes); }};
  uint64_t allocation_count_ = 0;
  void* gemm_workspace_ = nullptr;
  size_t gemm_workspace_bytes_ = 0;
  double* reduce_partials_ = nullptr;  // kReduceBlocks partial sums, then the result
  unsigned long long* counter_ = nullptr;
  Scratch scratch_;
  Scratch column_partials_;  // stage-1 sums of column_sum and batch norm
  void* pinned_ = nullptr;
  size_t pinned_bytes_ = 0;
  // Batches cross on a copy stream into device buffers used in turn, so a
  // batch's copy overlaps the work queued before it (the previous step). Each
  // buffer has the event of its copy and of the compute stream's last read.
  cudaStream_t copy_stream_ = nullptr;
  struct Incoming {
    void* ptr = nullptr;
    size_t bytes = 0;
    cudaEvent_t copied = nullptr, consumed = nullptr;
    bool used = false;
  };
  static constexpr int kIncomingBuffers = 4;  // a step's inputs and targets, twice
  Incoming incoming_[kIncomingBuffers];
  int next_incoming_ = 0;
  // Batches from pageable memory are packed here first.
  void* load_staging_ = nullptr;
  size_t load_staging_bytes_ = 0;
  // Bumped whenever grow() replaces scratch a recording may have used.
  uint64_t memory_generation_ = 0;
  // Results of queued sums, read together.
  static constexpr int kMaxQueued = 16;
  double* queued_results_ = nullptr;
  int queued_count_ = 0;
};

}  // namespace tk::cuda
