/*
 * fit_test.c - the training loop from C: fit's events in order, stop and
 * abort from a callback, cancel from another thread (fit and evaluation),
 * early stopping on a validation curve made to rise, keep-best, reduce on
 * plateau, the time budget, resume mid-fit against an uninterrupted fit,
 * the learning rate of a running trainer, freezing and parameter groups,
 * metrics, and CSV files good and bad.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capi/trainkit.h"
#include "tests/capi/expect.h"
#include "tests/capi/small_mlp.h"

#define INVALID_ARG TK_ERROR_INVALID_ARGUMENT

enum { FEATURES = 4, CLASSES = 3, SAMPLES = 40, BATCH = 8, STEPS_PER_EPOCH = SAMPLES / BATCH };

static float features[SAMPLES * FEATURES];
static int32_t labels[SAMPLES], shifted_labels[SAMPLES];

/* Labels from a fixed linear rule; the shifted labels disagree with it everywhere,
 * so the better a model fits one set, the worse it does on the other. */
static void make_data(void) {
  uint32_t state = 12345;
  int i, f, c;
  for (i = 0; i < SAMPLES * FEATURES; ++i) {
    state = state * 1664525u + 1013904223u;
    features[i] = (float)((state >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
  for (i = 0; i < SAMPLES; ++i) {
    float best = -1e9f;
    for (c = 0; c < CLASSES; ++c) {
      float score = 0;
      for (f = 0; f < FEATURES; ++f) score += features[i * FEATURES + f] * (float)((c + 1) * (f % 2 ? 1 : -1) + f - c);
      if (score > best) {
        best = score;
        labels[i] = c;
      }
    }
    shifted_labels[i] = (labels[i] + 1) % CLASSES;
  }
}

static tk_dataset* dataset_of(const int32_t* targets) {
  int64_t fshape[2] = {SAMPLES, FEATURES}, tshape[1] = {SAMPLES};
  tk_tensor_view f = tk_view_f32(features, 2, fshape), t = tk_view_i32((int32_t*)targets, 1, tshape);
  tk_dataset* d = NULL;
  if (tk_dataset_create(&f, &t, &d) != TK_OK) fprintf(stderr, "dataset: %s\n", tk_last_error_message());
  return d;
}

static tk_trainer* make_trainer_with(double lr, int32_t replicas) {
  return small_mlp(FEATURES, CLASSES, lr, 7, replicas);
}

static tk_trainer* make_trainer(double lr) { return make_trainer_with(lr, 1); }

static tk_batcher* make_batcher(tk_dataset* d) {
  tk_batcher* b = NULL;
  tk_batcher_create(d, BATCH, 1, 3, 0, &b);
  return b;
}

static void copy_params(tk_trainer* t, float* out, int64_t count) {
  if (tk_trainer_copy_parameters(t, out, count) != TK_OK) fprintf(stderr, "params: %s\n", tk_last_error_message());
}

/* ---- A recording callback -------------------------------------------------- */

#define MAX_EVENTS 256
typedef struct {
  tk_fit_event events[MAX_EVENTS];
  int count;
  int64_t stop_at_step, abort_at_step;
  int sleep_us;
  int started; /* read by the cancelling thread: atomic accesses only */
} recorder;

static int32_t record(const tk_fit_event* event, void* user_data) {
  recorder* r = (recorder*)user_data;
  if (r->count < MAX_EVENTS) r->events[r->count++] = *event;
  __atomic_store_n(&r->started, 1, __ATOMIC_RELEASE);
  if (r->sleep_us) usleep((useconds_t)r->sleep_us);
  if (event->kind == TK_FIT_EVENT_STEP && event->step == r->stop_at_step) return TK_CALLBACK_STOP;
  if (event->kind == TK_FIT_EVENT_STEP && event->step == r->abort_at_step) return TK_CALLBACK_ABORT;
  return TK_CALLBACK_CONTINUE;
}

static tk_fit_options* options_with(recorder* r, int64_t epochs) {
  tk_fit_options* o = NULL;
  tk_fit_options_create(&o);
  tk_fit_options_set_epochs(o, epochs);
  if (r) tk_fit_options_set_callback(o, record, r);
  return o;
}

/* What most tests start from: the training and validation sets, a trainer,
 * its batcher, a recorder and fit options (calling the recorder or not). */
typedef struct {
  tk_dataset *train, *validation;
  tk_trainer* trainer;
  tk_batcher* batcher;
  recorder* rec;
  tk_fit_options* options;
} fixture;

static fixture open_fixture(double lr, int64_t epochs, int recorded) {
  fixture f;
  f.train = dataset_of(labels);
  f.validation = dataset_of(shifted_labels);
  f.trainer = make_trainer(lr);
  f.batcher = make_batcher(f.train);
  f.rec = calloc(1, sizeof *f.rec);
  f.options = options_with(recorded ? f.rec : NULL, epochs);
  return f;
}

static void close_fixture(fixture* f) {
  tk_fit_options_destroy(f->options);
  free(f->rec);
  tk_batcher_destroy(f->batcher);
  tk_trainer_destroy(f->trainer);
  tk_dataset_destroy(f->train);
  tk_dataset_destroy(f->validation);
}

static tk_fit_report new_report(void) {
  tk_fit_report report;
  memset(&report, 0, sizeof report);
  report.struct_size = sizeof report;
  return report;
}

/* ---- Tests ------------------------------------------------------------------ */

static void test_events_in_order(void) {
  fixture fx = open_fixture(1e-2, 3, 1);
  tk_trainer* t = fx.trainer;
  tk_batcher* b = fx.batcher;
  recorder* r = fx.rec;
  tk_fit_options* o = fx.options;
  tk_fit_report report = new_report();
  int i, epoch, step, in_order = 1;
  int64_t steps = 0;
  EXPECT_STATUS(tk_trainer_fit(t, b, o, &report), TK_OK);
  EXPECT(r->count == 3 * (STEPS_PER_EPOCH + 1));
  for (epoch = 0, i = 0; epoch < 3; ++epoch) {
    for (step = 1; step <= STEPS_PER_EPOCH; ++step, ++i)
      in_order = in_order && r->events[i].kind == TK_FIT_EVENT_STEP && r->events[i].batch == step &&
                 r->events[i].batches == STEPS_PER_EPOCH && r->events[i].epoch == epoch &&
                 r->events[i].step == epoch * STEPS_PER_EPOCH + step && isfinite(r->events[i].loss) &&
                 r->events[i].samples_per_second > 0 && r->events[i].learning_rate == 1e-2;
    in_order = in_order && r->events[i].kind == TK_FIT_EVENT_EPOCH && r->events[i].epoch == epoch &&
               r->events[i].epochs == 3 && !r->events[i].has_validation && isfinite(r->events[i].train_loss) &&
               isnan(r->events[i].validation_loss);
    ++i;
  }
  EXPECT(in_order);
  EXPECT(report.end == TK_FIT_COMPLETED && report.steps == 15 && report.epochs_completed == 3);
  EXPECT(report.best_epoch == -1);
  tk_trainer_step_count(t, &steps);
  EXPECT(steps == 15);
  /* Fitting again to the epoch already reached runs nothing. */
  r->count = 0;
  EXPECT_STATUS(tk_trainer_fit(t, b, o, &report), TK_OK);
  EXPECT(r->count == 0 && report.end == TK_FIT_COMPLETED && report.steps == 0);
  /* Step events every 2 steps, and at each epoch's last. */
  tk_fit_options_set_step_events(o, 2);
  tk_fit_options_set_epochs(o, 4);
  EXPECT_STATUS(tk_trainer_fit(t, b, o, &report), TK_OK);
  EXPECT(r->count == 4);
  EXPECT(r->events[0].batch == 2 && r->events[1].batch == 4 && r->events[2].batch == 5 &&
         r->events[3].kind == TK_FIT_EVENT_EPOCH);
  close_fixture(&fx);
}

static void test_stop_and_abort(void) {
  fixture fx = open_fixture(1e-2, 3, 1);
  tk_trainer* t = fx.trainer;
  tk_batcher* b = fx.batcher;
  recorder* r = fx.rec;
  tk_fit_options* o = fx.options;
  tk_fit_report report = new_report();
  int64_t steps = 0;
  float before[200], after[200];
  int64_t count = 0;
  tk_trainer_num_parameters(t, &count);
  r->stop_at_step = 7;
  EXPECT_STATUS(tk_trainer_fit(t, b, o, &report), TK_OK);
  EXPECT(report.end == TK_FIT_STOPPED && report.steps == 7);
  tk_trainer_step_count(t, &steps);
  EXPECT(steps == 7);
  EXPECT(r->count == 8 && r->events[7].step == 7 && r->events[5].kind == TK_FIT_EVENT_EPOCH);
  /* Abort: the call fails, after the step the callback saw. */
  r->stop_at_step = 0;
  r->abort_at_step = 9;
  r->count = 0;
  report.end = -1;
  EXPECT_STATUS(tk_trainer_fit(t, b, o, &report), TK_ERROR_CALLBACK);
  EXPECT_MESSAGE("TK_CALLBACK_ABORT");
  EXPECT(report.end == -1); /* out-params untouched on failure */
  tk_trainer_step_count(t, &steps);
  EXPECT(steps == 9);
  /* Nothing lost: the fit goes on from there to the end. */
  copy_params(t, before, count);
  r->abort_at_step = 0;
  EXPECT_STATUS(tk_trainer_fit(t, b, o, &report), TK_OK);
  copy_params(t, after, count);
  EXPECT(report.end == TK_FIT_COMPLETED && report.steps == 6);
  EXPECT(memcmp(before, after, (size_t)count * sizeof(float)) != 0);
  close_fixture(&fx);
}

typedef struct {
  tk_trainer* trainer;
  int* go; /* atomic accesses only */
  int delay_us;
} canceller;

static void* cancel_later(void* arg) {
  canceller* c = (canceller*)arg;
  while (c->go && !__atomic_load_n(c->go, __ATOMIC_ACQUIRE)) usleep(100);
  usleep((useconds_t)c->delay_us);
  tk_trainer_cancel(c->trainer);
  return NULL;
}

static void test_cancel(void) {
  fixture fx = open_fixture(1e-2, 1000, 1);
  tk_dataset* d = fx.train;
  tk_trainer* t = fx.trainer;
  tk_batcher* b = fx.batcher;
  recorder* r = fx.rec;
  tk_fit_options* o = fx.options;
  tk_fit_report report = new_report();
  pthread_t thread;
  canceller c;
  int64_t steps = 0;
  double loss, accuracy;
  r->sleep_us = 1000;
  c.trainer = t;
  c.go = &r->started;
  c.delay_us = 5000;
  pthread_create(&thread, NULL, cancel_later, &c);
  EXPECT_STATUS(tk_trainer_fit(t, b, o, &report), TK_ERROR_CANCELLED);
  EXPECT_MESSAGE("cancelled");
  pthread_join(thread, NULL);
  tk_trainer_step_count(t, &steps);
  EXPECT(steps >= 1 && steps < 1000 * STEPS_PER_EPOCH);
  EXPECT(steps == r->events[r->count - 1].step || r->events[r->count - 1].kind == TK_FIT_EVENT_EPOCH);
  /* The request was honoured and withdrawn: the next call runs. */
  EXPECT_STATUS(tk_trainer_evaluate_dataset(t, d, 8, &loss, &accuracy), TK_OK);
  /* A request made while nothing runs ends the next call at its start... */
  EXPECT_STATUS(tk_trainer_cancel(t), TK_OK);
  EXPECT_STATUS(tk_trainer_evaluate_dataset(t, d, 8, &loss, &accuracy), TK_ERROR_CANCELLED);
  EXPECT_STATUS(tk_trainer_evaluate_dataset(t, d, 8, &loss, &accuracy), TK_OK);
  /* ...unless withdrawn. */
  EXPECT_STATUS(tk_trainer_cancel(t), TK_OK);
  EXPECT_STATUS(tk_trainer_clear_cancel(t), TK_OK);
  EXPECT_STATUS(tk_trainer_evaluate_dataset(t, d, 8, &loss, &accuracy), TK_OK);
  EXPECT_STATUS(tk_trainer_cancel(NULL), TK_ERROR_NULL_ARGUMENT);
  close_fixture(&fx);
}

/* An evaluation long enough (200000 samples, one per batch) to be cancelled
 * by another thread while it runs. */
static void test_cancel_evaluation(void) {
  enum { LARGE = 200000 };
  float* x = calloc((size_t)LARGE * FEATURES, sizeof(float));
  int32_t* y = calloc(LARGE, sizeof(int32_t));
  int64_t fshape[2] = {LARGE, FEATURES}, tshape[1] = {LARGE};
  tk_tensor_view f = tk_view_f32(x, 2, fshape), tv = tk_view_i32(y, 1, tshape);
  tk_dataset* d = NULL;
  tk_trainer* t = make_trainer(1e-2);
  pthread_t thread;
  canceller c;
  double loss = -1, accuracy = -1;
  struct timespec start, end;
  tk_dataset_create(&f, &tv, &d);
  c.trainer = t;
  c.go = NULL;
  c.delay_us = 20000;
  clock_gettime(CLOCK_MONOTONIC, &start);
  pthread_create(&thread, NULL, cancel_later, &c);
  EXPECT_STATUS(tk_trainer_evaluate_dataset(t, d, 1, &loss, &accuracy), TK_ERROR_CANCELLED);
  EXPECT_MESSAGE("of 200000 samples");
  pthread_join(thread, NULL);
  clock_gettime(CLOCK_MONOTONIC, &end);
  EXPECT(loss == -1 && accuracy == -1);
  tk_trainer_destroy(t);
  tk_dataset_destroy(d);
  free(x);
  free(y);
}

/* Training on `labels` while validating on `shifted_labels`: the validation
 * loss rises from the first epoch on. */
static void test_early_stopping_and_keep_best(const char* dir) {
  fixture fx = open_fixture(3e-2, 20, 1);
  tk_dataset* val = fx.validation;
  tk_trainer* t = fx.trainer;
  tk_batcher* b = fx.batcher;
  recorder* r = fx.rec;
  tk_fit_options* o = fx.options;
  tk_fit_report report = new_report();
  char best[1024];
  double loss = 0, accuracy = 0;
  int i, epochs = 0, rising = 1;
  float kept[200], loaded[200];
  int64_t count = 0, steps = 0;
  tk_trainer* fresh;
  snprintf(best, sizeof best, "%s/best.safetensors", dir);
  tk_fit_options_set_step_events(o, 0);
  EXPECT_STATUS(tk_fit_options_set_early_stopping(o, TK_MONITOR_VAL_LOSS, TK_MODE_AUTO, 2, 0.0), TK_OK);
  /* Without validation data the fit refuses the validation monitor. */
  EXPECT_STATUS(tk_trainer_fit(t, b, o, &report), INVALID_ARG);
  EXPECT_MESSAGE("no validation dataset");
  EXPECT_STATUS(tk_fit_options_set_validation(o, val, 16), TK_OK);
  EXPECT_STATUS(tk_fit_options_set_keep_best(o, best, TK_MONITOR_VAL_LOSS, TK_MODE_MIN), TK_OK);
  EXPECT_STATUS(tk_fit_options_set_reduce_on_plateau(o, TK_MONITOR_VAL_LOSS, TK_MODE_AUTO, 0.5, 1, 0, 0.0), TK_OK);
  EXPECT_STATUS(tk_trainer_fit(t, b, o, &report), TK_OK);
  for (i = 0; i < r->count; ++i) epochs += r->events[i].kind == TK_FIT_EVENT_EPOCH;
  for (i = 1; i < r->count; ++i) rising = rising && r->events[i].validation_loss > r->events[i - 1].validation_loss;
  EXPECT(rising);
  /* Best at epoch 0; epochs 1 and 2 do not improve: stopped after epoch 2. */
  EXPECT(epochs == 3 && report.end == TK_FIT_EARLY_STOPPED && report.epochs_completed == 3);
  EXPECT(report.best_epoch == 0 && report.best_value == r->events[0].validation_loss);
  EXPECT(r->events[0].improved && !r->events[1].improved && !r->events[2].improved);
  /* Reduce-on-plateau (patience 1): the rate halves after epochs 1 and 2. */
  EXPECT(r->events[0].learning_rate == 3e-2);
  EXPECT(fabs(r->events[1].learning_rate - 1.5e-2) < 1e-15 && fabs(r->events[2].learning_rate - 7.5e-3) < 1e-15);
  /* Keep-best: the trainer is back at epoch 0's end, rate and step count included. */
  EXPECT_STATUS(tk_trainer_evaluate_dataset(t, val, 16, &loss, &accuracy), TK_OK);
  EXPECT(loss == r->events[0].validation_loss);
  tk_trainer_step_count(t, &steps);
  EXPECT(steps == STEPS_PER_EPOCH);
  EXPECT(fabs(report.learning_rate - 3e-2) < 1e-15);
  /* ...and the file holds the same weights. */
  tk_trainer_num_parameters(t, &count);
  copy_params(t, kept, count);
  fresh = make_trainer(3e-2);
  EXPECT_STATUS(tk_trainer_load(fresh, best, NULL), TK_OK);
  copy_params(fresh, loaded, count);
  EXPECT(memcmp(kept, loaded, (size_t)count * sizeof(float)) == 0);
  tk_trainer_destroy(fresh);
  close_fixture(&fx);
}

/* Keep-best also holds when a fit is stopped mid-epoch; reduce-on-plateau
 * with cooldown 1 and patience 1 reduces every epoch, as Keras' does. */
static void test_keep_best_on_stop_and_cooldown(const char* dir) {
  fixture fx = open_fixture(3e-2, 20, 1);
  tk_dataset* val = fx.validation;
  tk_trainer* t = fx.trainer;
  tk_batcher* b = fx.batcher;
  recorder* r = fx.rec;
  tk_fit_options* o = fx.options;
  tk_fit_report report = new_report();
  char best[1024];
  double loss = 0, accuracy = 0;
  int64_t steps = 0;
  snprintf(best, sizeof best, "%s/best_on_stop.safetensors", dir);
  tk_fit_options_set_validation(o, val, 16);
  tk_fit_options_set_keep_best(o, best, TK_MONITOR_VAL_LOSS, TK_MODE_AUTO);
  tk_fit_options_set_reduce_on_plateau(o, TK_MONITOR_VAL_LOSS, TK_MODE_AUTO, 0.5, 1, 1, 0.0);
  tk_fit_options_set_step_events(o, 1);
  r->stop_at_step = 3 * STEPS_PER_EPOCH + 2;
  EXPECT_STATUS(tk_trainer_fit(t, b, o, &report), TK_OK);
  EXPECT(report.end == TK_FIT_STOPPED && report.best_epoch == 0);
  EXPECT_STATUS(tk_trainer_evaluate_dataset(t, val, 16, &loss, &accuracy), TK_OK);
  EXPECT(loss == r->events[STEPS_PER_EPOCH].validation_loss);
  tk_trainer_step_count(t, &steps);
  EXPECT(steps == STEPS_PER_EPOCH);
  EXPECT(r->events[STEPS_PER_EPOCH].learning_rate == 3e-2);
  EXPECT(fabs(r->events[2 * STEPS_PER_EPOCH + 1].learning_rate - 1.5e-2) < 1e-15);
  EXPECT(fabs(r->events[3 * STEPS_PER_EPOCH + 2].learning_rate - 7.5e-3) < 1e-15);
  close_fixture(&fx);
}

/* A fit stopped mid-epoch, saved, loaded into a fresh trainer and batcher and
 * fitted on gives the weights of the uninterrupted fit (the plateau rule's
 * reduced rate and counters travel in the checkpoint). */
static void test_resume_mid_fit(const char* dir) {
  tk_dataset* train = dataset_of(labels);
  tk_dataset* val = dataset_of(shifted_labels);
  float straight[200], resumed[200];
  int64_t count = 0;
  char path[1024];
  tk_fit_report report = new_report();
  double rate_straight = 0, rate_resumed = 0;
  tk_trainer* t;
  tk_batcher* b;
  tk_fit_options* o;
  recorder* r = calloc(1, sizeof *r);
  snprintf(path, sizeof path, "%s/mid.safetensors", dir);

  t = make_trainer(3e-2);
  b = make_batcher(train);
  o = options_with(NULL, 4);
  tk_fit_options_set_validation(o, val, 16);
  tk_fit_options_set_reduce_on_plateau(o, TK_MONITOR_VAL_LOSS, TK_MODE_AUTO, 0.5, 1, 1, 0.0);
  EXPECT_STATUS(tk_trainer_fit(t, b, o, &report), TK_OK);
  tk_trainer_num_parameters(t, &count);
  copy_params(t, straight, count);
  tk_trainer_learning_rate(t, &rate_straight);
  tk_batcher_destroy(b);
  tk_trainer_destroy(t);

  t = make_trainer(3e-2);
  b = make_batcher(train);
  tk_fit_options_set_callback(o, record, r);
  r->stop_at_step = 2 * STEPS_PER_EPOCH + 2; /* inside epoch 2, after a reduction */
  EXPECT_STATUS(tk_trainer_fit(t, b, o, &report), TK_OK);
  EXPECT(report.end == TK_FIT_STOPPED);
  EXPECT_STATUS(tk_trainer_save(t, path, b), TK_OK);
  tk_batcher_destroy(b);
  tk_trainer_destroy(t);

  t = make_trainer(3e-2);
  b = make_batcher(train);
  EXPECT_STATUS(tk_trainer_load(t, path, b), TK_OK);
  r->stop_at_step = 0;
  EXPECT_STATUS(tk_trainer_fit(t, b, o, &report), TK_OK);
  EXPECT(report.end == TK_FIT_COMPLETED && report.steps == 4 * STEPS_PER_EPOCH - (2 * STEPS_PER_EPOCH + 2));
  copy_params(t, resumed, count);
  tk_trainer_learning_rate(t, &rate_resumed);
  EXPECT(memcmp(straight, resumed, (size_t)count * sizeof(float)) == 0);
  EXPECT(rate_straight == rate_resumed && rate_straight < 3e-2);
  tk_fit_options_destroy(o);
  free(r);
  tk_batcher_destroy(b);
  tk_trainer_destroy(t);
  tk_dataset_destroy(train);
  tk_dataset_destroy(val);
}

static void test_time_budget_and_keep_last(const char* dir) {
  fixture fx = open_fixture(1e-2, 1000, 1);
  tk_trainer* t = fx.trainer;
  tk_batcher* b = fx.batcher;
  recorder* r = fx.rec;
  tk_fit_options* o = fx.options;
  tk_fit_report report = new_report();
  char prefix[1024], name[1100];
  FILE* f;
  int kept = 0, k;
  r->sleep_us = 20000;
  snprintf(prefix, sizeof prefix, "%s/last", dir);
  EXPECT_STATUS(tk_fit_options_set_time_budget(o, 0.3), TK_OK);
  EXPECT_STATUS(tk_fit_options_set_keep_last(o, prefix, 2), TK_OK);
  EXPECT_STATUS(tk_trainer_fit(t, b, o, &report), TK_OK);
  EXPECT(report.end == TK_FIT_TIME_BUDGET && report.steps >= 5 && report.steps < 30);
  EXPECT(report.seconds >= 0.3 && report.seconds < 5);
  /* One checkpoint per epoch, the newest two kept. */
  for (k = 1; k <= report.steps; ++k) {
    snprintf(name, sizeof name, "%s-%010d.safetensors", prefix, k);
    f = fopen(name, "rb");
    if (f) {
      ++kept;
      fclose(f);
      EXPECT(k % STEPS_PER_EPOCH == 0);
    }
  }
  EXPECT(kept == (report.epochs_completed < 2 ? report.epochs_completed : 2));
  EXPECT_STATUS(tk_fit_options_set_time_budget(o, -1), INVALID_ARG);
  EXPECT_STATUS(tk_fit_options_set_time_budget(o, NAN), INVALID_ARG);
  close_fixture(&fx);
}

/* The event stream the bindings use: the same fit, one event per call. */
static void test_event_stream(void) {
  fixture fx = open_fixture(1e-2, 2, 0);
  tk_trainer* t = fx.trainer;
  tk_batcher* b = fx.batcher;
  tk_fit_options* o = fx.options;
  tk_fit* fit = NULL;
  tk_fit_event event;
  tk_fit_report report = new_report();
  int32_t has = 1;
  int events = 0;
  memset(&event, 0, sizeof event);
  event.struct_size = sizeof event;
  EXPECT_STATUS(tk_fit_begin(t, b, o, &fit), TK_OK);
  while (has && events < 100) {
    EXPECT_STATUS(tk_fit_next(fit, &event, &has), TK_OK);
    events += has;
    if (events == 8) EXPECT_STATUS(tk_fit_stop(fit), TK_OK);
  }
  EXPECT(events == 8);
  EXPECT_STATUS(tk_fit_get_report(fit, &report), TK_OK);
  EXPECT(report.end == TK_FIT_STOPPED && report.steps == 7);
  EXPECT_STATUS(tk_fit_next(fit, NULL, &has), TK_OK);
  EXPECT(has == 0);
  EXPECT_STATUS(tk_fit_next(NULL, &event, &has), TK_ERROR_NULL_ARGUMENT);
  EXPECT_STATUS(tk_fit_next(fit, &event, NULL), TK_ERROR_NULL_ARGUMENT);
  event.struct_size = 0;
  EXPECT_STATUS(tk_fit_next(fit, &event, &has), INVALID_ARG);
  tk_fit_destroy(fit);
  tk_fit_destroy(NULL);
  close_fixture(&fx);
}

/* Freezing the first layer (16 x 4 weights and 16 biases, the first 80
 * parameters in tensor order) keeps it bit for bit through a fit, on one
 * trainer and on two replicas; unfrozen, it trains again. */
static void test_freeze_and_param_groups(void) {
  enum { BODY = FEATURES * 16 + 16 };
  tk_dataset* d = dataset_of(labels);
  tk_batcher* b = make_batcher(d);
  tk_fit_options* fo = NULL;
  int32_t replicas, frozen = -1;
  double scale = 0, decay = -1;
  int64_t matched = 0, count = 0, full_memory = 0, frozen_memory = 0;
  float before[200], after[200];
  tk_fit_options_create(&fo);
  tk_fit_options_set_epochs(fo, 2);
  for (replicas = 1; replicas <= 2; ++replicas) {
    tk_trainer *t = make_trainer_with(1e-2, replicas), *full = make_trainer_with(1e-2, replicas);
    tk_batcher_reset(b, 0);
    tk_trainer_num_parameters(t, &count);
    EXPECT_STATUS(tk_trainer_freeze(t, "linear_1.*", &matched), TK_OK);
    EXPECT(matched == 2);
    EXPECT_STATUS(tk_trainer_parameter_settings(t, 0, &frozen, &scale, &decay), TK_OK);
    EXPECT(frozen == 1 && scale == 1.0 && decay == 0.0);
    EXPECT_STATUS(tk_trainer_parameter_settings(t, 2, &frozen, &scale, &decay), TK_OK);
    EXPECT(frozen == 0);
    copy_params(t, before, count);
    EXPECT_STATUS(tk_trainer_fit(t, b, fo, NULL), TK_OK);
    copy_params(t, after, count);
    EXPECT(memcmp(before, after, BODY * sizeof(float)) == 0);
    EXPECT(memcmp(before + BODY, after + BODY, (size_t)(count - BODY) * sizeof(float)) != 0);
    /* No gradients or moments for the frozen layer. */
    tk_batcher_reset(b, 0);
    EXPECT_STATUS(tk_trainer_fit(full, b, fo, NULL), TK_OK);
    EXPECT_STATUS(tk_trainer_memory(t, &frozen_memory), TK_OK);
    EXPECT_STATUS(tk_trainer_memory(full, &full_memory), TK_OK);
    EXPECT(frozen_memory > 0 && full_memory - frozen_memory >= (int64_t)(3 * BODY * sizeof(float)) * replicas);
    /* Unfrozen, it trains on. */
    EXPECT_STATUS(tk_trainer_unfreeze(t, "linear_1.*", NULL), TK_OK);
    EXPECT_STATUS(tk_trainer_parameter_settings(t, 0, &frozen, &scale, &decay), TK_OK);
    EXPECT(frozen == 0);
    tk_batcher_reset(b, 0);
    EXPECT_STATUS(tk_trainer_fit(t, b, fo, NULL), TK_OK);
    copy_params(t, before, count);
    EXPECT(memcmp(before, after, BODY * sizeof(float)) != 0);
    tk_trainer_destroy(full);
    tk_trainer_destroy(t);
  }
  {
    tk_trainer* t = make_trainer(1e-2);
    EXPECT_STATUS(tk_trainer_set_param_group(t, "*.bias", 0.5, 0.25, &matched), TK_OK);
    EXPECT(matched == 2);
    EXPECT_STATUS(tk_trainer_parameter_settings(t, 1, &frozen, &scale, &decay), TK_OK);
    EXPECT(frozen == 0 && scale == 0.5 && decay == 0.25);
    EXPECT_STATUS(tk_trainer_set_param_group(t, "*.bias", 1.0, NAN, NULL), TK_OK);
    EXPECT_STATUS(tk_trainer_parameter_settings(t, 1, &frozen, &scale, &decay), TK_OK);
    EXPECT(scale == 1.0 && decay == 0.0);
    /* Bad requests change nothing. */
    EXPECT_STATUS(tk_trainer_freeze(t, "encoder.*", &matched), INVALID_ARG);
    EXPECT_MESSAGE("linear_1.weight");
    {
      int64_t fshape[2] = {BATCH, FEATURES}, tshape[1] = {BATCH};
      tk_tensor_view f = tk_view_f32(features, 2, fshape), y = tk_view_i32(labels, 1, tshape);
      float loss;
      EXPECT_STATUS(tk_trainer_freeze(t, "*", &matched), TK_OK);
      EXPECT(matched == 4);
      EXPECT_STATUS(tk_trainer_step(t, &f, &y, &loss), INVALID_ARG);
      EXPECT_MESSAGE("every parameter is frozen");
      EXPECT_STATUS(tk_trainer_unfreeze(t, "*", NULL), TK_OK);
      EXPECT_STATUS(tk_trainer_step(t, &f, &y, &loss), TK_OK);
    }
    EXPECT_STATUS(tk_trainer_freeze(t, NULL, &matched), TK_ERROR_NULL_ARGUMENT);
    EXPECT_STATUS(tk_trainer_freeze(NULL, "*", &matched), TK_ERROR_NULL_ARGUMENT);
    EXPECT_STATUS(tk_trainer_set_param_group(t, "*", -1.0, NAN, NULL), INVALID_ARG);
    EXPECT_STATUS(tk_trainer_set_param_group(t, "*", 1.0, -0.5, NULL), INVALID_ARG);
    EXPECT_STATUS(tk_trainer_set_param_group(t, "*", INFINITY, NAN, NULL), INVALID_ARG);
    EXPECT_STATUS(tk_trainer_parameter_settings(t, 99, &frozen, &scale, &decay), INVALID_ARG);
    EXPECT_STATUS(tk_trainer_parameter_settings(t, -1, &frozen, &scale, &decay), INVALID_ARG);
    EXPECT_STATUS(tk_trainer_parameter_settings(t, 0, NULL, &scale, &decay), TK_ERROR_NULL_ARGUMENT);
    EXPECT_STATUS(tk_trainer_memory(t, NULL), TK_ERROR_NULL_ARGUMENT);
    EXPECT_STATUS(tk_trainer_parameter_settings(t, 0, &frozen, &scale, &decay), TK_OK);
    EXPECT(frozen == 0 && scale == 1.0);
    tk_trainer_destroy(t);
  }
  tk_fit_options_destroy(fo);
  tk_batcher_destroy(b);
  tk_dataset_destroy(d);
}

/* At rate 0 the weights stay put, so an epoch's training accuracy (counted
 * from its steps' forwards) is the accuracy of evaluating the training set;
 * with two replicas too (each counts its own rows). */
static void test_train_accuracy(void) {
  int32_t replicas;
  for (replicas = 1; replicas <= 2; ++replicas) {
    tk_dataset* d = dataset_of(labels);
    tk_trainer* t = make_trainer_with(0.0, replicas);
    tk_batcher* b = make_batcher(d);
    recorder* r = calloc(1, sizeof *r);
    tk_fit_options* o = options_with(r, 1);
    tk_fit_report report = new_report();
    double loss, accuracy;
    const tk_fit_event* epoch;
    EXPECT_STATUS(tk_trainer_fit(t, b, o, &report), TK_OK);
    epoch = &r->events[r->count - 1];
    EXPECT(epoch->kind == TK_FIT_EVENT_EPOCH);
    EXPECT_STATUS(tk_trainer_evaluate_dataset(t, d, SAMPLES, &loss, &accuracy), TK_OK);
    EXPECT(fabs(epoch->train_accuracy - accuracy) < 1e-12);
    EXPECT(accuracy > 0 && accuracy < 1);
    tk_fit_options_destroy(o);
    free(r);
    tk_batcher_destroy(b);
    tk_trainer_destroy(t);
    tk_dataset_destroy(d);
  }
}

static void test_set_learning_rate(void) {
  tk_dataset* d = dataset_of(labels);
  tk_trainer* t = make_trainer(1e-2);
  double rate = 0;
  int64_t fshape[2] = {BATCH, FEATURES}, tshape[1] = {BATCH};
  tk_tensor_view f = tk_view_f32(features, 2, fshape), y = tk_view_i32(labels, 1, tshape);
  float before[200], after[200], loss;
  int64_t count = 0;
  tk_trainer_num_parameters(t, &count);
  EXPECT_STATUS(tk_trainer_set_learning_rate(t, 0.0), TK_OK);
  tk_trainer_learning_rate(t, &rate);
  EXPECT(rate == 0.0);
  copy_params(t, before, count);
  EXPECT_STATUS(tk_trainer_step(t, &f, &y, &loss), TK_OK);
  copy_params(t, after, count);
  EXPECT(memcmp(before, after, (size_t)count * sizeof(float)) == 0);
  EXPECT_STATUS(tk_trainer_set_learning_rate(t, 5e-2), TK_OK);
  EXPECT_STATUS(tk_trainer_step(t, &f, &y, &loss), TK_OK);
  copy_params(t, after, count);
  EXPECT(memcmp(before, after, (size_t)count * sizeof(float)) != 0);
  tk_trainer_learning_rate(t, &rate);
  EXPECT(rate == 5e-2);
  EXPECT_STATUS(tk_trainer_set_learning_rate(t, -1.0), INVALID_ARG);
  EXPECT_STATUS(tk_trainer_set_learning_rate(t, INFINITY), INVALID_ARG);
  EXPECT_STATUS(tk_trainer_set_learning_rate(NULL, 1.0), TK_ERROR_NULL_ARGUMENT);
  tk_trainer_learning_rate(t, &rate);
  EXPECT(rate == 5e-2);
  tk_trainer_destroy(t);
  tk_dataset_destroy(d);
}

static void test_metrics(void) {
  fixture fx = open_fixture(3e-2, 5, 0);
  tk_dataset* d = fx.train;
  tk_trainer* t = fx.trainer;
  tk_batcher* b = fx.batcher;
  tk_fit_options* o = fx.options;
  tk_metrics m;
  double confusion[CLASSES * CLASSES], per_class[3 * CLASSES], wrong[4], loss, accuracy, f1_mean = 0;
  int32_t int_confusion[CLASSES * CLASSES];
  float outputs[SAMPLES * CLASSES];
  int64_t cshape[2] = {CLASSES, CLASSES}, pshape[2] = {3, CLASSES}, wshape[2] = {2, 2};
  int64_t oshape[2] = {SAMPLES, CLASSES}, fshape[2] = {SAMPLES, FEATURES};
  tk_tensor_view cv = tk_view(confusion, TK_DTYPE_F64, 2, cshape), pv = tk_view(per_class, TK_DTYPE_F64, 2, pshape);
  tk_tensor_view iv = tk_view(int_confusion, TK_DTYPE_I32, 2, cshape), wv = tk_view(wrong, TK_DTYPE_F64, 2, wshape);
  tk_tensor_view ov = tk_view_f32(outputs, 2, oshape), fv = tk_view_f32(features, 2, fshape);
  int64_t expected[CLASSES * CLASSES] = {0};
  int i, c, same = 1;
  tk_trainer_fit(t, b, o, NULL);
  memset(&m, 0, sizeof m);
  m.struct_size = sizeof m;
  EXPECT_STATUS(tk_trainer_metrics(t, d, 7, 2, &m, &cv, &pv), TK_OK);
  /* Against the predictions, counted here. */
  tk_trainer_predict(t, &fv, 0, &ov);
  for (i = 0; i < SAMPLES; ++i) {
    int best = 0;
    for (c = 1; c < CLASSES; ++c)
      if (outputs[i * CLASSES + c] > outputs[i * CLASSES + best]) best = c;
    ++expected[labels[i] * CLASSES + best];
  }
  for (i = 0; i < CLASSES * CLASSES; ++i) same = same && confusion[i] == (double)expected[i];
  EXPECT(same);
  tk_trainer_evaluate_dataset(t, d, 7, &loss, &accuracy);
  EXPECT(m.samples == SAMPLES && m.classes == CLASSES && m.top_k == 2);
  EXPECT(fabs(m.loss - loss) < 1e-6 && m.accuracy == accuracy);
  EXPECT(m.top_k_accuracy >= m.accuracy && m.top_k_accuracy <= 1.0);
  for (c = 0; c < CLASSES; ++c) {
    double tp = confusion[c * CLASSES + c], predicted = 0, actual = 0;
    for (i = 0; i < CLASSES; ++i) {
      predicted += confusion[i * CLASSES + c];
      actual += confusion[c * CLASSES + i];
    }
    EXPECT(fabs(per_class[c] - (predicted ? tp / predicted : 0)) < 1e-12);
    EXPECT(fabs(per_class[CLASSES + c] - (actual ? tp / actual : 0)) < 1e-12);
    f1_mean += per_class[2 * CLASSES + c] / CLASSES;
  }
  EXPECT(fabs(m.macro_f1 - f1_mean) < 1e-12);
  EXPECT(isnan(m.mse) && isnan(m.mae));
  /* Top-k over every class always holds the label. */
  EXPECT_STATUS(tk_trainer_metrics(t, d, 64, CLASSES, &m, &iv, NULL), TK_OK);
  EXPECT(m.top_k_accuracy == 1.0);
  for (i = 0; i < CLASSES * CLASSES; ++i) same = same && int_confusion[i] == (int32_t)expected[i];
  EXPECT(same);
  /* Bad requests change nothing. */
  m.samples = -5;
  EXPECT_STATUS(tk_trainer_metrics(t, d, 8, CLASSES + 1, &m, NULL, NULL), INVALID_ARG);
  EXPECT_STATUS(tk_trainer_metrics(t, d, 8, 0, &m, NULL, NULL), INVALID_ARG);
  EXPECT_STATUS(tk_trainer_metrics(t, d, 0, 1, &m, NULL, NULL), INVALID_ARG);
  EXPECT_STATUS(tk_trainer_metrics(t, d, 8, 1, &m, &wv, NULL), TK_ERROR_SHAPE_MISMATCH);
  EXPECT_STATUS(tk_trainer_metrics(t, d, 8, 1, &m, NULL, &iv), TK_ERROR_DTYPE_MISMATCH);
  EXPECT_STATUS(tk_trainer_metrics(t, d, 8, 1, &m, NULL, &wv), TK_ERROR_SHAPE_MISMATCH);
  EXPECT_STATUS(tk_trainer_metrics(NULL, d, 8, 1, &m, NULL, NULL), TK_ERROR_NULL_ARGUMENT);
  EXPECT_STATUS(tk_trainer_metrics(t, NULL, 8, 1, &m, NULL, NULL), TK_ERROR_NULL_ARGUMENT);
  EXPECT_STATUS(tk_trainer_metrics(t, d, 8, 1, NULL, NULL, NULL), TK_ERROR_NULL_ARGUMENT);
  EXPECT(m.samples == -5);
  m.struct_size = 0;
  EXPECT_STATUS(tk_trainer_metrics(t, d, 8, 1, &m, NULL, NULL), INVALID_ARG);
  close_fixture(&fx);
}

/* An MSE model's metrics: MSE and MAE against the predictions, no classes. */
static void test_value_metrics(void) {
  enum { N = 6 };
  float x[N * 2] = {1, 0, 0, 1, 1, 1, 2, 0, 0, 2, 1, 2}, y[N] = {1, 2, 3, 2, 4, 5}, out[N];
  int64_t xs[2] = {N, 2}, ys[2] = {N, 1};
  tk_tensor_view xv = tk_view_f32(x, 2, xs), yv = tk_view_f32(y, 2, ys), ov = tk_view_f32(out, 2, ys);
  tk_dataset* d = NULL;
  tk_model* m = NULL;
  tk_trainer* t = NULL;
  tk_node in, h;
  int64_t shape[1] = {2};
  tk_metrics r;
  double squares = 0, absolutes = 0;
  int i;
  tk_dataset_create(&xv, &yv, &d);
  tk_model_create(&m);
  tk_model_input(m, "x", 1, shape, &in);
  tk_model_linear(m, in, 1, &h);
  tk_model_output(m, h, "y");
  tk_trainer_create(m, TK_LOSS_MSE, NULL, &t);
  memset(&r, 0, sizeof r);
  r.struct_size = sizeof r;
  EXPECT_STATUS(tk_trainer_metrics(t, d, 4, 1, &r, NULL, NULL), TK_OK);
  tk_trainer_predict(t, &xv, 0, &ov);
  for (i = 0; i < N; ++i) {
    squares += (out[i] - y[i]) * (out[i] - y[i]);
    absolutes += fabs(out[i] - y[i]);
  }
  EXPECT(fabs(r.mse - squares / N) < 1e-5 && fabs(r.mae - absolutes / N) < 1e-5);
  EXPECT(r.classes == 0 && isnan(r.accuracy) && isnan(r.top_k_accuracy) && isnan(r.macro_f1));
  tk_trainer_destroy(t);
  tk_model_destroy(m);
  tk_dataset_destroy(d);
}

static void write_text(const char* path, const char* text) {
  FILE* f = fopen(path, "wb");
  fputs(text, f);
  fclose(f);
}

/* A CSV file that must be refused as corrupt, with `fragment` in the message. */
static void expect_bad_csv(const char* dir, const char* text, const char* fragment) {
  char path[1024];
  tk_dataset* d = NULL;
  snprintf(path, sizeof path, "%s/bad.csv", dir);
  write_text(path, text);
  EXPECT_STATUS(tk_dataset_load_csv(path, "label", 1, 1, &d), TK_ERROR_CORRUPT_DATA);
  EXPECT_MESSAGE(fragment);
  EXPECT(d == NULL);
}

static void test_csv(const char* dir) {
  char path[1024];
  tk_dataset* d = NULL;
  int64_t size = 0, shape[8];
  int32_t rank = 0;
  snprintf(path, sizeof path, "%s/good.csv", dir);
  write_text(path, "a,\"b, quoted\",label,c\r\n1,2.5,0,3\r\n\r\n-1,\"4\",2,1e-3\r\n0.5,0,1,7\n");
  EXPECT_STATUS(tk_dataset_load_csv(path, "label", 1, 1, &d), TK_OK);
  tk_dataset_size(d, &size);
  tk_dataset_sample_shape(d, &rank, shape);
  EXPECT(size == 3 && rank == 1 && shape[0] == 3);
  tk_dataset_destroy(d);
  d = NULL;
  EXPECT_STATUS(tk_dataset_load_csv(path, "2", 1, 1, &d), TK_OK); /* by index */
  tk_dataset_destroy(d);
  d = NULL;
  EXPECT_STATUS(tk_dataset_load_csv(path, "c", 1, 0, &d), TK_OK); /* values */
  tk_dataset_destroy(d);
  d = NULL;
  EXPECT_STATUS(tk_dataset_load_csv(path, "c", 1, 1, &d), TK_ERROR_CORRUPT_DATA); /* 1e-3 is no class */
  EXPECT_MESSAGE("line 4, column 4");
  EXPECT_STATUS(tk_dataset_load_csv(path, "missing", 1, 1, &d), INVALID_ARG);
  EXPECT_MESSAGE("(its columns: a, b, quoted, label, c)");
  EXPECT_STATUS(tk_dataset_load_csv(path, "9", 1, 1, &d), INVALID_ARG);

  snprintf(path, sizeof path, "%s/noheader.csv", dir);
  write_text(path, "1,2,0\n3,4,1\n");
  EXPECT_STATUS(tk_dataset_load_csv(path, NULL, 0, 1, &d), TK_OK);
  tk_dataset_size(d, &size);
  EXPECT(size == 2);
  tk_dataset_destroy(d);
  d = NULL;

  expect_bad_csv(dir, "x,y,label\n1,2,0\n3,1\n", "line 3 has 2 fields, the header has 3");
  expect_bad_csv(dir, "x,y,label\n1,2,0\n3,abc,1\n", "line 3, column 2 ('y'): 'abc' is not a number");
  expect_bad_csv(dir, "x,y,label\n1,,0\n", "line 2, column 2 ('y'): the value is empty");
  expect_bad_csv(dir, "x,label\nnan,0\n", "not a finite");
  expect_bad_csv(dir, "", "is empty");
  expect_bad_csv(dir, "x,label\n", "no data rows");
  expect_bad_csv(dir, "x,label\n\"1,0\n", "line 2: a quoted field is not closed");
  expect_bad_csv(dir, "x,label\n1,-1\n", "not a class index");
  snprintf(path, sizeof path, "%s/none.csv", dir);
  EXPECT_STATUS(tk_dataset_load_csv(path, "label", 1, 1, &d), TK_ERROR_IO);
  EXPECT_STATUS(tk_dataset_load_csv(dir, "label", 1, 1, &d), TK_ERROR_IO);
  EXPECT_STATUS(tk_dataset_load_csv(NULL, "label", 1, 1, &d), TK_ERROR_NULL_ARGUMENT);
  EXPECT_STATUS(tk_dataset_load_csv(path, "label", 2, 1, &d), INVALID_ARG);
  EXPECT(d == NULL);
}

/* Features alone, for prediction: predicted as the labelled file is, and
 * refused for training, evaluation and metrics. */
static void test_csv_features(const char* dir) {
  char labelled_path[1024], features_path[1024];
  tk_dataset *labelled = NULL, *features_only = NULL, *again = NULL;
  tk_trainer* t = make_trainer(1e-2);
  tk_batcher* b = NULL;
  tk_fit_options* o = options_with(NULL, 1);
  tk_fit_report report = new_report();
  int32_t has = -1, has_batch = 0;
  int64_t size = 0, shape[8], batch_shape[2] = {SAMPLES, CLASSES};
  int32_t rank = 0;
  double loss, accuracy;
  float from_labelled[SAMPLES * CLASSES], from_features[SAMPLES * CLASSES];
  tk_tensor_view x, y, out;
  FILE* a;
  FILE* f;
  int i, c;
  snprintf(labelled_path, sizeof labelled_path, "%s/labelled.csv", dir);
  snprintf(features_path, sizeof features_path, "%s/features.csv", dir);
  a = fopen(labelled_path, "w");
  f = fopen(features_path, "w");
  fprintf(a, "f0,f1,label,f2,f3\n");
  fprintf(f, "f0,f1,f2,f3\n");
  for (i = 0; i < SAMPLES; ++i) {
    for (c = 0; c < FEATURES; ++c) {
      fprintf(a, "%s%.9g%s", c ? "," : "", features[i * FEATURES + c], c == 1 ? "," : "");
      if (c == 1) fprintf(a, "%d", labels[i]);
      fprintf(f, "%s%.9g", c ? "," : "", features[i * FEATURES + c]);
    }
    fprintf(a, "\n");
    fprintf(f, "\n");
  }
  fclose(a);
  fclose(f);
  EXPECT_STATUS(tk_dataset_load_csv(labelled_path, "label", 1, 1, &labelled), TK_OK);
  EXPECT_STATUS(tk_dataset_load_csv_features(features_path, "label", 1, &features_only), TK_OK);
  EXPECT_STATUS(tk_dataset_load_csv_features(labelled_path, "label", 1, &again), TK_OK); /* label left out */
  EXPECT_STATUS(tk_dataset_has_targets(features_only, &has), TK_OK);
  EXPECT(has == 0);
  EXPECT_STATUS(tk_dataset_has_targets(labelled, &has), TK_OK);
  EXPECT(has == 1);
  tk_dataset_size(again, &size);
  tk_dataset_sample_shape(again, &rank, shape);
  EXPECT(size == SAMPLES && rank == 1 && shape[0] == FEATURES);
  /* The same predictions from the features alone as from the labelled rows. */
  out = tk_view_f32(from_labelled, 2, batch_shape);
  tk_batcher_create(labelled, SAMPLES, 0, 0, 0, &b);
  EXPECT_STATUS(tk_batcher_next(b, &x, &y, &has_batch), TK_OK);
  EXPECT_STATUS(tk_trainer_predict(t, &x, 1, &out), TK_OK);
  tk_batcher_destroy(b);
  out = tk_view_f32(from_features, 2, batch_shape);
  tk_batcher_create(features_only, SAMPLES, 0, 0, 0, &b);
  EXPECT_STATUS(tk_batcher_next(b, &x, &y, &has_batch), TK_OK);
  EXPECT(has_batch == 1 && y.data == NULL);
  EXPECT_STATUS(tk_trainer_predict(t, &x, 1, &out), TK_OK);
  EXPECT(memcmp(from_labelled, from_features, sizeof from_labelled) == 0);
  /* No targets: no training, evaluation or metrics. */
  EXPECT_STATUS(tk_batcher_reset(b, 0), TK_OK);
  EXPECT_STATUS(tk_trainer_fit(t, b, o, &report), INVALID_ARG);
  EXPECT_MESSAGE("no targets");
  EXPECT_STATUS(tk_trainer_evaluate_dataset(t, features_only, 8, &loss, &accuracy), INVALID_ARG);
  EXPECT_MESSAGE("no targets");
  EXPECT_STATUS(tk_fit_options_set_validation(o, features_only, 8), TK_OK);
  tk_batcher_destroy(b);
  tk_batcher_create(labelled, BATCH, 0, 0, 0, &b);
  EXPECT_STATUS(tk_trainer_fit(t, b, o, &report), INVALID_ARG);
  EXPECT_MESSAGE("validation set has no targets");
  EXPECT_STATUS(tk_dataset_load_csv_features(NULL, NULL, 1, &again), TK_ERROR_NULL_ARGUMENT);
  EXPECT_STATUS(tk_dataset_has_targets(NULL, &has), TK_ERROR_NULL_ARGUMENT);
  tk_batcher_destroy(b);
  tk_fit_options_destroy(o);
  tk_trainer_destroy(t);
  tk_dataset_destroy(labelled);
  tk_dataset_destroy(features_only);
  tk_dataset_destroy(again);
}

static void test_options_bad_input(void) {
  tk_fit_options* o = NULL;
  EXPECT_STATUS(tk_fit_options_create(NULL), TK_ERROR_NULL_ARGUMENT);
  EXPECT_STATUS(tk_fit_options_create(&o), TK_OK);
  EXPECT_STATUS(tk_fit_options_set_epochs(o, 0), INVALID_ARG);
  EXPECT_STATUS(tk_fit_options_set_epochs(NULL, 1), TK_ERROR_NULL_ARGUMENT);
  EXPECT_STATUS(tk_fit_options_set_early_stopping(o, (tk_monitor)9, TK_MODE_AUTO, 1, 0), INVALID_ARG);
  EXPECT_STATUS(tk_fit_options_set_early_stopping(o, TK_MONITOR_VAL_LOSS, (tk_monitor_mode)7, 1, 0), INVALID_ARG);
  EXPECT_STATUS(tk_fit_options_set_early_stopping(o, TK_MONITOR_VAL_LOSS, TK_MODE_AUTO, -1, 0), INVALID_ARG);
  EXPECT_STATUS(tk_fit_options_set_early_stopping(o, TK_MONITOR_VAL_LOSS, TK_MODE_AUTO, 1, NAN), INVALID_ARG);
  EXPECT_STATUS(tk_fit_options_set_reduce_on_plateau(o, TK_MONITOR_VAL_LOSS, TK_MODE_AUTO, 1.5, 1, 0, 0), INVALID_ARG);
  EXPECT_STATUS(tk_fit_options_set_reduce_on_plateau(o, TK_MONITOR_VAL_LOSS, TK_MODE_AUTO, 0.5, 1, 0, -1), INVALID_ARG);
  EXPECT_STATUS(tk_fit_options_set_keep_last(o, "x", 0), INVALID_ARG);
  /* Validation metrics may be watched before the validation set is given, in any order. */
  EXPECT_STATUS(tk_fit_options_set_keep_best(o, "best.safetensors", TK_MONITOR_VAL_LOSS, TK_MODE_AUTO), TK_OK);
  EXPECT_STATUS(tk_fit_options_set_early_stopping(o, TK_MONITOR_VAL_LOSS, TK_MODE_AUTO, 2, 0.0), TK_OK);
  EXPECT_STATUS(tk_fit_options_set_reduce_on_plateau(o, TK_MONITOR_VAL_ACCURACY, TK_MODE_AUTO, 0.5, 1, 0, 0), TK_OK);
  EXPECT_STATUS(tk_fit_options_set_step_events(o, -1), INVALID_ARG);
  EXPECT_STATUS(tk_fit_options_set_validation(o, NULL, 0), INVALID_ARG);
  EXPECT_STATUS(tk_trainer_fit(NULL, NULL, o, NULL), TK_ERROR_NULL_ARGUMENT);
  EXPECT_STATUS(tk_fit_begin(NULL, NULL, o, NULL), TK_ERROR_NULL_ARGUMENT);
  tk_fit_options_destroy(o);
  tk_fit_options_destroy(NULL);
}

int main(void) {
  char dir[256];
  const char* base = getenv("TEST_TMPDIR");
  snprintf(dir, sizeof dir, "%s/tk_fit_test_XXXXXX", base ? base : "/tmp");
  if (!mkdtemp(dir)) return 1;
  make_data();
  test_events_in_order();
  test_stop_and_abort();
  test_cancel();
  test_cancel_evaluation();
  test_early_stopping_and_keep_best(dir);
  test_keep_best_on_stop_and_cooldown(dir);
  test_resume_mid_fit(dir);
  test_time_budget_and_keep_last(dir);
  test_event_stream();
  test_set_learning_rate();
  test_train_accuracy();
  test_freeze_and_param_groups();
  test_metrics();
  test_value_metrics();
  test_csv(dir);
  test_csv_features(dir);
  test_options_bad_input();
  printf("fit_test: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
