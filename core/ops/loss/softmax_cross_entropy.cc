// Softmax cross-entropy over class indices: output [classes] with a class
// index per sample, or [tokens..., classes] with one per token (a language
// model's next-token loss). A target of kIgnoreIndex takes no part.
#include <algorithm>

#include "core/base/error.h"
#include "core/ops/loss/loss.h"
#include "core/ops/loss/loss_kernels.h"

namespace tk {
namespace {

class SoftmaxCrossEntropy final : public Loss {
 public:
  std::string name() const override { return "softmax_cross_entropy"; }
  bool targets_are_class_indices() const override { return true; }
  Shape target_shape(const Shape& output_shape) const override {
    if (output_shape.empty() || output_shape.back() < 2)
      fail(ErrorCode::kShapeMismatch,
           "softmax cross-entropy needs an output of shape [classes] or [tokens..., classes] with at least 2 "
           "classes, got ", shape_to_string(output_shape));
    return Shape(output_shape.begin(), output_shape.end() - 1);
  }
  // Every target left out: a zero loss.
  int64_t mean_divisor(int64_t, const Shape&, int64_t counted) const override { return std::max<int64_t>(counted, 1); }
  int64_t rows_per_sample(const Shape& output_shape) const override {
    return shape_numel(Shape(output_shape.begin(), output_shape.end() - 1));
  }

  void compute(Backend* backend, DType dt, DType value_dt, int64_t batch, const Shape& output_shape, const void* out,
               const void* target, void* row_loss, void* dout, GradScale grad_scale) const override {
    kernels::softmax_cross_entropy(*backend, dt, value_dt, batch * rows_per_sample(output_shape), output_shape.back(), out,
                                   static_cast<const int32_t*>(target), row_loss, dout, grad_scale);
  }

  int64_t count_correct(Backend* backend, DType dt, DType, int64_t batch, const Shape& output_shape, const void* out,
                        const void* target) const override {
    return kernels::count_correct_argmax(*backend, dt, batch * rows_per_sample(output_shape), output_shape.back(), out,
                                         static_cast<const int32_t*>(target));
  }
  int64_t predictions_per_batch(int64_t, const Shape&, int64_t counted) const override { return counted; }
  Probabilities probabilities() const override { return Probabilities::kSoftmax; }
};

}  // namespace

std::unique_ptr<Loss> make_softmax_cross_entropy() { return std::make_unique<SoftmaxCrossEntropy>(); }

}  // namespace tk
