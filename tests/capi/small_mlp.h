/*
 * small_mlp.h - the trainer the C training-loop tests share: features ->
 * 16 ReLU units -> classes, Adam, one thread, softmax cross-entropy.
 */
#ifndef TESTS_CAPI_SMALL_MLP_H_
#define TESTS_CAPI_SMALL_MLP_H_

#include <stdio.h>

#include "capi/trainkit.h"

/* NULL (after printing why) if it cannot be made. */
static tk_trainer* small_mlp(int64_t features, int64_t classes, double lr, uint64_t seed, int32_t replicas) {
  tk_model* m = NULL;
  tk_node x, h;
  int64_t shape[1];
  tk_trainer_options* o = NULL;
  tk_trainer* t = NULL;
  shape[0] = features;
  tk_model_create(&m);
  tk_model_input(m, "x", 1, shape, &x);
  tk_model_linear(m, x, 16, &h);
  tk_model_relu(m, h, &h);
  tk_model_linear(m, h, classes, &h);
  tk_model_output(m, h, "logits");
  tk_trainer_options_create(&o);
  tk_trainer_options_set_optimizer(o, TK_OPTIMIZER_ADAM);
  tk_trainer_options_set_learning_rate(o, lr);
  tk_trainer_options_set_seed(o, seed);
  tk_trainer_options_set_threads(o, 1);
  if (replicas > 1) tk_trainer_options_set_replicas(o, replicas);
  if (tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &t) != TK_OK)
    fprintf(stderr, "trainer: %s\n", tk_last_error_message());
  tk_trainer_options_destroy(o);
  tk_model_destroy(m);
  return t;
}

#endif /* TESTS_CAPI_SMALL_MLP_H_ */
