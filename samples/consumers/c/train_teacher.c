/* train_teacher.c - a program of one's own against the installed trainkit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <trainkit/trainkit.h>

#define FEATURES 8
#define CLASSES 4
#define TRAIN 4096
#define TEST 1024
#define BATCH 64

#define CHECK(call)                                                                            \
  do {                                                                                         \
    if ((call) != TK_OK) {                                                                     \
      fprintf(stderr, "%s failed: %s\n", #call, tk_last_error_message());                      \
      exit(1);                                                                                 \
    }                                                                                          \
  } while (0)

static unsigned long long state = 7;
static float uniform(void) { /* in [-1, 1) */
  state = state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (float)((double)(state >> 11) / 4503599627370496.0 - 1.0);
}

static float features[(TRAIN + TEST) * FEATURES];
static int32_t labels[TRAIN + TEST];

int main(void) {
  float teacher[CLASSES * FEATURES];
  int i, c, f, epoch, start;
  for (i = 0; i < CLASSES * FEATURES; ++i) teacher[i] = uniform();
  for (i = 0; i < TRAIN + TEST; ++i) {
    float best = -INFINITY;
    for (f = 0; f < FEATURES; ++f) features[i * FEATURES + f] = uniform();
    for (c = 0; c < CLASSES; ++c) {
      float score = 0;
      for (f = 0; f < FEATURES; ++f) score += teacher[c * FEATURES + f] * features[i * FEATURES + f];
      if (score > best) best = score, labels[i] = c;
    }
  }

  tk_model* model;
  tk_node x, h;
  int64_t input_shape[1] = {FEATURES};
  CHECK(tk_model_create(&model));
  CHECK(tk_model_input(model, "x", 1, input_shape, &x));
  CHECK(tk_model_linear(model, x, 64, &h));
  CHECK(tk_model_relu(model, h, &h));
  CHECK(tk_model_linear(model, h, CLASSES, &h));
  CHECK(tk_model_output(model, h, "logits"));
  tk_trainer_options* options;
  tk_trainer* trainer;
  CHECK(tk_trainer_options_create(&options));
  CHECK(tk_trainer_options_set_optimizer(options, TK_OPTIMIZER_ADAM));
  CHECK(tk_trainer_options_set_learning_rate(options, 0.01));
  CHECK(tk_trainer_options_set_seed(options, 1));
  CHECK(tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, options, &trainer));
  for (epoch = 0; epoch < 15; ++epoch)
    for (start = 0; start + BATCH <= TRAIN; start += BATCH) {
      int64_t in_shape[2] = {BATCH, FEATURES}, label_shape[1] = {BATCH};
      tk_tensor_view in = tk_view_f32(features + start * FEATURES, 2, in_shape);
      tk_tensor_view lab = tk_view_i32(labels + start, 1, label_shape);
      CHECK(tk_trainer_step(trainer, &in, &lab, NULL));
    }
  int64_t test_shape[2] = {TEST, FEATURES}, test_labels[1] = {TEST};
  tk_tensor_view in = tk_view_f32(features + TRAIN * FEATURES, 2, test_shape);
  tk_tensor_view lab = tk_view_i32(labels + TRAIN, 1, test_labels);
  double loss, accuracy;
  CHECK(tk_trainer_evaluate(trainer, &in, &lab, &loss, &accuracy));
  printf("trainkit %s: accuracy %.4f\n", tk_version(), accuracy);
  tk_trainer_destroy(trainer);
  tk_trainer_options_destroy(options);
  tk_model_destroy(model);
  return 0;
}
