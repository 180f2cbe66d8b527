// Pointwise activations: ReLU, GELU (exact, erf form), GELU's tanh
// approximation (GPT-2's), Tanh, Sigmoid, SiLU.
#include "core/ops/activation/activation_kernels.h"
#include "core/ops/op_schema.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

class ActivationOp final : public Op {
 public:
  explicit ActivationOp(Activation activation) : activation_(activation) {}

  std::string type() const override {
    switch (activation_) {
      case Activation::kRelu:
        return "relu";
      case Activation::kGelu:
        return "gelu";
      case Activation::kTanh:
        return "tanh";
      case Activation::kSigmoid:
        return "sigmoid";
      case Activation::kSilu:
        return "silu";
      case Activation::kGeluTanh:
        return "gelu_tanh";
    }
    return "activation";
  }

  Shape infer_shape(const std::vector<Shape>& inputs) const override { return inputs[0]; }

  void forward(const OpContext& ctx) const override {
    kernels::activation_forward(*ctx.backend, ctx.dtype, activation_, ctx.batch * shape_numel(ctx.output_shape),
                                ctx.inputs[0], ctx.output);
  }

  void backward(const OpContext& ctx) const override {
    if (!ctx.dinputs[0]) return;
    kernels::activation_backward(*ctx.backend, ctx.dtype, activation_, ctx.batch * shape_numel(ctx.output_shape),
                                 ctx.inputs[0], ctx.output, ctx.doutput, ctx.dinputs[0], ctx.accumulate[0]);
  }

  std::optional<Activation> activation() const override { return activation_; }

  // GELU and SiLU differentiate from their input, the others from their output
  // (ReLU's y > 0 exactly where x > 0), so a ReLU can be fused into the Linear
  // before it.
  bool backward_needs_inputs() const override { return from_input(); }
  bool backward_needs_output() const override { return !from_input(); }

 private:
  bool from_input() const {
    return activation_ == Activation::kGelu || activation_ == Activation::kGeluTanh || activation_ == Activation::kSilu;
  }
  Activation activation_;
};

}  // namespace

OpPtr make_activation(Activation activation) { return std::make_shared<ActivationOp>(activation); }

namespace {

// Every activation under its name, with no attributes.
const bool kRegistered = [] {
  for (Activation activation : kActivations)
    register_op({make_activation(activation)->type(), 1, {}, [activation](const AttributeValues&) {
                   return make_activation(activation);
                 }});
  return true;
}();

}  // namespace

}  // namespace tk
