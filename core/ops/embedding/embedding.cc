// Embedding: int32 indices of any per-sample shape pick rows of a learned
// [vocab, dim] table, giving that shape plus [dim]. An optional padding index
// (PyTorch's padding_idx) gets no gradient, so its row stays as loaded.
#include "core/base/error.h"
#include "core/ops/embedding/embedding_kernels.h"
#include "core/ops/op_schema.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

class Embedding final : public Op {
 public:
  Embedding(int64_t vocab, int64_t dim, int64_t padding) : vocab_(vocab), dim_(dim), padding_(padding) {}
  std::string type() const override { return "embedding"; }
  std::vector<Attribute> attributes() const override {
    return {{"vocab", vocab_}, {"dim", dim_}, {"padding_index", padding_}};
  }
  bool takes_indices(int input) const override { return input == 0; }
  int64_t index_limit(int input) const override { return input == 0 ? vocab_ : 0; }

  Shape infer_shape(const std::vector<Shape>& inputs) const override {
    Shape out = inputs[0];
    out.push_back(dim_);
    if (static_cast<int>(out.size()) > kMaxRank - 1)
      fail(ErrorCode::kShapeMismatch, "embedding adds an axis to ", shape_to_string(inputs[0]),
           ", more than the largest per-sample rank ", kMaxRank - 1);
    return out;
  }
  // N(0, 1/dim) (Xavier normal with fan_in = fan_out = dim): rows of about
  // unit norm, as the activations a LayerNorm gives.
  std::vector<ParamSpec> param_specs(const std::vector<Shape>& inputs) const override {
    (void)inputs;
    return {{"weight", {vocab_, dim_}, Init::kXavierNormal, dim_, dim_}};
  }

  void forward(const OpContext& ctx) const override {
    kernels::embedding_forward(*ctx.backend, ctx.dtype, ctx.param_dtype, rows(ctx), dim_,
                               static_cast<const int32_t*>(ctx.inputs[0]), ctx.params[0], ctx.output);
  }
  void backward(const OpContext& ctx) const override {
    if (!ctx.dparams[0]) return;  // frozen
    kernels::embedding_backward(*ctx.backend, ctx.dtype, ctx.grad_dtype, rows(ctx), dim_, vocab_, padding_,
                                static_cast<const int32_t*>(ctx.inputs[0]), ctx.doutput, ctx.dparams[0]);
  }
  bool accepts_null_param_gradients() const override { return true; }

 private:
  int64_t rows(const OpContext& ctx) const { return ctx.batch * shape_numel(ctx.input_shapes[0]); }
  int64_t vocab_, dim_, padding_;
};

}  // namespace

OpPtr make_embedding(int64_t vocab, int64_t dim, int64_t padding_index) {
  if (vocab < 1 || vocab > (int64_t{1} << 31) - 1)
    fail(ErrorCode::kInvalidArgument, "embedding vocab must be in [1, 2^31), got ", vocab);
  if (dim < 1) fail(ErrorCode::kInvalidArgument, "embedding dim must be positive, got ", dim);
  if (padding_index < -1 || padding_index >= vocab)
    fail(ErrorCode::kInvalidArgument, "embedding padding_index must be -1 (none) or in [0, ", vocab, "), got ",
         padding_index);
  return std::make_shared<Embedding>(vocab, dim, padding_index);
}

namespace {

const bool kRegistered = [] {
  register_op({"embedding",
               1,
               {{"vocab", AttributeType::kInt, std::nullopt, ""},
                {"dim", AttributeType::kInt, std::nullopt, ""},
                {"padding_index", AttributeType::kInt, int64_t{-1}, ""}},
               [](const AttributeValues& a) {
                 return make_embedding(a.integer("vocab"), a.integer("dim"), a.integer("padding_index"));
               }});
  return true;
}();

}  // namespace
}  // namespace tk
