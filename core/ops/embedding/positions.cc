// Position encodings added to a sequence of vectors [seq, dim] (per sample):
// learned (a [max_length, dim] table, BERT's and GPT-2's position embeddings,
// whose first seq rows are added) or sinusoidal (fixed, no parameters).
#include "core/base/error.h"
#include "core/kernels/elementwise_kernels.h"
#include "core/ops/embedding/embedding_kernels.h"
#include "core/ops/op_schema.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

class Positions final : public Op {
 public:
  explicit Positions(int64_t max_length) : max_length_(max_length) {}  // 0: sinusoidal
  std::string type() const override { return learned() ? "learned_positions" : "sinusoidal_positions"; }
  std::vector<Attribute> attributes() const override {
    if (!learned()) return {};
    return {{"max_length", max_length_}};
  }
  bool backward_needs_inputs() const override { return false; }

  Shape infer_shape(const std::vector<Shape>& inputs) const override {
    const Shape& in = inputs[0];
    if (in.size() != 2)
      fail(ErrorCode::kShapeMismatch, type(), " takes [seq, dim] per sample, got ", shape_to_string(in));
    if (learned() && in[0] > max_length_)
      fail(ErrorCode::kShapeMismatch, type(), " holds ", max_length_, " positions, the sequence has ", in[0]);
    return in;
  }
  std::vector<ParamSpec> param_specs(const std::vector<Shape>& inputs) const override {
    if (!learned()) return {};
    const int64_t dim = inputs[0][1];
    return {{"weight", {max_length_, dim}, Init::kXavierNormal, dim, dim}};
  }

  void forward(const OpContext& ctx) const override {
    const Shape& in = ctx.input_shapes[0];
    kernels::positions_forward(*ctx.backend, ctx.dtype, ctx.param_dtype, ctx.batch, in[0], in[1], ctx.inputs[0],
                               learned() ? ctx.params[0] : nullptr, ctx.output);
  }
  void backward(const OpContext& ctx) const override {
    const Shape& in = ctx.input_shapes[0];
    if (ctx.dinputs[0])
      kernels::axpy(*ctx.backend, ctx.dtype, ctx.batch * in[0] * in[1], 1.0, ctx.doutput, ctx.dinputs[0],
                    ctx.accumulate[0]);
    if (learned() && ctx.dparams[0])
      kernels::positions_table_backward(*ctx.backend, ctx.dtype, ctx.grad_dtype, ctx.batch, in[0], in[1],
                                        max_length_, ctx.doutput, ctx.dparams[0]);
  }
  bool accepts_null_param_gradients() const override { return true; }

 private:
  bool learned() const { return max_length_ > 0; }
  int64_t max_length_;
};

}  // namespace

OpPtr make_learned_positions(int64_t max_length) {
  if (max_length < 1) fail(ErrorCode::kInvalidArgument, "learned_positions max_length must be positive, got ", max_length);
  return std::make_shared<Positions>(max_length);
}
OpPtr make_sinusoidal_positions() { return std::make_shared<Positions>(0); }

namespace {

const bool kRegistered = [] {
  register_op({"learned_positions", 1, {{"max_length", AttributeType::kInt, std::nullopt, ""}},
               [](const AttributeValues& a) { return make_learned_positions(a.integer("max_length")); }});
  register_op({"sinusoidal_positions", 1, {}, [](const AttributeValues&) { return make_sinusoidal_positions(); }});
  return true;
}();

}  // namespace
}  // namespace tk
