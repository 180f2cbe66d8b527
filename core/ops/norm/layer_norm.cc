// LayerNorm over the last `axes` axes of each sample (PyTorch's
// normalized_shape), with a learned scale and shift of that shape. Backward
// recomputes each row's statistics from the input.
#include "core/base/error.h"
#include "core/ops/norm/norm_kernels.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

class LayerNorm final : public Op {
 public:
  LayerNorm(int64_t axes, double eps) : axes_(axes), eps_(eps) {}
  std::string type() const override { return "layer_norm"; }
  std::vector<Attribute> attributes() const override { return {{"axes", axes_}, {"eps", eps_}}; }

  Shape infer_shape(const std::vector<Shape>& inputs) const override {
    if (static_cast<int64_t>(inputs[0].size()) < axes_)
      fail(ErrorCode::kShapeMismatch, "layer_norm over the last ", axes_, " axes needs an input of rank >= ", axes_,
           ", got ", shape_to_string(inputs[0]));
    return inputs[0];
  }
  std::vector<ParamSpec> param_specs(const std::vector<Shape>& inputs) const override {
    const Shape normalized(inputs[0].end() - axes_, inputs[0].end());
    const int64_t n = shape_numel(normalized);
    return {{"weight", normalized, Init::kOnes, n, n, false}, {"bias", normalized, Init::kZeros, n, n, false}};
  }

  void forward(const OpContext& ctx) const override {
    const int64_t cols = columns(ctx);
    kernels::layer_norm_forward(*ctx.backend, ctx.dtype, ctx.param_dtype,
                                ctx.batch * shape_numel(ctx.input_shapes[0]) / cols, cols, eps_, ctx.inputs[0],
                                ctx.params[0], ctx.params[1], ctx.output);
  }

  void backward(const OpContext& ctx) const override {
    const int64_t cols = columns(ctx);
    kernels::layer_norm_backward(*ctx.backend, ctx.dtype, ctx.param_dtype,
                                 ctx.batch * shape_numel(ctx.input_shapes[0]) / cols, cols, eps_, ctx.inputs[0],
                                 ctx.doutput, ctx.params[0], ctx.dinputs[0], ctx.dinputs[0] && ctx.accumulate[0],
                                 ctx.dparams[0], ctx.dparams[1]);
  }

 private:
  int64_t columns(const OpContext& ctx) const {
    const Shape& in = ctx.input_shapes[0];
    return shape_numel(Shape(in.end() - axes_, in.end()));
  }

  int64_t axes_;
  double eps_;
};

}  // namespace

OpPtr make_layer_norm(int64_t axes, double eps) {
  if (axes < 1 || axes > 8) fail(ErrorCode::kInvalidArgument, "layer_norm axes must be in [1, 8], got ", axes);
  if (!(eps > 0.0 && eps < 1.0)) fail(ErrorCode::kInvalidArgument, "layer_norm eps must be in (0, 1), got ", eps);
  return std::make_shared<LayerNorm>(axes, eps);
}

}  // namespace tk
