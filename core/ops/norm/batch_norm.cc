// BatchNorm over [channels, ...]: per channel, statistics over the batch and
// every other axis (BatchNorm1d on [C], BatchNorm2d on [C, H, W]). Training
// normalizes with the batch's statistics and writes updated running
// statistics (non-trainable state); evaluation normalizes with the running
// ones. The batch statistics are saved for backward (2 x channels values).
// With sync batch norm (OpContext::replica_sums) the statistics and the
// backward's per-channel sums cover every replica's rows.
#include "core/base/error.h"
#include "core/ops/norm/norm_kernels.h"
#include "core/ops/norm/shared_batch_statistics.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

class BatchNorm final : public Op {
 public:
  // relu: the fused node batch_norm_relu, relu(batch norm) in the same passes.
  BatchNorm(double eps, double momentum, bool relu = false) : eps_(eps), momentum_(momentum), relu_(relu) {}
  std::string type() const override { return relu_ ? "batch_norm_relu" : "batch_norm"; }
  std::vector<Attribute> attributes() const override { return {{"eps", eps_}, {"momentum", momentum_}}; }

  Shape infer_shape(const std::vector<Shape>& inputs) const override {
    if (inputs[0].empty())
      fail(ErrorCode::kShapeMismatch, "batch_norm needs an input with a channel axis, got a scalar");
    return inputs[0];
  }
  std::vector<ParamSpec> param_specs(const std::vector<Shape>& inputs) const override {
    const int64_t c = inputs[0][0];
    return {{"weight", {c}, Init::kOnes, c, c, false}, {"bias", {c}, Init::kZeros, c, c, false}};
  }
  std::vector<ParamSpec> state_specs(const std::vector<Shape>& inputs) const override {
    const int64_t c = inputs[0][0];
    return {{"running_mean", {c}, Init::kZeros, c, c}, {"running_var", {c}, Init::kOnes, c, c}};
  }
  // A ReLU right after it is applied in the same pass, forward and backward.
  OpPtr fused_with(Activation activation) const override {
    if (relu_ || activation != Activation::kRelu) return nullptr;
    return std::make_shared<BatchNorm>(eps_, momentum_, true);
  }
  // Its backward reads the ReLU's output; scratch of its size holds the norm's
  // output gradient where a device runs the two passes.
  bool backward_needs_output() const override { return relu_; }
  int64_t backward_scratch_elements(const std::vector<Shape>& inputs) const override {
    return relu_ ? shape_numel(inputs[0]) : 0;
  }

  // The batch mean and variance, in the master dtype, then room for sync
  // batch norm's summed sum(dz) and sum(dz * x_hat) in backward.
  int64_t saved_elements(const std::vector<Shape>& inputs) const override { return 4 * inputs[0][0]; }

  void forward(const OpContext& ctx) const override {
    const Dims d = dims(ctx);
    const DType p = ctx.grad_dtype;  // master: statistics, gamma and beta
    if (!ctx.training) {
      apply(ctx, ctx.state[0], ctx.state[1]);
      return;
    }
    const int64_t local_values = ctx.batch * d.spatial;
    if (local_values < 2 && !ctx.replica_sums)
      fail(ErrorCode::kShapeMismatch, "batch_norm in training needs more than one value per channel, got ",
           local_values, " (batch ", ctx.batch, ")");
    void* mean = saved_at(ctx, 0);
    void* var = saved_at(ctx, 1);
    kernels::batch_norm_statistics(*ctx.backend, ctx.dtype, p, ctx.batch, d.channels, d.spatial, ctx.inputs[0], mean,
                                   var);
    int64_t values = local_values;
    if (ctx.replica_sums) {
      values = share_batch_statistics(ctx, d.channels, local_values, mean, var);
      if (values < 2)
        fail(ErrorCode::kShapeMismatch, "batch_norm in training needs more than one value per channel, got ", values,
             " over every replica's rows");
    }
    apply(ctx, mean, var);
    if (ctx.next_state[0]) {
      // Running variance is unbiased, as in PyTorch.
      const double unbias = static_cast<double>(values) / static_cast<double>(values - 1);
      kernels::moving_average(*ctx.backend, p, d.channels, momentum_, ctx.state[0], mean, 1.0, ctx.next_state[0]);
      kernels::moving_average(*ctx.backend, p, d.channels, momentum_, ctx.state[1], var, unbias, ctx.next_state[1]);
    }
  }

