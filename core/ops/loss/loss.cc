#include "core/ops/loss/loss.h"

#include "core/base/error.h"

namespace tk {

std::unique_ptr<Loss> make_loss(LossKind kind) {
  switch (kind) {
    case LossKind::kSoftmaxCrossEntropy:
      return make_softmax_cross_entropy();
    case LossKind::kMse:
      return make_mse();
    case LossKind::kBceWithLogits:
      return make_bce_with_logits();
  }
  fail(ErrorCode::kInvalidArgument, "unknown loss kind ", static_cast<int>(kind));
}

}  // namespace tk
