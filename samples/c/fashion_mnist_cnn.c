/*
 * fashion_mnist_cnn.c - trains a small CNN on Fashion-MNIST through the
 * trainkit C API.
 *
 *   fashion_mnist_cnn [--epochs N] [--batch N] [--lr X] [--seed N] [--data DIR]
 *                     [--threads N] [--precision fp32|fp16|bf16] [--spec FILE]
 *                     [--device auto|cpu|cuda|N]
 *
 * The network: two blocks of 3x3 convolution, batch norm, ReLU and 2x2 max
 * pooling (32 then 64 channels), channel dropout, then a 128-unit hidden layer
 * with dropout and the 10-way classifier. Adam with a cosine schedule.
 * --spec builds the model from a JSON model spec instead;
 * samples/c/fashion_mnist_cnn.json is this same network.
 *
 * Prints per-epoch progress and ends with "test accuracy: 0.xxxx".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capi/trainkit.h"

static int fail_with(const char* what, tk_status status) {
  fprintf(stderr, "fashion_mnist_cnn: %s: %s: %s\n", what, tk_status_string(status), tk_last_error_message());
  return 1;
}

#define CHECK(call)                                         \
  do {                                                      \
    tk_status status_ = (call);                             \
    if (status_ != TK_OK) return fail_with(#call, status_); \
  } while (0)

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int usage(void) {
  fprintf(stderr,
          "usage: fashion_mnist_cnn [--epochs N] [--batch N] [--lr X] [--seed N] [--data DIR]\n"
          "                         [--threads N] [--precision fp32|fp16|bf16] [--spec FILE]\n"
          "                         [--device auto|cpu|cuda|N]\n");
  return 2;
}

/* conv 3x3 (no bias: batch norm's shift replaces it) -> batch norm -> ReLU -> max pool 2x2 */
static tk_status conv_block(tk_model* model, tk_node input, int64_t channels, tk_node* out) {
  tk_node node;
  tk_status status = tk_model_conv2d(model, input, channels, 3, 1, 1, 1, 1, 0, &node);
  if (status == TK_OK) status = tk_model_batch_norm(model, node, 1e-5, 0.1, &node);
  if (status == TK_OK) status = tk_model_relu(model, node, &node);
  if (status == TK_OK) status = tk_model_max_pool2d(model, node, 2, 2, 0, &node);
  if (status == TK_OK) *out = node;
  return status;
}

static tk_status build_cnn(tk_model* model) {
  int64_t image_shape[2] = {28, 28}, channels_first[3] = {1, 28, 28};
  tk_node node;
  tk_status status = tk_model_input(model, "image", 2, image_shape, &node);
  if (status == TK_OK) status = tk_model_reshape(model, node, 3, channels_first, &node);
  if (status == TK_OK) status = conv_block(model, node, 32, &node);
  if (status == TK_OK) status = conv_block(model, node, 64, &node);
  if (status == TK_OK) status = tk_model_dropout2d(model, node, 0.1, &node);
  if (status == TK_OK) status = tk_model_flatten(model, node, &node);
  if (status == TK_OK) status = tk_model_linear(model, node, 128, &node);
  if (status == TK_OK) status = tk_model_relu(model, node, &node);
  if (status == TK_OK) status = tk_model_dropout(model, node, 0.3, &node);
  if (status == TK_OK) status = tk_model_linear(model, node, 10, &node);
  if (status == TK_OK) status = tk_model_output(model, node, "logits");
  return status;
}

