#include "core/api/fit.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <string>

#include "core/api/checkpoint.h"
#include "core/api/replica_fanout.h"
#include "core/base/error.h"

namespace tk {
namespace {

bool needs_validation(Monitor monitor) { return monitor != Monitor::kTrainLoss; }

// The watch's own values; whether its metric has data is validate()'s to check.
void check_watch(const Watch& w, const char* what) {
  const int monitor = static_cast<int>(w.monitor), mode = static_cast<int>(w.mode);
  if (monitor < 0 || monitor > 2) fail(ErrorCode::kInvalidArgument, what, ": unknown metric ", monitor);
  if (mode < 0 || mode > 2) fail(ErrorCode::kInvalidArgument, what, ": unknown mode ", mode);
  if (!(std::isfinite(w.min_delta) && w.min_delta >= 0))
    fail(ErrorCode::kInvalidArgument, what, ": min_delta must be finite and >= 0, got ", w.min_delta);
}

void require_validation(const Watch& w, const char* what, const FitConfig& config) {
  if (needs_validation(w.monitor) && !config.validation)
    fail(ErrorCode::kInvalidArgument, what, " watches a validation metric, but the fit has no validation dataset");
}

std::string number(double value) {
  char text[40];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

}  // namespace

bool Watch::maximises() const {
  return mode == MonitorMode::kMax || (mode == MonitorMode::kAuto && monitor == Monitor::kValidationAccuracy);
}

bool Watch::improves(double value, double best) const {
  if (std::isnan(value)) return false;
  return maximises() ? value > best + min_delta : value < best - min_delta;
}

void validate_values(const FitConfig& c) {
  if (c.epochs < 1) fail(ErrorCode::kInvalidArgument, "epochs must be >= 1, got ", c.epochs);
  if (c.validation_batch < 1)
    fail(ErrorCode::kInvalidArgument, "the validation batch must be >= 1, got ", c.validation_batch);
  if (c.early_stopping.enabled) {
    check_watch(c.early_stopping.watch, "early stopping");
    if (c.early_stopping.patience < 0)
      fail(ErrorCode::kInvalidArgument, "early stopping: patience must be >= 0, got ", c.early_stopping.patience);
  }
  if (c.plateau.enabled) {
    const PlateauRule& p = c.plateau;
    check_watch(p.watch, "reduce-on-plateau");
    if (!(p.factor > 0 && p.factor < 1))
      fail(ErrorCode::kInvalidArgument, "reduce-on-plateau: the factor must be in (0, 1), got ", p.factor);
    if (p.patience < 0 || p.cooldown < 0)
      fail(ErrorCode::kInvalidArgument, "reduce-on-plateau: patience and cooldown must be >= 0");
    if (!(std::isfinite(p.min_lr) && p.min_lr >= 0))
      fail(ErrorCode::kInvalidArgument, "reduce-on-plateau: min_lr must be finite and >= 0, got ", p.min_lr);
  }
  if (!c.best_path.empty()) check_watch(c.best_watch, "keep-best");
  if (!c.last_prefix.empty() && c.keep_last < 1)
    fail(ErrorCode::kInvalidArgument, "keep-last: keep must be >= 1, got ", c.keep_last);
  if (!(std::isfinite(c.time_budget_seconds) && c.time_budget_seconds >= 0))
    fail(ErrorCode::kInvalidArgument, "the time budget must be finite and >= 0 seconds, got ", c.time_budget_seconds);
  if (c.step_event_every < 0)
    fail(ErrorCode::kInvalidArgument, "step events every N steps needs N >= 0, got ", c.step_event_every);
}

void validate(const FitConfig& c) {
  validate_values(c);
  if (c.validation && !c.validation->has_targets())
    fail(ErrorCode::kInvalidArgument, "the validation set has no targets (a CSV file read without labels)");
  if (c.validation && c.validation->size() == 0) fail(ErrorCode::kInvalidArgument, "the validation dataset is empty");
  if (c.early_stopping.enabled) require_validation(c.early_stopping.watch, "early stopping", c);
  if (c.plateau.enabled) require_validation(c.plateau.watch, "reduce-on-plateau", c);
  if (!c.best_path.empty()) require_validation(c.best_watch, "keep-best", c);
}

FitLoop::FitLoop(ReplicatedTrainer& trainer, BatchSource& batcher, const FitConfig& config,
                 const std::atomic<bool>* cancel)
    : group_(trainer), trainer_(trainer.primary()), batcher_(batcher), config_((validate(config), config)),
      cancel_(cancel), start_(std::chrono::steady_clock::now()) {
  if (!batcher.has_targets())
    fail(ErrorCode::kInvalidArgument, "the batcher's dataset has no targets (a CSV file read without labels): it "
         "can be predicted, not trained on");
  start_steps_ = trainer_.optimizer_steps();
  group_.for_each([](Trainer& t) { t.set_count_correct(true); });
  // A fit from the very start is a new one; elsewhere it resumes the
  // counters a checkpoint (or an earlier fit on this trainer) left.
  const BatcherCursor cursor = batcher_.cursor();
  if (cursor.epoch != 0 || cursor.position != 0) load_counters();
  report_.learning_rate = trainer_.base_learning_rate();
}

FitLoop::~FitLoop() {
  group_.for_each([](Trainer& t) { t.set_count_correct(false); });
}

double FitLoop::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void FitLoop::finish(FitEnd end) {
  report_.end = end;
  // The partial epoch's train-loss sums travel with a checkpoint saved now.
  save_counters();
  // Keep-best: a fit that ends (not cancelled) leaves the trainer as its best
  // epoch left it, whether it completed, stopped early, ran out of time or
  // was stopped by a callback.
  if (end != FitEnd::kCancelled && !config_.best_path.empty() && has_best_ &&
      trainer_.optimizer_steps() != best_steps_) {
    if (has_best_snapshot_)
      group_.for_each([&](Trainer& t) { t.restore(best_snapshot_); });
    else
      load_checkpoint_on_all(group_, config_.best_path, nullptr);
  }
  report_.epochs_completed = batcher_.epoch();
  report_.steps = trainer_.optimizer_steps() - start_steps_;
  report_.best_epoch = best_epoch_;
  report_.best_value = best_;
  report_.seconds = elapsed();
  report_.learning_rate = trainer_.base_learning_rate();
}

void FitLoop::stop() {
  if (report_.end == FitEnd::kRunning) finish(FitEnd::kStopped);
}

bool FitLoop::ends_before_step() {
  if (cancel_ && cancel_->load(std::memory_order_relaxed)) {
    finish(FitEnd::kCancelled);
    fail(ErrorCode::kCancelled, "the fit was cancelled at optimizer step ", trainer_.optimizer_steps(),
         " (epoch ", batcher_.epoch(), "); the trainer is as that step left it");
  }
  if (batcher_.epoch() >= config_.epochs) {
    finish(FitEnd::kCompleted);
    return true;
  }
  if (config_.time_budget_seconds > 0 && elapsed() >= config_.time_budget_seconds) {
    finish(FitEnd::kTimeBudget);
    return true;
  }
  return false;
}

bool FitLoop::next() {
  if (report_.end != FitEnd::kRunning) return false;
  // An epoch's end decided before its files failed to write.
  if (pending_end_ != FitEnd::kRunning) {
    finish(pending_end_);
    return false;
  }
  if (ends_before_step()) return false;
  if (!epoch_open_) {
    epoch_open_ = true;
    // A fit resumed mid-epoch goes on with the sums its checkpoint kept.
    if (!resumed_mid_epoch_) loss_sum_ = 0, loss_count_ = 0, correct_ = 0, judged_ = 0, all_counted_ = true;
    resumed_mid_epoch_ = false;
    samples_ = 0;
    epoch_start_ = std::chrono::steady_clock::now();
  }
  for (;;) {
    HostView features, targets;
    bool has_batch = false;
    try {
      has_batch = batcher_.next(&features, &targets, cancel_);
    } catch (const Error& e) {
      // A cancel while a stream is waiting for its producer.
      if (e.code() == ErrorCode::kCancelled) finish(FitEnd::kCancelled);
      throw;
    }
    if (!has_batch) {
      try {
        end_epoch();
      } catch (const Error& e) {
        // A cancel during validation ends the fit as one between steps does.
        if (e.code() == ErrorCode::kCancelled) finish(FitEnd::kCancelled);
        throw;
      }
      kind_ = FitEventKind::kEpoch;
      return true;
    }
    const StepResult result = group_.step(features, targets);
    loss_sum_ += result.loss;
    ++loss_count_;
    if (result.correct < 0) all_counted_ = false;
    correct_ += std::max<int64_t>(result.correct, 0);
    judged_ += result.judged;
    samples_ += features.shape[0];
    const BatcherCursor cursor = batcher_.cursor();
    step_.step = trainer_.optimizer_steps();
    step_.epoch = cursor.epoch;
    step_.epochs = config_.epochs;
    step_.batches = batcher_.batches_per_epoch();
    // A stream that does not know its length has no last batch to report.
    step_.batch = step_.batches > 0 ? std::min(step_.batches, cursor.batch) : cursor.batch;
    const int64_t every = config_.step_event_every;
    const bool last = step_.batches > 0 && step_.batch == step_.batches;
    if (every > 0 && (step_.batch % every == 0 || last)) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start_).count();
      step_.loss = result.loss;
      step_.learning_rate = result.applied ? result.learning_rate : trainer_.current_learning_rate();
      step_.loss_scale = result.loss_scale;
      step_.samples_per_second = seconds > 0 ? static_cast<double>(samples_) / seconds : 0;
      step_.skipped = result.skipped;
      kind_ = FitEventKind::kStep;
      return true;
    }
    if (ends_before_step()) return false;
  }
}

