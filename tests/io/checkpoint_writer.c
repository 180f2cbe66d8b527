/*
 * checkpoint_writer.c - the two halves of the killed-save test.
 *   checkpoint_writer write PATH   trains and saves PATH over and over until killed
 *   checkpoint_writer write-once PATH  one step and one save
 *   checkpoint_writer check PATH   loads PATH into a fresh trainer (exit 0 if it loads)
 */
#include <stdio.h>
#include <string.h>

#include "capi/trainkit.h"

static tk_trainer* make_trainer(void) {
  tk_model* model;
  tk_node x, h;
  int64_t shape[1] = {64};
  tk_trainer* trainer = NULL;
  tk_trainer_options* options;
  tk_model_create(&model);
  tk_model_input(model, "x", 1, shape, &x);
  tk_model_linear(model, x, 512, &h);
  tk_model_relu(model, h, &h);
  tk_model_linear(model, h, 10, &h);
  tk_model_output(model, h, "logits");
  tk_trainer_options_create(&options);
  tk_trainer_options_set_optimizer(options, TK_OPTIMIZER_ADAM);
  tk_trainer_options_set_threads(options, 1);
  tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, options, &trainer);
  tk_trainer_options_destroy(options);
  tk_model_destroy(model);
  return trainer;
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  tk_trainer* trainer = make_trainer();
  if (!trainer) return 1;
  if (!strcmp(argv[1], "check")) {
    tk_status status = tk_trainer_load(trainer, argv[2], NULL);
    if (status != TK_OK) fprintf(stderr, "load failed: %s\n", tk_last_error_message());
    tk_trainer_destroy(trainer);
    return status == TK_OK ? 0 : 1;
  }
  static float inputs[16 * 64];
  static int32_t labels[16];
  int64_t in_shape[2] = {16, 64}, label_shape[1] = {16};
  int i;
  for (i = 0; i < 16 * 64; ++i) inputs[i] = (float)(i % 13) / 13.0f;
  for (i = 0; i < 16; ++i) labels[i] = i % 10;
  tk_tensor_view in = tk_view_f32(inputs, 2, in_shape), lab = tk_view_i32(labels, 1, label_shape);
  const int once = !strcmp(argv[1], "write-once");
  for (;;) {
    if (tk_trainer_step(trainer, &in, &lab, NULL) != TK_OK) return 1;
    if (tk_trainer_save(trainer, argv[2], NULL) != TK_OK) {
      fprintf(stderr, "save failed: %s\n", tk_last_error_message());
      return 1;
    }
    if (once) break;
  }
  tk_trainer_destroy(trainer);
  return 0;
}
