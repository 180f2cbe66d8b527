// Linear: y = x W^T + b over the last dimension, W stored [units, in_features]
// (PyTorch layout, so exported weights load there unchanged).
#include "core/base/error.h"
#include "core/kernels/reduce_kernels.h"
#include "core/ops/activation/activation_kernels.h"
#include "core/ops/linear/linear_kernels.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

class Linear final : public Op {
 public:
  // relu: the fused node linear_relu, relu(x W^T + b) in one pass.
  Linear(int64_t units, bool bias, Init weight_init, bool relu = false)
      : units_(units), bias_(bias), weight_init_(weight_init), relu_(relu) {}
  std::string type() const override { return relu_ ? "linear_relu" : "linear"; }
  std::vector<Attribute> attributes() const override {
    return {{"units", units_}, {"bias", bias_}, {"init", std::string(init_name(weight_init_))}};
  }

  Shape infer_shape(const std::vector<Shape>& inputs) const override {
    const Shape& in = inputs[0];
    if (in.empty()) fail(ErrorCode::kShapeMismatch, "linear needs an input with at least one dimension, got a scalar");
    Shape out = in;
    out.back() = units_;
    return out;
  }

  std::vector<ParamSpec> param_specs(const std::vector<Shape>& inputs) const override {
    int64_t in_features = inputs[0].back();
    std::vector<ParamSpec> specs = {{"weight", {units_, in_features}, weight_init_, in_features, units_}};
    if (bias_) specs.push_back({"bias", {units_}, Init::kZeros, in_features, units_, false});
    return specs;
  }

  bool computes_in_half() const override { return true; }
  // The epilogue adds the bias, so only a Linear with one applies a ReLU.
  OpPtr fused_with(Activation activation) const override {
    if (relu_ || !bias_ || activation != Activation::kRelu) return nullptr;
    return std::make_shared<Linear>(units_, bias_, weight_init_, true);
  }
  // The fused ReLU differentiates from the output (y > 0 exactly where x > 0)
  // into scratch of the output's size: the product's gradient.
  bool backward_needs_output() const override { return relu_; }
  int64_t backward_scratch_elements(const std::vector<Shape>& inputs) const override {
    return relu_ ? shape_numel(infer_shape(inputs)) : 0;
  }

  void forward(const OpContext& ctx) const override {
    int64_t in_features = ctx.input_shapes[0].back();
    int64_t rows = ctx.batch * shape_numel(ctx.input_shapes[0]) / in_features;
    // Weights that never change may be kept prepared by the device.
    if (ctx.constants)
      kernels::linear_constant(*ctx.backend, ctx.dtype, ctx.param_dtype, ctx.dtype, rows, units_, in_features,
                               ctx.inputs[0], ctx.params[0], ctx.output, ctx.param_dtype,
                               bias_ ? ctx.params[1] : nullptr, relu_, ctx.constants);
    else if (relu_)
      kernels::gemm_bias_relu(*ctx.backend, ctx.dtype, ctx.param_dtype, ctx.dtype, rows, units_, in_features,
                              ctx.inputs[0], ctx.params[0], ctx.output, ctx.param_dtype, ctx.params[1]);
    else if (bias_)
      kernels::gemm_bias(*ctx.backend, ctx.dtype, ctx.param_dtype, ctx.dtype, true, rows, units_, in_features, 1.0,
                         ctx.inputs[0], ctx.params[0], ctx.output, ctx.param_dtype, ctx.params[1]);
    else
      ctx.backend->gemm(ctx.dtype, ctx.param_dtype, ctx.dtype, false, true, rows, units_, in_features, 1.0,
                        ctx.inputs[0], ctx.params[0], 0.0, ctx.output);
  }

  bool accepts_null_param_gradients() const override { return true; }

  void backward(const OpContext& ctx) const override {
    int64_t in_features = ctx.input_shapes[0].back();
    int64_t rows = ctx.batch * shape_numel(ctx.input_shapes[0]) / in_features;
    const void* dy = ctx.doutput;
    if (relu_) {
      kernels::activation_backward(*ctx.backend, ctx.dtype, Activation::kRelu, rows * units_, ctx.output, ctx.output,
                                   ctx.doutput, ctx.backward_scratch, false);
      dy = ctx.backward_scratch;
    }
    // dW = dY^T X, db = column sums of dY, dX = dY W; a frozen tensor's
    // gradient (null) is not computed.
    void* dweight = ctx.dparams[0];
    void* dbias = bias_ ? ctx.dparams[1] : nullptr;
    if (dweight && dbias)
      kernels::gemm_bias_grad(*ctx.backend, ctx.dtype, ctx.dtype, ctx.grad_dtype, units_, in_features, rows, 1.0, dy,
                              ctx.inputs[0], dweight, ctx.grad_dtype, dbias);
    else if (dweight)
      ctx.backend->gemm(ctx.dtype, ctx.dtype, ctx.grad_dtype, true, false, units_, in_features, rows, 1.0, dy,
                        ctx.inputs[0], 0.0, dweight);
    else if (dbias)
      kernels::channel_sum(*ctx.backend, ctx.dtype, ctx.grad_dtype, rows, units_, 1, dy, dbias, false);
    if (ctx.dinputs[0])
      ctx.backend->gemm(ctx.dtype, ctx.param_dtype, ctx.dtype, false, false, rows, in_features, units_, 1.0, dy,
                        ctx.params[0], ctx.accumulate[0] ? 1.0 : 0.0, ctx.dinputs[0]);
  }

 private:
  int64_t units_;
  bool bias_;
  Init weight_init_;
  bool relu_;
};

}  // namespace

OpPtr make_linear(int64_t units, bool bias, Init weight_init) {
  if (units <= 0) fail(ErrorCode::kInvalidArgument, "linear needs a positive number of units, got ", units);
  return std::make_shared<Linear>(units, bias, weight_init);
}

}  // namespace tk
