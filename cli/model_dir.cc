#include "cli/model_dir.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace tkcli {

const char* loss_name(tk_loss loss) {
  switch (loss) {
    case TK_LOSS_SOFTMAX_CROSS_ENTROPY: return "cross-entropy";
    case TK_LOSS_MSE: return "mse";
    case TK_LOSS_BCE_WITH_LOGITS: return "bce";
  }
  return "?";
}

tk_loss loss_from_name(const std::string& name) {
  if (name == "cross-entropy") return TK_LOSS_SOFTMAX_CROSS_ENTROPY;
  if (name == "mse") return TK_LOSS_MSE;
  if (name == "bce") return TK_LOSS_BCE_WITH_LOGITS;
  throw CliError("unknown loss '" + name + "' (cross-entropy, mse or bce)");
}

void make_dir(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) throw CliError("cannot make '" + dir + "': " + error.message());
}

void save_model_dir(const std::string& dir, const tk_model* model, tk_trainer* trainer, const ModelInfo& info) {
  make_dir(dir);
  check(tk_model_save_spec(model, (dir + "/spec.json").c_str()), "saving the model spec");
  check(tk_trainer_export_weights(trainer, (dir + "/weights.safetensors").c_str(), TK_DTYPE_F32), "saving the weights");
  const nlohmann::json preprocess = {
      {"loss", loss_name(info.loss)},
      {"scaling", {{"kind", info.scaling.kind}, {"mean", info.scaling.mean}, {"std", info.scaling.std}}},
      {"label_column", info.label_column}};
  std::ofstream out(dir + "/preprocess.json");
  out << preprocess.dump(1) << "\n";
  if (!out) throw CliError("cannot write '" + dir + "/preprocess.json'");
}

Trainer load_model_dir(const std::string& dir, int threads, ModelInfo* info) {
  std::ifstream in(dir + "/preprocess.json");
  if (!in) throw CliError("'" + dir + "' is no model folder: it has no preprocess.json (made by trainkit train --out)");
  nlohmann::json preprocess;
  try {
    in >> preprocess;
    info->loss = loss_from_name(preprocess.at("loss").get<std::string>());
    const nlohmann::json& s = preprocess.at("scaling");
    info->scaling.kind = s.at("kind").get<std::string>();
    info->scaling.mean = s.at("mean").get<double>();
    info->scaling.std = s.at("std").get<double>();
    info->label_column = preprocess.value("label_column", "");
  } catch (const nlohmann::json::exception& e) {
    throw CliError("'" + dir + "/preprocess.json' is malformed: " + e.what());
  }
  tk_model* raw = nullptr;
  check(tk_model_load_spec((dir + "/spec.json").c_str(), &raw), "reading '" + dir + "/spec.json'");
  Model model(raw);
  tk_trainer_options* options = nullptr;
  check(tk_trainer_options_create(&options), "trainer options");
  TrainerOptions owned(options);
  check(tk_trainer_options_set_threads(options, threads), "--threads");
  tk_trainer* trainer = nullptr;
  check(tk_trainer_create(model.get(), info->loss, options, &trainer), "building the model");
  Trainer owned_trainer(trainer);
  check(tk_trainer_import_weights(trainer, (dir + "/weights.safetensors").c_str()), "loading the weights");
  return owned_trainer;
}

Inference open_for_inference(const std::string& dir, const DataOptions& data, int threads, bool labelled) {
  Inference run;
  run.trainer = load_model_dir(dir, threads, &run.info);
  DataOptions options = data;
  if (options.label_column.empty()) options.label_column = run.info.label_column;
  options.class_labels = run.info.loss == TK_LOSS_SOFTMAX_CROSS_ENTROPY;
  run.dataset = labelled ? load_evaluation_set(options) : load_prediction_set(options);
  apply_scaling(run.dataset.get(), run.info.scaling);
  return run;
}

}  // namespace tkcli
