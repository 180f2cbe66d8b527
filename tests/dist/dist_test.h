/* Shared by the distributed C tests: a failing call ends the program with
 * its status and message; the small MLP they all train; its weights. */
#ifndef TESTS_DIST_DIST_TEST_H_
#define TESTS_DIST_DIST_TEST_H_

#include <stdio.h>
#include <stdlib.h>

#include "capi/trainkit.h"

#define CHECK(call)                                                                          \
  do {                                                                                       \
    tk_status s_ = (call);                                                                   \
    if (s_ != TK_OK) {                                                                       \
      fprintf(stderr, "%s: %s: %s\n", #call, tk_status_string(s_), tk_last_error_message()); \
      exit(1);                                                                               \
    }                                                                                        \
  } while (0)

/* features -> 16 -> ReLU -> classes. */
static inline tk_model* dist_test_mlp(int64_t features, int64_t classes) {
  tk_model* model;
  tk_node x, h;
  int64_t shape[1];
  shape[0] = features;
  CHECK(tk_model_create(&model));
  CHECK(tk_model_input(model, "x", 1, shape, &x));
  CHECK(tk_model_linear(model, x, 16, &h));
  CHECK(tk_model_relu(model, h, &h));
  CHECK(tk_model_linear(model, h, classes, &h));
  CHECK(tk_model_output(model, h, "logits"));
  return model;
}

/* All of the trainer's weights (malloc'd; the caller frees them). */
static inline float* dist_test_weights(tk_trainer* t, int64_t* count) {
  float* values;
  CHECK(tk_trainer_num_parameters(t, count));
  values = (float*)malloc((size_t)*count * sizeof(float));
  CHECK(tk_trainer_copy_parameters(t, values, *count));
  return values;
}

#endif /* TESTS_DIST_DIST_TEST_H_ */
