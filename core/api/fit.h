// Fit: epochs of training over a batcher, as an event stream. Each call to
// next() runs one step (or one epoch's end: validation, early stopping,
// checkpoints, reduce-on-plateau) and says what happened, so a host's
// callbacks run on its own thread between steps, and whatever they throw
// leaves the trainer at a step boundary. Resuming a fit from a checkpoint
// (weights, cursor, and the fit's own counters, kept as trainer properties)
// continues as the uninterrupted fit would have.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "core/api/replicated_trainer.h"
#include "core/data/batch_source.h"
#include "core/data/dataset.h"

namespace tk {

// Values mirror tk_monitor and tk_monitor_mode in capi/trainkit.h.
enum class Monitor : int32_t { kValidationLoss = 0, kValidationAccuracy = 1, kTrainLoss = 2 };
enum class MonitorMode : int32_t { kAuto = 0, kMin = 1, kMax = 2 };

// Watches one metric over epochs: an epoch improves on the best when it is
// better by more than min_delta. kAuto: accuracy is maximised, losses minimised.
struct Watch {
  Monitor monitor = Monitor::kValidationLoss;
  MonitorMode mode = MonitorMode::kAuto;
  double min_delta = 0;
  bool maximises() const;
  bool improves(double value, double best) const;
};

struct EarlyStopping {
  bool enabled = false;
  Watch watch;
  int64_t patience = 0;  // epochs without improvement before stopping
};

// Multiplies the learning rate by `factor` after `patience` epochs without
// improvement (Keras ReduceLROnPlateau), never below min_lr, then waits
// `cooldown` epochs before counting again.
struct PlateauRule {
  bool enabled = false;
  Watch watch;
  double factor = 0.1;
  int64_t patience = 0;
  int64_t cooldown = 0;
  double min_lr = 0;
};

struct FitConfig {
  int64_t epochs = 1;  // the epoch to end at (a resumed fit counts from its cursor)
  const Dataset* validation = nullptr;
  int64_t validation_batch = 256;
  EarlyStopping early_stopping;
  PlateauRule plateau;
  // Keep-best: the checkpoint of the best epoch by `best_watch`, and after
  // the fit the trainer holds that epoch's weights.
  std::string best_path;
  Watch best_watch;
  // Keep-last: "<prefix>-<step>.safetensors" after every epoch, the newest `keep_last`.
  std::string last_prefix;
  int keep_last = 0;
  double time_budget_seconds = 0;  // 0: none; checked between steps
  int64_t step_event_every = 1;    // a step event every N steps (0: none)
};

// Each value on its own (what a setter can check before the rest is set)...
void validate_values(const FitConfig& config);
// ...and the whole: also that watched validation metrics have a validation set.
void validate(const FitConfig& config);

enum class FitEventKind : int32_t { kStep = 1, kEpoch = 2 };

struct StepEvent {
  int64_t step = 0;      // optimizer steps so far
  int64_t epoch = 0;     // 0-based
  int64_t epochs = 0;    // the epoch the fit ends at
  int64_t batch = 0;     // 1-based within the epoch
  int64_t batches = 0;   // per epoch
  double loss = 0;
  double learning_rate = 0;
  double loss_scale = 1;
  double samples_per_second = 0;  // over this epoch so far
  bool skipped = false;
};

struct EpochEvent {
  int64_t epoch = 0;  // 0-based
  int64_t step = 0;   // optimizer steps so far
  int64_t epochs = 0;
  double train_loss = 0;  // mean of the epoch's step losses
  // Of the epoch's training forwards (weights changing as they went, as
  // Keras reports it); NaN for losses without accuracy or steps not counted.
  double train_accuracy = 0;
  bool has_validation = false;
  double validation_loss = 0, validation_accuracy = 0;
  double learning_rate = 0;  // the next step's (after the schedule and any reduction)
  double seconds = 0;
  bool improved = false;  // the best so far by the keep-best watch
};

// Values mirror tk_fit_end in capi/trainkit.h.
enum class FitEnd : int32_t {
  kRunning = 0,
  kCompleted = 1,
  kEarlyStopped = 2,
  kStopped = 3,     // a callback asked to stop
  kTimeBudget = 4,
  kCancelled = 5,
};

struct FitReport {
  FitEnd end = FitEnd::kRunning;
  int64_t epochs_completed = 0;  // the epoch the cursor is at
  int64_t steps = 0;             // optimizer steps in this fit
  int64_t best_epoch = -1;       // by the keep-best watch (-1: none yet)
  double best_value = 0;
  double learning_rate = 0;
  double seconds = 0;
};

class FitLoop {
 public:
  // `trainer` and `batcher` are borrowed for the loop's life; `cancel`, when
  // given, may be set from any thread and ends the loop between steps.
  FitLoop(ReplicatedTrainer& trainer, BatchSource& batcher, const FitConfig& config, const std::atomic<bool>* cancel);
  ~FitLoop();
  FitLoop(const FitLoop&) = delete;
  FitLoop& operator=(const FitLoop&) = delete;

  // Runs until the next event; false once the fit has ended (see report()).
  // After an exception the loop is at a step boundary, and next() goes on.
  bool next();
  FitEventKind kind() const { return kind_; }
  const StepEvent& step_event() const { return step_; }
  const EpochEvent& epoch_event() const { return epoch_; }
  // Ends the fit after the event just returned (a callback's stop).
  void stop();
  const FitReport& report() const { return report_; }

 private:
  double elapsed() const;
  void finish(FitEnd end);
  // Ends the fit when it is cancelled (throws kCancelled), complete or out of time.
  bool ends_before_step();
  // The epoch's end: evaluation, watches, checkpoints; fills epoch_.
  void end_epoch();
  double watched(const Watch& watch) const;
  void load_counters();
  void save_counters();

  ReplicatedTrainer& group_;
  Trainer& trainer_;
  BatchSource& batcher_;
  FitConfig config_;
  const std::atomic<bool>* cancel_;
  std::chrono::steady_clock::time_point start_;
  int64_t start_steps_ = 0;

  FitEventKind kind_ = FitEventKind::kStep;
  StepEvent step_;
  EpochEvent epoch_;
  FitReport report_;
  bool epoch_open_ = false;   // a step of the cursor's epoch has run in this loop
  double loss_sum_ = 0;       // this epoch's, in this loop
  int64_t loss_count_ = 0, samples_ = 0;
  int64_t correct_ = 0, judged_ = 0;  // this epoch's training predictions
  bool all_counted_ = true;           // every step of the epoch counted them
  std::chrono::steady_clock::time_point epoch_start_;

  // Kept as trainer properties ("fit.*") so checkpoints resume them.
  double best_ = 0, stop_best_ = 0, plateau_best_ = 0;
  bool has_best_ = false, has_stop_best_ = false, has_plateau_best_ = false;
  int64_t best_epoch_ = -1, stop_wait_ = 0, plateau_wait_ = 0, cooldown_ = 0;
  // The best epoch's state, seen in this loop (a resumed fit reads best_path).
  TrainerSnapshot best_snapshot_;
  bool has_best_snapshot_ = false;
  int64_t best_steps_ = -1;           // optimizer steps at the best epoch's end
  FitEnd pending_end_ = FitEnd::kRunning;  // decided at an epoch's end, before its files
  bool resumed_mid_epoch_ = false;    // loss sums came from a checkpoint
};

}  // namespace tk
