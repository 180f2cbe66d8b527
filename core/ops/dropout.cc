// Dropout: inverted dropout while training, identity in evaluation. The mask is
// recomputed in backward from (seed, stream), so nothing is stored between.
#include "core/base/error.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

class Dropout final : public Op {
 public:
  explicit Dropout(double probability) : probability_(probability) {}
  std::string type() const override { return "dropout"; }
  std::vector<Attribute> attributes() const override { return {{"p", probability_}}; }
  Shape infer_shape(const std::vector<Shape>& inputs) const override { return inputs[0]; }
  bool backward_needs_inputs() const override { return false; }

  void forward(const OpContext& ctx) const override {
    int64_t n = ctx.batch * shape_numel(ctx.output_shape);
    if (ctx.training && probability_ > 0) {
      ctx.backend->dropout(ctx.dtype, n, probability_, ctx.seed, ctx.stream, ctx.inputs[0],
                           ctx.output, false);
    } else {
      ctx.backend->copy(ctx.output, ctx.inputs[0], n * dtype_size(ctx.dtype));
    }
  }

  void backward(const OpContext& ctx) const override {
    if (!ctx.dinputs[0]) return;
    int64_t n = ctx.batch * shape_numel(ctx.output_shape);
    if (ctx.training && probability_ > 0) {
      ctx.backend->dropout(ctx.dtype, n, probability_, ctx.seed, ctx.stream, ctx.doutput,
                           ctx.dinputs[0], ctx.accumulate[0]);
    } else {
      ctx.backend->axpy(ctx.dtype, n, 1.0, ctx.doutput, ctx.dinputs[0], ctx.accumulate[0]);
    }
  }

 private:
  double probability_;
};

}  // namespace

OpPtr make_dropout(double probability) {
  if (!(probability >= 0.0 && probability < 1.0))
    fail(ErrorCode::kInvalidArgument, "dropout probability must be in [0, 1), got ", probability);
  return std::make_shared<Dropout>(probability);
}

}  // namespace tk