double FitLoop::watched(const Watch& watch) const {
  switch (watch.monitor) {
    case Monitor::kValidationLoss: return epoch_.validation_loss;
    case Monitor::kValidationAccuracy: return epoch_.validation_accuracy;
    case Monitor::kTrainLoss: return epoch_.train_loss;
  }
  return std::nan("");
}

void FitLoop::end_epoch() {
  epoch_ = EpochEvent{};
  epoch_.epoch = batcher_.epoch();
  epoch_.epochs = config_.epochs;
  epoch_.train_loss = loss_count_ ? loss_sum_ / static_cast<double>(loss_count_) : std::nan("");
  epoch_.train_accuracy =
      all_counted_ && judged_ > 0 ? static_cast<double>(correct_) / static_cast<double>(judged_) : std::nan("");
  if (config_.validation) {
    // A cancel here leaves the epoch open: the next call evaluates again.
    const Evaluation e = trainer_.evaluate(*config_.validation, config_.validation_batch, cancel_);
    epoch_.has_validation = true;
    epoch_.validation_loss = e.loss;
    epoch_.validation_accuracy = e.accuracy;
  }
  epoch_open_ = false;
  const int64_t epoch = epoch_.epoch;

  if (!config_.best_path.empty()) {
    const double value = watched(config_.best_watch);
    if (!std::isnan(value) && (!has_best_ || config_.best_watch.improves(value, best_))) {
      best_ = value;
      has_best_ = true;
      best_epoch_ = epoch;
      epoch_.improved = true;
    }
  }
  bool stop_early = false;
  if (config_.early_stopping.enabled) {
    const EarlyStopping& rule = config_.early_stopping;
    const double value = watched(rule.watch);
    if (!std::isnan(value) && (!has_stop_best_ || rule.watch.improves(value, stop_best_))) {
      stop_best_ = value;
      has_stop_best_ = true;
      stop_wait_ = 0;
    } else {
      ++stop_wait_;
      stop_early = stop_wait_ >= std::max<int64_t>(rule.patience, 1) && epoch > 0;
    }
  }
  if (config_.plateau.enabled) {
    const PlateauRule& rule = config_.plateau;
    const double value = watched(rule.watch);
    // Keras' ReduceLROnPlateau: the cooldown counts down first; an epoch
    // in it resets the wait; a reduction starts it only if the rate fell.
    if (cooldown_ > 0) {
      --cooldown_;
      plateau_wait_ = 0;
    }
    if (!std::isnan(value) && (!has_plateau_best_ || rule.watch.improves(value, plateau_best_))) {
      plateau_best_ = value;
      has_plateau_best_ = true;
      plateau_wait_ = 0;
    } else if (cooldown_ == 0 && ++plateau_wait_ >= std::max<int64_t>(rule.patience, 1)) {
      const double rate = trainer_.base_learning_rate();
      if (rate > rule.min_lr) {
        const double reduced = std::max(rate * rule.factor, rule.min_lr);
        group_.for_each([&](Trainer& t) { t.set_learning_rate(reduced); });
        cooldown_ = rule.cooldown;
        plateau_wait_ = 0;
      }
    }
  }
  epoch_.learning_rate = trainer_.current_learning_rate();  // the next step's, after the schedule
  epoch_.step = trainer_.optimizer_steps();

  // The cursor moves to the next epoch before anything is saved, so a
  // checkpoint of this epoch resumes with the next one.
  batcher_.reset(epoch + 1);
  loss_sum_ = 0;
  loss_count_ = 0;
  correct_ = judged_ = 0;
  all_counted_ = true;
  // Decided before any file is written: if a write fails, the next call
  // still ends the fit as decided.
  pending_end_ = stop_early ? FitEnd::kEarlyStopped
                 : batcher_.epoch() >= config_.epochs ? FitEnd::kCompleted
                                                      : FitEnd::kRunning;
  save_counters();
  Communicator* world = trainer_.communicator();
  const bool writes_files = !world || world->rank() == 0;
  if (epoch_.improved) {
    best_steps_ = trainer_.optimizer_steps();
    save_counters();  // the snapshot and the file carry the counters as of this epoch
    best_snapshot_ = trainer_.snapshot();
    has_best_snapshot_ = true;
    if (writes_files) save_checkpoint(trainer_, config_.best_path, &batcher_);
  }
  if (!config_.last_prefix.empty() && writes_files)
    save_checkpoint_keep_last(trainer_, config_.last_prefix, config_.keep_last, &batcher_);
  epoch_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start_).count();
  if (pending_end_ != FitEnd::kRunning) {
    const FitEnd end = pending_end_;
    pending_end_ = FitEnd::kRunning;
    finish(end);
  }
}

