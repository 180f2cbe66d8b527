/*
 * mpi_plugin_missing.c - with the MPI plugin absent (TK_MPI_LIBRARY names a
 * file that does not exist), a trainer asking for MPI data parallel is refused
 * with TK_ERROR_UNSUPPORTED and a message naming the plugin and how to supply
 * it; the process neither aborts nor needs MPI, and a plain trainer still
 * trains. Run without mpirun.
 */
#include <stdio.h>
#include <string.h>

#include "tests/dist/dist_test.h"

static int failures = 0;
#define EXPECT(c)                                              \
  do {                                                         \
    if (!(c)) {                                                \
      fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #c); \
      ++failures;                                              \
    }                                                          \
  } while (0)

int main(void) {
  tk_model* model = dist_test_mlp(4, 3);
  tk_trainer_options* options;
  tk_trainer* trainer = NULL;
  CHECK(tk_trainer_options_create(&options));
  tk_trainer_options_set_threads(options, 1);
  tk_trainer_options_set_distributed(options, TK_DISTRIBUTED_MPI);
  tk_status status = tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, options, &trainer);
  const char* message = tk_last_error_message();
  printf("%s: %s\n", tk_status_string(status), message);
  EXPECT(status == TK_ERROR_UNSUPPORTED);
  EXPECT(trainer == NULL);
  EXPECT(strstr(message, "libtrainkit_mpi.so") != NULL);
  EXPECT(strstr(message, "TK_MPI_LIBRARY") != NULL);
  EXPECT(strstr(message, "/nonexistent/") != NULL); /* the loader's own reason */

  /* Without MPI asked for, the same library trains. */
  tk_trainer_options_set_distributed(options, TK_DISTRIBUTED_NONE);
  EXPECT(tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, options, &trainer) == TK_OK);
  float inputs[8] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
  int32_t labels[2] = {0, 1};
  int64_t in_shape[2] = {2, 4}, label_shape[1] = {2};
  tk_tensor_view in = tk_view_f32(inputs, 2, in_shape), lab = tk_view_i32(labels, 1, label_shape);
  EXPECT(tk_trainer_step(trainer, &in, &lab, NULL) == TK_OK);
  tk_trainer_destroy(trainer);
  tk_trainer_options_destroy(options);
  tk_model_destroy(model);
  printf("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
