// The CUDA backend: one GPU, one stream, device memory from a caching
// allocator, matrix products through cuBLASLt and trainkit's own kernels for
// the rest. Built into libtrainkit_cuda.so, which libtrainkit loads at run
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

namespace tk::cuda {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device);  // throws Error(kUnsupported) for a bad index or no driver
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;
  const char* name() const override { return name_.c_str(); }
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
  void gemm_bias(DType a_dt, DType b_dt, DType c_dt, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                 const void* a, const void* b, void* c, DType bias_dt, const void* bias) override;
  void gemm_bias_relu(DType a_dt, DType b_dt, DType c_dt, int64_t m, int64_t n, int64_t k, const void* a,
                      const void* b, void* c, DType bias_dt, const void* bias) override;
  bool conv2d_forward(DType dt, const Conv2dShape& shape, const void* x, const void* weight, void* y) override;
  bool conv2d_backward(DType dt, DType dw_dt, const Conv2dShape& shape, const void* x, const void* weight,
                       const void* dy, void* dweight, void* dx, bool accumulate_dx) override;
  void bias_add(DType y_dt, DType bias_dt, int64_t rows, int64_t cols, const void* bias, void* y) override;
  void column_sum(DType x_dt, DType out_dt, int64_t rows, int64_t cols, const void* x, void* out,
                  bool accumulate) override;
  void convert(DType src_dt, DType dst_dt, int64_t n, const void* src, void* dst) override;
  void activation_forward(DType dt, Activation act, int64_t n, const void* x, void* y) override;
  void activation_backward(DType dt, Activation act, int64_t n, const void* x, const void* y, const void* dy,
                           void* dx, bool accumulate) override;
  void add(DType dt, int64_t n, const void* a, const void* b, void* y) override;
  void axpy(DType dt, int64_t n, double alpha, const void* src, void* dst, bool accumulate) override;
  void dropout(DType dt, int64_t n, int64_t block, double p, uint64_t seed, uint64_t stream, const void* x, void* y,
               bool accumulate) override;
  void softmax_cross_entropy(DType dt, DType value_dt, int64_t rows, int64_t classes, const void* logits,
                             const int32_t* labels, void* row_loss, void* dlogits, GradScale grad_scale) override;
  void squared_error(DType dt, DType value_dt, int64_t rows, int64_t cols, const void* pred, const void* target,
                     void* row_loss, void* dpred, GradScale grad_scale) override;
  void bce_with_logits(DType dt, DType value_dt, int64_t rows, int64_t cols, const void* logits, const void* target,
                       void* row_loss, void* dlogits, GradScale grad_scale) override;
  void softmax(DType dt, int64_t rows, int64_t cols, const void* x, void* y) override;
  void im2col(DType dt, const Window2d& w, const void* image, void* columns, int64_t column_stride) override;
  void col2im(DType dt, const Window2d& w, const void* columns, int64_t column_stride, void* image,
              bool accumulate) override;
  void copy_2d(DType dt, int64_t rows, int64_t cols, const void* src, int64_t src_stride, void* dst,
               int64_t dst_stride) override;
  void pool2d_forward(DType dt, Pool pool, int64_t planes, const Window2d& w, const void* x, void* y) override;
  void pool2d_backward(DType dt, Pool pool, int64_t planes, const Window2d& w, const void* x, const void* dy,
                       void* dx, bool accumulate) override;
  void channel_bias_add(DType y_dt, DType bias_dt, int64_t batch, int64_t channels, int64_t spatial,
                        const void* bias, void* y) override;
  void channel_sum(DType x_dt, DType out_dt, int64_t batch, int64_t channels, int64_t spatial, const void* x,
                   void* out, bool accumulate) override;
  void batch_norm_statistics(DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial,
                             const void* x, void* mean, void* var) override;
  void batch_norm_apply(DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial, double eps,
                        const void* x, const void* mean, const void* var, const void* gamma, const void* beta,
                        void* y) override;
  void batch_norm_backward(DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial, double eps,
                           bool batch_statistics, const void* x, const void* dy, const void* mean, const void* var,
                           const void* gamma, void* dx, bool accumulate, void* dgamma, void* dbeta) override;
  void moving_average(DType dt, int64_t n, double momentum, const void* running, const void* value,
                      double value_scale, void* next) override;
  void layer_norm_forward(DType dt, DType param_dt, int64_t rows, int64_t cols, double eps, const void* x,
                          const void* gamma, const void* beta, void* y) override;
  void layer_norm_backward(DType dt, DType param_dt, int64_t rows, int64_t cols, double eps, const void* x,
                           const void* dy, const void* gamma, void* dx, bool accumulate, void* dgamma,
                           void* dbeta) override;
  int64_t count_correct_argmax(DType dt, int64_t rows, int64_t classes, const void* logits,
                               const int32_t* labels) override;
  int64_t count_correct_binary(DType dt, DType value_dt, int64_t n, const void* logits, const void* target) override;
  double sum(DType dt, int64_t n, const void* x) override;
  double sum_squares(DType dt, int64_t n, const void* x) override;
  bool all_finite(DType dt, int64_t n, const void* x) override;
  int queue_sum(DType dt, int64_t n, const void* x) override { return queue_reduction(dt, 0, n, x); }
  int queue_sum_squares(DType dt, int64_t n, const void* x) override { return queue_reduction(dt, 1, n, x); }
  std::vector<double> read_queued() override;
  void clear_queued() override { queued_count_ = 0; }
  void sgd_update(DType dt, int64_t n, void* params, const void* grads, void* momentum_buf, const UpdateStep& step,
                  double momentum, double weight_decay, bool nesterov, const HalfCopy& half) override;
  void adam_update(DType dt, int64_t n, void* params, const void* grads, void* m, void* v, const UpdateStep& step,
                   double beta1, double beta2, double eps, double weight_decay, bool decoupled_weight_decay,
                   const HalfCopy& half) override;
  void sum_into(DType dt, int64_t n, const void* x, bool squares, double* out) override;
  void decide_step(StepControl* control, const StepRules& rules) override;
  void copy_if_applied(const StepControl* control, void* dst, const void* src, size_t bytes) override;
  bool offers_recording() const override { return true; }
  bool begin_recording() override;
  std::unique_ptr<Recording> end_recording() override;
  uint64_t memory_generation() const override { return memory_generation_; }

 private:
  class RawMemory;
  // Makes this backend's device current on the calling thread.
  void activate() const;
  // Device scratch of at least `bytes`, kept and grown (never shrunk). A block
  // given up on growth goes back to the stream-ordered cache, so work already
  // queued may still read it.
  struct Scratch {
    void* ptr = nullptr;
    size_t bytes = 0;
  };
  void* grow(Scratch& scratch, size_t bytes);
  void* device_scratch(size_t bytes) { return grow(scratch_, bytes); }
  // Partial sums of the batch-norm reductions (shared with column_sum's).
  double* norm_scratch(int64_t batch, int64_t channels, int64_t spatial);
  // Pinned host staging of at least `bytes`, kept and grown.
  void* pinned(size_t bytes);
  double reduce(DType dt, int kind, int64_t n, const void* x);
  int queue_reduction(DType dt, int kind, int64_t n, const void* x);
  int64_t read_count();

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
