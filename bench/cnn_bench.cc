// CNN training step time on the CPU: the Fashion-MNIST CNN of
// samples/c/fashion_mnist_cnn.c (conv 3x3 + batch norm + ReLU + max pool, twice,
// then 128 and 10 units) through the C API, beside the machine's own sgemm rate
// measured in the same run.
//
//   bazel run //bench:cnn_bench -- [--threads N] [--seconds S] [--batch B] [--precision fp32|bf16]
//
// For each batch size and precision: ms per step, samples/s, and the achieved
// GFLOP/s (the convolutions' and linears' multiply-adds, 3x for training, 2x
// for conv1 which needs no input gradient) as a fraction of a 1024^3 sgemm.
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "capi/trainkit.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void check(tk_status status, const char* what) {
  if (status != TK_OK) {
    std::fprintf(stderr, "%s: %s\n", what, tk_last_error_message());
    std::exit(1);
  }
}

double square_sgemm_gflops(double budget) {
  const int n = 1024;
  std::vector<float> a(size_t(n) * n, 0.5f), b(a.size(), 0.25f), c(a.size());
  auto run = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a.data(), n, b.data(), n, 0, c.data(), n);
  };
  run();
  double best = 0;
  for (int window = 0; window < 3; ++window) {
    int reps = 0;
    auto start = Clock::now();
    do {
      run();
      ++reps;
    } while (seconds_since(start) < budget / 3);
    best = std::max(best, 2.0 * n * n * n * reps / seconds_since(start) / 1e9);
  }
  return best;
}

// Multiply-add flops of one training step per sample (forward, input and weight gradients).
double train_flops_per_sample() {
  const double conv1 = 2.0 * 32 * 9 * 28 * 28, conv2 = 2.0 * 64 * (32 * 9) * 14 * 14;
  const double fc1 = 2.0 * 64 * 7 * 7 * 128, fc2 = 2.0 * 128 * 10;
  return 2 * conv1 + 3 * (conv2 + fc1 + fc2);
}

tk_status conv_block(tk_model* m, tk_node node, int64_t channels, tk_node* out) {
  tk_status s = tk_model_conv2d(m, node, channels, 3, 1, 1, 1, 1, 0, &node);
  if (s == TK_OK) s = tk_model_batch_norm(m, node, 1e-5, 0.1, &node);
  if (s == TK_OK) s = tk_model_relu(m, node, &node);
  if (s == TK_OK) s = tk_model_max_pool2d(m, node, 2, 2, 0, out);
  return s;
}

struct Timing {
  double ms_per_step, samples_per_second;
};

Timing measure(int batch, tk_precision precision, int threads, double budget) {
  tk_model* m;
  tk_node node;
  const int64_t image[3] = {1, 28, 28};
  check(tk_model_create(&m), "model");
  check(tk_model_input(m, "image", 3, image, &node), "input");
  check(conv_block(m, node, 32, &node), "block 1");
  check(conv_block(m, node, 64, &node), "block 2");
  check(tk_model_dropout2d(m, node, 0.1, &node), "dropout2d");
  check(tk_model_flatten(m, node, &node), "flatten");
  check(tk_model_linear(m, node, 128, &node), "fc1");
  check(tk_model_relu(m, node, &node), "relu");
  check(tk_model_dropout(m, node, 0.3, &node), "dropout");
  check(tk_model_linear(m, node, 10, &node), "fc2");
  check(tk_model_output(m, node, "logits"), "output");
  tk_trainer_options* o;
  tk_trainer* t;
  check(tk_trainer_options_create(&o), "options");
  check(tk_trainer_options_set_optimizer(o, TK_OPTIMIZER_ADAM), "optimizer");
  check(tk_trainer_options_set_learning_rate(o, 1e-4), "lr");
  check(tk_trainer_options_set_threads(o, threads), "threads");
  check(tk_trainer_options_set_precision(o, precision), "precision");
  check(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &t), "trainer");

  std::vector<float> x(size_t(batch) * 28 * 28);
  std::vector<int32_t> y(batch);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
  for (int i = 0; i < batch; ++i) y[i] = i % 10;
  int64_t x_shape[4] = {batch, 1, 28, 28}, y_shape[1] = {batch};
  tk_tensor_view in = tk_view_f32(x.data(), 4, x_shape), labels = tk_view_i32(y.data(), 1, y_shape);
  float loss;
  for (int i = 0; i < 2; ++i) check(tk_trainer_step(t, &in, &labels, &loss), "warm-up step");
  int steps = 0;
  auto start = Clock::now();
  do {
    check(tk_trainer_step(t, &in, &labels, &loss), "step");
    ++steps;
  } while (seconds_since(start) < budget);
  const double elapsed = seconds_since(start);
  tk_trainer_destroy(t);
  tk_trainer_options_destroy(o);
  tk_model_destroy(m);
  return {1e3 * elapsed / steps, double(steps) * batch / elapsed};
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 0, only_batch = 0;
  double budget = 3.0;
  const char* only_precision = nullptr;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seconds")) budget = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--batch")) only_batch = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--precision")) only_precision = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: cnn_bench [--threads N] [--seconds S] [--batch B] [--precision fp32|bf16]\n");
      return 2;
    }
  }
  const double peak = square_sgemm_gflops(budget);
  const double flops = train_flops_per_sample();
  std::printf("trainkit %s  CPU CNN training benchmark (Fashion-MNIST CNN, %.1f MFLOP per sample per step)\n",
              tk_version(), flops / 1e6);
  std::printf("sgemm 1024^3: %.1f GFLOP/s\n\n", peak);
  std::printf("%-6s %-5s %10s %12s %10s %12s\n", "batch", "prec", "ms/step", "samples/s", "GFLOP/s", "of sgemm");
  const struct {
    tk_precision precision;
    const char* name;
  } precisions[] = {{TK_PRECISION_FP32, "fp32"}, {TK_PRECISION_BF16, "bf16"}};
  for (int batch : {64, 256})
    for (const auto& p : precisions) {
      if ((only_batch && batch != only_batch) || (only_precision && std::strcmp(only_precision, p.name))) continue;
      const Timing t = measure(batch, p.precision, threads, budget);
      const double gflops = t.samples_per_second * flops / 1e9;
      std::printf("%-6d %-5s %10.2f %12.0f %10.1f %11.0f%%\n", batch, p.name, t.ms_per_step, t.samples_per_second,
                  gflops, 100 * gflops / peak);
      std::fflush(stdout);
    }
  return 0;
}
