/*
 * stream_bench.c - training from a stream against training from memory, in
 * one run: one epoch of Fashion-MNIST's 60000 training images through the
 * 784-256-128-10 MLP (Adam, batch 128), with the data
 *   memory    loaded whole (tk_dataset_load_idx) and batched in order;
 *   stream    decompressed from the .gz file batch by batch by a fill
 *             function on the batcher's thread (two batches prefetched);
 *   loop      the same reads and steps written by hand, one after the other;
 * and, with each batch made to take an extra --latency ms to arrive (a slow
 * disk or network), the stream (four prefetched) against the hand loop.
 * Reports samples/s and the growth of resident memory over each run.
 *
 *   stream_bench [--dir DIR] [--threads N] [--latency MS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "bench/bench_c.h"
#include "capi/trainkit.h"

enum { PIXELS = 784, CLASSES = 10, BATCH = 128 };

/* Resident set size in kB (VmRSS). */
static long resident_kb(void) {
  char line[256];
  long kb = -1;
  FILE* f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "VmRSS:", 6)) kb = atol(line + 6);
  fclose(f);
  return kb;
}

/* The training images and labels as gzip streams, past their IDX headers. */
typedef struct {
  char images_path[1024], labels_path[1024];
  gzFile images, labels;
  int64_t samples, served, batches;
  double latency_s;
  unsigned char pixels[BATCH * PIXELS], classes[BATCH];
} source;

static void open_source(source* s) {
  unsigned char header[16];
  s->images = gzopen(s->images_path, "rb");
  s->labels = gzopen(s->labels_path, "rb");
  if (!s->images || !s->labels || gzread(s->images, header, 16) != 16 || gzread(s->labels, header + 8, 8) != 8) {
    fprintf(stderr, "cannot read %s and %s\n", s->images_path, s->labels_path);
    exit(1);
  }
  s->samples = ((int64_t)header[4] << 24) | (header[5] << 16) | (header[6] << 8) | header[7];
  s->served = 0;
  s->batches = 0;
}

static void close_source(source* s) {
  gzclose(s->images);
  gzclose(s->labels);
}

static void wait_latency(double seconds) {
  struct timespec ts;
  if (seconds <= 0) return;
  ts.tv_sec = (time_t)seconds;
  ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
  nanosleep(&ts, NULL);
}

/* The next batch into x and y; its rows (0 at the end of the file). */
static int64_t read_batch(source* s, float* x, int32_t* y) {
  int64_t rows = s->samples - s->served, i;
  if (rows > BATCH) rows = BATCH;
  if (rows <= 0) return 0;
  wait_latency(s->latency_s);
  if (gzread(s->images, s->pixels, (unsigned)(rows * PIXELS)) != rows * PIXELS ||
      gzread(s->labels, s->classes, (unsigned)rows) != rows)
    return -1;
  for (i = 0; i < rows * PIXELS; ++i) x[i] = (float)s->pixels[i] / 255.0f;
  for (i = 0; i < rows; ++i) y[i] = s->classes[i];
  s->served += rows;
  ++s->batches;
  return rows;
}

/* One epoch in order: batch b of epoch e is the next one in the file. */
static int64_t fill(void* user_data, tk_batcher* batcher, int64_t epoch, int64_t batch, tk_tensor_view* x,
                    tk_tensor_view* y) {
  source* s = (source*)user_data;
  int64_t rows;
  if (epoch > 0) return 0; /* one epoch is measured: the next one is empty */
  if (batch != s->batches) {
    tk_batcher_stream_fail(batcher, "this source reads in order only");
    return -1;
  }
  rows = read_batch(s, (float*)x->data, (int32_t*)y->data);
  if (rows < 0) tk_batcher_stream_fail(batcher, "a short read from the gzip file");
  return rows;
}

static tk_trainer* make(int threads) {
  tk_model* m = NULL;
  tk_trainer_options* o = NULL;
  tk_trainer* t = NULL;
  tk_node h;
  int64_t shape[2] = {28, 28};
  CHECK(tk_model_create(&m));
  CHECK(tk_model_input(m, "x", 2, shape, &h));
  CHECK(tk_model_flatten(m, h, &h));
  CHECK(tk_model_linear(m, h, 256, &h));
  CHECK(tk_model_relu(m, h, &h));
  CHECK(tk_model_linear(m, h, 128, &h));
  CHECK(tk_model_relu(m, h, &h));
  CHECK(tk_model_linear(m, h, CLASSES, &h));
  CHECK(tk_model_output(m, h, "logits"));
  CHECK(tk_trainer_options_create(&o));
  CHECK(tk_trainer_options_set_optimizer(o, TK_OPTIMIZER_ADAM));
  CHECK(tk_trainer_options_set_learning_rate(o, 1e-3));
  CHECK(tk_trainer_options_set_threads(o, threads));
  CHECK(tk_trainer_options_set_batch_hint(o, BATCH));
  CHECK(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &t));
  tk_trainer_options_destroy(o);
  tk_model_destroy(m);
  return t;
}

static void fit_one_epoch(tk_trainer* t, tk_batcher* b) {
  tk_fit_options* o = NULL;
  tk_fit_report report;
  memset(&report, 0, sizeof report);
  report.struct_size = sizeof report;
  CHECK(tk_fit_options_create(&o));
  CHECK(tk_fit_options_set_epochs(o, 1));
  CHECK(tk_trainer_fit(t, b, o, &report));
  tk_fit_options_destroy(o);
}

