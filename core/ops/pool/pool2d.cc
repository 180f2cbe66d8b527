// MaxPool2d and AvgPool2d over [channels, height, width]. Max takes the
// largest value of each window (padding never wins, NaN propagates) and sends
// the gradient to the first maximum; average takes the mean, counting padding
// as zeros (PyTorch's count_include_pad). One class, two factories: the ops
// differ only in the window reduction the backend applies.
#include "core/base/window2d.h"
#include "core/ops/ops.h"
#include "core/ops/pool/pool_kernels.h"

namespace tk {
namespace {

class Pool2d final : public Op {
 public:
  Pool2d(Pool pool, int64_t kernel, int64_t stride, int64_t padding)
      : pool_(pool), kernel_(kernel), stride_(stride), padding_(padding) {}
  std::string type() const override { return pool_ == Pool::kMax ? "max_pool2d" : "avg_pool2d"; }
  std::vector<Attribute> attributes() const override {
    return {{"kernel", kernel_}, {"stride", stride_}, {"padding", padding_}};
  }
  Shape infer_shape(const std::vector<Shape>& inputs) const override {
    const Window2d w = window(inputs[0]);
    return {inputs[0][0], w.out_h, w.out_w};
  }
  void forward(const OpContext& ctx) const override {
    const Window2d w = window(ctx.input_shapes[0]);
    kernels::pool2d_forward(*ctx.backend, ctx.dtype, pool_, ctx.batch * w.channels, w, ctx.inputs[0], ctx.output);
  }
  void backward(const OpContext& ctx) const override {
    if (!ctx.dinputs[0]) return;
    const Window2d w = window(ctx.input_shapes[0]);
    kernels::pool2d_backward(*ctx.backend, ctx.dtype, pool_, ctx.batch * w.channels, w, ctx.inputs[0], ctx.doutput,
                             ctx.dinputs[0], ctx.accumulate[0]);
  }

 private:
  Window2d window(const Shape& input) const {
    return make_window(pool_ == Pool::kMax ? "max_pool2d" : "avg_pool2d", input, kernel_, stride_, padding_, 1);
  }
  Pool pool_;
  int64_t kernel_, stride_, padding_;
};

OpPtr make_pool2d(Pool pool, const char* name, int64_t kernel, int64_t stride, int64_t padding) {
  check_window_arguments(name, kernel, stride, padding, 1);
  if (2 * padding > kernel) fail(ErrorCode::kInvalidArgument, name, " padding must be at most half the kernel");
  return std::make_shared<Pool2d>(pool, kernel, stride, padding);
}

}  // namespace

OpPtr make_max_pool2d(int64_t kernel, int64_t stride, int64_t padding) {
  return make_pool2d(Pool::kMax, "max_pool2d", kernel, stride, padding);
}

OpPtr make_avg_pool2d(int64_t kernel, int64_t stride, int64_t padding) {
  return make_pool2d(Pool::kAverage, "avg_pool2d", kernel, stride, padding);
}

}  // namespace tk
