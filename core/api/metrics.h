// Metrics of a trained model over a dataset, beyond loss and top-1 accuracy:
// top-k accuracy, the confusion matrix with per-class precision, recall and
// F1 (and their macro means), and MSE / MAE for value outputs.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "core/api/trainer.h"
#include "core/data/dataset.h"

namespace tk {

struct Metrics {
  int64_t samples = 0;
  double loss = 0;
  // Classification (softmax cross-entropy: classes are the output's width;
  // BCE: every output element is a yes/no case, classes = 2). NaN otherwise.
  double accuracy = 0;
  int top_k = 0;
  double top_k_accuracy = 0;  // softmax cross-entropy only
  int64_t classes = 0;
  std::vector<int64_t> confusion;  // [true class][predicted class], classes x classes
  std::vector<double> precision, recall, f1;  // per class; 0 where undefined (no cases)
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
  // Between outputs and targets, per element (every loss).
  double mse = 0, mae = 0;
};

// The classes metrics count for this trainer's loss: the output's width for
// softmax cross-entropy, 2 (no / yes per element) for BCE, 0 for MSE.
int64_t metric_classes(const Trainer& trainer);

// One pass over `dataset` in batches. top_k >= 1; `cancel` as Trainer::evaluate's.
Metrics compute_metrics(Trainer& trainer, const Dataset& dataset, int64_t batch_size, int top_k,
                        const std::atomic<bool>* cancel);

}  // namespace tk
