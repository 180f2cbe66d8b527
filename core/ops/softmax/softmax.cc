// Softmax and log-softmax over the last axis, as layers (attention weights,
// a classifier's probabilities inside a model). Backward reads the output only.
#include "core/base/error.h"
#include "core/ops/op_schema.h"
#include "core/ops/ops.h"
#include "core/ops/softmax/softmax_kernels.h"

namespace tk {
namespace {

class Softmax final : public Op {
 public:
  explicit Softmax(bool log) : log_(log) {}
  std::string type() const override { return log_ ? "log_softmax" : "softmax"; }
  bool backward_needs_inputs() const override { return false; }
  bool backward_needs_output() const override { return true; }

  Shape infer_shape(const std::vector<Shape>& inputs) const override { return inputs[0]; }

  void forward(const OpContext& ctx) const override {
    kernels::softmax_forward(*ctx.backend, ctx.dtype, log_, rows(ctx), ctx.output_shape.back(), ctx.inputs[0],
                             ctx.output);
  }
  void backward(const OpContext& ctx) const override {
    if (!ctx.dinputs[0]) return;
    kernels::softmax_backward(*ctx.backend, ctx.dtype, log_, rows(ctx), ctx.output_shape.back(), ctx.output,
                              ctx.doutput, ctx.dinputs[0], ctx.accumulate[0]);
  }

 private:
  int64_t rows(const OpContext& ctx) const {
    return ctx.batch * shape_numel(ctx.output_shape) / ctx.output_shape.back();
  }
  bool log_;
};

}  // namespace

OpPtr make_softmax(bool log) { return std::make_shared<Softmax>(log); }

namespace {

const bool kRegistered = [] {
  for (bool log : {false, true})
    register_op({log ? "log_softmax" : "softmax", 1, {}, [log](const AttributeValues&) { return make_softmax(log); }});
  return true;
}();

}  // namespace
}  // namespace tk
