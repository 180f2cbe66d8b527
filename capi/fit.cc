// tk_fit_*, tk_trainer_fit, cancel and the learning rate of a running trainer.
#include <cmath>
#include <cstring>

#include "capi/handles.h"

using tk::capi::enum_value;
using tk::capi::guarded;
using tk::capi::require;
using tk::capi::write_sized;

namespace {

// Takes the enums as the ints enum_value read: a host may pass any int.
tk::Watch watch_of(int32_t m, int32_t d, double min_delta) {
  if (m < TK_MONITOR_VAL_LOSS || m > TK_MONITOR_TRAIN_LOSS) tk::fail(tk::ErrorCode::kInvalidArgument, "unknown monitor ", m);
  if (d < TK_MODE_AUTO || d > TK_MODE_MAX) tk::fail(tk::ErrorCode::kInvalidArgument, "unknown monitor mode ", d);
  tk::Watch watch;
  watch.monitor = static_cast<tk::Monitor>(m);
  watch.mode = static_cast<tk::MonitorMode>(d);
  watch.min_delta = min_delta;
  return watch;
}

template <typename Struct>
void require_struct_size(const Struct* s, const char* name) {
  if (s->struct_size < sizeof(uint32_t) + sizeof(int32_t))
    tk::fail(tk::ErrorCode::kInvalidArgument, "set ", name, "->struct_size to sizeof its type (got ", s->struct_size, ")");
}

// Applies `change` to a copy of the options' settings and keeps it if each
// value holds (tk::validate_values); cross-checks, such as a validation set
// for a validation metric, wait for the fit, whatever order setters come in.
template <typename Change>
void update(tk_fit_options* options, const Change& change) {
  tk::FitConfig config = options->config;
  change(config);
  tk::validate_values(config);
  options->config = std::move(config);
}

tk_fit_event event_of(const tk::FitLoop& loop) {
  tk_fit_event e;
  std::memset(&e, 0, sizeof e);
  e.struct_size = sizeof e;
  e.kind = static_cast<int32_t>(loop.kind());
  if (loop.kind() == tk::FitEventKind::kStep) {
    const tk::StepEvent& s = loop.step_event();
    e.step = s.step;
    e.epoch = s.epoch;
    e.epochs = s.epochs;
    e.batch = s.batch;
    e.batches = s.batches;
    e.loss = s.loss;
    e.learning_rate = s.learning_rate;
    e.loss_scale = s.loss_scale;
    e.samples_per_second = s.samples_per_second;
    e.skipped = s.skipped;
  } else {
    const tk::EpochEvent& s = loop.epoch_event();
    e.step = s.step;
    e.epoch = s.epoch;
    e.epochs = s.epochs;
    e.train_loss = s.train_loss;
    e.has_validation = s.has_validation;
    e.validation_loss = s.has_validation ? s.validation_loss : std::nan("");
    e.validation_accuracy = s.has_validation ? s.validation_accuracy : std::nan("");
    e.learning_rate = s.learning_rate;
    e.seconds = s.seconds;
    e.improved = s.improved;
    e.train_accuracy = s.train_accuracy;
  }
  return e;
}

tk_fit_report report_of(const tk::FitReport& r) {
  tk_fit_report out;
  std::memset(&out, 0, sizeof out);
  out.struct_size = sizeof out;
  out.end = static_cast<int32_t>(r.end);
  out.epochs_completed = r.epochs_completed;
  out.steps = r.steps;
  out.best_epoch = r.best_epoch;
  out.best_value = r.best_epoch >= 0 ? r.best_value : std::nan("");
  out.learning_rate = r.learning_rate;
  out.seconds = r.seconds;
  return out;
}

bool next_event(tk_fit* fit) {
  bool has_event = false;
  tk::capi::cancellable(fit->trainer, [&] { has_event = fit->loop->next(); });
  return has_event;
}

std::unique_ptr<tk::FitLoop> make_loop(tk_trainer* trainer, tk_batcher* batcher, const tk_fit_options* options) {
  static const tk_fit_options defaults;
  const tk_fit_options& o = options ? *options : defaults;
  return std::make_unique<tk::FitLoop>(*trainer->group, *batcher->source, o.config, &trainer->cancel);
}

}  // namespace

