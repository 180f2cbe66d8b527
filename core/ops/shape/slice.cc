// A window [start, start + length) of one per-sample axis; a split is a
// slice per part. Forward is a block copy; backward zeroes the rest of the
// input's gradient (through this op's scratch when it adds to another).
#include "core/backend/backend.h"
#include "core/kernels/elementwise_kernels.h"
#include "core/ops/op_schema.h"
#include "core/ops/ops.h"
#include "core/ops/shape/axis_blocks.h"

namespace tk {
namespace {

class Slice final : public Op {
 public:
  Slice(int64_t axis, int64_t start, int64_t length) : axis_(axis), start_(start), length_(length) {}
  std::string type() const override { return "slice"; }
  std::vector<Attribute> attributes() const override {
    return {{"axis", axis_}, {"start", start_}, {"length", length_}};
  }
  bool backward_needs_inputs() const override { return false; }

  Shape infer_shape(const std::vector<Shape>& inputs) const override {
    const int axis = resolve_axis("slice", axis_, inputs[0]);
    if (start_ + length_ > inputs[0][axis])
      fail(ErrorCode::kShapeMismatch, "slice [", start_, ", ", start_ + length_, ") of axis ", axis_, " runs past ",
           shape_to_string(inputs[0]));
    Shape out = inputs[0];
    out[axis] = length_;
    return out;
  }
  int64_t backward_scratch_elements(const std::vector<Shape>& inputs) const override {
    return shape_numel(inputs[0]);
  }

  void forward(const OpContext& ctx) const override {
    const int axis = resolve_axis("slice", axis_, ctx.input_shapes[0]);
    const AxisBlocks in = axis_blocks(ctx.batch, ctx.input_shapes[0], axis);
    const char* window = static_cast<const char*>(ctx.inputs[0]) + start_ * in.inner * dtype_size(ctx.dtype);
    kernels::copy_2d(*ctx.backend, ctx.dtype, in.outer, length_ * in.inner, window, in.extent * in.inner, ctx.output,
                     length_ * in.inner);
  }

  // The gradient is zero outside the window.
  void backward(const OpContext& ctx) const override {
    if (!ctx.dinputs[0]) return;
    const int axis = resolve_axis("slice", axis_, ctx.input_shapes[0]);
    const AxisBlocks in = axis_blocks(ctx.batch, ctx.input_shapes[0], axis);
    const size_t element = dtype_size(ctx.dtype);
    const int64_t count = in.outer * in.extent * in.inner;
    void* target = ctx.accumulate[0] ? ctx.backward_scratch : ctx.dinputs[0];
    ctx.backend->fill_zero(target, static_cast<size_t>(count) * element);
    kernels::copy_2d(*ctx.backend, ctx.dtype, in.outer, length_ * in.inner, ctx.doutput, length_ * in.inner,
                     static_cast<char*>(target) + start_ * in.inner * element, in.extent * in.inner);
    if (ctx.accumulate[0]) kernels::axpy(*ctx.backend, ctx.dtype, count, 1.0, ctx.backward_scratch, ctx.dinputs[0], true);
  }

 private:
  int64_t axis_, start_, length_;
};

}  // namespace

OpPtr make_slice(int64_t axis, int64_t start, int64_t length) {
  if (start < 0 || length < 1)
    fail(ErrorCode::kInvalidArgument, "slice needs start >= 0 and length >= 1, got start ", start, ", length ", length);
  return std::make_shared<Slice>(axis, start, length);
}

namespace {

const bool kRegistered = [] {
  register_op({"slice", 1,
               {{"axis", AttributeType::kInt, int64_t{-1}, ""},
                {"start", AttributeType::kInt, std::nullopt, ""},
                {"length", AttributeType::kInt, std::nullopt, ""}},
               [](const AttributeValues& a) { return make_slice(a.integer("axis"), a.integer("start"), a.integer("length")); }});
  return true;
}();

}  // namespace
}  // namespace tk
