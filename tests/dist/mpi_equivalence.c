/*
 * mpi_equivalence.c - run under mpirun -np N. Every rank trains on its rows of
 * each global batch through TK_DISTRIBUTED_MPI; rank 0 also trains one local
 * trainer on the whole batches and requires the same weights (relative 1e-5):
 * for an MLP, and for a model with batch norm under sync batch norm. Then,
 * under fp16, an overflow on the last rank only must skip the step on every
 * rank. Exit status 0 on success.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capi/trainkit.h"
#include "tests/dist/dist_test.h"

#define FEATURES 6
#define CLASSES 3
#define GLOBAL 24
#define STEPS 8


/* features -> 16 (no bias) -> batch norm -> ReLU -> classes. */
static tk_model* batch_norm_mlp(void) {
  tk_model* model;
  tk_node h;
  int64_t shape[1] = {FEATURES};
  CHECK(tk_model_create(&model));
  CHECK(tk_model_input(model, "x", 1, shape, &h));
  CHECK(tk_model_linear_ex(model, h, 16, 0, TK_INIT_HE_UNIFORM, &h));
  CHECK(tk_model_batch_norm(model, h, 1e-5, 0.1, &h));
  CHECK(tk_model_relu(model, h, &h));
  CHECK(tk_model_linear(model, h, CLASSES, &h));
  CHECK(tk_model_output(model, h, "logits"));
  return model;
}

static tk_trainer* make_model(tk_model* model, int distributed, tk_precision precision) {
  tk_trainer_options* options;
  tk_trainer* trainer;
  CHECK(tk_trainer_options_create(&options));
  CHECK(tk_trainer_options_set_optimizer(options, TK_OPTIMIZER_ADAM));
  CHECK(tk_trainer_options_set_learning_rate(options, 0.02));
  CHECK(tk_trainer_options_set_threads(options, 1));
  CHECK(tk_trainer_options_set_precision(options, precision));
  CHECK(tk_trainer_options_set_bucket_bytes(options, 1024));
  CHECK(tk_trainer_options_set_communication_timeout(options, 60));
  CHECK(tk_trainer_options_set_sync_batch_norm(options, 1));
  if (distributed) CHECK(tk_trainer_options_set_distributed(options, TK_DISTRIBUTED_MPI));
  CHECK(tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, options, &trainer));
  tk_trainer_options_destroy(options);
  tk_model_destroy(model);
  return trainer;
}

static tk_model* plain_mlp(void) { return dist_test_mlp(FEATURES, CLASSES); }

/* Trains `model` distributed and (rank 0) alone on the same global batches;
 * returns whether the weights differ by more than 1e-5 (relative). */
static int differs_from_one_process(tk_model* (*model)(void), const float* x, const int32_t* y, const char* name) {
  tk_trainer* distributed = make_model(model(), 1, TK_PRECISION_FP32);
  int32_t rank, size;
  int s, failed = 0;
  CHECK(tk_trainer_world(distributed, &rank, &size));
  const int64_t begin = (int64_t)GLOBAL * rank / size, end = (int64_t)GLOBAL * (rank + 1) / size;
  for (s = 0; s < STEPS; ++s) {
    int64_t in_shape[2] = {end - begin, FEATURES}, label_shape[1] = {end - begin};
    tk_tensor_view in = tk_view_f32((float*)x + (s * GLOBAL + begin) * FEATURES, 2, in_shape);
    tk_tensor_view lab = tk_view_i32((int32_t*)y + s * GLOBAL + begin, 1, label_shape);
    CHECK(tk_trainer_step(distributed, &in, &lab, NULL));
  }
  if (rank == 0) {
    tk_trainer* single = make_model(model(), 0, TK_PRECISION_FP32);
    int64_t i, n, m;
    for (s = 0; s < STEPS; ++s) {
      int64_t in_shape[2] = {GLOBAL, FEATURES}, label_shape[1] = {GLOBAL};
      tk_tensor_view in = tk_view_f32((float*)x + s * GLOBAL * FEATURES, 2, in_shape);
      tk_tensor_view lab = tk_view_i32((int32_t*)y + s * GLOBAL, 1, label_shape);
      CHECK(tk_trainer_step(single, &in, &lab, NULL));
    }
    float* a = dist_test_weights(single, &n);
    float* b = dist_test_weights(distributed, &m);
    double worst = 0;
    for (i = 0; i < n && n == m; ++i) {
      double error = fabs(a[i] - b[i]) / fmax(1.0, fabs(a[i]));
      if (error > worst) worst = error;
    }
    printf("rank 0 of %d, %s: worst relative difference to one process %.3g\n", size, name, worst);
    failed = n != m || worst > 1e-5;
    free(a);
    free(b);
    tk_trainer_destroy(single);
  }
  tk_trainer_destroy(distributed);
  return failed;
}

int main(void) {
  static float x[STEPS * GLOBAL * FEATURES];
  static int32_t y[STEPS * GLOBAL];
  int i, rank32, size32, failed = 0;
  for (i = 0; i < STEPS * GLOBAL * FEATURES; ++i) x[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
  for (i = 0; i < STEPS * GLOBAL; ++i) y[i] = (i * 31) % CLASSES;

  if (differs_from_one_process(plain_mlp, x, y, "MLP")) failed = 1;
  if (differs_from_one_process(batch_norm_mlp, x, y, "sync batch norm")) failed = 1;

  /* fp16: an overflow in the last rank's rows only; every rank must skip. */
  tk_trainer* half = make_model(plain_mlp(), 1, TK_PRECISION_FP16);
  CHECK(tk_trainer_world(half, &rank32, &size32));
  const int rank = rank32, size = size32;
  const int64_t begin = (int64_t)GLOBAL * rank / size, end = (int64_t)GLOBAL * (rank + 1) / size;
  float row[FEATURES * GLOBAL];
  memcpy(row, x, sizeof row);
  if (rank == size - 1) row[begin * FEATURES] = 1e6f;
  {
    int64_t in_shape[2] = {end - begin, FEATURES}, label_shape[1] = {end - begin};
    tk_tensor_view in = tk_view_f32(row + begin * FEATURES, 2, in_shape);
    tk_tensor_view lab = tk_view_i32(y + begin, 1, label_shape);
    tk_step_report report;
    report.struct_size = sizeof report;
    CHECK(tk_trainer_step_report(half, &in, &lab, &report));
    printf("rank %d: overflow step skipped=%d applied=%d\n", rank, report.skipped, report.applied);
    if (!report.skipped || report.applied) failed = 1;
  }
  tk_trainer_destroy(half);
  return failed;
}
