// Launchers of trainkit's own CUDA kernels, one group per .cu file. Each
// enqueues on `stream` and throws Error if the launch fails; none synchronizes
// except the reductions that return a value to the host.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/backend/backend.h"

namespace tk::cuda {

// elementwise.cu
void convert(cudaStream_t s, DType src_dt, DType dst_dt, int64_t n, const void* src, void* dst);
void activation_forward(cudaStream_t s, DType dt, Activation act, int64_t n, const void* x, void* y);
void activation_backward(cudaStream_t s, DType dt, Activation act, int64_t n, const void* x, const void* y,
                         const void* dy, void* dx, bool accumulate);
void add(cudaStream_t s, DType dt, int64_t n, const void* a, const void* b, void* y);
void axpy(cudaStream_t s, DType dt, int64_t n, double alpha, const void* src, void* dst, bool accumulate);
void dropout(cudaStream_t s, DType dt, int64_t n, int64_t block, double p, uint64_t seed, uint64_t stream,
             const void* x, void* y, bool accumulate);
void bias_add(cudaStream_t s, DType y_dt, DType bias_dt, int64_t rows, int64_t cols, const void* bias, void* y);
void channel_bias_add(cudaStream_t s, DType y_dt, DType bias_dt, int64_t batch, int64_t channels, int64_t spatial,
                      const void* bias, void* y);
void moving_average(cudaStream_t s, DType dt, int64_t n, double momentum, const void* running, const void* value,
                    double value_scale, void* next);

// reduce.cu. `partials` is device scratch of at least kReduceBlocks doubles,
// `result` device memory for one double (or int64), read back with a sync.
constexpr int kReduceBlocks = 256;
// Column sums (bias gradients) go in chunks of this many rows; `partials` holds
// column_sum_partials(rows, cols) doubles (none for a single chunk).
constexpr int64_t kColumnSumChunkRows = 512;
int64_t column_sum_partials(int64_t rows, int64_t cols);
void column_sum(cudaStream_t s, DType x_dt, DType out_dt, int64_t rows, int64_t cols, const void* x, void* out,
                bool accumulate, double* partials);
void channel_sum(cudaStream_t s, DType x_dt, DType out_dt, int64_t batch, int64_t channels, int64_t spatial,
                 const void* x, void* out, bool accumulate);
// kind: 0 sum, 1 sum of squares, 2 count of non-finite values.
void reduce(cudaStream_t s, DType dt, int kind, int64_t n, const void* x, double* partials, double* result);
void count_correct_argmax(cudaStream_t s, DType dt, int64_t rows, int64_t classes, const void* logits,
                          const int32_t* labels, unsigned long long* count);
void count_correct_binary(cudaStream_t s, DType dt, DType value_dt, int64_t n, const void* logits,
                          const void* target, unsigned long long* count);

// loss.cu
void softmax_cross_entropy(cudaStream_t s, DType dt, DType value_dt, int64_t rows, int64_t classes,
                           const void* logits, const int32_t* labels, void* row_loss, void* dlogits,
                           GradScale grad_scale);
void squared_error(cudaStream_t s, DType dt, DType value_dt, int64_t rows, int64_t cols, const void* pred,
                   const void* target, void* row_loss, void* dpred, GradScale grad_scale);
void bce_with_logits(cudaStream_t s, DType dt, DType value_dt, int64_t rows, int64_t cols, const void* logits,
                     const void* target, void* row_loss, void* dlogits, GradScale grad_scale);
void softmax(cudaStream_t s, DType dt, int64_t rows, int64_t cols, const void* x, void* y);

// window.cu
void im2col(cudaStream_t s, DType dt, const Window2d& w, const void* image, void* columns, int64_t column_stride);
void col2im(cudaStream_t s, DType dt, const Window2d& w, const void* columns, int64_t column_stride, void* image,
            bool accumulate);
void pool2d_forward(cudaStream_t s, DType dt, Pool pool, int64_t planes, const Window2d& w, const void* x, void* y);
void pool2d_backward(cudaStream_t s, DType dt, Pool pool, int64_t planes, const Window2d& w, const void* x,
                     const void* dy, void* dx, bool accumulate);

// norm.cu. `row_stats` is device scratch of 2 * rows doubles.
// Batch norm sums each channel in chunks of about this many values; `scratch`
// holds batch_norm_scratch(batch, channels, spatial) doubles.
constexpr int64_t kBatchNormChunkElements = 4096;
int64_t batch_norm_images_per_chunk(int64_t spatial);
int64_t batch_norm_scratch(int64_t batch, int64_t channels, int64_t spatial);
void batch_norm_statistics(cudaStream_t s, DType dt, DType param_dt, int64_t batch, int64_t channels,
                           int64_t spatial, const void* x, void* mean, void* var, double* scratch);
void batch_norm_apply(cudaStream_t s, DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial,
                      double eps, const void* x, const void* mean, const void* var, const void* gamma,
                      const void* beta, void* y);
void batch_norm_backward(cudaStream_t s, DType dt, DType param_dt, int64_t batch, int64_t channels,
                         int64_t spatial, double eps, bool batch_statistics, const void* x, const void* dy,
                         const void* mean, const void* var, const void* gamma, void* dx, bool accumulate,
                         void* dgamma, void* dbeta, double* scratch);
void layer_norm_forward(cudaStream_t s, DType dt, DType param_dt, int64_t rows, int64_t cols, double eps,
                        const void* x, const void* gamma, const void* beta, void* y);
void layer_norm_backward(cudaStream_t s, DType dt, DType param_dt, int64_t rows, int64_t cols, double eps,
                         const void* x, const void* dy, const void* gamma, void* dx, bool accumulate, void* dgamma,
                         void* dbeta, double* row_stats);

// optim.cu. A step decided on the device (step.control set) is read there.
void sgd_update(cudaStream_t s, DType dt, int64_t n, void* params, const void* grads, void* momentum_buf,
                const UpdateStep& step, double momentum, double weight_decay, bool nesterov, const HalfCopy& half);
void adam_update(cudaStream_t s, DType dt, int64_t n, void* params, const void* grads, void* m, void* v,
                 const UpdateStep& step, double beta1, double beta2, double eps, double weight_decay,
                 bool decoupled_weight_decay, const HalfCopy& half);

// step_control.cu
void decide_step(cudaStream_t s, StepControl* control, const StepRules& rules);
void copy_if_applied(cudaStream_t s, const StepControl* control, void* dst, const void* src, size_t bytes);

}  // namespace tk::cuda