// The fit's counters, kept as trainer properties so a checkpoint resumes them.
void FitLoop::save_counters() {
  std::map<std::string, std::string>& p = trainer_.properties();
  p["fit.best"] = has_best_ ? number(best_) : "";
  p["fit.best_epoch"] = std::to_string(best_epoch_);
  p["fit.best_steps"] = std::to_string(best_steps_);
  p["fit.stop_best"] = has_stop_best_ ? number(stop_best_) : "";
  p["fit.stop_wait"] = std::to_string(stop_wait_);
  p["fit.plateau_best"] = has_plateau_best_ ? number(plateau_best_) : "";
  p["fit.plateau_wait"] = std::to_string(plateau_wait_);
  p["fit.cooldown"] = std::to_string(cooldown_);
  p["fit.loss_sum"] = number(loss_sum_);
  p["fit.loss_count"] = std::to_string(loss_count_);
  p["fit.correct"] = all_counted_ ? std::to_string(correct_) : "";
  p["fit.judged"] = std::to_string(judged_);
}

void FitLoop::load_counters() {
  const std::map<std::string, std::string>& p = trainer_.properties();
  auto read = [&](const char* key, double* value, bool* present) {
    auto it = p.find(key);
    *present = it != p.end() && !it->second.empty();
    if (*present) *value = std::strtod(it->second.c_str(), nullptr);
  };
  auto read_count = [&](const char* key, int64_t* value) {
    auto it = p.find(key);
    if (it != p.end() && !it->second.empty()) *value = std::strtoll(it->second.c_str(), nullptr, 10);
  };
  if (!config_.best_path.empty()) {
    read("fit.best", &best_, &has_best_);
    read_count("fit.best_epoch", &best_epoch_);
    read_count("fit.best_steps", &best_steps_);
  }
  read("fit.stop_best", &stop_best_, &has_stop_best_);
  read("fit.plateau_best", &plateau_best_, &has_plateau_best_);
  read_count("fit.stop_wait", &stop_wait_);
  read_count("fit.plateau_wait", &plateau_wait_);
  read_count("fit.cooldown", &cooldown_);
  bool has_sum = false;
  read("fit.loss_sum", &loss_sum_, &has_sum);
  read_count("fit.loss_count", &loss_count_);
  // Checkpoints written before training accuracy was counted have none.
  auto correct = p.find("fit.correct");
  all_counted_ = correct != p.end() && !correct->second.empty();
  read_count("fit.correct", &correct_);
  read_count("fit.judged", &judged_);
  resumed_mid_epoch_ = has_sum && batcher_.cursor().position > 0;
}

}  // namespace tk
