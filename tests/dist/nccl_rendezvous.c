/*
 * nccl_rendezvous.c - NCCL worlds formed through the host's own rendezvous
 * (tk_trainer_options_set_rendezvous), no mpirun. Processes rendezvous
 * through a file of this test's own: rank 0 writes NCCL's id, the others
 * wait for it.
 *  - No GPU (CI): a TK_DISTRIBUTED_NCCL trainer fails with
 *    TK_ERROR_UNSUPPORTED and a message naming the cause, without calling the
 *    rendezvous; asking for NCCL on the CPU is TK_ERROR_INVALID_ARGUMENT.
 *  - One GPU or more: a world of size 1 trains through the NCCL path exactly
 *    as a plain trainer on the same GPU (relative 1e-6).
 *  - Two GPUs or more: two processes, each on its own GPU and half of every
 *    batch, end with the weights of one trainer on the whole batches (1e-5).
 * Exit status 0 on success.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capi/trainkit.h"
#include "tests/dist/dist_test.h"

#define FEATURES 6
#define CLASSES 3
#define GLOBAL 32
#define STEPS 6


struct rendezvous {
  const char* path;
  int rank;
  int calls;
};

/* Rank 0 publishes its bytes with an atomic rename; the others poll for them. */
static tk_status file_broadcast(void* data, size_t bytes, void* user) {
  struct rendezvous* r = (struct rendezvous*)user;
  ++r->calls;
  if (r->rank == 0) {
    char temp[4096];
    FILE* f;
    snprintf(temp, sizeof temp, "%s.tmp", r->path);
    f = fopen(temp, "wb");
    if (!f || fwrite(data, 1, bytes, f) != bytes || fclose(f) != 0) return TK_ERROR_IO;
    return rename(temp, r->path) == 0 ? TK_OK : TK_ERROR_IO;
  }
  for (int tries = 0; tries < 60000; ++tries) {
    FILE* f = fopen(r->path, "rb");
    if (f) {
      size_t got = fread(data, 1, bytes, f);
      fclose(f);
      if (got == bytes) return TK_OK;
    }
    struct timespec pause = {0, 1000000};
    nanosleep(&pause, NULL);
  }
  return TK_ERROR_COMMUNICATION;
}

static tk_trainer_options* options_for(int gpu) {
  tk_trainer_options* options;
  CHECK(tk_trainer_options_create(&options));
  CHECK(tk_trainer_options_set_optimizer(options, TK_OPTIMIZER_ADAM));
  CHECK(tk_trainer_options_set_learning_rate(options, 0.02));
  CHECK(tk_trainer_options_set_communication_timeout(options, 60));
  CHECK(tk_trainer_options_set_bucket_bytes(options, 1024));
  if (gpu >= 0) CHECK(tk_trainer_options_set_cuda_device(options, gpu));
  return options;
}

static void data(float* x, int32_t* y) {
  for (int i = 0; i < STEPS * GLOBAL * FEATURES; ++i) x[i] = (float)sin(0.37 * i);
  for (int i = 0; i < STEPS * GLOBAL; ++i) y[i] = (i * 7) % CLASSES;
}

/* Trains `rows` rows of each global batch starting at row `first`. */
static void train(tk_trainer* t, const float* x, const int32_t* y, int first, int rows) {
  for (int s = 0; s < STEPS; ++s) {
    int64_t xs[2] = {rows, FEATURES}, ys[1] = {rows};
    tk_tensor_view in = tk_view_f32((float*)x + (s * GLOBAL + first) * FEATURES, 2, xs);
    tk_tensor_view lab = tk_view_i32((int32_t*)y + s * GLOBAL + first, 1, ys);
    CHECK(tk_trainer_step(t, &in, &lab, NULL));
  }
}

static int same(const float* a, const float* b, int64_t n, double tolerance, const char* what) {
  for (int64_t i = 0; i < n; ++i)
    if (fabs(a[i] - b[i]) > tolerance * fmax(1.0, fabs(a[i]))) {
      fprintf(stderr, "FAIL: %s: weight %lld: %g vs %g\n", what, (long long)i, a[i], b[i]);
      return 0;
    }
  return 1;
}

