/*
 * predict_bench.c - inference throughput of a tk_predictor against
 * tk_trainer_predict on the same weights, in one run: samples/s at several
 * batch sizes, one caller, then the predictor with 1, 2 and 4 callers at once.
 *
 *   predict_bench [--seconds S] [--threads N]
 *
 * Model: the Fashion-MNIST MLP (784-256-128-10); inputs random.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_c.h"
#include "capi/trainkit.h"

enum { IN = 784, OUT = 10, MAX_BATCH = 256 };
static float inputs[MAX_BATCH * IN];
static double seconds = 1.0;

typedef struct {
  tk_trainer* trainer;     /* one of the two is set */
  tk_predictor* predictor;
  int64_t batch;
  double samples_per_second;
} job;

static void* run(void* arg) {
  job* j = (job*)arg;
  int64_t in_shape[2] = {j->batch, IN}, out_shape[2] = {j->batch, OUT};
  float out[MAX_BATCH * OUT];
  tk_tensor_view in = tk_view_f32(inputs, 2, in_shape), ov = tk_view_f32(out, 2, out_shape);
  long calls = 0;
  double start, elapsed;
  /* Warm-up: the first call lays the arena out. */
  if (j->trainer) CHECK(tk_trainer_predict(j->trainer, &in, 0, &ov));
  else CHECK(tk_predictor_predict(j->predictor, &in, 0, &ov));
  start = now();
  do {
    if (j->trainer) CHECK(tk_trainer_predict(j->trainer, &in, 0, &ov));
    else CHECK(tk_predictor_predict(j->predictor, &in, 0, &ov));
    ++calls;
    elapsed = now() - start;
  } while (elapsed < seconds);
  j->samples_per_second = (double)(calls * j->batch) / elapsed;
  return NULL;
}

static double concurrent(tk_predictor* p, int64_t batch, int callers) {
  pthread_t threads[8];
  job jobs[8];
  double total = 0;
  int i;
  for (i = 0; i < callers; ++i) {
    jobs[i].trainer = NULL;
    jobs[i].predictor = p;
    jobs[i].batch = batch;
    pthread_create(&threads[i], NULL, run, &jobs[i]);
  }
  for (i = 0; i < callers; ++i) {
    pthread_join(threads[i], NULL);
    total += jobs[i].samples_per_second;
  }
  return total;
}

int main(int argc, char** argv) {
  int threads = 1, i;
  const int64_t batches[] = {1, 16, 256};
  tk_model* m;
  tk_node x, h;
  int64_t shape[1] = {IN}, bytes = 0;
  tk_trainer_options* o;
  tk_trainer* t;
  tk_predictor* p;
  for (i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
  }
  for (i = 0; i < MAX_BATCH * IN; ++i) inputs[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
  CHECK(tk_model_create(&m));
  CHECK(tk_model_input(m, "image", 1, shape, &x));
  CHECK(tk_model_linear(m, x, 256, &h));
  CHECK(tk_model_relu(m, h, &h));
  CHECK(tk_model_linear(m, h, 128, &h));
  CHECK(tk_model_relu(m, h, &h));
  CHECK(tk_model_linear(m, h, OUT, &h));
  CHECK(tk_model_output(m, h, "logits"));
  CHECK(tk_trainer_options_create(&o));
  CHECK(tk_trainer_options_set_optimizer(o, TK_OPTIMIZER_ADAM));
  CHECK(tk_trainer_options_set_threads(o, threads));
  CHECK(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &t));
  CHECK(tk_predictor_create(t, threads, &p));
  printf("784-256-128-10 MLP, %d thread(s) per call, %.1f s per cell\n", threads, seconds);
  printf("batch  trainer_predict  predictor  ratio   | predictor, 2 callers  4 callers (samples/s)\n");
  for (i = 0; i < 3; ++i) {
    job a = {t, NULL, batches[i], 0}, b = {NULL, p, batches[i], 0};
    double two, four;
    run(&a);
    run(&b);
    two = concurrent(p, batches[i], 2);
    four = concurrent(p, batches[i], 4);
    printf("%5lld  %15.0f  %9.0f  %5.2fx  | %20.0f  %9.0f\n", (long long)batches[i], a.samples_per_second,
           b.samples_per_second, b.samples_per_second / a.samples_per_second, two, four);
  }
  CHECK(tk_predictor_memory(p, &bytes));
  printf("predictor memory after the runs: %lld bytes (weights %lld)\n", (long long)bytes,
         (long long)((IN * 256 + 256 + 256 * 128 + 128 + 128 * OUT + OUT) * 4));
  tk_predictor_destroy(p);
  tk_trainer_destroy(t);
  tk_trainer_options_destroy(o);
  tk_model_destroy(m);
  return 0;
}
