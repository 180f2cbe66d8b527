// The CPU backend: OpenBLAS for matrix products, OpenMP loops for the rest.
#pragma once

#include <atomic>

#include "core/backend/backend.h"

namespace tk::cpu {

class CpuBackend : public Backend {  // not final: tests count its calls
 public:
  // threads <= 0 picks the machine's core count.
  explicit CpuBackend(int threads = 0);
  ~CpuBackend() override;
  CpuBackend(const CpuBackend&) = delete;
  CpuBackend& operator=(const CpuBackend&) = delete;
  const char* name() const override { return "cpu"; }
  int threads() const { return threads_; }

  void* allocate(size_t bytes) override;
  void deallocate(void* ptr, size_t bytes) noexcept override;
  void set_memory_limit(size_t bytes) override { memory_limit_ = bytes; }
  size_t bytes_in_use() const override { return bytes_in_use_; }
  uint64_t allocation_count() const override { return allocation_count_; }
  void fill_zero(void* dst, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void copy_to_host(void* host_dst, const void* src, size_t bytes) override;
  void copy_from_host(void* dst, const void* host_src, size_t bytes) override;
  void load_host(const HostView& src, DType dst_dtype, void* dst) override;
  void store_host(DType src_dtype, const void* src, const HostView& dst) override;

  void gemm(DType a_dt, DType b_dt, DType c_dt, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
            double alpha, const void* a, const void* b, double beta, void* c) override;
  void bias_add(DType y_dt, DType bias_dt, int64_t rows, int64_t cols, const void* bias, void* y) override;
  void gemm_bias_relu(DType a_dt, DType b_dt, DType c_dt, int64_t m, int64_t n, int64_t k, const void* a,
                      const void* b, void* c, DType bias_dt, const void* bias) override;
  void column_sum(DType x_dt, DType out_dt, int64_t rows, int64_t cols, const void* x, void* out,
                  bool accumulate) override;
  void convert(DType src_dt, DType dst_dt, int64_t n, const void* src, void* dst) override;

  void activation_forward(DType dt, Activation act, int64_t n, const void* x, void* y) override;
  void activation_backward(DType dt, Activation act, int64_t n, const void* x, const void* y,
                           const void* dy, void* dx, bool accumulate) override;
  void add(DType dt, int64_t n, const void* a, const void* b, void* y) override;
  void axpy(DType dt, int64_t n, double alpha, const void* src, void* dst,
            bool accumulate) override;
  void dropout(DType dt, int64_t n, int64_t block, double p, uint64_t seed, uint64_t stream, const void* x,
               void* y, bool accumulate) override;

  void softmax_cross_entropy(DType dt, DType value_dt, int64_t rows, int64_t classes, const void* logits,
                             const int32_t* labels, void* row_loss, void* dlogits, GradScale grad_scale) override;
  void squared_error(DType dt, DType value_dt, int64_t rows, int64_t cols, const void* pred, const void* target,
                     void* row_loss, void* dpred, GradScale grad_scale) override;
  void bce_with_logits(DType dt, DType value_dt, int64_t rows, int64_t cols, const void* logits,
                       const void* target, void* row_loss, void* dlogits, GradScale grad_scale) override;
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
  void batch_norm_apply_relu(DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial,
                             double eps, const void* x, const void* mean, const void* var, const void* gamma,
                             const void* beta, void* y) override;
  void batch_norm_relu_backward(DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial,
                                double eps, bool batch_statistics, const void* x, const void* y, const void* dy,
                                void* dz, const void* mean, const void* var, const void* gamma, void* dx,
                                bool accumulate, void* dgamma, void* dbeta) override;
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
  int64_t count_correct_binary(DType dt, DType value_dt, int64_t n, const void* logits,
                               const void* target) override;

  double sum(DType dt, int64_t n, const void* x) override;
  double sum_squares(DType dt, int64_t n, const void* x) override;
  bool all_finite(DType dt, int64_t n, const void* x) override;

  void sgd_update(DType dt, int64_t n, void* params, const void* grads, void* momentum_buf, const UpdateStep& step,
                  double momentum, double weight_decay, bool nesterov, const HalfCopy& half) override;
  void adam_update(DType dt, int64_t n, void* params, const void* grads, void* m, void* v, const UpdateStep& step,
                   double beta1, double beta2, double eps, double weight_decay, bool decoupled_weight_decay,
                   const HalfCopy& half) override;
  void sum_into(DType dt, int64_t n, const void* x, bool squares, double* out) override;
  void decide_step(StepControl* control, const StepRules& rules) override;
  void copy_if_applied(const StepControl* control, void* dst, const void* src, size_t bytes) override;

 private:
  // f32 staging for matrix products over half operands; grows to the largest
  // product seen, then stays (so steady-state steps allocate nothing).
  float* gemm_scratch(size_t floats);

  int threads_;
  void* scratch_ = nullptr;
  size_t scratch_bytes_ = 0;
  size_t memory_limit_ = 0;
  std::atomic<size_t> bytes_in_use_{0};
  std::atomic<uint64_t> allocation_count_{0};
};

}  // namespace tk::cpu
