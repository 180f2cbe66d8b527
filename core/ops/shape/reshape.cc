// Reshape: the per-sample shape becomes `shape` (same number of elements),
// e.g. images [28, 28] -> [1, 28, 28] for a convolution.
#include "core/base/error.h"
#include "core/kernels/elementwise_kernels.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

class Reshape final : public Op {
 public:
  explicit Reshape(Shape shape) : shape_(std::move(shape)) {}
  std::string type() const override { return "reshape"; }
  std::vector<Attribute> attributes() const override {
    std::string text;
    for (size_t i = 0; i < shape_.size(); ++i) text += (i ? "," : "") + std::to_string(shape_[i]);
    return {{"shape", text}};
  }
  bool backward_needs_inputs() const override { return false; }
  Shape infer_shape(const std::vector<Shape>& inputs) const override {
    if (shape_numel(inputs[0]) != shape_numel(shape_))
      fail(ErrorCode::kShapeMismatch, "reshape of ", shape_to_string(inputs[0]), " to ", shape_to_string(shape_),
           " changes the number of elements");
    return shape_;
  }
  void forward(const OpContext& ctx) const override {
    ctx.backend->copy(ctx.output, ctx.inputs[0], ctx.batch * shape_numel(shape_) * dtype_size(ctx.dtype));
  }
  void backward(const OpContext& ctx) const override {
    if (ctx.dinputs[0])
      kernels::axpy(*ctx.backend, ctx.dtype, ctx.batch * shape_numel(shape_), 1.0, ctx.doutput, ctx.dinputs[0],
                    ctx.accumulate[0]);
  }

 private:
  Shape shape_;
};

}  // namespace

OpPtr make_reshape(const Shape& shape) {
  if (shape.empty() || static_cast<int>(shape.size()) > kMaxRank - 1)
    fail(ErrorCode::kInvalidArgument, "reshape needs a rank from 1 to ", kMaxRank - 1);
  for (int64_t extent : shape)
    if (extent <= 0) fail(ErrorCode::kInvalidArgument, "reshape needs positive extents, got ", shape_to_string(shape));
  return std::make_shared<Reshape>(shape);
}

}  // namespace tk
