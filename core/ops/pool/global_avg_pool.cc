// Global average pooling: [channels, height, width] -> [channels], the mean of
// each plane (an average pool whose window is the whole plane).
#include "core/base/window2d.h"
#include "core/ops/ops.h"
#include "core/ops/pool/pool_kernels.h"

namespace tk {
namespace {

class GlobalAvgPool final : public Op {
 public:
  std::string type() const override { return "global_avg_pool"; }
  bool backward_needs_inputs() const override { return false; }
  Shape infer_shape(const std::vector<Shape>& inputs) const override {
    window(inputs[0]);
    return {inputs[0][0]};
  }
  void forward(const OpContext& ctx) const override {
    const Window2d w = window(ctx.input_shapes[0]);
    kernels::pool2d_forward(*ctx.backend, ctx.dtype, Pool::kAverage, ctx.batch * w.channels, w, ctx.inputs[0],
                            ctx.output);
  }
  void backward(const OpContext& ctx) const override {
    if (!ctx.dinputs[0]) return;
    const Window2d w = window(ctx.input_shapes[0]);
    // Average backward does not read the input; pass the gradient for it.
    kernels::pool2d_backward(*ctx.backend, ctx.dtype, Pool::kAverage, ctx.batch * w.channels, w, ctx.doutput,
                             ctx.doutput, ctx.dinputs[0], ctx.accumulate[0]);
  }

 private:
  static Window2d window(const Shape& input) {
    if (input.size() != 3)
      fail(ErrorCode::kShapeMismatch, "global_avg_pool needs [channels, height, width], got ", shape_to_string(input));
    // One window covering the whole plane.
    return {input[0], input[1], input[2], input[1], input[2], 1, 1, 0, 0, 1, 1, 1, 1};
  }
};

}  // namespace

OpPtr make_global_avg_pool() { return std::make_shared<GlobalAvgPool>(); }

}  // namespace tk
