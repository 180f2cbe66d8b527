// Dropout: inverted dropout while training, identity in evaluation. The mask is
// recomputed in backward from (seed, stream), so nothing is stored between.
// Image dropout (Dropout2d) drops whole channels of [channels, ...] samples:
// the same op with one mask bit per channel plane instead of per element.
#include "core/base/error.h"
#include "core/kernels/elementwise_kernels.h"
#include "core/ops/dropout/dropout_kernels.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

class Dropout final : public Op {
 public:
  Dropout(double probability, bool per_channel) : probability_(probability), per_channel_(per_channel) {}
  std::string type() const override { return per_channel_ ? "dropout2d" : "dropout"; }
  bool draws_per_step() const override { return true; }
  std::vector<Attribute> attributes() const override { return {{"p", probability_}}; }
  Shape infer_shape(const std::vector<Shape>& inputs) const override {
    if (per_channel_ && inputs[0].size() < 2)
      fail(ErrorCode::kShapeMismatch, "dropout2d drops channels of [channels, height, width] samples, got ",
           shape_to_string(inputs[0]));
    return inputs[0];
  }
  bool backward_needs_inputs() const override { return false; }

  void forward(const OpContext& ctx) const override {
    int64_t n = ctx.batch * shape_numel(ctx.output_shape);
    if (ctx.training && probability_ > 0) {
      kernels::dropout(*ctx.backend, ctx.dtype, n, block(ctx), probability_, ctx.seed, ctx.stream, ctx.inputs[0],
                       ctx.output, false);
    } else {
      ctx.backend->copy(ctx.output, ctx.inputs[0], n * dtype_size(ctx.dtype));
    }
  }

  void backward(const OpContext& ctx) const override {
    if (!ctx.dinputs[0]) return;
    int64_t n = ctx.batch * shape_numel(ctx.output_shape);
    if (ctx.training && probability_ > 0) {
      kernels::dropout(*ctx.backend, ctx.dtype, n, block(ctx), probability_, ctx.seed, ctx.stream, ctx.doutput,
                       ctx.dinputs[0], ctx.accumulate[0]);
    } else {
      kernels::axpy(*ctx.backend, ctx.dtype, n, 1.0, ctx.doutput, ctx.dinputs[0], ctx.accumulate[0]);
    }
  }

 private:
  // Elements sharing one mask bit.
  int64_t block(const OpContext& ctx) const {
    return per_channel_ ? shape_numel(ctx.output_shape) / ctx.output_shape[0] : 1;
  }

  double probability_;
  bool per_channel_;
};

}  // namespace

namespace {

void check_probability(double probability) {
  if (!(probability >= 0.0 && probability < 1.0))
    fail(ErrorCode::kInvalidArgument, "dropout probability must be in [0, 1), got ", probability);
}

}  // namespace

OpPtr make_dropout(double probability) {
  check_probability(probability);
  return std::make_shared<Dropout>(probability, false);
}

OpPtr make_dropout2d(double probability) {
  check_probability(probability);
  return std::make_shared<Dropout>(probability, true);
}

}  // namespace tk