  void backward(const OpContext& ctx) const override {
    const Dims d = dims(ctx);
    const DType p = ctx.grad_dtype;
    // The forward's batch statistics (training; a plan runs backward only
    // after a training forward), else the running ones (op-level tests).
    const void* mean = ctx.training ? saved_at(ctx, 0) : ctx.state[0];
    const void* var = ctx.training ? saved_at(ctx, 1) : ctx.state[1];
    const bool accumulate = ctx.dinputs[0] && ctx.accumulate[0];
    if (ctx.training && ctx.replica_sums) {
      // This replica's sums first (its dgamma and dbeta, which the gradient
      // exchange sums with the others'), then dx from every replica's sums.
      if (relu_)
        kernels::batch_norm_relu_backward(*ctx.backend, ctx.dtype, p, ctx.batch, d.channels, d.spatial, eps_, true,
                                          ctx.inputs[0], ctx.output, ctx.doutput, ctx.backward_scratch, mean, var,
                                          ctx.params[0], nullptr, false, ctx.dparams[0], ctx.dparams[1]);
      else
        kernels::batch_norm_backward(*ctx.backend, ctx.dtype, p, ctx.batch, d.channels, d.spatial, eps_, true,
                                     ctx.inputs[0], ctx.doutput, mean, var, ctx.params[0], nullptr, false,
                                     ctx.dparams[0], ctx.dparams[1]);
      void* total_dz = saved_at(ctx, 2);
      void* total_dz_xhat = saved_at(ctx, 3);
      const int64_t values = share_gradient_sums(ctx, d.channels, ctx.batch * d.spatial, ctx.dparams[1],
                                                 ctx.dparams[0], total_dz, total_dz_xhat);
      if (ctx.dinputs[0])
        kernels::batch_norm_input_gradient(*ctx.backend, ctx.dtype, p, ctx.batch, d.channels, d.spatial, eps_,
                                           ctx.inputs[0], relu_ ? ctx.output : nullptr, ctx.doutput, mean, var,
                                           ctx.params[0], total_dz, total_dz_xhat, static_cast<double>(values),
                                           ctx.dinputs[0], accumulate);
      return;
    }
    if (relu_)
      kernels::batch_norm_relu_backward(*ctx.backend, ctx.dtype, p, ctx.batch, d.channels, d.spatial, eps_,
                                        ctx.training, ctx.inputs[0], ctx.output, ctx.doutput, ctx.backward_scratch,
                                        mean, var, ctx.params[0], ctx.dinputs[0], accumulate, ctx.dparams[0],
                                        ctx.dparams[1]);
    else
      kernels::batch_norm_backward(*ctx.backend, ctx.dtype, p, ctx.batch, d.channels, d.spatial, eps_, ctx.training,
                                   ctx.inputs[0], ctx.doutput, mean, var, ctx.params[0], ctx.dinputs[0], accumulate,
                                   ctx.dparams[0], ctx.dparams[1]);
  }

 private:
  // Normalizes with the given statistics into the output (and the ReLU after, when fused).
  void apply(const OpContext& ctx, const void* mean, const void* var) const {
    const Dims d = dims(ctx);
    if (relu_)
      kernels::batch_norm_apply_relu(*ctx.backend, ctx.dtype, ctx.grad_dtype, ctx.batch, d.channels, d.spatial, eps_,
                                     ctx.inputs[0], mean, var, ctx.params[0], ctx.params[1], ctx.output);
    else
      kernels::batch_norm_apply(*ctx.backend, ctx.dtype, ctx.grad_dtype, ctx.batch, d.channels, d.spatial, eps_,
                                ctx.inputs[0], mean, var, ctx.params[0], ctx.params[1], ctx.output);
  }

  // Block `i` of the op's saved values: mean, variance, then sync batch
  // norm's total sum(dz) and sum(dz * x_hat); `channels` of the master dtype each.
  static void* saved_at(const OpContext& ctx, int i) {
    return static_cast<char*>(ctx.saved) + i * dims(ctx).channels * static_cast<int64_t>(dtype_size(ctx.grad_dtype));
  }

  struct Dims {
    int64_t channels, spatial;
  };
  static Dims dims(const OpContext& ctx) {
    const int64_t channels = ctx.input_shapes[0][0];
    return {channels, shape_numel(ctx.input_shapes[0]) / channels};
  }

  double eps_, momentum_;
  bool relu_;
};

}  // namespace

OpPtr make_batch_norm(double eps, double momentum) {
  if (!(eps > 0.0 && eps < 1.0)) fail(ErrorCode::kInvalidArgument, "batch_norm eps must be in (0, 1), got ", eps);
  if (!(momentum >= 0.0 && momentum <= 1.0))
    fail(ErrorCode::kInvalidArgument, "batch_norm momentum must be in [0, 1], got ", momentum);
  return std::make_shared<BatchNorm>(eps, momentum);
}

}  // namespace tk
