// trainkit eval: a trained model folder's metrics on a dataset (loss,
// accuracy, top-k, per-class precision / recall / F1, confusion matrix).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "cli/commands.h"
#include "cli/model_dir.h"

namespace tkcli {

int evaluate(const EvalOptions& o) {
  Inference run = open_for_inference(o.model, o.data, o.threads, true);
  Trainer& trainer = run.trainer;
  Dataset& dataset = run.dataset;

  tk_metrics m;
  std::memset(&m, 0, sizeof m);
  m.struct_size = sizeof m;
  int64_t classes = 0;
  check(tk_trainer_metric_classes(trainer.get(), &classes), "metrics");
  const int top_k = static_cast<int>(std::min<int64_t>(o.top_k, classes > 0 ? classes : 1));
  std::vector<double> confusion(static_cast<size_t>(classes * classes)), per_class(static_cast<size_t>(3 * classes));
  int64_t confusion_shape[2] = {classes, classes}, per_class_shape[2] = {3, classes};
  tk_tensor_view confusion_view = tk_view(confusion.data(), TK_DTYPE_F64, 2, confusion_shape);
  tk_tensor_view per_class_view = tk_view(per_class.data(), TK_DTYPE_F64, 2, per_class_shape);
  check(tk_trainer_metrics(trainer.get(), dataset.get(), o.batch, top_k, &m, classes ? &confusion_view : nullptr,
                           classes ? &per_class_view : nullptr),
        "metrics");

  std::printf("samples: %lld\nloss: %.4f\n", static_cast<long long>(m.samples), m.loss);
  if (classes == 0) {
    std::printf("mse: %.6g\nmae: %.6g\n", m.mse, m.mae);
    return 0;
  }
  std::printf("accuracy: %.4f\n", m.accuracy);
  if (!std::isnan(m.top_k_accuracy)) std::printf("top-%d accuracy: %.4f\n", m.top_k, m.top_k_accuracy);
  std::printf("macro precision: %.4f  recall: %.4f  F1: %.4f\n\n", m.macro_precision, m.macro_recall, m.macro_f1);
  std::printf("class  precision  recall      F1\n");
  for (int64_t c = 0; c < classes; ++c)
    std::printf("%5lld  %9.4f  %6.4f  %6.4f\n", static_cast<long long>(c), per_class[c], per_class[classes + c],
                per_class[2 * classes + c]);
  std::printf("\nconfusion matrix (rows: true class, columns: predicted)\n      ");
  for (int64_t c = 0; c < classes; ++c) std::printf("%6lld", static_cast<long long>(c));
  std::printf("\n");
  for (int64_t r = 0; r < classes; ++r) {
    std::printf("%6lld", static_cast<long long>(r));
    for (int64_t c = 0; c < classes; ++c) std::printf("%6.0f", confusion[r * classes + c]);
    std::printf("\n");
  }
  return 0;
}

}  // namespace tkcli
