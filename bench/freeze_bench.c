/*
 * freeze_bench.c - what freezing a model's body saves, in one run: device
 * memory after a step and training samples/s, for the whole model trained
 * against its body frozen (only the last layer trains), with Adam.
 *
 *   freeze_bench [--seconds S] [--threads N] [--batch B]
 *
 * Models: the Fashion-MNIST MLP (784-256-128-10) and a wider one
 * (784-1024-1024-1024-10); inputs and labels random.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_c.h"
#include "capi/trainkit.h"

enum { IN = 784, OUT = 10, MAX_BATCH = 1024 };
static float inputs[MAX_BATCH * IN];
static int32_t labels[MAX_BATCH];

static tk_trainer* make(const int64_t* widths, int layers, int threads, char* last_layer, size_t capacity) {
  tk_model* m = NULL;
  tk_trainer_options* o = NULL;
  tk_trainer* t = NULL;
  tk_node h;
  int64_t shape[1] = {IN};
  int i;
  CHECK(tk_model_create(&m));
  CHECK(tk_model_input(m, "x", 1, shape, &h));
  for (i = 0; i < layers; ++i) {
    CHECK(tk_model_linear(m, h, widths[i], &h));
    if (i + 1 < layers) CHECK(tk_model_relu(m, h, &h));
  }
  CHECK(tk_model_output(m, h, "logits"));
  CHECK(tk_trainer_options_create(&o));
  CHECK(tk_trainer_options_set_optimizer(o, TK_OPTIMIZER_ADAM));
  CHECK(tk_trainer_options_set_learning_rate(o, 1e-3));
  CHECK(tk_trainer_options_set_threads(o, threads));
  CHECK(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &t));
  tk_trainer_options_destroy(o);
  tk_model_destroy(m);
  {
    int32_t count = 0, rank = 0;
    int64_t extents[8];
    CHECK(tk_trainer_num_parameter_tensors(t, &count));
    CHECK(tk_trainer_parameter_info(t, count - 1, last_layer, capacity, &rank, extents));
    *strrchr(last_layer, '.') = '\0';
  }
  return t;
}

/* Memory after the first step, and samples/s over `seconds` of steps after it. */
static void measure(tk_trainer* t, int64_t batch, double seconds, int64_t* memory, double* samples_per_second) {
  int64_t in_shape[2] = {batch, IN}, y_shape[1] = {batch};
  tk_tensor_view x = tk_view_f32(inputs, 2, in_shape), y = tk_view_i32(labels, 1, y_shape);
  float loss;
  long steps = 0;
  double start, elapsed;
  CHECK(tk_trainer_step(t, &x, &y, &loss));
  CHECK(tk_trainer_memory(t, memory));
  start = now();
  do {
    CHECK(tk_trainer_step(t, &x, &y, &loss));
    ++steps;
    elapsed = now() - start;
  } while (elapsed < seconds);
  *samples_per_second = (double)(steps * batch) / elapsed;
}

int main(int argc, char** argv) {
  static const int64_t small[] = {256, 128, OUT}, wide[] = {1024, 1024, 1024, OUT};
  struct { const char* name; const int64_t* widths; int layers; } models[] = {
      {"784-256-128-10", small, 3}, {"784-1024-1024-1024-10", wide, 4}};
  double seconds = 2.0;
  int threads = 0, i, m;
  int64_t batch = 256;
  for (i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--batch")) batch = atoll(argv[i + 1]);
  }
  if (batch < 1 || batch > MAX_BATCH) {
    fprintf(stderr, "--batch must be in [1, %d]\n", MAX_BATCH);
    return 2;
  }
  srand(1);
  for (i = 0; i < MAX_BATCH * IN; ++i) inputs[i] = (float)rand() / (float)RAND_MAX;
  for (i = 0; i < MAX_BATCH; ++i) labels[i] = rand() % OUT;
  printf("%-24s %-12s %12s %14s\n", "model (Adam, batch)", "trains", "memory MB", "samples/s");
  for (m = 0; m < 2; ++m) {
    char last[256], pattern[260];
    int64_t memory[2];
    double rate[2];
    tk_trainer* full = make(models[m].widths, models[m].layers, threads, last, sizeof last);
    tk_trainer* head = make(models[m].widths, models[m].layers, threads, last, sizeof last);
    /* Everything but the last layer: freeze all, then thaw the head. */
    snprintf(pattern, sizeof pattern, "%s.*", last);
    CHECK(tk_trainer_freeze(head, "linear_*", NULL));
    CHECK(tk_trainer_unfreeze(head, pattern, NULL));
    measure(full, batch, seconds, &memory[0], &rate[0]);
    measure(head, batch, seconds, &memory[1], &rate[1]);
    printf("%-24s %-12s %12.2f %14.0f\n", models[m].name, "everything", memory[0] / 1e6, rate[0]);
    printf("%-24s %-12s %12.2f %14.0f   (memory %.2fx, speed %.2fx)\n", "", "head only", memory[1] / 1e6, rate[1],
           (double)memory[1] / (double)memory[0], rate[1] / rate[0]);
    tk_trainer_destroy(full);
    tk_trainer_destroy(head);
  }
  return 0;
}
