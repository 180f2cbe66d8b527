/*
 * bench_c.h - what the C benchmarks share: a call that must succeed (or the
 * benchmark stops with the native message) and a monotonic clock.
 */
#ifndef BENCH_BENCH_C_H_
#define BENCH_BENCH_C_H_

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "capi/trainkit.h"

#define CHECK(call)                                                                              \
  do {                                                                                           \
    tk_status s_ = (call);                                                                       \
    if (s_ != TK_OK) {                                                                           \
      fprintf(stderr, "%s: %s: %s\n", #call, tk_status_string(s_), tk_last_error_message());     \
      exit(1);                                                                                   \
    }                                                                                            \
  } while (0)

/* Seconds on the monotonic clock. */
static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif /* BENCH_BENCH_C_H_ */
