// The device interface. Ops, losses and optimizers are written against these
// primitives only, so a new backend (CUDA) slots in by implementing this class.
// Every pointer is device memory from allocate(), except HostView data, which
// is caller memory. Each operand's dtype is passed with it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "core/backend/step_control.h"
#include "core/base/dtype.h"
#include "core/base/shape.h"

namespace tk {

enum class Activation { kRelu, kGelu, kTanh, kSigmoid };
enum class Pool { kMax, kAverage };

// A 2-D window sliding over [channels, height, width] planes (convolution
// and pooling): the output is out_h x out_w.
struct Window2d {
  int64_t channels, height, width;
  int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  int64_t out_h, out_w;
};

// A loss gradient's factor: value times the value at `device` (backend memory,
// when set: the loss scale of a step decided on the device), over divisor
// (a mean's count). Written so, the host and the device get the same bits.
struct GradScale {
  TK_HOST_DEVICE GradScale(double value = 1.0, const double* device = nullptr,  // NOLINT: a plain factor converts
                           double divisor = 1.0)
      : value(value), device(device), divisor(divisor) {}
  // The factor; reads *device, so it runs where backend memory is addressable
  // (the CPU backend, or inside a CUDA kernel).
  TK_HOST_DEVICE double factor() const { return (device ? value * *device : value) / divisor; }
  double value;
  const double* device;
  double divisor;
};

// What an optimizer update takes per step: host values, or, with `control`
// set, those of a step decided on the device (which also skips the update
// unless that step was applied).
struct UpdateStep {
  double grad_scale = 1;  // gradients are multiplied by this first (clipping, unscaling)
  double lr = 0;
  int64_t step = 1;       // 1-based optimizer step (Adam's bias correction, SGD's first step)
  const StepControl* control = nullptr;
};

// The half-precision copy of the weights that an optimizer update also writes
// (mixed precision: the weights half-precision ops read); none when data is null.
struct HalfCopy {
  void* data = nullptr;
  DType dtype = DType::kF16;
};

// Work recorded once and replayed at the cost of one launch (CUDA graphs).
class Recording {
 public:
  virtual ~Recording() = default;
  virtual void replay() = 0;
};

// A borrowed view of caller memory: strides in elements, empty means contiguous.
struct HostView {
  void* data = nullptr;
  DType dtype = DType::kF32;
  Shape shape;
  Shape strides;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;

