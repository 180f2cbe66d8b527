// Concat of two tensors along a per-sample axis (the others equal); chained
// for more. Forward and backward are block copies (copy_2d); a gradient
// that adds to another goes through this op's scratch. Its inverse, split,
// is a slice per part (slice.cc).
#include "core/backend/backend.h"
#include "core/kernels/elementwise_kernels.h"
#include "core/ops/op_schema.h"
#include "core/ops/ops.h"
#include "core/ops/shape/axis_blocks.h"

namespace tk {
namespace {

class Concat final : public Op {
 public:
  explicit Concat(int64_t axis) : axis_(axis) {}
  std::string type() const override { return "concat"; }
  std::vector<Attribute> attributes() const override { return {{"axis", axis_}}; }
  int num_inputs() const override { return 2; }
  bool backward_needs_inputs() const override { return false; }

  Shape infer_shape(const std::vector<Shape>& inputs) const override {
    const int axis = resolve_axis("concat", axis_, inputs[0]);
    Shape out = inputs[0];
    bool fits = inputs[1].size() == out.size();
    for (size_t d = 0; fits && d < out.size(); ++d) fits = static_cast<int>(d) == axis || inputs[1][d] == out[d];
    if (!fits)
      fail(ErrorCode::kShapeMismatch, "concat along axis ", axis_, " needs equal other extents, got ",
           shape_to_string(inputs[0]), " and ", shape_to_string(inputs[1]));
    out[axis] += inputs[1][axis];
    return out;
  }
  int64_t backward_scratch_elements(const std::vector<Shape>& inputs) const override {
    return std::max(shape_numel(inputs[0]), shape_numel(inputs[1]));
  }

  void forward(const OpContext& ctx) const override {
    each_part(ctx, [&](int i, const AxisBlocks& out, int64_t width, size_t offset) {
      kernels::copy_2d(*ctx.backend, ctx.dtype, out.outer, width, ctx.inputs[i], width,
                       static_cast<char*>(ctx.output) + offset, out.extent * out.inner);
    });
  }

  void backward(const OpContext& ctx) const override {
    each_part(ctx, [&](int i, const AxisBlocks& out, int64_t width, size_t offset) {
      if (!ctx.dinputs[i]) return;
      void* target = ctx.accumulate[i] ? ctx.backward_scratch : ctx.dinputs[i];
      kernels::copy_2d(*ctx.backend, ctx.dtype, out.outer, width, static_cast<const char*>(ctx.doutput) + offset,
                       out.extent * out.inner, target, width);
      if (ctx.accumulate[i])
        kernels::axpy(*ctx.backend, ctx.dtype, out.outer * width, 1.0, ctx.backward_scratch, ctx.dinputs[i], true);
    });
  }

 private:
  // part(input, the output's blocks, the input's block width, its byte offset in an output block).
  template <typename Part>
  void each_part(const OpContext& ctx, const Part& part) const {
    const int axis = resolve_axis("concat", axis_, ctx.output_shape);
    const AxisBlocks out = axis_blocks(ctx.batch, ctx.output_shape, axis);
    int64_t at = 0;
    for (int i = 0; i < 2; ++i) {
      const int64_t extent = ctx.input_shapes[i][axis];
      part(i, out, extent * out.inner, static_cast<size_t>(at * out.inner) * dtype_size(ctx.dtype));
      at += extent;
    }
  }
  int64_t axis_;
};

}  // namespace

OpPtr make_concat(int64_t axis) { return std::make_shared<Concat>(axis); }

namespace {

const bool kRegistered = [] {
  register_op({"concat", 2, {{"axis", AttributeType::kInt, int64_t{-1}, ""}},
               [](const AttributeValues& a) { return make_concat(a.integer("axis")); }});
  return true;
}();

}  // namespace
}  // namespace tk
