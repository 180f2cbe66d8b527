// Conv2d over [channels, height, width] (NCHW): weight [out, in / groups, k, k]
// and bias [out] as in PyTorch. Each image and group is an im2col followed by
// one matrix product; backward recomputes the columns instead of storing them.
#include "core/ops/ops.h"
#include "core/ops/window.h"

namespace tk {
namespace {

class Conv2d final : public Op {
 public:
  Conv2d(int64_t out_channels, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation, int64_t groups,
         bool bias, Init init)
      : out_(out_channels), kernel_(kernel), stride_(stride), padding_(padding), dilation_(dilation),
        groups_(groups), bias_(bias), init_(init) {}

  std::string type() const override { return "conv2d"; }
  std::vector<Attribute> attributes() const override {
    return {{"out_channels", out_}, {"kernel", kernel_}, {"stride", stride_},   {"padding", padding_},
            {"dilation", dilation_}, {"groups", groups_}, {"bias", bias_}, {"init", std::string(init_name(init_))}};
  }

  Shape infer_shape(const std::vector<Shape>& inputs) const override {
    const Window2d w = window(inputs[0]);
    if (inputs[0][0] % groups_ != 0)
      fail(ErrorCode::kShapeMismatch, "conv2d: ", inputs[0][0], " input channels do not split into ", groups_, " groups");
    return {out_, w.out_h, w.out_w};
  }

  std::vector<ParamSpec> param_specs(const std::vector<Shape>& inputs) const override {
    const int64_t per_group = inputs[0][0] / groups_, taps = per_group * kernel_ * kernel_;
    std::vector<ParamSpec> specs = {{"weight", {out_, per_group, kernel_, kernel_}, init_, taps, out_ / groups_ * kernel_ * kernel_}};
    if (bias_) specs.push_back({"bias", {out_}, Init::kZeros, taps, out_});
    return specs;
  }

  // Columns for one image and group, and their gradient.
  int64_t workspace_elements(const std::vector<Shape>& inputs) const override {
    const Window2d w = window(inputs[0]);
    return 2 * (inputs[0][0] / groups_) * kernel_ * kernel_ * w.out_h * w.out_w;
  }

  void forward(const OpContext& ctx) const override {
    Layout l = layout(ctx);
    for (int64_t n = 0; n < ctx.batch; ++n)
      for (int64_t g = 0; g < groups_; ++g) {
        ctx.backend->im2col(ctx.dtype, l.group_window, at(ctx.inputs[0], ctx, (n * groups_ + g) * l.in_group), ctx.workspace);
        ctx.backend->gemm(ctx.param_dtype, ctx.dtype, ctx.dtype, false, false, l.out_group, l.spatial, l.taps, 1.0,
                          at(ctx.params[0], ctx.param_dtype, g * l.out_group * l.taps), ctx.workspace, 0.0,
                          at(ctx.output, ctx, (n * groups_ + g) * l.out_group * l.spatial));
      }
    if (bias_)
      ctx.backend->channel_bias_add(ctx.dtype, ctx.param_dtype, ctx.batch, out_, l.spatial, ctx.params[1], ctx.output);
  }

  void backward(const OpContext& ctx) const override {
    Layout l = layout(ctx);
    void* columns = ctx.workspace;
    void* column_grads = at(ctx.workspace, ctx, l.taps * l.spatial);
    for (int64_t n = 0; n < ctx.batch; ++n)
      for (int64_t g = 0; g < groups_; ++g) {
        const void* dy = at(ctx.doutput, ctx, (n * groups_ + g) * l.out_group * l.spatial);
        void* dweight = at(ctx.dparams[0], ctx.grad_dtype, g * l.out_group * l.taps);
        // dW_g (+)= dY_g columns^T; dcolumns = W_g^T dY_g, folded back into dX.
        ctx.backend->im2col(ctx.dtype, l.group_window, at(ctx.inputs[0], ctx, (n * groups_ + g) * l.in_group), columns);
        ctx.backend->gemm(ctx.dtype, ctx.dtype, ctx.grad_dtype, false, true, l.out_group, l.taps, l.spatial, 1.0, dy,
                          columns, n == 0 ? 0.0 : 1.0, dweight);
        if (!ctx.dinputs[0]) continue;
        ctx.backend->gemm(ctx.param_dtype, ctx.dtype, ctx.dtype, true, false, l.taps, l.spatial, l.out_group, 1.0,
                          at(ctx.params[0], ctx.param_dtype, g * l.out_group * l.taps), dy, 0.0, column_grads);
        ctx.backend->col2im(ctx.dtype, l.group_window, column_grads,
                            at(ctx.dinputs[0], ctx, (n * groups_ + g) * l.in_group), ctx.accumulate[0]);
      }
    if (bias_)
      ctx.backend->channel_sum(ctx.dtype, ctx.grad_dtype, ctx.batch, out_, l.spatial, ctx.doutput, ctx.dparams[1], false);
  }

 private:
  struct Layout {
    Window2d group_window;  // over one group's channels
    int64_t in_group;       // elements of one group's input channels
    int64_t out_group;      // output channels per group
    int64_t taps;           // rows of the columns matrix
    int64_t spatial;        // out_h * out_w
  };

  Window2d window(const Shape& input) const { return make_window("conv2d", input, kernel_, stride_, padding_, dilation_); }

  Layout layout(const OpContext& ctx) const {
    const Shape& in = ctx.input_shapes[0];
    Window2d w = window(in);
    w.channels = in[0] / groups_;
    return {w, w.channels * in[1] * in[2], out_ / groups_, w.channels * kernel_ * kernel_, w.out_h * w.out_w};
  }

  static void* at(const void* base, DType dtype, int64_t element) {
    return const_cast<char*>(static_cast<const char*>(base)) + element * static_cast<int64_t>(dtype_size(dtype));
  }
  static void* at(const void* base, const OpContext& ctx, int64_t element) { return at(base, ctx.dtype, element); }

  int64_t out_, kernel_, stride_, padding_, dilation_, groups_;
  bool bias_;
  Init init_;
};

}  // namespace

OpPtr make_conv2d(int64_t out_channels, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation,
                  int64_t groups, bool bias, Init weight_init) {
  check_window_arguments("conv2d", kernel, stride, padding, dilation);
  if (out_channels < 1 || groups < 1 || out_channels % groups != 0)
    fail(ErrorCode::kInvalidArgument, "conv2d needs out_channels >= 1 divisible by groups >= 1; got ", out_channels,
         " and ", groups);
  return std::make_shared<Conv2d>(out_channels, kernel, stride, padding, dilation, groups, bias, weight_init);
}

}  // namespace tk
