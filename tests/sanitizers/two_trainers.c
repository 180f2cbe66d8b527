/*
 * two_trainers.c - two host threads, each with its own model, trainer,
 * dataset and batcher, training at once through the C API (the threads
 * contract: different handles from different threads), while both read the
 * op catalog and fail calls on purpose (thread-local messages). Run under
 * ThreadSanitizer, any race in trainkit's shared state is a report.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "capi/trainkit.h"

#define CHECK(call)                                                                 \
  do {                                                                              \
    if ((call) != TK_OK) {                                                          \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, tk_last_error_message()); \
      return (void*)1;                                                              \
    }                                                                               \
  } while (0)

static void* train(void* seed_arg) {
  const int seed = *(const int*)seed_arg;
  float x[64 * 8];
  int32_t y[64];
  int i, epoch, has_batch;
  for (i = 0; i < 64 * 8; ++i) x[i] = (float)((i * 31 + seed * 7) % 23) / 23.0f - 0.5f;
  for (i = 0; i < 64; ++i) y[i] = (i + seed) % 4;
  int64_t x_shape[2] = {64, 8}, y_shape[1] = {64}, in_shape[1] = {8};
  tk_tensor_view features = tk_view(x, TK_DTYPE_F32, 2, x_shape), targets = tk_view(y, TK_DTYPE_I32, 1, y_shape);
  tk_model* model;
  tk_node node;
  tk_trainer_options* options;
  tk_trainer* trainer;
  tk_dataset* dataset;
  tk_batcher* batcher;
  tk_tensor_view bx, by;
  float loss;
  char catalog[1 << 16];
  size_t length;
  CHECK(tk_model_create(&model));
  CHECK(tk_model_input(model, "x", 1, in_shape, &node));
  CHECK(tk_model_linear(model, node, 16, &node));
  CHECK(tk_model_relu(model, node, &node));
  CHECK(tk_model_op(model, "linear", &node, 1, "{\"units\": 4}", &node));
  CHECK(tk_model_output(model, node, "logits"));
  CHECK(tk_trainer_options_create(&options));
  CHECK(tk_trainer_options_set_optimizer(options, TK_OPTIMIZER_ADAM));
  CHECK(tk_trainer_options_set_threads(options, 1));
  CHECK(tk_trainer_options_set_seed(options, (uint64_t)seed));
  CHECK(tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, options, &trainer));
  CHECK(tk_dataset_create(&features, &targets, &dataset));
  CHECK(tk_batcher_create(dataset, 16, 1, (uint64_t)seed, 0, &batcher));
  for (epoch = 0; epoch < 5; ++epoch) {
    CHECK(tk_batcher_reset(batcher, epoch));
    for (;;) {
      CHECK(tk_batcher_next(batcher, &bx, &by, &has_batch));
      if (!has_batch) break;
      CHECK(tk_trainer_step(trainer, &bx, &by, &loss));
    }
    CHECK(tk_op_catalog(catalog, sizeof catalog, &length));
    if (tk_model_linear(model, 99, 3, &node) == TK_OK || !strstr(tk_last_error_message(), "99")) return (void*)1;
  }
  tk_batcher_destroy(batcher);
  tk_dataset_destroy(dataset);
  tk_trainer_destroy(trainer);
  tk_trainer_options_destroy(options);
  tk_model_destroy(model);
  return NULL;
}

int main(void) {
  pthread_t threads[2];
  int seeds[2] = {1, 2};
  void* results[2];
  int i;
  for (i = 0; i < 2; ++i) pthread_create(&threads[i], NULL, train, &seeds[i]);
  for (i = 0; i < 2; ++i) pthread_join(threads[i], &results[i]);
  if (results[0] || results[1]) return 1;
  printf("two trainers trained side by side\n");
  return 0;
}
