/*
 * mpi_fault.c - run under mpirun -np 2: rank 1 kills itself (SIGKILL) in the
 * middle of training; rank 0 must get TK_ERROR_COMMUNICATION from its next
 * step within the timeout (2 s) plus a margin, not hang. Rank 0 prints the
 * status it got and how long it took.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "capi/trainkit.h"

int main(void) {
  tk_model* model;
  tk_node x, h;
  int64_t shape[1] = {4};
  tk_trainer_options* options;
  tk_trainer* trainer;
  tk_model_create(&model);
  tk_model_input(model, "x", 1, shape, &x);
  tk_model_linear(model, x, 3, &h);
  tk_model_output(model, h, "y");
  tk_trainer_options_create(&options);
  tk_trainer_options_set_threads(options, 1);
  tk_trainer_options_set_distributed(options, TK_DISTRIBUTED_MPI);
  tk_trainer_options_set_communication_timeout(options, 2.0);
  if (tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, options, &trainer) != TK_OK) {
    fprintf(stderr, "create: %s\n", tk_last_error_message());
    return 1;
  }
  int32_t rank, size;
  tk_trainer_world(trainer, &rank, &size);
  float inputs[8] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
  int32_t labels[2] = {0, 1};
  int64_t in_shape[2] = {2, 4}, label_shape[1] = {2};
  tk_tensor_view in = tk_view_f32(inputs, 2, in_shape), lab = tk_view_i32(labels, 1, label_shape);
  int step;
  for (step = 0; step < 5; ++step)
    if (tk_trainer_step(trainer, &in, &lab, NULL) != TK_OK) return 1;
  if (rank == 1) raise(SIGKILL);
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  tk_status status = tk_trainer_step(trainer, &in, &lab, NULL);
  clock_gettime(CLOCK_MONOTONIC, &end);
  double seconds = (double)(end.tv_sec - start.tv_sec) + 1e-9 * (double)(end.tv_nsec - start.tv_nsec);
  printf("rank 0: %s after %.2f s: %s\n", tk_status_string(status), seconds, tk_last_error_message());
  fflush(stdout);
  /* Exit at once: MPI cannot be finalized cleanly with a dead peer. */
  _exit(status == TK_ERROR_COMMUNICATION && seconds < 10 ? 0 : 1);
}
