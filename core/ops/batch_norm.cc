// BatchNorm over [channels, ...]: per channel, statistics over the batch and
// every other axis (BatchNorm1d on [C], BatchNorm2d on [C, H, W]). Training
// normalizes with the batch's statistics and writes updated running
// statistics (non-trainable state); evaluation normalizes with the running
// ones. Backward recomputes the batch statistics instead of storing them.
#include "core/base/error.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

class BatchNorm final : public Op {
 public:
  BatchNorm(double eps, double momentum) : eps_(eps), momentum_(momentum) {}
  std::string type() const override { return "batch_norm"; }
  std::vector<Attribute> attributes() const override { return {{"eps", eps_}, {"momentum", momentum_}}; }

  Shape infer_shape(const std::vector<Shape>& inputs) const override {
    if (inputs[0].empty()) fail(ErrorCode::kShapeMismatch, "batch_norm needs an input with a channel axis, got a scalar");
    return inputs[0];
  }
  std::vector<ParamSpec> param_specs(const std::vector<Shape>& inputs) const override {
    const int64_t c = inputs[0][0];
    return {{"weight", {c}, Init::kOnes, c, c}, {"bias", {c}, Init::kZeros, c, c}};
  }
  std::vector<ParamSpec> state_specs(const std::vector<Shape>& inputs) const override {
    const int64_t c = inputs[0][0];
    return {{"running_mean", {c}, Init::kZeros, c, c}, {"running_var", {c}, Init::kOnes, c, c}};
  }
  // The batch mean and variance in the master dtype: 2 * channels values of
  // up to 4 times the size of an activation element (f64 over f16 is not a mix
  // the policy allows; f32 over f16 and f64 over f64 fit).
  int64_t workspace_elements(const std::vector<Shape>& inputs) const override { return 4 * inputs[0][0]; }

  void forward(const OpContext& ctx) const override {
    const Dims d = dims(ctx);
    const DType p = ctx.grad_dtype;  // master: statistics, gamma and beta
    if (!ctx.training) {
      ctx.backend->batch_norm_apply(ctx.dtype, p, ctx.batch, d.channels, d.spatial, eps_, ctx.inputs[0], ctx.state[0],
                                    ctx.state[1], ctx.params[0], ctx.params[1], ctx.output);
      return;
    }
    const int64_t values = ctx.batch * d.spatial;
    if (values < 2)
      fail(ErrorCode::kShapeMismatch, "batch_norm in training needs more than one value per channel, got ", values,
           " (batch ", ctx.batch, ")");
    void* mean = ctx.workspace;
    void* var = static_cast<char*>(ctx.workspace) + d.channels * dtype_size(p);
    ctx.backend->batch_norm_statistics(ctx.dtype, p, ctx.batch, d.channels, d.spatial, ctx.inputs[0], mean, var);
    ctx.backend->batch_norm_apply(ctx.dtype, p, ctx.batch, d.channels, d.spatial, eps_, ctx.inputs[0], mean, var,
                                  ctx.params[0], ctx.params[1], ctx.output);
    if (ctx.next_state[0]) {
      // Running variance is unbiased, as in PyTorch.
      const double unbias = static_cast<double>(values) / static_cast<double>(values - 1);
      ctx.backend->moving_average(p, d.channels, momentum_, ctx.state[0], mean, 1.0, ctx.next_state[0]);
      ctx.backend->moving_average(p, d.channels, momentum_, ctx.state[1], var, unbias, ctx.next_state[1]);
    }
  }

  void backward(const OpContext& ctx) const override {
    const Dims d = dims(ctx);
    const DType p = ctx.grad_dtype;
    const void* mean = ctx.training ? ctx.workspace : ctx.state[0];
    const void* var = ctx.training ? static_cast<char*>(ctx.workspace) + d.channels * dtype_size(p) : ctx.state[1];
    if (ctx.training)
      ctx.backend->batch_norm_statistics(ctx.dtype, p, ctx.batch, d.channels, d.spatial, ctx.inputs[0],
                                         const_cast<void*>(mean), const_cast<void*>(var));
    ctx.backend->batch_norm_backward(ctx.dtype, p, ctx.batch, d.channels, d.spatial, eps_, ctx.training, ctx.inputs[0],
                                     ctx.doutput, mean, var, ctx.params[0], ctx.dinputs[0],
                                     ctx.dinputs[0] && ctx.accumulate[0], ctx.dparams[0], ctx.dparams[1]);
  }

 private:
  struct Dims {
    int64_t channels, spatial;
  };
  static Dims dims(const OpContext& ctx) {
    const int64_t channels = ctx.input_shapes[0][0];
    return {channels, shape_numel(ctx.input_shapes[0]) / channels};
  }

  double eps_, momentum_;
};

}  // namespace

OpPtr make_batch_norm(double eps, double momentum) {
  if (!(eps > 0.0 && eps < 1.0)) fail(ErrorCode::kInvalidArgument, "batch_norm eps must be in (0, 1), got ", eps);
  if (!(momentum >= 0.0 && momentum <= 1.0))
    fail(ErrorCode::kInvalidArgument, "batch_norm momentum must be in [0, 1], got ", momentum);
  return std::make_shared<BatchNorm>(eps, momentum);
}

}  // namespace tk