  // Memory. allocate() throws Error(kOutOfMemory) and never returns null.
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* ptr, size_t bytes) noexcept = 0;
  virtual void set_memory_limit(size_t bytes) = 0;  // 0: no limit
  virtual size_t bytes_in_use() const = 0;
  virtual uint64_t allocation_count() const = 0;
  virtual void fill_zero(void* dst, size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;
  virtual void copy_to_host(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void copy_from_host(void* dst, const void* host_src, size_t bytes) = 0;
  // Waits for all work issued so far (a no-op where calls complete in order, as on the CPU).
  virtual void synchronize() {}

  // Caller memory in (any strides, converted to dst_dtype) and out (contiguous).
  virtual void load_host(const HostView& src, DType dst_dtype, void* dst) = 0;
  // load_host that may return before the copy is done: `src` must stay
  // unchanged until the backend next waits for the device (synchronize, a
  // copy or read to the host). A training step ends with such a read.
  virtual void load_host_async(const HostView& src, DType dst_dtype, void* dst) { load_host(src, dst_dtype, dst); }
  virtual void store_host(DType src_dtype, const void* src, const HostView& dst) = 0;

  // Row-major C = alpha * op(A) * op(B) + beta * C, op(A) is m x k, op(B) is
  // k x n. Each operand has its own dtype; products accumulate in at least f32.
  virtual void gemm(DType a_dt, DType b_dt, DType c_dt, bool trans_a, bool trans_b, int64_t m, int64_t n,
                    int64_t k, double alpha, const void* a, const void* b, double beta, void* c) = 0;
  // A Linear's products with their bias work fused where the device can (the
  // CUDA backend uses cuBLASLt epilogues); by default, a product then a pass.
  // Forward: C = alpha * A * op(B) + bias, bias[j] added to every row of C.
  virtual void gemm_bias(DType a_dt, DType b_dt, DType c_dt, bool trans_b, int64_t m, int64_t n, int64_t k,
                         double alpha, const void* a, const void* b, void* c, DType bias_dt, const void* bias) {
    gemm(a_dt, b_dt, c_dt, false, trans_b, m, n, k, alpha, a, b, 0.0, c);
    bias_add(c_dt, bias_dt, m, n, bias, c);
  }
  // The same with a ReLU after the bias: C = relu(A * B^T + bias) (B stored n x k).
  virtual void gemm_bias_relu(DType a_dt, DType b_dt, DType c_dt, int64_t m, int64_t n, int64_t k, const void* a,
                              const void* b, void* c, DType bias_dt, const void* bias) {
    gemm_bias(a_dt, b_dt, c_dt, true, m, n, k, 1.0, a, b, c, bias_dt, bias);
    activation_forward(c_dt, Activation::kRelu, m * n, c, c);
  }
  // Weight and bias gradients: C = alpha * A^T * B with A stored k x m, and
  // sums[j] = sum_r A[r, j] (the column sums of A, i.e. of dY).
  virtual void gemm_bias_grad(DType a_dt, DType b_dt, DType c_dt, int64_t m, int64_t n, int64_t k, double alpha,
                              const void* a, const void* b, void* c, DType sums_dt, void* sums) {
    gemm(a_dt, b_dt, c_dt, true, false, m, n, k, alpha, a, b, 0.0, c);
    column_sum(a_dt, sums_dt, k, m, a, sums, false);
  }
  // y[r, c] += bias[c]
  virtual void bias_add(DType y_dt, DType bias_dt, int64_t rows, int64_t cols, const void* bias, void* y) = 0;
  // out[c] = (accumulate ? out[c] : 0) + sum_r x[r, c]
  virtual void column_sum(DType x_dt, DType out_dt, int64_t rows, int64_t cols, const void* x, void* out,
                          bool accumulate) = 0;
  // dst = src converted (round to nearest-even when narrowing).
  virtual void convert(DType src_dt, DType dst_dt, int64_t n, const void* src, void* dst) = 0;

  // Elementwise over one storage dtype `dt` (f32, f64, f16, bf16); half
  // storage computes in f32. Backward variants write dx, or add into it.
  virtual void activation_forward(DType dt, Activation act, int64_t n, const void* x, void* y) = 0;
  virtual void activation_backward(DType dt, Activation act, int64_t n, const void* x,
                                   const void* y, const void* dy, void* dx, bool accumulate) = 0;
  virtual void add(DType dt, int64_t n, const void* a, const void* b, void* y) = 0;
  // dst = (accumulate ? dst : 0) + alpha * src
  virtual void axpy(DType dt, int64_t n, double alpha, const void* src, void* dst,
                    bool accumulate) = 0;
  // Inverted dropout: keep with probability 1-p, scale kept values by 1/(1-p).
  // Runs of `block` consecutive elements share one mask bit (1 for elementwise,
  // a channel's plane for image dropout). The bit is hash(seed, stream,
  // index / block), so forward and backward agree.
  virtual void dropout(DType dt, int64_t n, int64_t block, double p, uint64_t seed, uint64_t stream,
                       const void* x, void* y, bool accumulate) = 0;

  // Losses read logits of dtype `dt` and compute in value_dt (f32 or f64),
  // the dtype of row_loss and of value targets. Each writes every row's
  // unreduced loss sum into row_loss[rows]; when dlogits (dtype dt) is
  // non-null also grad_scale * d(row loss)/d(logits).
  virtual void softmax_cross_entropy(DType dt, DType value_dt, int64_t rows, int64_t classes,
                                     const void* logits, const int32_t* labels, void* row_loss,
                                     void* dlogits, GradScale grad_scale) = 0;
  virtual void squared_error(DType dt, DType value_dt, int64_t rows, int64_t cols, const void* pred,
                             const void* target, void* row_loss, void* dpred, GradScale grad_scale) = 0;
  virtual void bce_with_logits(DType dt, DType value_dt, int64_t rows, int64_t cols, const void* logits,
                               const void* target, void* row_loss, void* dlogits, GradScale grad_scale) = 0;
  virtual void softmax(DType dt, int64_t rows, int64_t cols, const void* x, void* y) = 0;

  // Convolution as matrix products: one image [channels, height, width] to
  // columns [channels * kernel_h * kernel_w, out_h * out_w] (zeros for padding),
  // and back (col2im adds overlapping windows; overwrites unless accumulate).
  // Rows of columns are column_stride elements apart, so several images'
  // columns can sit side by side in one matrix.
  virtual void im2col(DType dt, const Window2d& w, const void* image, void* columns, int64_t column_stride) = 0;
  virtual void col2im(DType dt, const Window2d& w, const void* columns, int64_t column_stride, void* image,
                      bool accumulate) = 0;
  // dst[r, c] = src[r, c] for a rows x cols block; rows are *_stride elements apart.
  virtual void copy_2d(DType dt, int64_t rows, int64_t cols, const void* src, int64_t src_stride, void* dst,
                       int64_t dst_stride) = 0;
  // Pooling over `planes` planes of height x width (kernel windows, padding
  // ignored by max and counted as zeros by average, as PyTorch's defaults).
  virtual void pool2d_forward(DType dt, Pool pool, int64_t planes, const Window2d& w, const void* x, void* y) = 0;
  virtual void pool2d_backward(DType dt, Pool pool, int64_t planes, const Window2d& w, const void* x,
                               const void* dy, void* dx, bool accumulate) = 0;
  // Whole convolutions over NCHW images, where the device has a library for
  // them (cuDNN); `false` means not offered, and the caller lowers the
  // convolution to im2col and matrix products. x [batch, channels, height,
  // width] as `window` describes one image (all input channels), weight
  // [out_channels, channels / groups, kernel_h, kernel_w], y [batch,
  // out_channels, out_h, out_w]; x, weight and y share dtype `dt`; the weight
  // gradient is written (not added) in `dw_dt`.
  struct Conv2dShape {
    int64_t batch, out_channels, groups;
    Window2d window;
  };
  virtual bool conv2d_forward(DType /*dt*/, const Conv2dShape& /*shape*/, const void* /*x*/, const void* /*weight*/,
                              void* /*y*/) {
    return false;
  }
  virtual bool conv2d_backward(DType /*dt*/, DType /*dw_dt*/, const Conv2dShape& /*shape*/, const void* /*x*/,
                               const void* /*weight*/, const void* /*dy*/, void* /*dweight*/, void* /*dx*/,
                               bool /*accumulate_dx*/) {
    return false;
  }
  // y[n, c, s] += bias[c] over [batch, channels, spatial].
  virtual void channel_bias_add(DType y_dt, DType bias_dt, int64_t batch, int64_t channels, int64_t spatial,
                                const void* bias, void* y) = 0;
  // out[c] = (accumulate ? out[c] : 0) + sum over n, s of x[n, c, s].
  virtual void channel_sum(DType x_dt, DType out_dt, int64_t batch, int64_t channels, int64_t spatial,
                           const void* x, void* out, bool accumulate) = 0;
  // Batch normalization over [batch, channels, spatial], per channel. The
  // statistics (mean, biased variance), gamma, beta and their gradients are
  // of `param_dt` (the master dtype); x, y and their gradients of `dt`.
  virtual void batch_norm_statistics(DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial,
                                     const void* x, void* mean, void* var) = 0;
  // y = (x - mean) / sqrt(var + eps) * gamma + beta
  virtual void batch_norm_apply(DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial,
                                double eps, const void* x, const void* mean, const void* var, const void* gamma,
                                const void* beta, void* y) = 0;
  // Gradients of batch_norm_apply. With batch_statistics, mean and var are
  // the batch's own (functions of x); otherwise constants (evaluation mode).
  // dgamma and dbeta are overwritten; dx is added into when accumulate.
  virtual void batch_norm_backward(DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial,
                                   double eps, bool batch_statistics, const void* x, const void* dy,
                                   const void* mean, const void* var, const void* gamma, void* dx, bool accumulate,
                                   void* dgamma, void* dbeta) = 0;
  // Batch norm with the ReLU that alone reads its output (the plan fuses the
  // pair): y = relu(batch_norm_apply(...)). By default the two passes.
  virtual void batch_norm_apply_relu(DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial,
                                     double eps, const void* x, const void* mean, const void* var, const void* gamma,
                                     const void* beta, void* y) {
    batch_norm_apply(dt, param_dt, batch, channels, spatial, eps, x, mean, var, gamma, beta, y);
    activation_forward(dt, Activation::kRelu, batch * channels * spatial, y, y);
  }
  // Its backward from the ReLU's output y and output gradient dy: the batch
  // norm's output gradient is dy * relu'(y). By default that is written to
  // dz (scratch of y's size), then batch_norm_backward runs on it.
  virtual void batch_norm_relu_backward(DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial,
                                        double eps, bool batch_statistics, const void* x, const void* y,
                                        const void* dy, void* dz, const void* mean, const void* var,
                                        const void* gamma, void* dx, bool accumulate, void* dgamma, void* dbeta) {
    activation_backward(dt, Activation::kRelu, batch * channels * spatial, y, y, dy, dz, false);
    batch_norm_backward(dt, param_dt, batch, channels, spatial, eps, batch_statistics, x, dz, mean, var, gamma, dx,
                        accumulate, dgamma, dbeta);
  }
  // next = (1 - momentum) * running + momentum * value_scale * value (running statistics).
  virtual void moving_average(DType dt, int64_t n, double momentum, const void* running, const void* value,
                              double value_scale, void* next) = 0;
  // Layer normalization of each of `rows` rows of `cols` values, then
  // y = x_hat * gamma + beta with gamma, beta [cols] of param_dt.
  virtual void layer_norm_forward(DType dt, DType param_dt, int64_t rows, int64_t cols, double eps, const void* x,
                                  const void* gamma, const void* beta, void* y) = 0;
  // Recomputes each row's statistics from x; dgamma and dbeta (param_dt) are overwritten.
  virtual void layer_norm_backward(DType dt, DType param_dt, int64_t rows, int64_t cols, double eps, const void* x,
                                   const void* dy, const void* gamma, void* dx, bool accumulate, void* dgamma,
                                   void* dbeta) = 0;
  // Count of rows whose argmax equals the label.
  virtual int64_t count_correct_argmax(DType dt, int64_t rows, int64_t classes,
                                       const void* logits, const int32_t* labels) = 0;
  // Count of elements where (logit > 0) == (target > 0.5).
  virtual int64_t count_correct_binary(DType dt, DType value_dt, int64_t n, const void* logits,
                                       const void* target) = 0;

  // Reductions, deterministic for a given n whatever the thread count.
  virtual double sum(DType dt, int64_t n, const void* x) = 0;
  virtual double sum_squares(DType dt, int64_t n, const void* x) = 0;
  virtual bool all_finite(DType dt, int64_t n, const void* x) = 0;
  // The same sums, queued so that a training step waits for the device once:
  // each returns a ticket, and read_queued() returns every queued result
  // (indexed by ticket) and empties the queue. By default they run at once.
  virtual int queue_sum(DType dt, int64_t n, const void* x) { return queue(sum(dt, n, x)); }
  virtual int queue_sum_squares(DType dt, int64_t n, const void* x) { return queue(sum_squares(dt, n, x)); }
  virtual std::vector<double> read_queued() { return std::exchange(queued_, {}); }
  // Drops what a failed step left queued.
  virtual void clear_queued() { queued_.clear(); }
  // The sum (or sum of squares) written to `out` in backend memory, without waiting.
  virtual void sum_into(DType dt, int64_t n, const void* x, bool squares, double* out) = 0;

  // Steps decided on the device (core/backend/step_control.h); `control` is
  // backend memory. decide_step applies the rules to this step's sums.
  virtual void decide_step(StepControl* control, const StepRules& rules) = 0;
  // dst = src if the decided step was applied (running statistics' commit).
  virtual void copy_if_applied(const StepControl* control, void* dst, const void* src, size_t bytes) = 0;

  // Recording: between begin_recording() (false: not offered) and
  // end_recording(), calls are recorded instead of run. end_recording()
  // returns null if the work could not be recorded (then none of it ran).
  // A recording holds the addresses it was made with: it may be replayed
  // while memory_generation() is unchanged (scratch the backend replaced
  // since then may be gone) and the buffers it used are alive.
  virtual bool offers_recording() const { return false; }
  virtual bool begin_recording() { return false; }
  virtual std::unique_ptr<Recording> end_recording() { return nullptr; }
  virtual uint64_t memory_generation() const { return 0; }

  // Fused optimizer updates over a flat f32/f64 buffer; grads are multiplied by
  // the step's grad_scale on the fly (gradient clipping and loss-scale
  // unscaling), and the updated weights are also written to `half`, if set.
  virtual void sgd_update(DType dt, int64_t n, void* params, const void* grads, void* momentum_buf,
                          const UpdateStep& step, double momentum, double weight_decay, bool nesterov,
                          const HalfCopy& half) = 0;
  virtual void adam_update(DType dt, int64_t n, void* params, const void* grads, void* m, void* v,
                           const UpdateStep& step, double beta1, double beta2, double eps, double weight_decay,
                           bool decoupled_weight_decay, const HalfCopy& half) = 0;
 protected:
  int queue(double value) {
    queued_.push_back(value);
    return static_cast<int>(queued_.size()) - 1;
  }

 private:
  std::vector<double> queued_;
};

}  // namespace tk
