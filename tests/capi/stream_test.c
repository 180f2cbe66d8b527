/*
 * stream_test.c - streaming batchers from C: a fit fed by a fill function
 * trains exactly as a fit over the same rows in a dataset; so does one fed by
 * a producer thread of the host's; a fit stopped mid-epoch and resumed from
 * its checkpoint (the stream seeks to the saved batch) ends as the
 * uninterrupted one; a producer that fails ends the fit with its message
 * after the batches it supplied; a fit waiting on a silent producer is
 * cancelled from another thread; bad arguments get clear statuses.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capi/trainkit.h"
#include "tests/capi/expect.h"
#include "tests/capi/small_mlp.h"

enum { FEATURES = 4, CLASSES = 3, SAMPLES = 36, BATCH = 8, EPOCHS = 3 };
/* 36 rows in batches of 8: four full batches and a short one of 4. */
enum { BATCHES = (SAMPLES + BATCH - 1) / BATCH, PARAMS_MAX = 256 };

static float features[SAMPLES * FEATURES];
static int32_t labels[SAMPLES];

static void make_data(void) {
  uint32_t state = 777;
  int i;
  for (i = 0; i < SAMPLES * FEATURES; ++i) {
    state = state * 1664525u + 1013904223u;
    features[i] = (float)((state >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
  for (i = 0; i < SAMPLES; ++i)
    labels[i] = features[i * FEATURES] + features[i * FEATURES + 1] > 0 ? 1 : features[i * FEATURES + 2] > 0 ? 2 : 0;
}

static tk_trainer* make_trainer(void) { return small_mlp(FEATURES, CLASSES, 1e-2, 5, 1); }

static int64_t params_of(tk_trainer* t, float* out) {
  int64_t count = 0;
  tk_trainer_num_parameters(t, &count);
  if (count > PARAMS_MAX) return -1;
  tk_trainer_copy_parameters(t, out, count);
  return count;
}

/* Rows of batch `batch` (the same in every epoch, unshuffled). */
static int64_t rows_of(int64_t batch) {
  int64_t begin = batch * BATCH, rows = SAMPLES - begin;
  return batch >= BATCHES ? 0 : rows < BATCH ? rows : BATCH;
}

/* What a fill function is told to do, and what it saw. */
typedef struct {
  int64_t fail_epoch, fail_batch; /* -1: never */
  int calls;
  int64_t last_epoch, last_batch;
} filler;

static int64_t fill(void* user_data, tk_batcher* batcher, int64_t epoch, int64_t batch, tk_tensor_view* x,
                    tk_tensor_view* y) {
  filler* f = (filler*)user_data;
  int64_t rows = rows_of(batch);
  __atomic_add_fetch(&f->calls, 1, __ATOMIC_RELAXED);
  f->last_epoch = epoch;
  f->last_batch = batch;
  if (epoch == f->fail_epoch && batch == f->fail_batch) {
    tk_batcher_stream_fail(batcher, "broken pipe reading the training file");
    return -1;
  }
  if (x->dtype != TK_DTYPE_F32 || x->rank != 2 || x->shape[0] != BATCH || x->shape[1] != FEATURES ||
      y->dtype != TK_DTYPE_I32 || y->rank != 1 || y->shape[0] != BATCH)
    return -1;
  memcpy(x->data, features + batch * BATCH * FEATURES, (size_t)(rows * FEATURES) * sizeof(float));
  memcpy(y->data, labels + batch * BATCH, (size_t)rows * sizeof(int32_t));
  return rows;
}

static tk_batcher* make_stream(filler* f) {
  int64_t sample[1] = {FEATURES};
  tk_batcher* b = NULL;
  if (tk_batcher_create_stream(1, sample, TK_DTYPE_I32, 0, NULL, BATCH, 2, BATCHES, f ? fill : NULL, f, &b) != TK_OK)
    fprintf(stderr, "stream: %s\n", tk_last_error_message());
  return b;
}

static tk_fit_report new_report(void) {
  tk_fit_report report;
  memset(&report, 0, sizeof report);
  report.struct_size = sizeof report;
  return report;
}

/* The reference: the same rows, unshuffled, from a dataset. */
static int64_t fit_over_dataset(float* params) {
  int64_t fshape[2] = {SAMPLES, FEATURES}, tshape[1] = {SAMPLES}, count;
  tk_tensor_view fv = tk_view_f32(features, 2, fshape), tv = tk_view_i32(labels, 1, tshape);
  tk_dataset* d = NULL;
  tk_batcher* b = NULL;
  tk_trainer* t = make_trainer();
  tk_fit_options* o = NULL;
  tk_fit_report report = new_report();
  tk_dataset_create(&fv, &tv, &d);
  tk_batcher_create(d, BATCH, 0, 0, 0, &b);
  tk_fit_options_create(&o);
  tk_fit_options_set_epochs(o, EPOCHS);
  EXPECT_STATUS(tk_trainer_fit(t, b, o, &report), TK_OK);
  count = params_of(t, params);
  tk_fit_options_destroy(o);
  tk_batcher_destroy(b);
  tk_trainer_destroy(t);
  tk_dataset_destroy(d);
  return count;
}

typedef struct {
  int steps, epochs;
  int64_t batches, last_batch, stop_at_step;
} counter;

static int32_t count_events(const tk_fit_event* e, void* user_data) {
  counter* c = (counter*)user_data;
  if (e->kind == TK_FIT_EVENT_STEP) {
    ++c->steps;
    c->batches = e->batches;
    c->last_batch = e->batch;
    if (e->step == c->stop_at_step) return TK_CALLBACK_STOP;
  } else {
    ++c->epochs;
  }
  return TK_CALLBACK_CONTINUE;
}

static void test_fill_function_matches_dataset(float* reference, int64_t count) {
  filler f = {-1, -1, 0, 0, 0};
  counter c;
  float got[PARAMS_MAX];
  tk_batcher* b = make_stream(&f);
  tk_trainer* t = make_trainer();
  tk_fit_options* o = NULL;
  tk_fit_report report = new_report();
  memset(&c, 0, sizeof c);
  tk_fit_options_create(&o);
  tk_fit_options_set_epochs(o, EPOCHS);
  tk_fit_options_set_callback(o, count_events, &c);
  EXPECT_STATUS(tk_trainer_fit(t, b, o, &report), TK_OK);
  EXPECT(report.end == TK_FIT_COMPLETED && report.epochs_completed == EPOCHS && report.steps == EPOCHS * BATCHES);
  EXPECT(c.steps == EPOCHS * BATCHES && c.epochs == EPOCHS);
  EXPECT(c.batches == BATCHES && c.last_batch == BATCHES);
  EXPECT(params_of(t, got) == count);
  EXPECT(memcmp(got, reference, (size_t)count * sizeof(float)) == 0);
  /* Each epoch's batches and its end, and the next epoch prefetched. */
  EXPECT(__atomic_load_n(&f.calls, __ATOMIC_RELAXED) >= EPOCHS * (BATCHES + 1));
  tk_fit_options_destroy(o);
  tk_batcher_destroy(b); /* joins the fill thread, which waits on a full stream */
  tk_trainer_destroy(t);
}

/* A host thread feeds the stream through request and supply_copy, the
 * features as f64 to show the conversion. */
typedef struct {
  tk_batcher* batcher;
  int supplied;
  int failed_calls;
} producer;

static void* produce(void* arg) {
  producer* p = (producer*)arg;
  double x[BATCH * FEATURES];
  for (;;) {
    int64_t epoch = 0, batch = 0, rows, i, shape[2];
    int32_t open = 0;
    tk_tensor_view slot_x, slot_y, xv, yv;
    if (tk_batcher_stream_request(p->batcher, &epoch, &batch, &slot_x, &slot_y, &open) != TK_OK) {
      ++p->failed_calls;
      return NULL;
    }
    if (!open) return NULL;
    rows = rows_of(batch);
    if (rows == 0) {
      if (tk_batcher_stream_supply_copy(p->batcher, NULL, NULL) != TK_OK) ++p->failed_calls;
      continue;
    }
    for (i = 0; i < rows * FEATURES; ++i) x[i] = features[batch * BATCH * FEATURES + i];
    shape[0] = rows;
    shape[1] = FEATURES;
    xv = tk_view(x, TK_DTYPE_F64, 2, shape);
    yv = tk_view_i32(labels + batch * BATCH, 1, shape);
    if (tk_batcher_stream_supply_copy(p->batcher, &xv, &yv) != TK_OK) ++p->failed_calls;
    ++p->supplied;
  }
}

static void test_host_producer_matches_dataset(float* reference, int64_t count) {
  producer p;
  pthread_t thread;
  float got[PARAMS_MAX];
  tk_trainer* t = make_trainer();
  tk_fit_options* o = NULL;
  tk_fit_report report = new_report();
  p.batcher = make_stream(NULL);
  p.supplied = 0;
  p.failed_calls = 0;
  pthread_create(&thread, NULL, produce, &p);
  tk_fit_options_create(&o);
  tk_fit_options_set_epochs(o, EPOCHS);
  EXPECT_STATUS(tk_trainer_fit(t, p.batcher, o, &report), TK_OK);
  EXPECT(params_of(t, got) == count);
  EXPECT(memcmp(got, reference, (size_t)count * sizeof(float)) == 0);
  EXPECT_STATUS(tk_batcher_stream_close(p.batcher), TK_OK);
  pthread_join(thread, NULL);
  EXPECT(p.failed_calls == 0 && p.supplied >= EPOCHS * BATCHES);
  tk_fit_options_destroy(o);
  tk_batcher_destroy(p.batcher);
  tk_trainer_destroy(t);
}

static void test_resume_from_stream_cursor(const char* dir, float* reference, int64_t count) {
  filler f = {-1, -1, 0, 0, 0};
  counter c;
  float got[PARAMS_MAX];
  char path[1024];
  tk_batcher* b = make_stream(&f);
  tk_trainer* t = make_trainer();
  tk_fit_options* o = NULL;
  tk_fit_report report = new_report();
  snprintf(path, sizeof path, "%s/stream.safetensors", dir);
  memset(&c, 0, sizeof c);
  c.stop_at_step = BATCHES + 2; /* inside epoch 1 */
  tk_fit_options_create(&o);
  tk_fit_options_set_epochs(o, EPOCHS);
  tk_fit_options_set_callback(o, count_events, &c);
  EXPECT_STATUS(tk_trainer_fit(t, b, o, &report), TK_OK);
  EXPECT(report.end == TK_FIT_STOPPED);
  EXPECT_STATUS(tk_trainer_save(t, path, b), TK_OK);
  tk_batcher_destroy(b);
  tk_trainer_destroy(t);

  b = make_stream(&f);
  t = make_trainer();
  EXPECT_STATUS(tk_trainer_load(t, path, b), TK_OK);
  c.stop_at_step = 0;
  EXPECT_STATUS(tk_trainer_fit(t, b, o, &report), TK_OK);
  EXPECT(report.end == TK_FIT_COMPLETED && report.steps == EPOCHS * BATCHES - (BATCHES + 2));
  EXPECT(params_of(t, got) == count);
  EXPECT(memcmp(got, reference, (size_t)count * sizeof(float)) == 0);
  tk_batcher_destroy(b);
  tk_trainer_destroy(t);
  tk_fit_options_destroy(o);
}

static void test_producer_failure(void) {
  filler f = {1, 2, 0, 0, 0};
  int64_t steps = 0;
  tk_batcher* b = make_stream(&f);
  tk_trainer* t = make_trainer();
  tk_fit_options* o = NULL;
  tk_fit_report report = new_report();
  tk_fit_options_create(&o);
  tk_fit_options_set_epochs(o, EPOCHS);
  EXPECT_STATUS(tk_trainer_fit(t, b, o, &report), TK_ERROR_IO);
  EXPECT_MESSAGE("broken pipe reading the training file");
  /* Every batch supplied before the failure was trained on. */
  tk_trainer_step_count(t, &steps);
  EXPECT(steps == BATCHES + 2);
  tk_fit_options_destroy(o);
  tk_batcher_destroy(b);
  tk_trainer_destroy(t);
}

typedef struct {
  tk_trainer* trainer;
} canceller;

static void* cancel_soon(void* arg) {
  usleep(50000);
  tk_trainer_cancel(((canceller*)arg)->trainer);
  return NULL;
}

static void test_cancel_while_waiting(void) {
  tk_batcher* b = make_stream(NULL); /* nobody supplies */
  tk_trainer* t = make_trainer();
  tk_fit_options* o = NULL;
  tk_fit_report report = new_report();
  pthread_t thread;
  canceller c;
  c.trainer = t;
  tk_fit_options_create(&o);
  tk_fit_options_set_epochs(o, 1);
  pthread_create(&thread, NULL, cancel_soon, &c);
  EXPECT_STATUS(tk_trainer_fit(t, b, o, &report), TK_ERROR_CANCELLED);
  EXPECT_MESSAGE("cancel"); /* while waiting for the stream, or (a slow start) before its first batch */
  pthread_join(thread, NULL);
  tk_fit_options_destroy(o);
  tk_batcher_destroy(b);
  tk_trainer_destroy(t);
}

static void test_bad_input(void) {
  int64_t sample[1] = {FEATURES}, bad_sample[1] = {0}, epoch, batch;
  int32_t open;
  tk_tensor_view x, y;
  tk_batcher* b = NULL;
  tk_batcher* data_batcher = NULL;
  tk_dataset* d = NULL;
  int64_t fshape[2] = {SAMPLES, FEATURES}, tshape[1] = {SAMPLES};
  tk_tensor_view fv = tk_view_f32(features, 2, fshape), tv = tk_view_i32(labels, 1, tshape);
  EXPECT_STATUS(tk_batcher_create_stream(1, NULL, TK_DTYPE_I32, 0, NULL, BATCH, 2, 0, NULL, NULL, &b),
                TK_ERROR_NULL_ARGUMENT);
  EXPECT_STATUS(tk_batcher_create_stream(1, sample, TK_DTYPE_F16, 0, NULL, BATCH, 2, 0, NULL, NULL, &b),
                TK_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(tk_batcher_create_stream(1, bad_sample, TK_DTYPE_I32, 0, NULL, BATCH, 2, 0, NULL, NULL, &b),
                TK_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(tk_batcher_create_stream(1, sample, TK_DTYPE_I32, 0, NULL, BATCH, 65, 0, NULL, NULL, &b),
                TK_ERROR_INVALID_ARGUMENT);
  EXPECT_MESSAGE("prefetch");
  EXPECT_STATUS(tk_batcher_create_stream(1, sample, TK_DTYPE_I32, 0, NULL, 0, 2, 0, NULL, NULL, &b),
                TK_ERROR_INVALID_ARGUMENT);
  EXPECT(b == NULL);
  EXPECT_STATUS(tk_batcher_create_stream(1, sample, TK_DTYPE_I32, 0, NULL, BATCH, 2, 0, NULL, NULL, NULL),
                TK_ERROR_NULL_ARGUMENT);
  b = make_stream(NULL);
  EXPECT_STATUS(tk_batcher_stream_supply(b, 3), TK_ERROR_INVALID_ARGUMENT); /* no request */
  EXPECT_STATUS(tk_batcher_stream_request(b, &epoch, &batch, &x, &y, &open), TK_OK);
  EXPECT(open == 1 && epoch == 0 && batch == 0);
  EXPECT_STATUS(tk_batcher_stream_request(b, &epoch, &batch, &x, &y, &open), TK_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(tk_batcher_stream_supply(b, BATCH + 1), TK_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(tk_batcher_stream_supply_copy(b, &fv, &tv), TK_ERROR_SHAPE_MISMATCH); /* 36 rows > 8 */
  EXPECT_STATUS(tk_batcher_stream_supply(b, 2), TK_OK); /* the request stayed open */
  EXPECT_STATUS(tk_batcher_set_shard(b, 0, 2), TK_ERROR_UNSUPPORTED);
  EXPECT_MESSAGE("shard the data in the producer");
  EXPECT_STATUS(tk_batcher_stream_fail(b, NULL), TK_ERROR_NULL_ARGUMENT);
  EXPECT_STATUS(tk_batcher_stream_close(NULL), TK_ERROR_NULL_ARGUMENT);
  EXPECT_STATUS(tk_batcher_stream_close(b), TK_OK);
  EXPECT_STATUS(tk_batcher_stream_request(b, &epoch, &batch, &x, &y, &open), TK_OK);
  EXPECT(open == 0);
  tk_batcher_destroy(b);
  tk_dataset_create(&fv, &tv, &d);
  tk_batcher_create(d, BATCH, 0, 0, 0, &data_batcher);
  EXPECT_STATUS(tk_batcher_stream_supply(data_batcher, 1), TK_ERROR_INVALID_ARGUMENT);
  EXPECT_MESSAGE("not a stream");
  tk_batcher_destroy(data_batcher);
  tk_dataset_destroy(d);
  {
    /* A stream with a fill function takes no host requests. */
    filler f = {-1, -1, 0, 0, 0};
    tk_batcher* filled = make_stream(&f);
    EXPECT_STATUS(tk_batcher_stream_request(filled, &epoch, &batch, &x, &y, &open), TK_ERROR_INVALID_ARGUMENT);
    EXPECT_MESSAGE("fill function");
    EXPECT_STATUS(tk_batcher_stream_supply(filled, 1), TK_ERROR_INVALID_ARGUMENT);
    tk_batcher_destroy(filled);
  }
}

int main(void) {
  float reference[PARAMS_MAX];
  int64_t count;
  const char* base = getenv("TEST_TMPDIR");
  make_data();
  count = fit_over_dataset(reference);
  EXPECT(count > 0);
  if (count <= 0) return 1;
  test_fill_function_matches_dataset(reference, count);
  test_host_producer_matches_dataset(reference, count);
  test_resume_from_stream_cursor(base ? base : "/tmp", reference, count);
  test_producer_failure();
  test_cancel_while_waiting();
  test_bad_input();
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
