// Binary cross-entropy on logits: target in [0, 1] with the output's shape.
#include "core/ops/loss/loss.h"
#include "core/ops/loss/loss_kernels.h"

namespace tk {
namespace {

class BceWithLogits final : public Loss {
 public:
  std::string name() const override { return "bce_with_logits"; }
  bool targets_are_class_indices() const override { return false; }
  Shape target_shape(const Shape& output_shape) const override { return output_shape; }
  int64_t mean_divisor(int64_t batch, const Shape& output_shape, int64_t) const override {
    return batch * shape_numel(output_shape);
  }

  void compute(Backend* backend, DType dt, DType value_dt, int64_t batch, const Shape& output_shape, const void* out,
               const void* target, void* row_loss, void* dout, GradScale grad_scale) const override {
    kernels::bce_with_logits(*backend, dt, value_dt, batch, shape_numel(output_shape), out, target, row_loss, dout,
                             grad_scale);
  }

  int64_t count_correct(Backend* backend, DType dt, DType value_dt, int64_t batch, const Shape& output_shape,
                        const void* out, const void* target) const override {
    return kernels::count_correct_binary(*backend, dt, value_dt, batch * shape_numel(output_shape), out, target);
  }
  int64_t predictions_per_batch(int64_t batch, const Shape& output_shape, int64_t) const override {
    return batch * shape_numel(output_shape);
  }
  Probabilities probabilities() const override { return Probabilities::kSigmoid; }
  bool targets_are_probabilities() const override { return true; }
};

}  // namespace

std::unique_ptr<Loss> make_bce_with_logits() { return std::make_unique<BceWithLogits>(); }

}  // namespace tk