int main(void) {
  static float x[STEPS * GLOBAL * FEATURES];
  static int32_t y[STEPS * GLOBAL];
  char path[4096], reason[512];
  const char* dir = getenv("TEST_TMPDIR");
  int32_t gpus = 0;
  tk_model* model = dist_test_mlp(FEATURES, CLASSES);
  tk_trainer* t = NULL;
  data(x, y);
  snprintf(path, sizeof path, "%s/nccl-id-%d", dir ? dir : "/tmp", (int)getpid());
  CHECK(tk_gpu_count(&gpus, reason, sizeof reason));

  if (gpus == 0) {
    struct rendezvous r = {path, 0, 0};
    tk_trainer_options* o = options_for(-1);
    CHECK(tk_trainer_options_set_distributed(o, TK_DISTRIBUTED_NCCL));
    CHECK(tk_trainer_options_set_rendezvous(o, 0, 1, file_broadcast, &r));
    if (tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &t) != TK_ERROR_UNSUPPORTED || t ||
        !strstr(tk_last_error_message(), "NCCL needs a GPU") || r.calls != 0) {
      fprintf(stderr, "FAIL: without a GPU: '%s', %d rendezvous calls\n", tk_last_error_message(), r.calls);
      return 1;
    }
    CHECK(tk_trainer_options_set_device(o, TK_DEVICE_CPU));
    if (tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &t) != TK_ERROR_INVALID_ARGUMENT) {
      fprintf(stderr, "FAIL: NCCL on the CPU was not refused\n");
      return 1;
    }
    tk_trainer_options_destroy(o);
    printf("PASS: no GPU (%s): NCCL trainers are refused with a clear error\n", reason);
    tk_model_destroy(model);
    return 0;
  }

  /* A world of one through NCCL against a plain trainer on the same GPU. */
  {
    struct rendezvous r = {path, 0, 0};
    tk_trainer_options* o = options_for(0);
    tk_trainer *nccl, *plain;
    float *a, *b;
    int64_t n;
    CHECK(tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &plain));
    CHECK(tk_trainer_options_set_distributed(o, TK_DISTRIBUTED_NCCL));
    CHECK(tk_trainer_options_set_rendezvous(o, 0, 1, file_broadcast, &r));
    CHECK(tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &nccl));
    if (r.calls != 1) {
      fprintf(stderr, "FAIL: the rendezvous was called %d times\n", r.calls);
      return 1;
    }
    train(plain, x, y, 0, GLOBAL);
    train(nccl, x, y, 0, GLOBAL);
    a = dist_test_weights(plain, &n);
    b = dist_test_weights(nccl, &n);
    if (!same(a, b, n, 1e-6, "NCCL world of one")) return 1;
    free(a);
    free(b);
    tk_trainer_destroy(nccl);
    tk_trainer_destroy(plain);
    tk_trainer_options_destroy(o);
    remove(path);
    printf("PASS: a world of one through NCCL matches the plain trainer\n");
  }
  if (gpus < 2) {
    printf("SKIP: two ranks need two GPUs (%d here)\n", gpus);
    return 0;
  }

  /* Two processes, one GPU each, half of every batch. */
  pid_t child = fork();
  if (child < 0) return 1;
  {
    const int rank = child == 0 ? 1 : 0;
    struct rendezvous r = {path, rank, 0};
    tk_trainer_options* o = options_for(rank);
    tk_trainer* part;
    CHECK(tk_trainer_options_set_distributed(o, TK_DISTRIBUTED_NCCL));
    CHECK(tk_trainer_options_set_rendezvous(o, rank, 2, file_broadcast, &r));
    CHECK(tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &part));
    train(part, x, y, rank * GLOBAL / 2, GLOBAL / 2);
    if (rank == 1) {
      tk_trainer_destroy(part);
      _exit(0);
    }
    {
      tk_trainer_options* single = options_for(0);
      tk_trainer* whole;
      float *a, *b;
      int64_t n;
      int status = 0;
      CHECK(tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, single, &whole));
      train(whole, x, y, 0, GLOBAL);
      a = dist_test_weights(whole, &n);
      b = dist_test_weights(part, &n);
      waitpid(child, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "FAIL: rank 1 failed\n");
        return 1;
      }
      if (!same(a, b, n, 1e-5, "two NCCL ranks")) return 1;
      printf("PASS: two NCCL ranks match one trainer on the whole batches\n");
    }
  }
  return 0;
}
