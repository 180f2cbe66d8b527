// CLS pooling: a sequence [seq, ...] pooled to its first token [...], the
// summary BERT-style classifiers read. Forward is a block copy; backward
// puts the gradient at token 0 and zeroes the rest (through this op's
// scratch when it adds to another gradient).
#include "core/backend/backend.h"
#include "core/base/error.h"
#include "core/kernels/elementwise_kernels.h"
#include "core/ops/op_schema.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

class ClsPool final : public Op {
 public:
  std::string type() const override { return "cls_pool"; }
  bool backward_needs_inputs() const override { return false; }

  Shape infer_shape(const std::vector<Shape>& inputs) const override {
    if (inputs[0].size() < 2)
      fail(ErrorCode::kShapeMismatch, "cls_pool takes a sequence [seq, dim, ...] per sample, got ",
           shape_to_string(inputs[0]));
    return Shape(inputs[0].begin() + 1, inputs[0].end());
  }
  int64_t backward_scratch_elements(const std::vector<Shape>& inputs) const override {
    return shape_numel(inputs[0]);
  }

  void forward(const OpContext& ctx) const override {
    const int64_t seq = ctx.input_shapes[0][0], token = shape_numel(ctx.output_shape);
    kernels::copy_2d(*ctx.backend, ctx.dtype, ctx.batch, token, ctx.inputs[0], seq * token, ctx.output, token);
  }

  void backward(const OpContext& ctx) const override {
    if (!ctx.dinputs[0]) return;
    const int64_t seq = ctx.input_shapes[0][0], token = shape_numel(ctx.output_shape);
    const int64_t count = ctx.batch * seq * token;
    void* target = ctx.accumulate[0] ? ctx.backward_scratch : ctx.dinputs[0];
    ctx.backend->fill_zero(target, static_cast<size_t>(count) * dtype_size(ctx.dtype));
    kernels::copy_2d(*ctx.backend, ctx.dtype, ctx.batch, token, ctx.doutput, token, target, seq * token);
    if (ctx.accumulate[0]) kernels::axpy(*ctx.backend, ctx.dtype, count, 1.0, ctx.backward_scratch, ctx.dinputs[0], true);
  }
};

}  // namespace

OpPtr make_cls_pool() { return std::make_shared<ClsPool>(); }

namespace {

const bool kRegistered = [] {
  register_op({"cls_pool", 1, {}, [](const AttributeValues&) { return make_cls_pool(); }});
  return true;
}();

}  // namespace
}  // namespace tk