extern "C" {

TK_API tk_status tk_trainer_set_learning_rate(tk_trainer* trainer, double learning_rate) {
  return guarded([&] {
    require(trainer, "trainer");
    // Trainer::set_learning_rate refuses a bad rate before it changes anything.
    trainer->group->for_each([&](tk::Trainer& t) { t.set_learning_rate(learning_rate); });
  });
}

TK_API tk_status tk_trainer_output_shape(const tk_trainer* trainer, int32_t* out_rank, int64_t* out_shape) {
  return guarded([&] {
    require(trainer, "trainer");
    require(out_rank, "out_rank");
    require(out_shape, "out_shape");
    tk::capi::write_shape(trainer->trainer->plan().output_shape(), out_rank, out_shape);
  });
}

TK_API tk_status tk_trainer_cancel(tk_trainer* trainer) {
  return guarded([&] {
    require(trainer, "trainer");
    trainer->cancel.store(true);
  });
}

TK_API tk_status tk_trainer_clear_cancel(tk_trainer* trainer) {
  return guarded([&] {
    require(trainer, "trainer");
    trainer->cancel.store(false);
  });
}

TK_API tk_status tk_fit_options_create(tk_fit_options** out_options) {
  return guarded([&] {
    require(out_options, "out_options");
    *out_options = new tk_fit_options();
  });
}

TK_API void tk_fit_options_destroy(tk_fit_options* options) { delete options; }

TK_API tk_status tk_fit_options_set_epochs(tk_fit_options* options, int64_t epochs) {
  return guarded([&] {
    require(options, "options");
    update(options, [&](tk::FitConfig& c) { c.epochs = epochs; });
  });
}

TK_API tk_status tk_fit_options_set_validation(tk_fit_options* options, const tk_dataset* dataset,
                                               int64_t batch_size) {
  return guarded([&] {
    require(options, "options");
    std::shared_ptr<const tk::Dataset> validation = dataset ? dataset->dataset : nullptr;
    update(options, [&](tk::FitConfig& c) {
      c.validation = validation.get();
      c.validation_batch = batch_size;
    });
    options->validation = std::move(validation);
  });
}

TK_API tk_status tk_fit_options_set_early_stopping(tk_fit_options* options, tk_monitor monitor,
                                                   tk_monitor_mode mode, int64_t patience, double min_delta) {
  return guarded([&] {
    require(options, "options");
    const tk::Watch watch = watch_of(enum_value(monitor), enum_value(mode), min_delta);
    update(options, [&](tk::FitConfig& c) {
      c.early_stopping.enabled = true;
      c.early_stopping.watch = watch;
      c.early_stopping.patience = patience;
    });
  });
}

TK_API tk_status tk_fit_options_set_reduce_on_plateau(tk_fit_options* options, tk_monitor monitor,
                                                      tk_monitor_mode mode, double factor, int64_t patience,
                                                      int64_t cooldown, double min_lr) {
  return guarded([&] {
    require(options, "options");
    const tk::Watch watch = watch_of(enum_value(monitor), enum_value(mode), 0.0);
    update(options, [&](tk::FitConfig& c) {
      c.plateau.enabled = true;
      c.plateau.watch = watch;
      c.plateau.factor = factor;
      c.plateau.patience = patience;
      c.plateau.cooldown = cooldown;
      c.plateau.min_lr = min_lr;
    });
  });
}

TK_API tk_status tk_fit_options_set_keep_best(tk_fit_options* options, const char* path, tk_monitor monitor,
                                              tk_monitor_mode mode) {
  return guarded([&] {
    require(options, "options");
    const tk::Watch watch = watch_of(enum_value(monitor), enum_value(mode), 0.0);
    update(options, [&](tk::FitConfig& c) {
      c.best_path = path ? path : "";
      c.best_watch = watch;
    });
  });
}

TK_API tk_status tk_fit_options_set_keep_last(tk_fit_options* options, const char* prefix, int32_t keep) {
  return guarded([&] {
    require(options, "options");
    update(options, [&](tk::FitConfig& c) {
      c.last_prefix = prefix ? prefix : "";
      c.keep_last = keep;
    });
  });
}

TK_API tk_status tk_fit_options_set_time_budget(tk_fit_options* options, double seconds) {
  return guarded([&] {
    require(options, "options");
    update(options, [&](tk::FitConfig& c) { c.time_budget_seconds = seconds; });
  });
}

TK_API tk_status tk_fit_options_set_step_events(tk_fit_options* options, int64_t every) {
  return guarded([&] {
    require(options, "options");
    update(options, [&](tk::FitConfig& c) { c.step_event_every = every; });
  });
}

TK_API tk_status tk_fit_options_set_callback(tk_fit_options* options, tk_fit_callback callback, void* user_data) {
  return guarded([&] {
    require(options, "options");
    options->callback = callback;
    options->user_data = user_data;
  });
}

TK_API tk_status tk_trainer_fit(tk_trainer* trainer, tk_batcher* batcher, const tk_fit_options* options,
                                tk_fit_report* out_report) {
  return guarded([&] {
    require(trainer, "trainer");
    require(batcher, "batcher");
    if (out_report) require_struct_size(out_report, "out_report");
    tk_fit fit;
    fit.trainer = trainer;
    fit.loop = make_loop(trainer, batcher, options);
    while (next_event(&fit)) {
      if (!options || !options->callback) continue;
      const tk_fit_event event = event_of(*fit.loop);
      const int32_t answer = options->callback(&event, options->user_data);
      if (answer == TK_CALLBACK_STOP) {
        fit.loop->stop();
      } else if (answer == TK_CALLBACK_ABORT) {
        fit.loop->stop();
        tk::fail(tk::ErrorCode::kCallback, "the fit callback returned TK_CALLBACK_ABORT at optimizer step ",
                 event.step, " (epoch ", event.epoch, ")");
      } else if (answer != TK_CALLBACK_CONTINUE) {
        fit.loop->stop();
        tk::fail(tk::ErrorCode::kCallback, "the fit callback returned ", answer,
                 ", not TK_CALLBACK_CONTINUE, TK_CALLBACK_STOP or TK_CALLBACK_ABORT");
      }
    }
    if (out_report) write_sized(report_of(fit.loop->report()), out_report);
  });
}

TK_API tk_status tk_fit_begin(tk_trainer* trainer, tk_batcher* batcher, const tk_fit_options* options,
                              tk_fit** out_fit) {
  return guarded([&] {
    require(trainer, "trainer");
    require(batcher, "batcher");
    require(out_fit, "out_fit");
    auto fit = std::make_unique<tk_fit>();
    fit->trainer = trainer;
    if (options) fit->validation = options->validation;
    fit->loop = make_loop(trainer, batcher, options);
    *out_fit = fit.release();
  });
}

TK_API tk_status tk_fit_next(tk_fit* fit, tk_fit_event* out_event, int32_t* out_has_event) {
  return guarded([&] {
    require(fit, "fit");
    require(out_has_event, "out_has_event");
    if (out_event) require_struct_size(out_event, "out_event");
    const bool has_event = next_event(fit);
    if (has_event && out_event) write_sized(event_of(*fit->loop), out_event);
    *out_has_event = has_event;
  });
}

TK_API tk_status tk_fit_stop(tk_fit* fit) {
  return guarded([&] {
    require(fit, "fit");
    fit->loop->stop();
  });
}

TK_API tk_status tk_fit_get_report(const tk_fit* fit, tk_fit_report* out_report) {
  return guarded([&] {
    require(fit, "fit");
    require(out_report, "out_report");
    require_struct_size(out_report, "out_report");
    write_sized(report_of(fit->loop->report()), out_report);
  });
}

TK_API void tk_fit_destroy(tk_fit* fit) { delete fit; }

}  // extern "C"
