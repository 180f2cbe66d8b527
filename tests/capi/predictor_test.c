/*
 * predictor_test.c - inference-only handles from C: made from a trainer and
 * from an exported weights file, the outputs of tk_trainer_predict (to float
 * rounding; bit for bit between the two predictors),
 * four threads at once against one alone, and bad input refused.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capi/trainkit.h"
#include "tests/capi/expect.h"

enum { FEATURES = 12, CLASSES = 5, SAMPLES = 256, THREADS = 4, ROUNDS = 40 };

static float inputs[SAMPLES * FEATURES];
static int32_t labels[SAMPLES];

static tk_model* make_model(void) {
  tk_model* m = NULL;
  tk_node x, h;
  int64_t shape[1] = {FEATURES};
  tk_model_create(&m);
  tk_model_input(m, "x", 1, shape, &x);
  tk_model_linear(m, x, 64, &h);
  tk_model_gelu(m, h, &h);
  tk_model_layer_norm(m, h, 1, 1e-5, &h);
  tk_model_dropout(m, h, 0.3, &h);
  tk_model_linear(m, h, CLASSES, &h);
  tk_model_output(m, h, "logits");
  return m;
}

/* The predictor multiplies by weights packed once (oneDNN), the trainer by
 * the weights as stored (BLAS): equal to float rounding, not bit for bit. */
static int close_to(const float* got, const float* expected, int64_t count) {
  int64_t i;
  for (i = 0; i < count; ++i) {
    float scale = expected[i] < 0 ? -expected[i] : expected[i], diff = got[i] - expected[i];
    if (scale < 1) scale = 1;
    if (diff < 0) diff = -diff;
    if (diff > 1e-5f * scale) return 0;
  }
  return 1;
}

typedef struct {
  tk_predictor* predictor;
  int index;
  const float* expected;
  int mismatches;
} worker;

/* Each thread predicts its own slice, ROUNDS times, and counts differences. */
static void* run_worker(void* arg) {
  worker* w = (worker*)arg;
  const int64_t begin = w->index * 48, count = 16 + 8 * w->index;
  int64_t in_shape[2] = {count, FEATURES}, out_shape[2] = {count, CLASSES};
  float* out = malloc((size_t)(count * CLASSES) * sizeof(float));
  tk_tensor_view in = tk_view_f32(inputs + begin * FEATURES, 2, in_shape), ov = tk_view_f32(out, 2, out_shape);
  int r;
  for (r = 0; r < ROUNDS; ++r) {
    if (tk_predictor_predict(w->predictor, &in, w->index % 2, &ov) != TK_OK ||
        memcmp(out, w->expected, (size_t)(count * CLASSES) * sizeof(float)) != 0)
      ++w->mismatches;
  }
  free(out);
  return NULL;
}

