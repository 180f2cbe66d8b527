// trainkit train: fit a model spec on an IDX folder or a CSV file, with a
// live progress bar, a JSONL metrics log, checkpoints, a plot, and the
// trained model folder for eval and predict.
#include <cmath>
#include <cstdint>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/commands.h"
#include "cli/metrics_log.h"
#include "cli/model_dir.h"
#include "cli/plot.h"
#include "cli/progress.h"

namespace tkcli {
namespace {

volatile std::sig_atomic_t interrupted = 0;
// The first Ctrl-C stops after the current step; a second one kills.
void on_interrupt(int) {
  interrupted = 1;
  std::signal(SIGINT, SIG_DFL);
}

struct FitState {
  Progress* progress;
  MetricsLog* log;
};

// Runs between steps on the training thread: draws, logs, and stops cleanly
// on Ctrl-C (the model and plot are still written).
int32_t on_event(const tk_fit_event* event, void* user_data) {
  FitState* state = static_cast<FitState*>(user_data);
  try {
    if (event->kind == TK_FIT_EVENT_STEP) {
      state->progress->step(*event);
    } else {
      state->progress->epoch(*event);
      state->log->add(*event);
    }
  } catch (const CliError& e) {
    state->progress->clear();
    std::fprintf(stderr, "trainkit: %s\n", e.what());
    return TK_CALLBACK_ABORT;
  }
  return interrupted ? TK_CALLBACK_STOP : TK_CALLBACK_CONTINUE;
}

tk_optimizer optimizer_from(const std::string& name) {
  if (name == "sgd") return TK_OPTIMIZER_SGD;
  if (name == "adam") return TK_OPTIMIZER_ADAM;
  if (name == "adamw") return TK_OPTIMIZER_ADAMW;
  throw CliError("unknown optimizer '" + name + "' (sgd, adam or adamw)");
}

tk_precision precision_from(const std::string& name) {
  if (name == "fp32") return TK_PRECISION_FP32;
  if (name == "fp16") return TK_PRECISION_FP16;
  if (name == "bf16") return TK_PRECISION_BF16;
  throw CliError("unknown precision '" + name + "' (fp32, fp16 or bf16)");
}

const char* end_text(int32_t end) {
  switch (end) {
    case TK_FIT_COMPLETED: return "completed";
    case TK_FIT_EARLY_STOPPED: return "stopped early (no improvement)";
    case TK_FIT_STOPPED: return "stopped (interrupted)";
    case TK_FIT_TIME_BUDGET: return "stopped (time budget)";
  }
  return "ended";
}

}  // namespace

int train(const TrainOptions& o) {
  if (o.epochs < 1 || o.batch < 1) throw CliError("--epochs and --batch must be >= 1");
  ModelInfo info;
  info.loss = loss_from_name(o.loss);
  info.scaling.kind = o.scaling;
  info.label_column = o.data.label_column;
  if (o.scaling != "mean-std" && o.scaling != "unit-range" && o.scaling != "none")
    throw CliError("unknown scaling '" + o.scaling + "' (mean-std, unit-range or none)");

  DataOptions data_options = o.data;
  data_options.class_labels = info.loss == TK_LOSS_SOFTMAX_CROSS_ENTROPY;
  Splits data = load_splits(data_options);
  Dataset test = std::move(data.test);
  Dataset validation;
  if (!o.validation.empty()) validation = load_csv_file(o.validation, data_options);
  const double split = o.validation_split >= 0 ? o.validation_split : (o.validation.empty() && test ? 0.1 : 0.0);
  if (split > 0 && validation) throw CliError("give --validation or --validation-split, not both");
  if (split >= 1) throw CliError("--validation-split must be below 1");
  if (split > 0) {
    // The training set's last fraction, as Keras' validation_split takes it.
    int64_t size = 0;
    check(tk_dataset_size(data.train.get(), &size), "dataset size");
    const int64_t held_out = static_cast<int64_t>(std::llround(static_cast<double>(size) * split));
    tk_dataset *kept = nullptr, *rest = nullptr;
    check(tk_dataset_split(data.train.get(), size - held_out, &kept, &rest), "--validation-split");
    data.train.reset(kept);
    validation.reset(rest);
  }
  fit_scaling(data.train.get(), &info.scaling);
  apply_scaling(data.train.get(), info.scaling);
  if (validation) apply_scaling(validation.get(), info.scaling);
  if (test) apply_scaling(test.get(), info.scaling);
  int64_t train_size = 0, validation_size = 0;
  check(tk_dataset_size(data.train.get(), &train_size), "dataset size");
  if (validation) check(tk_dataset_size(validation.get(), &validation_size), "dataset size");

  tk_model* raw_model = nullptr;
  check(tk_model_load_spec(o.spec.c_str(), &raw_model), "reading the model spec '" + o.spec + "'");
  Model model(raw_model);
  tk_trainer_options* raw_options = nullptr;
  check(tk_trainer_options_create(&raw_options), "trainer options");
  TrainerOptions options(raw_options);
  check(tk_trainer_options_set_optimizer(raw_options, optimizer_from(o.optimizer)), "--optimizer");
  check(tk_trainer_options_set_learning_rate(raw_options, o.learning_rate), "--lr");
  if (o.weight_decay > 0) check(tk_trainer_options_set_weight_decay(raw_options, o.weight_decay), "--weight-decay");
  check(tk_trainer_options_set_precision(raw_options, precision_from(o.precision)), "--precision");
  check(tk_trainer_options_set_seed(raw_options, o.seed), "--seed");
  check(tk_trainer_options_set_threads(raw_options, o.threads), "--threads");
  const int64_t steps_per_epoch = (train_size + o.batch - 1) / o.batch;
  if (o.cosine)
    check(tk_trainer_options_set_schedule(raw_options, TK_SCHEDULE_COSINE, 0, 1, 0.1, o.epochs * steps_per_epoch, 0.0),
          "--cosine");
  tk_trainer* raw_trainer = nullptr;
  check(tk_trainer_create(model.get(), info.loss, raw_options, &raw_trainer), "building the trainer");
  Trainer trainer(raw_trainer);
  tk_batcher* raw_batcher = nullptr;
  check(tk_batcher_create(data.train.get(), o.batch, 1, o.seed, 0, &raw_batcher), "batches");
  Batcher batcher(raw_batcher);

  make_dir(o.out);
  const std::string log_path = o.out + "/metrics.jsonl", plot_path = o.out + "/curves.png";
  const std::string best_path = o.out + "/best.safetensors", model_path = o.out + "/model";
  tk_fit_options* raw_fit = nullptr;
  check(tk_fit_options_create(&raw_fit), "fit options");
  FitOptions fit(raw_fit);
  check(tk_fit_options_set_epochs(raw_fit, o.epochs), "--epochs");
  if (validation) {
    check(tk_fit_options_set_validation(raw_fit, validation.get(), 512), "validation");
    if (o.keep_best != "none")
      check(tk_fit_options_set_keep_best(raw_fit, best_path.c_str(),
                                         o.keep_best == "val_accuracy" ? TK_MONITOR_VAL_ACCURACY : TK_MONITOR_VAL_LOSS,
                                         TK_MODE_AUTO),
            "--keep-best");
    if (o.patience > 0)
      check(tk_fit_options_set_early_stopping(raw_fit, TK_MONITOR_VAL_LOSS, TK_MODE_AUTO, o.patience, 0.0), "--patience");
    if (o.reduce_on_plateau)
      check(tk_fit_options_set_reduce_on_plateau(raw_fit, TK_MONITOR_VAL_LOSS, TK_MODE_AUTO, 0.5, 2, 0, 1e-6),
            "--reduce-on-plateau");
  } else if (o.patience > 0 || o.reduce_on_plateau) {
    throw CliError("--patience and --reduce-on-plateau watch the validation loss: give --validation FILE.csv or --validation-split");
  }
  check(tk_fit_options_set_keep_last(raw_fit, (o.out + "/checkpoint").c_str(), 2), "keep-last");
  if (o.time_budget > 0) check(tk_fit_options_set_time_budget(raw_fit, o.time_budget), "--time-budget");
  Progress progress(stdout);
  MetricsLog log(log_path);
  FitState state{&progress, &log};
  check(tk_fit_options_set_callback(raw_fit, on_event, &state), "callback");

  char device[128] = "";
  check(tk_trainer_device_name(raw_trainer, device, sizeof device), "device");
  int64_t parameters = 0;
  check(tk_trainer_num_parameters(raw_trainer, &parameters), "parameters");
  std::printf("trainkit %s: %s, %lld parameters, %s, %lld training samples", tk_version(), o.spec.c_str(),
              static_cast<long long>(parameters), device, static_cast<long long>(train_size));
  if (validation) std::printf(", %lld validation samples", static_cast<long long>(validation_size));
  if (test) std::printf(", %s test files", o.data.path.c_str());
  std::printf("\n");
  std::fflush(stdout);

  std::signal(SIGINT, on_interrupt);
  tk_fit_report report;
  std::memset(&report, 0, sizeof report);
  report.struct_size = sizeof report;
  const tk_status status = tk_trainer_fit(raw_trainer, raw_batcher, raw_fit, &report);
  std::signal(SIGINT, SIG_DFL);
  progress.clear();
  check(status, "training");

  std::printf("training %s after %lld epochs, %lld steps, %.1f s\n", end_text(report.end),
              static_cast<long long>(report.epochs_completed), static_cast<long long>(report.steps), report.seconds);
  if (report.best_epoch >= 0)
    std::printf("kept the best epoch: %lld (%s %.4f)\n", static_cast<long long>(report.best_epoch + 1),
                o.keep_best.c_str(), report.best_value);
  save_model_dir(model_path, model.get(), raw_trainer, info);
  // The test files were not seen in training, nor used to pick the epoch.
  tk_dataset* judged = test ? test.get() : validation.get();
  if (judged) {
    double loss = 0, accuracy = 0;
    check(tk_trainer_evaluate_dataset(raw_trainer, judged, 512, &loss, &accuracy), "evaluation");
    const char* name = test ? "test" : "validation";
    std::printf("%s loss: %.4f\n", name, loss);
    if (!std::isnan(accuracy)) std::printf("%s accuracy: %.4f\n", name, accuracy);
  }
  std::printf("model: %s  metrics: %s\n", model_path.c_str(), log_path.c_str());
  if (o.plot && !log.records().empty()) {
    // The model is saved: a plot that cannot be drawn is a warning, not a failed run.
    try {
      plot_curves(log.records(), "trainkit: " + o.spec.substr(o.spec.find_last_of('/') + 1), plot_path);
      std::printf("plot: %s\n", plot_path.c_str());
    } catch (const CliError& e) {
      std::fflush(stdout);
      std::fprintf(stderr, "trainkit: warning: %s\n", e.what());
    }
  }
  return interrupted ? 130 : 0;  // 128 + SIGINT, as shells report an interrupted command
}

}  // namespace tkcli
