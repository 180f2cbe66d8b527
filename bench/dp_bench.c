/*
 * dp_bench.c - data-parallel scaling on this machine's CPU, for the MLP
 * 784-256-128-10 (Adam, synthetic data).
 *
 *   dp_bench [GLOBAL_BATCH]     1 replica x {1, all} threads, then N replicas on threads
 *   mpirun -np N dp_bench       N processes (1 thread each), rank 0 reports
 *
 * GLOBAL_BATCH (default 256, at most 4096): the rows of every step, split
 * over the replicas.
 *
 * Scaling efficiency = samples/s with N replicas / (N x samples/s of one
 * replica on one thread): 1.0 is perfect. Replicas on threads split the
 * optimizer update (each updates 1/N of the weights and moments, then they
 * exchange weights); the rest of a step shrinks with the rows, the fixed
 * part does not: the larger the global batch, the smaller its share.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capi/trainkit.h"

#define MAX_GLOBAL 4096
#define FEATURES 784

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static tk_trainer* make(int replicas, int threads, int mpi) {
  tk_model* model;
  tk_node x, h;
  int64_t shape[1] = {FEATURES};
  tk_trainer_options* options;
  tk_trainer* trainer = NULL;
  tk_model_create(&model);
  tk_model_input(model, "x", 1, shape, &x);
  tk_model_linear(model, x, 256, &h);
  tk_model_relu(model, h, &h);
  tk_model_linear(model, h, 128, &h);
  tk_model_relu(model, h, &h);
  tk_model_linear(model, h, 10, &h);
  tk_model_output(model, h, "logits");
  tk_trainer_options_create(&options);
  tk_trainer_options_set_optimizer(options, TK_OPTIMIZER_ADAM);
  tk_trainer_options_set_learning_rate(options, 1e-4);
  tk_trainer_options_set_threads(options, threads);
  tk_trainer_options_set_replicas(options, replicas);
  if (mpi) tk_trainer_options_set_distributed(options, TK_DISTRIBUTED_MPI);
  if (tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, options, &trainer) != TK_OK) {
    fprintf(stderr, "dp_bench: %s\n", tk_last_error_message());
    exit(1);
  }
  tk_trainer_options_destroy(options);
  tk_model_destroy(model);
  return trainer;
}

static int global = 256;

/* Samples/s over about `seconds` of steps on `rows` rows per call. */
static double rate(tk_trainer* trainer, int64_t rows, double seconds, int mpi) {
  static float x[MAX_GLOBAL * FEATURES];
  static int32_t y[MAX_GLOBAL];
  int i;
  for (i = 0; i < global * FEATURES; ++i) x[i] = (float)(i % 255) / 255.0f;
  for (i = 0; i < global; ++i) y[i] = i % 10;
  int64_t in_shape[2] = {rows, FEATURES}, label_shape[1] = {rows};
  tk_tensor_view in = tk_view_f32(x, 2, in_shape), lab = tk_view_i32(y, 1, label_shape);
  for (i = 0; i < 3; ++i) tk_trainer_step(trainer, &in, &lab, NULL);
  /* Under MPI every rank must run the same number of steps: fix it from a probe. */
  double start = now();
  int steps = 0;
  if (mpi) {
    for (steps = 0; steps < 40; ++steps) tk_trainer_step(trainer, &in, &lab, NULL);
  } else {
    do {
      tk_trainer_step(trainer, &in, &lab, NULL);
      ++steps;
    } while (now() - start < seconds);
  }
  return (double)steps * global / (now() - start);
}

int main(int argc, char** argv) {
  if (argc > 1) global = atoi(argv[1]);
  if (global < 4 || global > MAX_GLOBAL) {
    fprintf(stderr, "dp_bench: the global batch must be in [4, %d], got %s\n", MAX_GLOBAL, argv[1]);
    return 2;
  }
  const int mpi = getenv("OMPI_COMM_WORLD_SIZE") != NULL;
  if (mpi) {
    tk_trainer* t = make(1, 1, 1);
    int32_t rank, size;
    tk_trainer_world(t, &rank, &size);
    double r = rate(t, global / size, 2.0, 1);
    if (rank == 0) printf("MPI, %d processes x 1 thread, global batch %d: %.0f samples/s\n", size, global, r);
    tk_trainer_destroy(t);
    return 0;
  }
  tk_trainer* one = make(1, 1, 0);
  const double base = rate(one, global, 2.0, 0);
  tk_trainer_destroy(one);
  printf("trainkit %s  data-parallel CPU scaling, MLP 784-256-128-10, global batch %d\n", tk_version(), global);
  printf("%-34s %12s %12s\n", "configuration", "samples/s", "efficiency");
  printf("%-34s %12.0f %12s\n", "1 replica x 1 thread", base, "1.00");
  tk_trainer* all = make(1, 0, 0);
  printf("%-34s %12.0f %12s\n", "1 replica x all threads", rate(all, global, 2.0, 0), "-");
  tk_trainer_destroy(all);
  int n;
  for (n = 2; n <= 4; n *= 2) {
    tk_trainer* group = make(n, 1, 0);
    double r = rate(group, global, 2.0, 0);
    char label[64];
    snprintf(label, sizeof label, "%d replicas (threads) x 1 thread", n);
    printf("%-34s %12.0f %12.2f\n", label, r, r / (n * base));
    tk_trainer_destroy(group);
  }
  return 0;
}
