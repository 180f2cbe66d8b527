// A trained model as a folder: spec.json (the model spec), weights.safetensors
// (f32 weights and running statistics) and preprocess.json (the loss, the
// feature scaling and the CSV label column), everything `eval` and `predict`
// need to rebuild it.
#pragma once

#include <string>

#include "cli/data.h"
#include "cli/status.h"

namespace tkcli {

struct ModelInfo {
  tk_loss loss = TK_LOSS_SOFTMAX_CROSS_ENTROPY;
  Scaling scaling;
  std::string label_column;
};

// Makes `dir` and its parents (nothing if it is there).
void make_dir(const std::string& dir);

void save_model_dir(const std::string& dir, const tk_model* model, tk_trainer* trainer, const ModelInfo& info);
// A trainer holding the folder's weights, for evaluation and prediction.
Trainer load_model_dir(const std::string& dir, int threads, ModelInfo* info);

// A model folder and a dataset scaled as its training data was (the label
// column, unless given, as in training): what eval and predict start from.
struct Inference {
  ModelInfo info;
  Trainer trainer;
  Dataset dataset;
};
// `labelled`: the data must have labels (eval); otherwise features suffice (predict).
Inference open_for_inference(const std::string& dir, const DataOptions& data, int threads, bool labelled);

const char* loss_name(tk_loss loss);
tk_loss loss_from_name(const std::string& name);

}  // namespace tkcli
