#include "core/api/metrics.h"

#include <algorithm>
#include <cmath>

#include "core/base/error.h"

namespace tk {
namespace {

// Precision, recall and F1 per class from the confusion matrix (rows: true).
void per_class_scores(Metrics* m) {
  const int64_t c = m->classes;
  m->precision.assign(c, 0.0);
  m->recall.assign(c, 0.0);
  m->f1.assign(c, 0.0);
  int64_t correct = 0, total = 0;
  for (int64_t k = 0; k < c; ++k) {
    int64_t predicted = 0, actual = 0;
    for (int64_t j = 0; j < c; ++j) {
      predicted += m->confusion[j * c + k];
      actual += m->confusion[k * c + j];
      total += m->confusion[k * c + j];
    }
    const double hits = static_cast<double>(m->confusion[k * c + k]);
    correct += m->confusion[k * c + k];
    if (predicted) m->precision[k] = hits / predicted;
    if (actual) m->recall[k] = hits / actual;
    const double sum = m->precision[k] + m->recall[k];
    if (sum > 0) m->f1[k] = 2 * m->precision[k] * m->recall[k] / sum;
    m->macro_precision += m->precision[k] / c;
    m->macro_recall += m->recall[k] / c;
    m->macro_f1 += m->f1[k] / c;
  }
  m->accuracy = total ? static_cast<double>(correct) / total : std::nan("");
}

}  // namespace

int64_t metric_classes(const Trainer& trainer) {
  switch (trainer.config().loss) {
    case LossKind::kSoftmaxCrossEntropy: return trainer.plan().output_shape().back();
    case LossKind::kBceWithLogits: return 2;
    case LossKind::kMse: return 0;
  }
  return 0;
}

Metrics compute_metrics(Trainer& trainer, const Dataset& dataset, int64_t batch_size, int top_k,
                        const std::atomic<bool>* cancel) {
  if (batch_size <= 0) fail(ErrorCode::kInvalidArgument, "batch size must be > 0, got ", batch_size);
  if (top_k < 1) fail(ErrorCode::kInvalidArgument, "top_k must be >= 1, got ", top_k);
  if (dataset.size() == 0) fail(ErrorCode::kInvalidArgument, "cannot compute metrics on an empty dataset");
  const LossKind loss = trainer.config().loss;
  const Shape& output_shape = trainer.plan().output_shape();
  if (loss == LossKind::kSoftmaxCrossEntropy && output_shape.size() != 1)
    fail(ErrorCode::kUnsupported, "metrics take a model of output [classes]; this one's is ",
         shape_to_string(output_shape), " (a loss per token: use evaluate for its loss and accuracy)");
  const int64_t width = shape_numel(output_shape);
  Metrics m;
  m.top_k = top_k;
  m.classes = metric_classes(trainer);
  if (loss == LossKind::kSoftmaxCrossEntropy && top_k > width)
    fail(ErrorCode::kInvalidArgument, "top_k is ", top_k, ", the model has ", width, " classes");
  m.confusion.assign(m.classes * m.classes, 0);
  int64_t top_k_hits = 0, value_count = 0;
  double squares = 0, absolutes = 0;
  std::vector<float> outputs;
  for (int64_t begin = 0; begin < dataset.size(); begin += batch_size) {
    if (cancel && cancel->load(std::memory_order_relaxed))
      fail(ErrorCode::kCancelled, "the metrics were cancelled after ", begin, " of ", dataset.size(), " samples");
    const int64_t count = std::min(batch_size, dataset.size() - begin);
    const HostView features = dataset.feature_view(begin, count);
    const HostView targets = dataset.target_view(begin, count);
    outputs.resize(static_cast<size_t>(count * width));
    Shape out_shape = {count};
    out_shape.insert(out_shape.end(), output_shape.begin(), output_shape.end());
    // One forward gives the loss and the outputs the other metrics read.
    const HostView out{outputs.data(), DType::kF32, out_shape, {}};
    const Evaluation part = trainer.evaluate(features, targets, &out);
    m.loss += trainer.config().reduction == Reduction::kMean ? part.loss * count : part.loss;
    for (int64_t i = 0; i < count; ++i) {
      const float* row = outputs.data() + i * width;
      if (loss == LossKind::kSoftmaxCrossEntropy) {
        const int32_t label = static_cast<const int32_t*>(targets.data)[i];
        const int64_t predicted = std::max_element(row, row + width) - row;
        ++m.confusion[label * width + predicted];
        // The label is in the top k when fewer than k classes score above it.
        int64_t above = 0;
        for (int64_t j = 0; j < width; ++j) above += row[j] > row[label] || (row[j] == row[label] && j < label);
        top_k_hits += above < top_k;
      } else {
        const float* target = static_cast<const float*>(targets.data) + i * width;
        for (int64_t j = 0; j < width; ++j) {
          if (loss == LossKind::kBceWithLogits) ++m.confusion[(target[j] >= 0.5f) * 2 + (row[j] > 0.0f)];
          const double value = loss == LossKind::kBceWithLogits ? 1.0 / (1.0 + std::exp(-double{row[j]})) : row[j];
          const double error = value - target[j];
          squares += error * error;
          absolutes += std::abs(error);
        }
        value_count += width;
      }
    }
    m.samples += count;
  }
  if (trainer.config().reduction == Reduction::kMean) m.loss /= static_cast<double>(m.samples);
  if (m.classes > 0) {
    per_class_scores(&m);
  } else {
    m.accuracy = std::nan("");
  }
  m.top_k_accuracy = loss == LossKind::kSoftmaxCrossEntropy ? static_cast<double>(top_k_hits) / m.samples : std::nan("");
  m.mse = value_count ? squares / value_count : std::nan("");
  m.mae = value_count ? absolutes / value_count : std::nan("");
  return m;
}

}  // namespace tk
