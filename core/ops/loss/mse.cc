// Mean squared error: target has the output's shape.
#include "core/ops/loss/loss.h"
#include "core/ops/loss/loss_kernels.h"

namespace tk {
namespace {

class Mse final : public Loss {
 public:
  std::string name() const override { return "mse"; }
  bool targets_are_class_indices() const override { return false; }
  Shape target_shape(const Shape& output_shape) const override { return output_shape; }
  int64_t mean_divisor(int64_t batch, const Shape& output_shape, int64_t) const override {
    return batch * shape_numel(output_shape);
  }

  void compute(Backend* backend, DType dt, DType value_dt, int64_t batch, const Shape& output_shape, const void* out,
               const void* target, void* row_loss, void* dout, GradScale grad_scale) const override {
    kernels::squared_error(*backend, dt, value_dt, batch, shape_numel(output_shape), out, target, row_loss, dout,
                           grad_scale);
  }

  // Regression has no accuracy.
  int64_t count_correct(Backend*, DType, DType, int64_t, const Shape&, const void*, const void*) const override {
    return 0;
  }
  int64_t predictions_per_batch(int64_t, const Shape&, int64_t) const override { return 0; }
  Probabilities probabilities() const override { return Probabilities::kIdentity; }
};

}  // namespace

std::unique_ptr<Loss> make_mse() { return std::make_unique<Mse>(); }

}  // namespace tk
