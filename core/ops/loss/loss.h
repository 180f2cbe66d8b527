// Losses close the graph: they read the output node's values and the targets,
// write one loss per row and the gradient with respect to the output.
#pragma once

#include <memory>
#include <string>

#include "core/backend/backend.h"
#include "core/base/shape.h"
#include "core/ops/loss/loss_kernels.h"

namespace tk {

// Values mirror tk_loss / tk_reduction in capi/trainkit.h.
enum class LossKind : int32_t { kSoftmaxCrossEntropy = 0, kMse = 1, kBceWithLogits = 2 };
enum class Reduction : int32_t { kMean = 0, kSum = 1 };

class Loss {
 public:
  virtual ~Loss() = default;
  virtual std::string name() const = 0;
  // Device dtype of targets: i32 class indices, or the compute dtype.
  virtual bool targets_are_class_indices() const = 0;
  // Per-sample target shape for a per-sample output shape; throws on a model
  // output the loss cannot take.
  virtual Shape target_shape(const Shape& output_shape) const = 0;
  // Elements the mean reduction divides by (PyTorch: the targets that take
  // part for cross-entropy, all elements for MSE and BCE). `counted`: the
  // batch's class-index targets other than kIgnoreIndex.
  virtual int64_t mean_divisor(int64_t batch, const Shape& output_shape, int64_t counted) const = 0;
  // Losses per sample in row_loss: 1, or one per token for cross-entropy
  // over an output [tokens..., classes].
  virtual int64_t rows_per_sample(const Shape& /*output_shape*/) const { return 1; }
  // `out` and `dout` have dtype dt; value targets and row_loss[batch] have
  // value_dt (f32 or f64), the precision the loss computes in; row_loss
  // holds batch * rows_per_sample entries.
  // dout (nullable) gets grad_scale * d(sum of row losses)/d(out).
  virtual void compute(Backend* backend, DType dt, DType value_dt, int64_t batch, const Shape& output_shape,
                       const void* out, const void* target, void* row_loss, void* dout,
                       GradScale grad_scale) const = 0;
  // Correct predictions and how many were judged (0 when accuracy has no meaning).
  virtual int64_t count_correct(Backend* backend, DType dt, DType value_dt, int64_t batch,
                                const Shape& output_shape, const void* out,
                                const void* target) const = 0;
  virtual int64_t predictions_per_batch(int64_t batch, const Shape& output_shape, int64_t counted) const = 0;
  // What predict(probabilities = true) applies to the output.
  enum class Probabilities { kSoftmax, kSigmoid, kIdentity };
  virtual Probabilities probabilities() const = 0;
  // Whether value targets must lie in [0, 1] (probabilities, as BCE's).
  virtual bool targets_are_probabilities() const { return false; }
};

std::unique_ptr<Loss> make_loss(LossKind kind);  // loss.cc
std::unique_ptr<Loss> make_softmax_cross_entropy();  // softmax_cross_entropy.cc
std::unique_ptr<Loss> make_mse();                    // mse.cc
std::unique_ptr<Loss> make_bce_with_logits();        // bce_with_logits.cc

}  // namespace tk
