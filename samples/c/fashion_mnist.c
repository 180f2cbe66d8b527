/*
 * fashion_mnist.c - trains an MLP on Fashion-MNIST through the trainkit C API.
 *
 *   fashion_mnist [--epochs N] [--batch N] [--lr X] [--seed N] [--data DIR]
 *                 [--hidden 256,128] [--optimizer sgd|adam|adamw] [--threads N]
 *                 [--precision fp32|fp16|bf16] [--save FILE] [--resume FILE]
 *                 [--stop-after N] [--spec FILE] [--device auto|cpu|cuda|N]
 *
 * --save writes a checkpoint after every epoch (weights, optimizer, loss
 * scaler, counters and the data cursor); --resume continues from one, seeing
 * exactly the batches the uninterrupted run would have seen. --stop-after
 * ends the run after epoch N, as an interruption would (the schedule still
 * spans --epochs). --spec builds the model from a JSON model spec instead of
 * the MLP (e.g. samples/c/fashion_mnist_cnn.json, the CNN that
 * fashion_mnist_cnn.c builds).
 *
 * Reads the IDX files (from Debian's dataset-fashion-mnist by default), feeds
 * shuffled mini-batches from its own loop, prints per-epoch progress and ends
 * with "test accuracy: 0.xxxx".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capi/trainkit.h"

#define MAX_HIDDEN 8

static int fail_with(const char* what, tk_status status) {
  fprintf(stderr, "fashion_mnist: %s: %s: %s\n", what, tk_status_string(status), tk_last_error_message());
  return 1;
}

#define CHECK(call)                                  \
  do {                                               \
    tk_status status_ = (call);                      \
    if (status_ != TK_OK) return fail_with(#call, status_); \
  } while (0)

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int usage(void) {
  fprintf(stderr,
          "usage: fashion_mnist [--epochs N] [--batch N] [--lr X] [--seed N] [--data DIR]\n"
          "                     [--hidden 256,128] [--optimizer sgd|adam|adamw] [--threads N]\n"
          "                     [--precision fp32|fp16|bf16] [--save FILE] [--resume FILE]\n"
          "                     [--stop-after N] [--spec FILE] [--device auto|cpu|cuda|N]\n");
  return 2;
}

int main(int argc, char** argv) {
  int epochs = 10, threads = 0, hidden_count = 2, stop_after = 0, i;
  long long batch = 64, seed = 1;
  double lr = -1;
  const char* data_dir = "/usr/share/datasets/fashion-mnist";
  const char* optimizer_name = "adam";
  const char* precision_name = "fp32";
  const char* save_path = NULL;
  const char* spec_path = NULL;
  const char* resume_path = NULL;
  const char* device_name = "auto";
  int64_t hidden[MAX_HIDDEN] = {256, 128};

  for (i = 1; i < argc; ++i) {
    const char* flag = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : NULL;
    if (!value) return usage();
    if (!strcmp(flag, "--epochs")) epochs = atoi(value);
    else if (!strcmp(flag, "--batch")) batch = atoll(value);
    else if (!strcmp(flag, "--lr")) lr = atof(value);
    else if (!strcmp(flag, "--seed")) seed = atoll(value);
    else if (!strcmp(flag, "--data")) data_dir = value;
    else if (!strcmp(flag, "--optimizer")) optimizer_name = value;
    else if (!strcmp(flag, "--threads")) threads = atoi(value);
    else if (!strcmp(flag, "--precision")) precision_name = value;
    else if (!strcmp(flag, "--save")) save_path = value;
    else if (!strcmp(flag, "--resume")) resume_path = value;
    else if (!strcmp(flag, "--stop-after")) stop_after = atoi(value);
    else if (!strcmp(flag, "--spec")) spec_path = value;
    else if (!strcmp(flag, "--device")) device_name = value;
    else if (!strcmp(flag, "--hidden")) {
      const char* p = value;
      hidden_count = 0;
      while (*p && hidden_count < MAX_HIDDEN) {
        char* end;
        hidden[hidden_count++] = strtoll(p, &end, 10);
        if (end == p) return usage();
        p = *end == ',' ? end + 1 : end;
      }
    } else {
      return usage();
    }
    ++i;
  }
  tk_optimizer optimizer;
  if (!strcmp(optimizer_name, "sgd")) optimizer = TK_OPTIMIZER_SGD;
  else if (!strcmp(optimizer_name, "adam")) optimizer = TK_OPTIMIZER_ADAM;
  else if (!strcmp(optimizer_name, "adamw")) optimizer = TK_OPTIMIZER_ADAMW;
  else return usage();
  tk_precision precision;
  if (!strcmp(precision_name, "fp32")) precision = TK_PRECISION_FP32;
  else if (!strcmp(precision_name, "fp16")) precision = TK_PRECISION_FP16;
  else if (!strcmp(precision_name, "bf16")) precision = TK_PRECISION_BF16;
  else return usage();
  if (lr < 0) lr = optimizer == TK_OPTIMIZER_SGD ? 0.05 : 1e-3;
  if (epochs < 1 || batch < 1) return usage();

  char images[4096], labels[4096];
  tk_dataset *train, *test;
  snprintf(images, sizeof images, "%s/train-images-idx3-ubyte.gz", data_dir);
  snprintf(labels, sizeof labels, "%s/train-labels-idx1-ubyte.gz", data_dir);
  CHECK(tk_dataset_load_idx(images, labels, &train));
  snprintf(images, sizeof images, "%s/t10k-images-idx3-ubyte.gz", data_dir);
  snprintf(labels, sizeof labels, "%s/t10k-labels-idx1-ubyte.gz", data_dir);
  CHECK(tk_dataset_load_idx(images, labels, &test));
  /* Standardize both sets with the training set's statistics. */
  double mean, std;
  CHECK(tk_dataset_stats(train, &mean, &std));
  CHECK(tk_dataset_normalize(train, TK_NORMALIZE_MEAN_STD, mean, std));
  CHECK(tk_dataset_normalize(test, TK_NORMALIZE_MEAN_STD, mean, std));
  int64_t train_size, test_size;
  CHECK(tk_dataset_size(train, &train_size));
  CHECK(tk_dataset_size(test, &test_size));

  tk_model* model;
  tk_node node;
  int64_t image_shape[2] = {28, 28};
  if (spec_path) {
    CHECK(tk_model_load_spec(spec_path, &model));
  } else {
    CHECK(tk_model_create(&model));
    CHECK(tk_model_input(model, "image", 2, image_shape, &node));
    CHECK(tk_model_flatten(model, node, &node));
    for (i = 0; i < hidden_count; ++i) {
      CHECK(tk_model_linear(model, node, hidden[i], &node));
      CHECK(tk_model_relu(model, node, &node));
    }
    CHECK(tk_model_linear(model, node, 10, &node));
    CHECK(tk_model_output(model, node, "logits"));
  }

  tk_batcher* batcher;
  CHECK(tk_batcher_create(train, batch, 1, (uint64_t)seed, 0, &batcher));
  const int64_t steps_per_epoch = (train_size + batch - 1) / batch;

  tk_trainer_options* options;
  tk_trainer* trainer;
  CHECK(tk_trainer_options_create(&options));
  CHECK(tk_trainer_options_set_optimizer(options, optimizer));
  CHECK(tk_trainer_options_set_learning_rate(options, lr));
  if (optimizer == TK_OPTIMIZER_SGD) CHECK(tk_trainer_options_set_momentum(options, 0.9, 1));
  CHECK(tk_trainer_options_set_schedule(options, TK_SCHEDULE_COSINE, 0, 1, 0.1, epochs * steps_per_epoch, 0.0));
  CHECK(tk_trainer_options_set_seed(options, (uint64_t)seed));
  CHECK(tk_trainer_options_set_threads(options, threads));
  CHECK(tk_trainer_options_set_batch_hint(options, batch));
  CHECK(tk_trainer_options_set_precision(options, precision));
  /* auto: a CUDA GPU when libtrainkit_cuda.so finds one, else the CPU. */
  if (!strcmp(device_name, "cpu")) CHECK(tk_trainer_options_set_device(options, TK_DEVICE_CPU));
  else if (!strcmp(device_name, "cuda")) CHECK(tk_trainer_options_set_device(options, TK_DEVICE_CUDA));
  else if (strcmp(device_name, "auto")) CHECK(tk_trainer_options_set_cuda_device(options, atoi(device_name)));
  CHECK(tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, options, &trainer));
  int64_t parameters;
  CHECK(tk_trainer_num_parameters(trainer, &parameters));
  char device[300];
  CHECK(tk_trainer_device_name(trainer, device, sizeof device));

  printf("trainkit %s  Fashion-MNIST  train %lld  test %lld  parameters %lld  optimizer %s  lr %g  batch %lld  %s  %s\n",
         tk_version(), (long long)train_size, (long long)test_size, (long long)parameters, optimizer_name, lr,
         batch, precision_name, device);
  double test_accuracy = 0;
  int epoch, first_epoch = 1;
  if (resume_path) {
    char done[32];
    size_t length;
    CHECK(tk_trainer_load(trainer, resume_path, batcher));
    CHECK(tk_trainer_get_property(trainer, "epochs_done", done, sizeof done, &length));
    first_epoch = atoi(done) + 1;
    printf("resumed from %s after epoch %d\n", resume_path, first_epoch - 1);
  }
  for (epoch = first_epoch; epoch <= epochs; ++epoch) {
    double start = now_seconds(), total_loss = 0;
    int64_t batches = 0, samples = 0;
    tk_tensor_view x, y;
    int32_t has_batch;
    CHECK(tk_batcher_reset(batcher, epoch - 1));
    for (;;) {
      tk_step_report report;
      CHECK(tk_batcher_next(batcher, &x, &y, &has_batch));
      if (!has_batch) break;
      report.struct_size = sizeof report;
      CHECK(tk_trainer_step_report(trainer, &x, &y, &report));
      samples += x.shape[0];
      if (report.skipped) continue; /* an fp16 overflow: the loss scale backed off */
      total_loss += report.loss;
      ++batches;
    }
    double seconds = now_seconds() - start, test_loss, scale;
    int64_t growth_tracker, skipped;
    CHECK(tk_trainer_evaluate_dataset(trainer, test, 1000, &test_loss, &test_accuracy));
    CHECK(tk_trainer_loss_scale(trainer, &scale, &growth_tracker, &skipped));
    printf("epoch %2d/%d  train loss %.4f  test loss %.4f  test acc %.4f  %.0f samples/s", epoch, epochs,
           batches ? total_loss / (double)batches : 0.0, test_loss, test_accuracy, (double)samples / seconds);
    if (precision == TK_PRECISION_FP16) printf("  loss scale %g  skipped %lld", scale, (long long)skipped);
    printf("\n");
    if (save_path) {
      char done[32];
      snprintf(done, sizeof done, "%d", epoch);
      CHECK(tk_batcher_reset(batcher, epoch)); /* the cursor points at the next epoch's start */
      CHECK(tk_trainer_set_property(trainer, "epochs_done", done));
      CHECK(tk_trainer_save(trainer, save_path, batcher));
    }
    if (epoch == stop_after) {
      printf("stopped after epoch %d\n", epoch);
      break;
    }
    fflush(stdout);
  }
  printf("test accuracy: %.4f\n", test_accuracy);

  tk_trainer_destroy(trainer);
  tk_trainer_options_destroy(options);
  tk_batcher_destroy(batcher);
  tk_model_destroy(model);
  tk_dataset_destroy(train);
  tk_dataset_destroy(test);
  return 0;
}
