/*
 * dlopen_test.c - a host that loads libtrainkit.so at run time and uses only
 * the versioned function table: builds a model, trains it, checks the loss falls.
 */
#include <dlfcn.h>
#include <stdio.h>

#include "capi/trainkit.h"

#define CHECK(call)                                                                   \
  do {                                                                                \
    tk_status s_ = (call);                                                            \
    if (s_ != TK_OK) {                                                                \
      fprintf(stderr, "%s: %s: %s\n", #call, api->status_string(s_), api->last_error_message()); \
      return 1;                                                                       \
    }                                                                                 \
  } while (0)

typedef const tk_api* (*get_api_fn)(uint32_t);

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: dlopen_test path/to/libtrainkit.so\n");
    return 2;
  }
  void* library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  get_api_fn get_api;
  *(void**)(&get_api) = dlsym(library, "tk_get_api");
  if (!get_api) {
    fprintf(stderr, "tk_get_api not found\n");
    return 1;
  }
  if (get_api(99) != NULL) {
    fprintf(stderr, "an unknown API version returned a table\n");
    return 1;
  }
  const tk_api* api = get_api(TK_API_VERSION);
  if (!api || api->version != TK_API_VERSION || api->size != sizeof(tk_api)) {
    fprintf(stderr, "bad function table\n");
    return 1;
  }

  tk_model* model;
  tk_node x, h;
  int64_t shape[1] = {2};
  CHECK(api->model_create(&model));
  CHECK(api->model_input(model, "x", 1, shape, &x));
  CHECK(api->model_linear(model, x, 16, &h));
  CHECK(api->model_tanh(model, h, &h));
  CHECK(api->model_linear(model, h, 2, &h));
  CHECK(api->model_output(model, h, "logits"));
  tk_trainer_options* options;
  tk_trainer* trainer;
  CHECK(api->trainer_options_create(&options));
  CHECK(api->trainer_options_set_optimizer(options, TK_OPTIMIZER_ADAM));
  CHECK(api->trainer_options_set_learning_rate(options, 0.05));
  CHECK(api->trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, options, &trainer));

  /* XOR: not linearly separable, so the hidden layer must learn. */
  float inputs[8] = {0, 0, 0, 1, 1, 0, 1, 1};
  int32_t labels[4] = {0, 1, 1, 0};
  int64_t in_shape[2] = {4, 2}, label_shape[1] = {4};
  tk_tensor_view in = api->view(inputs, TK_DTYPE_F32, 2, in_shape);
  tk_tensor_view lab = api->view(labels, TK_DTYPE_I32, 1, label_shape);
  float first = 0, loss = 0;
  int step;
  for (step = 0; step < 300; ++step) {
    CHECK(api->trainer_step(trainer, &in, &lab, &loss));
    if (step == 0) first = loss;
  }
  double eval_loss, accuracy;
  CHECK(api->trainer_evaluate(trainer, &in, &lab, &eval_loss, &accuracy));
  printf("dlopen_test: loss %.4f -> %.4f, accuracy %.2f, version %s\n", first, loss, accuracy, api->version_string());
  api->trainer_destroy(trainer);
  api->trainer_options_destroy(options);
  api->model_destroy(model);
  dlclose(library);
  return (loss < first * 0.1f && accuracy == 1.0) ? 0 : 1;
}
