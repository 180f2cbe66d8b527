/*
 * quickstart_amp.c - the quickstart network trained with fp16 automatic mixed
 * precision and dynamic loss scaling, step for step as PyTorch's
 *
 *     scaler = torch.cuda.amp.GradScaler()
 *     for input, target in data:
 *         with torch.autocast(device_type="cuda", dtype=torch.float16):
 *             output = net(input)
 *             loss = loss_fn(output, target)
 *         scaler.scale(loss).backward()
 *         scaler.step(opt)
 *         scaler.update()
 *         opt.zero_grad()
 *
 * In trainkit autocast is tk_trainer_options_set_precision(TK_PRECISION_FP16)
 * and GradScaler is the trainer's loss scaler; one tk_trainer_step_report call
 * does the forward, the scaled backward, the unscale-and-check, the step (or
 * its skip) and the scale update. It prints loss, scale and skipped steps.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "capi/trainkit.h"

#define SAMPLES 4096
#define FEATURES 10
#define CLASSES 10
#define BATCH 64

#define CHECK(call)                                                              \
  do {                                                                           \
    tk_status status_ = (call);                                                  \
    if (status_ != TK_OK) {                                                      \
      fprintf(stderr, "%s failed: %s: %s\n", #call, tk_status_string(status_),  \
              tk_last_error_message());                                          \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)

static unsigned long long rng_state = 42;
static double uniform(void) {
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(rng_state >> 11) * (1.0 / 9007199254740992.0);
}

int main(void) {
  static float features[SAMPLES * FEATURES];
  static int32_t labels[SAMPLES];
  float teacher[CLASSES * FEATURES];
  int i, c, f;
  for (i = 0; i < CLASSES * FEATURES; ++i) teacher[i] = (float)(2 * uniform() - 1);
  for (i = 0; i < SAMPLES; ++i) {
    float best = -INFINITY;
    for (f = 0; f < FEATURES; ++f) features[i * FEATURES + f] = (float)(2 * uniform() - 1);
    for (c = 0; c < CLASSES; ++c) {
      float score = 0;
      for (f = 0; f < FEATURES; ++f) score += teacher[c * FEATURES + f] * features[i * FEATURES + f];
      if (score > best) {
        best = score;
        labels[i] = c;
      }
    }
  }

  tk_model* model;
  tk_node x, h;
  int64_t input_shape[1] = {FEATURES};
  CHECK(tk_model_create(&model));
  CHECK(tk_model_input(model, "x", 1, input_shape, &x));
  CHECK(tk_model_linear(model, x, 1000, &h));
  CHECK(tk_model_relu(model, h, &h));
  CHECK(tk_model_linear(model, h, 100, &h));
  CHECK(tk_model_relu(model, h, &h));
  CHECK(tk_model_linear(model, h, CLASSES, &h));
  CHECK(tk_model_output(model, h, "logits"));

  tk_trainer_options* options;
  tk_trainer* trainer;
  CHECK(tk_trainer_options_create(&options));
  CHECK(tk_trainer_options_set_optimizer(options, TK_OPTIMIZER_SGD)); /* opt = SGD(lr=0.01) */
  CHECK(tk_trainer_options_set_learning_rate(options, 0.01));
  CHECK(tk_trainer_options_set_precision(options, TK_PRECISION_FP16)); /* autocast(float16) */
  CHECK(tk_trainer_options_set_loss_scaling(options, TK_LOSS_SCALING_DYNAMIC, 65536.0, 2.0, 0.5,
                                            2000)); /* GradScaler() defaults */
  CHECK(tk_trainer_options_set_seed(options, 1));
  CHECK(tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, options, &trainer));

  int epoch, start;
  for (epoch = 1; epoch <= 20; ++epoch) {
    double total = 0;
    int batches = 0;
    for (start = 0; start + BATCH <= SAMPLES; start += BATCH) {
      int64_t in_shape[2] = {BATCH, FEATURES}, label_shape[1] = {BATCH};
      tk_tensor_view in = tk_view_f32(features + start * FEATURES, 2, in_shape);
      tk_tensor_view lab = tk_view_i32(labels + start, 1, label_shape);
      tk_step_report report;
      report.struct_size = sizeof report;
      CHECK(tk_trainer_step_report(trainer, &in, &lab, &report));
      if (!report.skipped) {
        total += report.loss;
        ++batches;
      }
    }
    if (epoch == 1 || epoch % 4 == 0) {
      double scale;
      int64_t growth_tracker, skipped;
      CHECK(tk_trainer_loss_scale(trainer, &scale, &growth_tracker, &skipped));
      printf("epoch %2d  loss %.4f  scale %g  skipped %lld\n", epoch, batches ? total / batches : 0.0, scale,
             (long long)skipped);
    }
  }

  int64_t all_shape[2] = {SAMPLES, FEATURES}, all_labels[1] = {SAMPLES};
  tk_tensor_view all_in = tk_view_f32(features, 2, all_shape);
  tk_tensor_view all_lab = tk_view_i32(labels, 1, all_labels);
  double loss, accuracy;
  CHECK(tk_trainer_evaluate(trainer, &all_in, &all_lab, &loss, &accuracy));
  printf("final loss %.4f  training accuracy %.4f\n", loss, accuracy);

  tk_trainer_destroy(trainer);
  tk_trainer_options_destroy(options);
  tk_model_destroy(model);
  return 0;
}