int main(int argc, char** argv) {
  int epochs = 8, threads = 0, i;
  long long batch = 64, seed = 1;
  double lr = 2e-3;
  const char* data_dir = "/usr/share/datasets/fashion-mnist";
  const char* precision_name = "fp32";
  const char* spec_path = NULL;
  const char* device_name = "auto";

  for (i = 1; i + 1 < argc; i += 2) {
    const char *flag = argv[i], *value = argv[i + 1];
    if (!strcmp(flag, "--epochs")) epochs = atoi(value);
    else if (!strcmp(flag, "--batch")) batch = atoll(value);
    else if (!strcmp(flag, "--lr")) lr = atof(value);
    else if (!strcmp(flag, "--seed")) seed = atoll(value);
    else if (!strcmp(flag, "--data")) data_dir = value;
    else if (!strcmp(flag, "--threads")) threads = atoi(value);
    else if (!strcmp(flag, "--precision")) precision_name = value;
    else if (!strcmp(flag, "--spec")) spec_path = value;
    else if (!strcmp(flag, "--device")) device_name = value;
    else return usage();
  }
  if (i != argc || epochs < 1 || batch < 2 || !(lr > 0)) return usage();
  tk_precision precision;
  if (!strcmp(precision_name, "fp32")) precision = TK_PRECISION_FP32;
  else if (!strcmp(precision_name, "fp16")) precision = TK_PRECISION_FP16;
  else if (!strcmp(precision_name, "bf16")) precision = TK_PRECISION_BF16;
  else return usage();

  char images[4096], labels[4096];
  tk_dataset *train, *test;
  snprintf(images, sizeof images, "%s/train-images-idx3-ubyte.gz", data_dir);
  snprintf(labels, sizeof labels, "%s/train-labels-idx1-ubyte.gz", data_dir);
  CHECK(tk_dataset_load_idx(images, labels, &train));
  snprintf(images, sizeof images, "%s/t10k-images-idx3-ubyte.gz", data_dir);
  snprintf(labels, sizeof labels, "%s/t10k-labels-idx1-ubyte.gz", data_dir);
  CHECK(tk_dataset_load_idx(images, labels, &test));
  double mean, std;
  CHECK(tk_dataset_stats(train, &mean, &std));
  CHECK(tk_dataset_normalize(train, TK_NORMALIZE_MEAN_STD, mean, std));
  CHECK(tk_dataset_normalize(test, TK_NORMALIZE_MEAN_STD, mean, std));
  int64_t train_size, test_size;
  CHECK(tk_dataset_size(train, &train_size));
  CHECK(tk_dataset_size(test, &test_size));

  tk_model* model;
  if (spec_path) {
    CHECK(tk_model_load_spec(spec_path, &model));
  } else {
    CHECK(tk_model_create(&model));
    CHECK(build_cnn(model));
  }

  /* drop_last: a final batch of one image would give batch norm a single value per channel. */
  tk_batcher* batcher;
  CHECK(tk_batcher_create(train, batch, 1, (uint64_t)seed, 1, &batcher));
  const int64_t steps_per_epoch = train_size / batch;
  tk_trainer_options* options;
  tk_trainer* trainer;
  CHECK(tk_trainer_options_create(&options));
  CHECK(tk_trainer_options_set_optimizer(options, TK_OPTIMIZER_ADAM));
  CHECK(tk_trainer_options_set_learning_rate(options, lr));
  CHECK(tk_trainer_options_set_schedule(options, TK_SCHEDULE_COSINE, 0, 1, 0.05, epochs * steps_per_epoch, 0.0));
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
  printf("trainkit %s  Fashion-MNIST CNN  train %lld  test %lld  parameters %lld  adam  lr %g  batch %lld  %s  %s\n",
         tk_version(), (long long)train_size, (long long)test_size, (long long)parameters, lr, batch,
         precision_name, device);
  fflush(stdout);

  double test_accuracy = 0, run_start = now_seconds();
  int epoch;
  for (epoch = 1; epoch <= epochs; ++epoch) {
    double start = now_seconds(), total_loss = 0, test_loss;
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
      if (batches % 300 == 0) {
        printf("  epoch %d  step %lld/%lld  train loss %.4f\n", epoch, (long long)batches, (long long)steps_per_epoch,
               total_loss / (double)batches);
        fflush(stdout);
      }
    }
    double seconds = now_seconds() - start;
    CHECK(tk_trainer_evaluate_dataset(trainer, test, 1000, &test_loss, &test_accuracy));
    printf("epoch %2d/%d  train loss %.4f  test loss %.4f  test acc %.4f  %.0f samples/s  %.0f s\n", epoch, epochs,
           batches ? total_loss / (double)batches : 0.0, test_loss, test_accuracy, (double)samples / seconds,
           now_seconds() - run_start);
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
