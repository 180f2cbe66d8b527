/*
 * export_for_python.c - trains a small model through the C API, exports its
 * weights as f32 and f16 safetensors files, and writes the same values as the
 * C API reports them to expected.json, for read_with_python.py to compare.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capi/trainkit.h"

#define CHECK(call)                                                                          \
  do {                                                                                       \
    tk_status s_ = (call);                                                                   \
    if (s_ != TK_OK) {                                                                       \
      fprintf(stderr, "%s: %s: %s\n", #call, tk_status_string(s_), tk_last_error_message()); \
      return 1;                                                                              \
    }                                                                                        \
  } while (0)

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const char* dir = argv[1];
  char path[4096];
  tk_model* model;
  tk_node x, h;
  int64_t shape[1] = {5};
  CHECK(tk_model_create(&model));
  CHECK(tk_model_input(model, "x", 1, shape, &x));
  CHECK(tk_model_linear(model, x, 7, &h));
  CHECK(tk_model_gelu(model, h, &h));
  CHECK(tk_model_linear(model, h, 3, &h));
  CHECK(tk_model_output(model, h, "logits"));
  tk_trainer* trainer;
  CHECK(tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, NULL, &trainer));
  float inputs[40];
  int32_t labels[8];
  int i, t;
  for (i = 0; i < 40; ++i) inputs[i] = (float)((i * 37) % 11) / 11.0f - 0.5f;
  for (i = 0; i < 8; ++i) labels[i] = i % 3;
  int64_t in_shape[2] = {8, 5}, label_shape[1] = {8};
  tk_tensor_view in = tk_view_f32(inputs, 2, in_shape), lab = tk_view_i32(labels, 1, label_shape);
  for (i = 0; i < 5; ++i) CHECK(tk_trainer_step(trainer, &in, &lab, NULL));

  snprintf(path, sizeof path, "%s/weights-f32.safetensors", dir);
  CHECK(tk_trainer_export_weights(trainer, path, TK_DTYPE_F32));
  snprintf(path, sizeof path, "%s/weights-f16.safetensors", dir);
  CHECK(tk_trainer_export_weights(trainer, path, TK_DTYPE_F16));

  snprintf(path, sizeof path, "%s/expected.json", dir);
  FILE* out = fopen(path, "w");
  if (!out) return 1;
  int32_t count;
  CHECK(tk_trainer_num_parameter_tensors(trainer, &count));
  fprintf(out, "{");
  for (t = 0; t < count; ++t) {
    char name[64];
    int32_t rank;
    int64_t dims[TK_MAX_RANK], n = 1;
    CHECK(tk_trainer_parameter_info(trainer, t, name, sizeof name, &rank, dims));
    for (i = 0; i < rank; ++i) n *= dims[i];
    float* values = malloc((size_t)n * sizeof(float));
    tk_tensor_view view = tk_view_f32(values, rank, dims);
    CHECK(tk_trainer_get_parameter(trainer, t, &view));
    fprintf(out, "%s\"%s\": {\"shape\": [", t ? ", " : "", name);
    for (i = 0; i < rank; ++i) fprintf(out, "%s%lld", i ? ", " : "", (long long)dims[i]);
    fprintf(out, "], \"values\": [");
    for (i = 0; i < n; ++i) fprintf(out, "%s%.9g", i ? ", " : "", values[i]);
    fprintf(out, "]}");
    free(values);
  }
  fprintf(out, "}\n");
  fclose(out);
  tk_trainer_destroy(trainer);
  tk_model_destroy(model);
  return 0;
}