static void report(const char* name, int64_t samples, double seconds, long grown_kb, double accuracy) {
  printf("%-34s %10.0f %12.1f %10.4f\n", name, (double)samples / seconds, (double)grown_kb / 1024.0, accuracy);
}

static double test_accuracy(tk_trainer* t, const char* dir) {
  char images[1024], labels[1024];
  tk_dataset* d = NULL;
  double loss, accuracy;
  snprintf(images, sizeof images, "%s/t10k-images-idx3-ubyte.gz", dir);
  snprintf(labels, sizeof labels, "%s/t10k-labels-idx1-ubyte.gz", dir);
  CHECK(tk_dataset_load_idx(images, labels, &d));
  CHECK(tk_dataset_normalize(d, TK_NORMALIZE_UNIT_RANGE, 0, 1));
  CHECK(tk_trainer_evaluate_dataset(t, d, 1000, &loss, &accuracy));
  tk_dataset_destroy(d);
  return accuracy;
}

/* The hand-written loop: read a batch, then step on it. */
static double hand_loop(tk_trainer* t, source* s, int prefetch, long* grown_kb) {
  static float x[BATCH * PIXELS];
  static int32_t y[BATCH];
  int64_t rows;
  long before = resident_kb();
  double start = now(), seconds;
  float loss;
  (void)prefetch;
  open_source(s);
  while ((rows = read_batch(s, x, y)) > 0) {
    int64_t xs[3] = {rows, 28, 28}, ys[1] = {rows};
    tk_tensor_view xv = tk_view_f32(x, 3, xs), yv = tk_view_i32(y, 1, ys);
    CHECK(tk_trainer_step(t, &xv, &yv, &loss));
  }
  seconds = now() - start;
  *grown_kb = resident_kb() - before;
  close_source(s);
  return seconds;
}

static double streamed(tk_trainer* t, source* s, int prefetch, long* grown_kb) {
  int64_t sample[2] = {28, 28};
  tk_batcher* b = NULL;
  long before = resident_kb();
  double start = now(), seconds;
  open_source(s);
  CHECK(tk_batcher_create_stream(2, sample, TK_DTYPE_I32, 0, NULL, BATCH, prefetch, (s->samples + BATCH - 1) / BATCH,
                                 fill, s, &b));
  fit_one_epoch(t, b);
  seconds = now() - start;
  *grown_kb = resident_kb() - before;
  tk_batcher_destroy(b);
  close_source(s);
  return seconds;
}

/* Loads the whole training set, then fits one epoch over it in order. */
static double in_memory(tk_trainer* t, source* s, int prefetch, long* grown_kb) {
  tk_dataset* d = NULL;
  tk_batcher* b = NULL;
  long before = resident_kb();
  double start = now(), seconds;
  (void)prefetch;
  CHECK(tk_dataset_load_idx(s->images_path, s->labels_path, &d));
  CHECK(tk_dataset_normalize(d, TK_NORMALIZE_UNIT_RANGE, 0, 1));
  CHECK(tk_batcher_create(d, BATCH, 0, 0, 0, &b));
  fit_one_epoch(t, b);
  seconds = now() - start;
  *grown_kb = resident_kb() - before;
  tk_batcher_destroy(b);
  tk_dataset_destroy(d);
  return seconds;
}

typedef double (*epoch_fn)(tk_trainer*, source*, int prefetch, long* grown_kb);

/* One epoch on a fresh trainer, reported with its test accuracy. */
static void measure(const char* name, epoch_fn run, int prefetch, int threads, const char* dir, source* s) {
  long grown = 0;
  tk_trainer* t = make(threads);
  double seconds = run(t, s, prefetch, &grown);
  report(name, 60000, seconds, grown, test_accuracy(t, dir));
  tk_trainer_destroy(t);
}

int main(int argc, char** argv) {
  const char* dir = "/usr/share/datasets/fashion-mnist";
  double latency_ms = 2.0;
  int threads = 2, i;
  static source s;
  for (i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--dir")) dir = argv[i + 1];
    else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--latency")) latency_ms = atof(argv[i + 1]);
  }
  snprintf(s.images_path, sizeof s.images_path, "%s/train-images-idx3-ubyte.gz", dir);
  snprintf(s.labels_path, sizeof s.labels_path, "%s/train-labels-idx1-ubyte.gz", dir);
  printf("one epoch of 60000 Fashion-MNIST images, 784-256-128-10, Adam, batch %d, %d threads\n", BATCH, threads);
  printf("%-34s %10s %12s %10s\n", "data from", "samples/s", "RSS +MB", "test acc");
  /* The stream first: its memory growth is measured before the dataset's. */
  measure("stream (.gz, 2 prefetched)", streamed, 2, threads, dir, &s);
  measure("hand loop (.gz, read then step)", hand_loop, 0, threads, dir, &s);
  measure("memory (load whole, then fit)", in_memory, 0, threads, dir, &s);
  printf("\nwith %.1f ms more per batch to arrive:\n", latency_ms);
  s.latency_s = latency_ms / 1000.0;
  measure("stream (4 prefetched)", streamed, 4, threads, dir, &s);
  measure("hand loop (read then step)", hand_loop, 0, threads, dir, &s);
  return 0;
}