int main(void) {
  char weights[512];
  const char* base = getenv("TEST_TMPDIR");
  tk_model* model = make_model();
  tk_trainer_options* o = NULL;
  tk_trainer* t = NULL;
  tk_predictor *p = NULL, *loaded = NULL;
  float expected[SAMPLES * CLASSES], got[SAMPLES * CLASSES], loss;
  float* alone[THREADS];
  int64_t in_shape[2] = {SAMPLES, FEATURES}, out_shape[2] = {SAMPLES, CLASSES}, label_shape[1] = {64}, shape[8];
  int64_t batch_shape[2] = {64, FEATURES}, wrong_shape[2] = {SAMPLES, CLASSES + 1};
  tk_tensor_view in = tk_view_f32(inputs, 2, in_shape), out = tk_view_f32(got, 2, out_shape);
  tk_tensor_view ev = tk_view_f32(expected, 2, out_shape), wrong = tk_view_f32(got, 2, wrong_shape);
  pthread_t threads[THREADS];
  worker workers[THREADS];
  int64_t bytes = 0;
  int32_t rank = 0;
  int i, s, total_mismatches = 0;
  uint32_t state = 99;
  snprintf(weights, sizeof weights, "%s/predictor.safetensors", base ? base : "/tmp");
  for (i = 0; i < SAMPLES * FEATURES; ++i) {
    state = state * 1664525u + 1013904223u;
    inputs[i] = (float)((state >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
  for (i = 0; i < SAMPLES; ++i) labels[i] = (int32_t)(i * 7 % CLASSES);

  tk_trainer_options_create(&o);
  tk_trainer_options_set_optimizer(o, TK_OPTIMIZER_ADAM);
  tk_trainer_options_set_learning_rate(o, 1e-2);
  tk_trainer_options_set_threads(o, 1);
  EXPECT_STATUS(tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &t), TK_OK);
  for (s = 0; s < 4; ++s) {
    tk_tensor_view x = tk_view_f32(inputs + s * 64 * FEATURES, 2, batch_shape);
    tk_tensor_view y = tk_view_i32(labels + s * 64, 1, label_shape);
    EXPECT_STATUS(tk_trainer_step(t, &x, &y, &loss), TK_OK);
  }
  EXPECT_STATUS(tk_trainer_predict(t, &in, 0, &ev), TK_OK);

  /* From the trainer: the trainer's own outputs, dropout off. */
  EXPECT_STATUS(tk_predictor_create(t, 1, &p), TK_OK);
  EXPECT_STATUS(tk_predictor_predict(p, &in, 0, &out), TK_OK);
  EXPECT(close_to(got, expected, (int64_t)(sizeof got / sizeof got[0])));
  EXPECT_STATUS(tk_predictor_output_shape(p, &rank, shape), TK_OK);
  EXPECT(rank == 1 && shape[0] == CLASSES);
  EXPECT_STATUS(tk_predictor_memory(p, &bytes), TK_OK);
  EXPECT(bytes > 0);

  /* From an exported weights file and the spec's model. */
  EXPECT_STATUS(tk_trainer_export_weights(t, weights, TK_DTYPE_F32), TK_OK);
  EXPECT_STATUS(tk_predictor_load(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, weights, 1, &loaded), TK_OK);
  memcpy(expected, got, sizeof got); /* the first predictor's, bit for bit */
  memset(got, 0, sizeof got);
  EXPECT_STATUS(tk_predictor_predict(loaded, &in, 0, &out), TK_OK);
  EXPECT(memcmp(got, expected, sizeof got) == 0);

  /* Four threads at once, each against its own results alone. */
  for (i = 0; i < THREADS; ++i) {
    const int64_t count = 16 + 8 * i;
    int64_t one_in[2] = {count, FEATURES}, one_out[2] = {count, CLASSES};
    tk_tensor_view x = tk_view_f32(inputs + i * 48 * FEATURES, 2, one_in);
    alone[i] = malloc((size_t)(count * CLASSES) * sizeof(float));
    {
      tk_tensor_view y = tk_view_f32(alone[i], 2, one_out);
      EXPECT_STATUS(tk_predictor_predict(p, &x, i % 2, &y), TK_OK);
    }
    workers[i].predictor = p;
    workers[i].index = i;
    workers[i].expected = alone[i];
    workers[i].mismatches = 0;
  }
  for (i = 0; i < THREADS; ++i) pthread_create(&threads[i], NULL, run_worker, &workers[i]);
  for (i = 0; i < THREADS; ++i) {
    pthread_join(threads[i], NULL);
    total_mismatches += workers[i].mismatches;
    free(alone[i]);
  }
  EXPECT(total_mismatches == 0);

  /* Bad input: refused, and the predictor goes on. */
  EXPECT_STATUS(tk_predictor_predict(p, &in, 0, &wrong), TK_ERROR_SHAPE_MISMATCH);
  EXPECT_STATUS(tk_predictor_predict(p, &in, 2, &out), TK_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(tk_predictor_predict(NULL, &in, 0, &out), TK_ERROR_NULL_ARGUMENT);
  EXPECT_STATUS(tk_predictor_predict(p, NULL, 0, &out), TK_ERROR_NULL_ARGUMENT);
  EXPECT_STATUS(tk_predictor_predict(p, &in, 0, &out), TK_OK);
  EXPECT_STATUS(tk_predictor_create(t, -1, &loaded), TK_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(tk_predictor_create(NULL, 1, &loaded), TK_ERROR_NULL_ARGUMENT);
  EXPECT_STATUS(tk_predictor_load(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, "/nonexistent.safetensors", 1, &loaded),
                TK_ERROR_IO);
  EXPECT_STATUS(tk_predictor_load(model, (tk_loss)9, weights, 1, &loaded), TK_ERROR_INVALID_ARGUMENT);
  tk_predictor_destroy(NULL);

  tk_predictor_destroy(p);
  tk_predictor_destroy(loaded);
  tk_trainer_destroy(t);
  tk_trainer_options_destroy(o);
  tk_model_destroy(model);
  printf("predictor_test: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
