// Flatten: a per-sample shape [d1, d2, ...] becomes [d1 * d2 * ...].
#include "core/kernels/elementwise_kernels.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

class Flatten final : public Op {
 public:
  std::string type() const override { return "flatten"; }
  Shape infer_shape(const std::vector<Shape>& inputs) const override { return {shape_numel(inputs[0])}; }
  bool backward_needs_inputs() const override { return false; }

  void forward(const OpContext& ctx) const override {
    ctx.backend->copy(ctx.output, ctx.inputs[0], ctx.batch * shape_numel(ctx.output_shape) * dtype_size(ctx.dtype));
  }

  void backward(const OpContext& ctx) const override {
    if (!ctx.dinputs[0]) return;
    kernels::axpy(*ctx.backend, ctx.dtype, ctx.batch * shape_numel(ctx.output_shape), 1.0, ctx.doutput, ctx.dinputs[0],
                  ctx.accumulate[0]);
  }
};

}  // namespace

OpPtr make_flatten() { return std::make_shared<Flatten>(); }

}  // namespace tk
