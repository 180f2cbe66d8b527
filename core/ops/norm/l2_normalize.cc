// L2 normalization over the last axis: unit-length rows (sentence embeddings
// compared by cosine), y = x / max(||x||, eps).
#include <cmath>

#include "core/base/error.h"
#include "core/ops/norm/norm_kernels.h"
#include "core/ops/op_schema.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

class L2Normalize final : public Op {
 public:
  explicit L2Normalize(double eps) : eps_(eps) {}
  std::string type() const override { return "l2_normalize"; }
  std::vector<Attribute> attributes() const override { return {{"eps", eps_}}; }
  bool backward_needs_output() const override { return true; }

  Shape infer_shape(const std::vector<Shape>& inputs) const override { return inputs[0]; }

  void forward(const OpContext& ctx) const override {
    kernels::l2_normalize_forward(*ctx.backend, ctx.dtype, rows(ctx), ctx.output_shape.back(), eps_, ctx.inputs[0],
                                  ctx.output);
  }
  void backward(const OpContext& ctx) const override {
    if (!ctx.dinputs[0]) return;
    kernels::l2_normalize_backward(*ctx.backend, ctx.dtype, rows(ctx), ctx.output_shape.back(), eps_, ctx.inputs[0],
                                   ctx.output, ctx.doutput, ctx.dinputs[0], ctx.accumulate[0]);
  }

 private:
  int64_t rows(const OpContext& ctx) const {
    return ctx.batch * shape_numel(ctx.output_shape) / ctx.output_shape.back();
  }
  double eps_;
};

}  // namespace

OpPtr make_l2_normalize(double eps) {
  if (!(eps > 0 && eps < 1)) fail(ErrorCode::kInvalidArgument, "l2_normalize eps must be in (0, 1), got ", eps);
  return std::make_shared<L2Normalize>(eps);
}

namespace {

const bool kRegistered = [] {
  register_op({"l2_normalize", 1, {{"eps", AttributeType::kReal, 1e-12, ""}},
               [](const AttributeValues& a) { return make_l2_normalize(a.real("eps")); }});
  return true;
}();

}  // namespace
}  // namespace tk
