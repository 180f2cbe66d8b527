// AvgPool2d over [channels, height, width]: the mean of each window, padding counted as zeros (PyTorch's count_include_pad).
#include "core/ops/ops.h"
#include "core/ops/window.h"

namespace tk {
namespace {

class AvgPool2d final : public Op {
 public:
  AvgPool2d(int64_t kernel, int64_t stride, int64_t padding) : kernel_(kernel), stride_(stride), padding_(padding) {}
  std::string type() const override { return "avg_pool2d"; }
  std::vector<Attribute> attributes() const override {
    return {{"kernel", kernel_}, {"stride", stride_}, {"padding", padding_}};
  }
  Shape infer_shape(const std::vector<Shape>& inputs) const override {
    const Window2d w = window(inputs[0]);
    return {inputs[0][0], w.out_h, w.out_w};
  }
  void forward(const OpContext& ctx) const override {
    const Window2d w = window(ctx.input_shapes[0]);
    ctx.backend->pool2d_forward(ctx.dtype, Pool::kAverage, ctx.batch * w.channels, w, ctx.inputs[0], ctx.output);
  }
  void backward(const OpContext& ctx) const override {
    if (!ctx.dinputs[0]) return;
    const Window2d w = window(ctx.input_shapes[0]);
    ctx.backend->pool2d_backward(ctx.dtype, Pool::kAverage, ctx.batch * w.channels, w, ctx.inputs[0], ctx.doutput,
                                 ctx.dinputs[0], ctx.accumulate[0]);
  }

 private:
  Window2d window(const Shape& input) const {
    return make_window("avg_pool2d", input, kernel_, stride_, padding_, 1);
  }
  int64_t kernel_, stride_, padding_;
};

}  // namespace

OpPtr make_avg_pool2d(int64_t kernel, int64_t stride, int64_t padding) {
  check_window_arguments("avg_pool2d", kernel, stride, padding, 1);
  if (2 * padding > kernel) fail(ErrorCode::kInvalidArgument, "avg_pool2d padding must be at most half the kernel");
  return std::make_shared<AvgPool2d>(kernel, stride, padding);
}

}  // namespace tk
