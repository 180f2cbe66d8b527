// MaxPool2d over [channels, height, width]: the largest value of each window (padding never wins); backward sends the gradient to the first maximum.
#include "core/ops/ops.h"
#include "core/ops/window.h"

namespace tk {
namespace {

class MaxPool2d final : public Op {
 public:
  MaxPool2d(int64_t kernel, int64_t stride, int64_t padding) : kernel_(kernel), stride_(stride), padding_(padding) {}
  std::string type() const override { return "max_pool2d"; }
  std::vector<Attribute> attributes() const override {
    return {{"kernel", kernel_}, {"stride", stride_}, {"padding", padding_}};
  }
  Shape infer_shape(const std::vector<Shape>& inputs) const override {
    const Window2d w = window(inputs[0]);
    return {inputs[0][0], w.out_h, w.out_w};
  }
  void forward(const OpContext& ctx) const override {
    const Window2d w = window(ctx.input_shapes[0]);
    ctx.backend->pool2d_forward(ctx.dtype, Pool::kMax, ctx.batch * w.channels, w, ctx.inputs[0], ctx.output);
  }
  void backward(const OpContext& ctx) const override {
    if (!ctx.dinputs[0]) return;
    const Window2d w = window(ctx.input_shapes[0]);
    ctx.backend->pool2d_backward(ctx.dtype, Pool::kMax, ctx.batch * w.channels, w, ctx.inputs[0], ctx.doutput,
                                 ctx.dinputs[0], ctx.accumulate[0]);
  }

 private:
  Window2d window(const Shape& input) const {
    return make_window("max_pool2d", input, kernel_, stride_, padding_, 1);
  }
  int64_t kernel_, stride_, padding_;
};

}  // namespace

OpPtr make_max_pool2d(int64_t kernel, int64_t stride, int64_t padding) {
  check_window_arguments("max_pool2d", kernel, stride, padding, 1);
  if (2 * padding > kernel) fail(ErrorCode::kInvalidArgument, "max_pool2d padding must be at most half the kernel");
  return std::make_shared<MaxPool2d>(kernel, stride, padding);
}

}  // namespace tk
