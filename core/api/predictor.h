// Predictor: inference alone, for serving. It holds the weights and the
// non-trainable state once, in f32 on the CPU, and no gradients or optimizer
// moments; each call takes a forward-only plan (activations planned without
// gradients) from a pool, so any number of threads may predict at once and
// each gets the same results it would get alone. As the weights never
// change, kernels may keep them prepared (a Linear's packed for oneDNN),
// once for every plan of the pool.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "core/api/trainer.h"

namespace tk {

class Predictor {
 public:
  // The trainer's weights and state as they are now (later steps do not
  // change the predictor). `threads` per call (0: all cores).
  Predictor(const Trainer& trainer, int threads);
  ~Predictor();

  // Safe to call from several threads at once; same checks as Trainer::predict.
  void predict(const InputViews& inputs, bool probabilities, const HostView& out);
  // As Trainer::predict_outputs.
  void predict_outputs(const InputViews& inputs, bool probabilities, const std::vector<HostView>& outs);
  const Shape& output_shape() const { return output_shape_; }
  const Graph& graph() const { return graph_; }
  // Bytes held: weights and state, their prepared copies, and the
  // activation arenas made so far.
  size_t bytes() const;
  // Of those, the prepared copies of the weights.
  size_t prepared_bytes() const { return constants_.bytes(); }

 private:
  struct Context {
    std::unique_ptr<Backend> backend;
    std::unique_ptr<Plan> plan;
  };
  std::unique_ptr<Context> take();
  void give_back(std::unique_ptr<Context> context);

  Graph graph_;
  LossKind loss_;
  Reduction reduction_;
  int threads_;
  Shape output_shape_;
  std::unique_ptr<Backend> backend_;  // owns the weights' memory
  Tensor params_, state_;
  bool has_state_ = false;
  ConstantCache constants_;  // outlives the plans that point into it
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Context>> idle_;
  size_t arena_bytes_ = 0;  // of every context made
};

}  // namespace tk
