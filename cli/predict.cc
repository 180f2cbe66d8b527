// trainkit predict: a trained model folder's outputs for every sample of a
// dataset, as CSV: the predicted class and each class's probability (or the
// output values of a regression model).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "cli/commands.h"
#include "cli/model_dir.h"

namespace tkcli {

int predict(const PredictOptions& o) {
  Inference run = open_for_inference(o.model, o.data, o.threads, false);
  const ModelInfo& info = run.info;
  Trainer& trainer = run.trainer;
  Dataset& dataset = run.dataset;
  tk_batcher* raw = nullptr;
  check(tk_batcher_create(dataset.get(), o.batch, 0, 0, 0, &raw), "batches");
  Batcher batcher(raw);

  // Written aside and renamed: a failure leaves no half-written file.
  const std::string partial = o.out + ".partial";
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(partial.c_str(), "w"), &std::fclose);
  if (!file) throw CliError("cannot write '" + partial + "': " + std::strerror(errno));
  struct Remove {
    const std::string& path;
    bool keep = false;
    ~Remove() { if (!keep) std::remove(path.c_str()); }
  } cleanup{partial};
  FILE* out = file.get();
  // Softmax models get a predicted class; BCE models probabilities; MSE models values.
  const bool classes = info.loss == TK_LOSS_SOFTMAX_CROSS_ENTROPY;
  const int32_t probabilities = info.loss != TK_LOSS_MSE;
  int64_t width = -1, rows = 0;
  std::vector<float> outputs;
  for (;;) {
    tk_tensor_view features, targets;
    int32_t has = 0;
    check(tk_batcher_next(raw, &features, &targets, &has), "batches");
    if (!has) break;
    const int64_t count = features.shape[0];
    if (width < 0) {
      int32_t rank = 0;
      int64_t shape[TK_MAX_RANK];
      check(tk_trainer_output_shape(trainer.get(), &rank, shape), "output shape");
      width = 1;
      for (int32_t d = 0; d < rank; ++d) width *= shape[d];
      std::fprintf(out, "%s", classes ? "predicted" : "");
      for (int64_t c = 0; c < width; ++c)
        std::fprintf(out, "%s%s%lld", c || classes ? "," : "", probabilities ? "p" : "y", static_cast<long long>(c));
      std::fprintf(out, "\n");
    }
    outputs.resize(static_cast<size_t>(count * width));
    int64_t shape[2] = {count, width};
    tk_tensor_view view = tk_view_f32(outputs.data(), 2, shape);
    check(tk_trainer_predict(trainer.get(), &features, probabilities, &view), "prediction");
    for (int64_t i = 0; i < count; ++i) {
      const float* row = outputs.data() + i * width;
      if (classes) {
        int64_t best = 0;
        for (int64_t c = 1; c < width; ++c)
          if (row[c] > row[best]) best = c;
        std::fprintf(out, "%lld", static_cast<long long>(best));
      }
      for (int64_t c = 0; c < width; ++c) std::fprintf(out, "%s%.6g", c || classes ? "," : "", row[c]);
      std::fprintf(out, "\n");
    }
    rows += count;
  }
  if (std::fclose(file.release()) != 0) throw CliError("cannot write '" + partial + "' (disk full?)");
  if (std::rename(partial.c_str(), o.out.c_str()) != 0)
    throw CliError("cannot rename '" + partial + "' to '" + o.out + "': " + std::strerror(errno));
  cleanup.keep = true;
  std::printf("wrote %lld predictions to %s\n", static_cast<long long>(rows), o.out.c_str());
  return 0;
}

}  // namespace tkcli
