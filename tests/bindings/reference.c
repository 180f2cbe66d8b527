/*
 * reference.c - the scenario every binding test repeats, through the C API:
 * Linear(4,8)-Tanh-Linear(8,3), Adam lr 0.05, seed 7, one thread, 20 steps on
 * fixed data. Prints the last loss and the parameter sum, which each language
 * must reproduce exactly. A second line: the parameter sum of the same model
 * trained from a Dataset of those arrays, two epochs of shuffled batches of 5
 * (seed 3) through tk_batcher_next.
 */
#include <stdio.h>
#include <stdlib.h>

#include "capi/trainkit.h"

int main(void) {
  tk_model* model;
  tk_node x, h;
  int64_t shape[1] = {4};
  tk_trainer_options* options;
  tk_trainer* trainer;
  float inputs[64], loss = 0;
  int32_t labels[16];
  int i;
  for (i = 0; i < 64; ++i) inputs[i] = (float)((i * 37) % 17) / 17.0f - 0.5f;
  for (i = 0; i < 16; ++i) labels[i] = i % 3;
  if (tk_model_create(&model) || tk_model_input(model, "x", 1, shape, &x) || tk_model_linear(model, x, 8, &h) ||
      tk_model_tanh(model, h, &h) || tk_model_linear(model, h, 3, &h) || tk_model_output(model, h, "logits") ||
      tk_trainer_options_create(&options) || tk_trainer_options_set_optimizer(options, TK_OPTIMIZER_ADAM) ||
      tk_trainer_options_set_learning_rate(options, 0.05) || tk_trainer_options_set_seed(options, 7) ||
      tk_trainer_options_set_threads(options, 1) ||
      tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, options, &trainer)) {
    fprintf(stderr, "setup failed: %s\n", tk_last_error_message());
    return 1;
  }
  int64_t in_shape[2] = {16, 4}, label_shape[1] = {16};
  tk_tensor_view in = tk_view_f32(inputs, 2, in_shape), lab = tk_view_i32(labels, 1, label_shape);
  for (i = 0; i < 20; ++i)
    if (tk_trainer_step(trainer, &in, &lab, &loss)) return 1;
  int64_t count;
  tk_trainer_num_parameters(trainer, &count);
  float* params = malloc((size_t)count * sizeof(float));
  tk_trainer_copy_parameters(trainer, params, count);
  double sum = 0;
  for (i = 0; i < count; ++i) sum += params[i];
  printf("%.9g %.17g\n", (double)loss, sum);

  tk_trainer* fresh;
  tk_dataset* dataset;
  tk_batcher* batcher;
  tk_tensor_view features, targets;
  int32_t has_batch;
  if (tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, options, &fresh) ||
      tk_dataset_create(&in, &lab, &dataset) || tk_batcher_create(dataset, 5, 1, 3, 0, &batcher))
    return 1;
  for (int epoch = 0; epoch < 2; ++epoch) {
    if (tk_batcher_reset(batcher, epoch)) return 1;
    for (;;) {
      if (tk_batcher_next(batcher, &features, &targets, &has_batch)) return 1;
      if (!has_batch) break;
      if (tk_trainer_step(fresh, &features, &targets, &loss)) return 1;
    }
  }
  tk_trainer_copy_parameters(fresh, params, count);
  sum = 0;
  for (i = 0; i < count; ++i) sum += params[i];
  printf("%.17g\n", sum);
  tk_batcher_destroy(batcher);
  tk_dataset_destroy(dataset);
  tk_trainer_destroy(fresh);
  tk_trainer_destroy(trainer);
  tk_trainer_options_destroy(options);
  tk_model_destroy(model);
  free(params);
  return 0;
}
