/*
 * fashion_mnist_dp.c - the Fashion-MNIST MLP trained data-parallel.
 *
 *   fashion_mnist_dp --replicas 2 [--epochs N] [--batch N] [--seed N] [--data DIR]
 *       replicas on threads in this process, each taking batch/2 rows;
 *   mpirun -np 2 fashion_mnist_dp [--epochs N] [--batch N] ...
 *       one replica per process (on one machine or several: see README), each
 *       reading its own shard of every epoch.
 *
 * --batch is the global batch. Rank 0 prints the progress and the final
 * "test accuracy: 0.xxxx" line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capi/trainkit.h"

#define CHECK(call)                                                                                    \
  do {                                                                                                 \
    tk_status status_ = (call);                                                                        \
    if (status_ != TK_OK) {                                                                            \
      fprintf(stderr, "fashion_mnist_dp: %s: %s: %s\n", #call, tk_status_string(status_),               \
              tk_last_error_message());                                                                \
      return 1;                                                                                        \
    }                                                                                                  \
  } while (0)

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char** argv) {
  int epochs = 10, replicas = 1, i;
  long long batch = 64, seed = 1;
  const char* data = "/usr/share/datasets/fashion-mnist";
  for (i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--epochs")) epochs = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--replicas")) replicas = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--batch")) batch = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--seed")) seed = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--data")) data = argv[i + 1];
    else {
      fprintf(stderr, "usage: fashion_mnist_dp [--replicas N] [--epochs N] [--batch N] [--seed N] [--data DIR]\n");
      return 2;
    }
  }
  /* Under mpirun, join the MPI world: one replica per process. */
  const int mpi = getenv("OMPI_COMM_WORLD_SIZE") != NULL || getenv("PMI_SIZE") != NULL;

  char images[4096], labels[4096];
  tk_dataset *train, *test;
  snprintf(images, sizeof images, "%s/train-images-idx3-ubyte.gz", data);
  snprintf(labels, sizeof labels, "%s/train-labels-idx1-ubyte.gz", data);
  CHECK(tk_dataset_load_idx(images, labels, &train));
  snprintf(images, sizeof images, "%s/t10k-images-idx3-ubyte.gz", data);
  snprintf(labels, sizeof labels, "%s/t10k-labels-idx1-ubyte.gz", data);
  CHECK(tk_dataset_load_idx(images, labels, &test));
  double mean, std;
  CHECK(tk_dataset_stats(train, &mean, &std));
  CHECK(tk_dataset_normalize(train, TK_NORMALIZE_MEAN_STD, mean, std));
  CHECK(tk_dataset_normalize(test, TK_NORMALIZE_MEAN_STD, mean, std));
  int64_t train_size;
  CHECK(tk_dataset_size(train, &train_size));

  tk_model* model;
  tk_node node;
  int64_t image_shape[2] = {28, 28};
  CHECK(tk_model_create(&model));
  CHECK(tk_model_input(model, "image", 2, image_shape, &node));
  CHECK(tk_model_flatten(model, node, &node));
  CHECK(tk_model_linear(model, node, 256, &node));
  CHECK(tk_model_relu(model, node, &node));
  CHECK(tk_model_linear(model, node, 128, &node));
  CHECK(tk_model_relu(model, node, &node));
  CHECK(tk_model_linear(model, node, 10, &node));
  CHECK(tk_model_output(model, node, "logits"));

  tk_trainer_options* options;
  tk_trainer* trainer;
  const int64_t steps_per_epoch = train_size / batch; /* every rank runs the same number of steps */
  CHECK(tk_trainer_options_create(&options));
  CHECK(tk_trainer_options_set_optimizer(options, TK_OPTIMIZER_ADAM));
  CHECK(tk_trainer_options_set_learning_rate(options, 1e-3));
  CHECK(tk_trainer_options_set_schedule(options, TK_SCHEDULE_COSINE, 0, 1, 0.1, epochs * steps_per_epoch, 0.0));
  CHECK(tk_trainer_options_set_seed(options, (uint64_t)seed));
  if (mpi) CHECK(tk_trainer_options_set_distributed(options, TK_DISTRIBUTED_MPI));
  else CHECK(tk_trainer_options_set_replicas(options, replicas));
  CHECK(tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, options, &trainer));
  int32_t rank, world;
  CHECK(tk_trainer_world(trainer, &rank, &world));

  /* Each process reads batch/world rows of its own shard per step. */
  const int64_t local_batch = batch / world;
  tk_batcher* batcher;
  CHECK(tk_batcher_create(train, local_batch, 1, (uint64_t)seed, 1, &batcher));
  CHECK(tk_batcher_set_shard(batcher, rank, world));
  if (rank == 0)
    printf("trainkit %s  Fashion-MNIST data parallel: %s, %d replica(s), global batch %lld\n", tk_version(),
           mpi ? "MPI" : "threads", mpi ? world : replicas, batch);
  double accuracy = 0;
  int epoch;
  for (epoch = 1; epoch <= epochs; ++epoch) {
    double start = now_seconds(), total = 0;
    int64_t step;
    CHECK(tk_batcher_reset(batcher, epoch - 1));
    for (step = 0; step < steps_per_epoch; ++step) {
      tk_tensor_view x, y;
      int32_t has_batch;
      float loss;
      CHECK(tk_batcher_next(batcher, &x, &y, &has_batch));
      if (!has_batch) break;
      CHECK(tk_trainer_step(trainer, &x, &y, &loss));
      total += loss;
    }
    double seconds = now_seconds() - start, test_loss;
    CHECK(tk_trainer_evaluate_dataset(trainer, test, 1000, &test_loss, &accuracy));
    if (rank == 0) {
      printf("epoch %2d/%d  train loss %.4f  test loss %.4f  test acc %.4f  %.0f samples/s\n", epoch, epochs,
             total / (double)step, test_loss, accuracy, (double)(step * batch) / seconds);
      fflush(stdout);
    }
  }
  if (rank == 0) printf("test accuracy: %.4f\n", accuracy);
  tk_batcher_destroy(batcher);
  tk_trainer_destroy(trainer);
  tk_trainer_options_destroy(options);
  tk_model_destroy(model);
  tk_dataset_destroy(train);
  tk_dataset_destroy(test);
  return 0;
}
