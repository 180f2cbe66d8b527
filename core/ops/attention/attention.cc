// Scaled dot-product attention as one op: softmax(scale q k^T + mask) v per
// head, with an optional causal rule. "attention" takes q, k, v; 
// "masked_attention" also takes a mask over the keys, [seq_k] per sample:
// added to the scores (0 to attend, a large negative number for padding), or
// with keep_mask, 1 to attend and 0 for padding (a tokenizer's attention_mask). Multi-head
// attention is this op between Linear projections (no transposes: heads are
// column bands of q, k and v).
#include <cmath>

#include "core/base/error.h"
#include "core/ops/attention/attention_kernels.h"
#include "core/ops/op_schema.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

class Attention final : public Op {
 public:
  Attention(int64_t heads, bool causal, double scale, bool masked, bool keep_mask)
      : heads_(heads), causal_(causal), scale_(scale), masked_(masked), keep_mask_(keep_mask) {}
  std::string type() const override { return masked_ ? "masked_attention" : "attention"; }
  std::vector<Attribute> attributes() const override {
    if (!masked_) return {{"heads", heads_}, {"causal", causal_}, {"scale", scale_}};
    return {{"heads", heads_}, {"causal", causal_}, {"scale", scale_}, {"keep_mask", keep_mask_}};
  }
  int num_inputs() const override { return masked_ ? 4 : 3; }
  bool backward_needs_output() const override { return true; }

  Shape infer_shape(const std::vector<Shape>& in) const override {
    for (int i = 0; i < 3; ++i)
      if (in[i].size() != 2)
        fail(ErrorCode::kShapeMismatch, type(), " takes q, k and v as [seq, heads * head_dim] per sample; input ", i,
             " is ", shape_to_string(in[i]));
    if (in[0][1] != in[1][1] || in[1] != in[2])
      fail(ErrorCode::kShapeMismatch, type(), " needs k and v of one shape and q as wide: q ", shape_to_string(in[0]),
           ", k ", shape_to_string(in[1]), ", v ", shape_to_string(in[2]));
    if (in[0][1] % heads_ != 0)
      fail(ErrorCode::kShapeMismatch, type(), ": width ", in[0][1], " is not a multiple of ", heads_, " heads");
    if (masked_ && (in[3].size() != 1 || in[3][0] != in[1][0]))
      fail(ErrorCode::kShapeMismatch, type(), " takes a mask of [seq_k] = [", in[1][0], "] per sample, got ",
           shape_to_string(in[3]));
    return in[0];
  }
  int64_t saved_elements_per_sample(const std::vector<Shape>& in) const override { return heads_ * in[0][0]; }

  void forward(const OpContext& ctx) const override {
    kernels::attention_forward(*ctx.backend, ctx.dtype, ctx.grad_dtype, shape(ctx), ctx.inputs[0], ctx.inputs[1],
                               ctx.inputs[2], masked_ ? ctx.inputs[3] : nullptr, ctx.output, ctx.saved);
  }
  void backward(const OpContext& ctx) const override {
    kernels::AttentionGradients grads{ctx.dinputs[0], ctx.dinputs[1], ctx.dinputs[2],
                                      masked_ ? ctx.dinputs[3] : nullptr, {}};
    for (int i = 0; i < num_inputs(); ++i) grads.accumulate[i] = ctx.dinputs[i] && ctx.accumulate[i];
    if (!grads.dq && !grads.dk && !grads.dv && !grads.dmask) return;
    kernels::attention_backward(*ctx.backend, ctx.dtype, ctx.grad_dtype, shape(ctx), ctx.inputs[0], ctx.inputs[1],
                                ctx.inputs[2], masked_ ? ctx.inputs[3] : nullptr, ctx.output, ctx.doutput, ctx.saved,
                                grads);
  }

 private:
  kernels::AttentionShape shape(const OpContext& ctx) const {
    const int64_t head_dim = ctx.input_shapes[0][1] / heads_;
    const double scale = scale_ > 0 ? scale_ : 1.0 / std::sqrt(static_cast<double>(head_dim));
    return {ctx.batch, heads_, ctx.input_shapes[0][0], ctx.input_shapes[1][0], head_dim, scale, causal_, keep_mask_};
  }
  int64_t heads_;
  bool causal_;
  double scale_;  // 0: 1 / sqrt(head_dim)
  bool masked_;
  bool keep_mask_;
};

}  // namespace

OpPtr make_attention(int64_t heads, bool causal, double scale, bool masked, bool keep_mask) {
  if (heads < 1) fail(ErrorCode::kInvalidArgument, "attention heads must be positive, got ", heads);
  if (!(scale >= 0 && std::isfinite(scale)))
    fail(ErrorCode::kInvalidArgument, "attention scale must be 0 (1 / sqrt(head_dim)) or positive, got ", scale);
  if (keep_mask && !masked) fail(ErrorCode::kInvalidArgument, "keep_mask needs masked attention");
  return std::make_shared<Attention>(heads, causal, scale, masked, keep_mask);
}

namespace {

const bool kRegistered = [] {
  for (bool masked : {false, true}) {
    std::vector<AttributeSchema> attributes = {{"heads", AttributeType::kInt, std::nullopt, ""},
                                               {"causal", AttributeType::kBool, false, ""},
                                               {"scale", AttributeType::kReal, 0.0, ""}};
    if (masked) attributes.push_back({"keep_mask", AttributeType::kBool, false, ""});
    register_op({masked ? "masked_attention" : "attention", masked ? 4 : 3, attributes, [masked](const AttributeValues& a) {
                   return make_attention(a.integer("heads"), a.boolean("causal"), a.real("scale"), masked,
                                         masked && a.boolean("keep_mask"));
                 }});
  }
  return true;
}();

}  // namespace
}  // namespace tk
