// Pooling a sequence [seq, dim] into one vector [dim]: "mean_pool" over every
// position, "masked_mean_pool" over the positions a [seq] mask marks 1 (the
// tokens of a padded sentence; sentence-transformers' mean pooling).
#include "core/base/error.h"
#include "core/ops/op_schema.h"
#include "core/ops/ops.h"
#include "core/ops/pool/pool_kernels.h"

namespace tk {
namespace {

class SequenceMean final : public Op {
 public:
  explicit SequenceMean(bool masked) : masked_(masked) {}
  std::string type() const override { return masked_ ? "masked_mean_pool" : "mean_pool"; }
  int num_inputs() const override { return masked_ ? 2 : 1; }
  bool backward_needs_output() const override { return masked_; }

  Shape infer_shape(const std::vector<Shape>& in) const override {
    if (in[0].size() != 2)
      fail(ErrorCode::kShapeMismatch, type(), " takes [seq, dim] per sample, got ", shape_to_string(in[0]));
    if (masked_ && (in[1].size() != 1 || in[1][0] != in[0][0]))
      fail(ErrorCode::kShapeMismatch, type(), " takes a mask of [seq] = [", in[0][0], "] per sample, got ",
           shape_to_string(in[1]));
    return {in[0][1]};
  }

  void forward(const OpContext& ctx) const override {
    const Shape& in = ctx.input_shapes[0];
    kernels::sequence_mean_forward(*ctx.backend, ctx.dtype, ctx.batch, in[0], in[1], ctx.inputs[0],
                                   masked_ ? ctx.inputs[1] : nullptr, ctx.output);
  }
  void backward(const OpContext& ctx) const override {
    const Shape& in = ctx.input_shapes[0];
    void* dmask = masked_ ? ctx.dinputs[1] : nullptr;
    if (!ctx.dinputs[0] && !dmask) return;
    kernels::sequence_mean_backward(*ctx.backend, ctx.dtype, ctx.batch, in[0], in[1], ctx.inputs[0],
                                    masked_ ? ctx.inputs[1] : nullptr, ctx.output, ctx.doutput, ctx.dinputs[0],
                                    ctx.dinputs[0] && ctx.accumulate[0], dmask, dmask && ctx.accumulate[1]);
  }

 private:
  bool masked_;
};

}  // namespace

OpPtr make_mean_pool(bool masked) { return std::make_shared<SequenceMean>(masked); }

namespace {

const bool kRegistered = [] {
  for (bool masked : {false, true})
    register_op({masked ? "masked_mean_pool" : "mean_pool", masked ? 2 : 1, {},
                 [masked](const AttributeValues&) { return make_mean_pool(masked); }});
  return true;
}();

}  // namespace
}  // namespace tk
