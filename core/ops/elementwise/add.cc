// Add: elementwise sum of two same-shaped inputs (residual connections).
#include "core/base/error.h"
#include "core/kernels/elementwise_kernels.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

class Add final : public Op {
 public:
  std::string type() const override { return "add"; }
  int num_inputs() const override { return 2; }
  bool backward_needs_inputs() const override { return false; }

  Shape infer_shape(const std::vector<Shape>& inputs) const override {
    if (inputs[0] != inputs[1])
      fail(ErrorCode::kShapeMismatch, "add needs equal shapes, got ", shape_to_string(inputs[0]), " and ",
           shape_to_string(inputs[1]));
    return inputs[0];
  }

  void forward(const OpContext& ctx) const override {
    kernels::add(*ctx.backend, ctx.dtype, ctx.batch * shape_numel(ctx.output_shape), ctx.inputs[0], ctx.inputs[1],
                 ctx.output);
  }

  void backward(const OpContext& ctx) const override {
    int64_t n = ctx.batch * shape_numel(ctx.output_shape);
    for (int i = 0; i < 2; ++i)
      if (ctx.dinputs[i])
        kernels::axpy(*ctx.backend, ctx.dtype, n, 1.0, ctx.doutput, ctx.dinputs[i], ctx.accumulate[i]);
  }
};

}  // namespace

OpPtr make_add() { return std::make_shared<Add>(); }

}  // namespace tk
