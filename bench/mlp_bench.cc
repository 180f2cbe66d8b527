// MLP training throughput on the CPU, beside the machine's own sgemm rate
// measured in the same run (the roofline for these matmul-bound models).
//
//   bazel run //bench:mlp_bench -- [--threads N] [--seconds S] [--grid]
//
// --grid: the peers' grid instead (bench/mlp_grid.sh), one line per cell;
// --only 784-512-10 runs one of its models.
//
// For each model and batch size: samples/s through tk_trainer_step, the
// achieved GFLOP/s (6 flops per weight per sample, less the first layer's
// unneeded input gradient), and that rate as a fraction of sgemm at the
// model's own layer shapes and of a large square sgemm.
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "capi/trainkit.h"
#include "core/backend/cpu/cpu_backend.h"
#include "core/graph/plan.h"
#include "core/ops/ops.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void check(tk_status status, const char* what) {
  if (status != TK_OK) {
    std::fprintf(stderr, "%s: %s\n", what, tk_last_error_message());
    std::exit(1);
  }
}

// GFLOP/s of C[m,n] = A[m,k] B[k,n]: the best of three windows of budget/3
// seconds, since a shared machine only ever slows a window down.
double sgemm_gflops(int m, int n, int k, bool trans_b, double budget) {
  std::vector<float> a(size_t(m) * k, 0.5f), b(size_t(k) * n, 0.25f), c(size_t(m) * n);
  auto run = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k, 1, a.data(), k,
                b.data(), trans_b ? k : n, 0, c.data(), n);
  };
  run();  // warm-up
  double best = 0;
  for (int window = 0; window < 3; ++window) {
    int reps = 0;
    auto start = Clock::now();
    do {
      run();
      ++reps;
    } while (seconds_since(start) < budget / 3);
    best = std::max(best, 2.0 * m * n * k * reps / seconds_since(start) / 1e9);
  }
  return best;
}

struct Model {
  std::string name;
  std::vector<int64_t> widths;  // input, hidden..., classes
};

// The three matmuls of each layer (forward, input gradient, weight gradient)
// timed as plain sgemm: the best this model's step could do on this machine.
double layer_sgemm_seconds_per_sample(const Model& model, int batch, double budget) {
  double seconds = 0;
  for (size_t l = 0; l + 1 < model.widths.size(); ++l) {
    int in = static_cast<int>(model.widths[l]), out = static_cast<int>(model.widths[l + 1]);
    double flops = 2.0 * batch * in * out;
    seconds += flops / (sgemm_gflops(batch, out, in, true, budget) * 1e9);   // Y = X W^T
    seconds += flops / (sgemm_gflops(out, in, batch, false, budget) * 1e9);  // dW = dY^T X
    if (l > 0) seconds += flops / (sgemm_gflops(batch, in, out, false, budget) * 1e9);  // dX = dY W
  }
  return seconds / batch;
}

double train_flops_per_sample(const Model& model) {
  double flops = 0;
  for (size_t l = 0; l + 1 < model.widths.size(); ++l)
    flops += (l == 0 ? 4.0 : 6.0) * model.widths[l] * model.widths[l + 1];
  return flops;
}

double samples_per_second(const Model& model, int batch, int threads, double budget) {
  tk_model* m;
  tk_node node;
  check(tk_model_create(&m), "model");
  check(tk_model_input(m, "x", 1, &model.widths[0], &node), "input");
  for (size_t l = 1; l < model.widths.size(); ++l) {
    check(tk_model_linear(m, node, model.widths[l], &node), "linear");
    if (l + 1 < model.widths.size()) check(tk_model_relu(m, node, &node), "relu");
  }
  check(tk_model_output(m, node, "logits"), "output");
  tk_trainer_options* o;
  tk_trainer* t;
  check(tk_trainer_options_create(&o), "options");
  check(tk_trainer_options_set_optimizer(o, TK_OPTIMIZER_ADAM), "optimizer");
  check(tk_trainer_options_set_learning_rate(o, 1e-4), "lr");
  check(tk_trainer_options_set_threads(o, threads), "threads");
  check(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &t), "trainer");

  const int64_t features = model.widths.front(), classes = model.widths.back();
  std::vector<float> x(size_t(batch) * features);
  std::vector<int32_t> y(batch);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
  for (int i = 0; i < batch; ++i) y[i] = static_cast<int32_t>(i % classes);
  int64_t x_shape[2] = {batch, features}, y_shape[1] = {batch};
  tk_tensor_view in = tk_view_f32(x.data(), 2, x_shape), lab = tk_view_i32(y.data(), 1, y_shape);
  float loss;
  for (int i = 0; i < 3; ++i) check(tk_trainer_step(t, &in, &lab, &loss), "warm-up step");
  int steps = 0;
  auto start = Clock::now();
  do {
    check(tk_trainer_step(t, &in, &lab, &loss), "step");
    ++steps;
  } while (seconds_since(start) < budget);
  double rate = double(steps) * batch / seconds_since(start);
  tk_trainer_destroy(t);
  tk_trainer_options_destroy(o);
  tk_model_destroy(m);
  return rate;
}

// Activation arena bytes per sample for one precision (values and gradients,
// shared by liveness), from the compiled plan at batch 256.
double arena_bytes_per_sample(const Model& model, tk::Precision precision) {
  tk::Graph graph;
  int node = graph.add_input("x", {model.widths[0]});
  for (size_t l = 1; l < model.widths.size(); ++l) {
    node = graph.add(tk::make_linear(model.widths[l], true, tk::Init::kHeUniform), {node});
    if (l + 1 < model.widths.size()) node = graph.add(tk::make_activation(tk::Activation::kRelu), {node});
  }
  graph.set_output(node, "logits");
  tk::cpu::CpuBackend backend(1);
  tk::Plan plan(graph, tk::LossKind::kSoftmaxCrossEntropy, tk::Reduction::kMean, &backend,
                tk::make_precision_policy(precision, tk::DType::kF32));
  plan.reserve(256);
  return static_cast<double>(plan.arena_bytes()) / 256;
}

}  // namespace

// The grid the peer comparison covers (bench/mlp_grid.sh): 784 inputs, 2 to
// 4 linear layers of 256 to 1024 units, 10 classes, batches 64 to 1024.
std::vector<Model> grid_models() {
  std::vector<Model> models;
  for (int64_t width : {256, 512, 1024})
    for (int layers = 2; layers <= 4; ++layers) {
      Model m{"", {784}};
      for (int l = 1; l < layers; ++l) m.widths.push_back(width);
      m.widths.push_back(10);
      for (size_t i = 0; i < m.widths.size(); ++i) m.name += (i ? "-" : "") + std::to_string(m.widths[i]);
      models.push_back(m);
    }
  return models;
}

// One line per cell: "grid <widths> <batch> <samples/s> <GFLOP/s> <percent of sgemm 1024^3>".
int run_grid(int threads, double budget, double peak, const char* only) {
  for (const Model& model : grid_models())
    for (int batch : {64, 128, 256, 512, 1024}) {
      if (only && model.name != only) continue;
      const double rate = samples_per_second(model, batch, threads, budget);
      const double gflops = rate * train_flops_per_sample(model) / 1e9;
      std::printf("grid %s %d %.0f %.1f %.0f\n", model.name.c_str(), batch, rate, gflops, 100 * gflops / peak);
      std::fflush(stdout);
    }
  return 0;
}

int main(int argc, char** argv) {
  int threads = 0;
  double budget = 1.0;
  bool grid = false;
  const char* only = nullptr;  // --only WIDTHS: one model of the grid
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--grid")) grid = true;
    else if (i + 1 < argc && !std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[++i]);
    else if (i + 1 < argc && !std::strcmp(argv[i], "--seconds")) budget = std::atof(argv[++i]);
    else if (i + 1 < argc && !std::strcmp(argv[i], "--only")) only = argv[++i];
  }
  const int blas_threads = threads > 0 ? threads : openblas_get_num_procs();
  openblas_set_num_threads(blas_threads);
  const double peak = sgemm_gflops(1024, 1024, 1024, false, budget);
  if (grid) {
    std::printf("# trainkit %s, %d threads, sgemm 1024^3 %.1f GFLOP/s\n", tk_version(), blas_threads, peak);
    return run_grid(threads, budget, peak, only);
  }
  std::printf("trainkit %s  CPU MLP training benchmark  threads %d  %.1f s per measurement\n", tk_version(),
              blas_threads, budget);
  std::printf("roofline: sgemm 1024x1024x1024 = %.1f GFLOP/s\n\n", peak);
  std::printf("%-24s %6s %12s %9s %14s %10s %10s\n", "model", "batch", "samples/s", "GFLOP/s", "layer-sgemm GF",
              "vs layers", "vs peak");
  const std::vector<Model> models = {
      {"mlp 784-256-128-10", {784, 256, 128, 10}},
      {"mlp 784-1024-1024-10", {784, 1024, 1024, 10}},
      {"quickstart 10-1000-100-10", {10, 1000, 100, 10}},
  };
  for (const Model& model : models) {
    for (int batch : {64, 256}) {
      const double rate = samples_per_second(model, batch, threads, budget);
      const double gflops = rate * train_flops_per_sample(model) / 1e9;
      openblas_set_num_threads(blas_threads);
      const double layer_gflops = train_flops_per_sample(model) /
                                  layer_sgemm_seconds_per_sample(model, batch, budget / 4) / 1e9;
      std::printf("%-24s %6d %12.0f %9.1f %14.1f %9.0f%% %9.0f%%\n", model.name.c_str(), batch, rate, gflops,
                  layer_gflops, 100 * gflops / layer_gflops, 100 * gflops / peak);
      std::fflush(stdout);
    }
  }
  std::printf("\nactivation memory per sample (planned arena / batch 256)\n");
  std::printf("%-24s %12s %12s %12s %8s\n", "model", "fp32 bytes", "fp16 bytes", "bf16 bytes", "fp16/fp32");
  for (const Model& model : models) {
    const double fp32 = arena_bytes_per_sample(model, tk::Precision::kFp32);
    const double fp16 = arena_bytes_per_sample(model, tk::Precision::kFp16);
    const double bf16 = arena_bytes_per_sample(model, tk::Precision::kBf16);
    std::printf("%-24s %12.0f %12.0f %12.0f %7.2fx\n", model.name.c_str(), fp32, fp16, bf16, fp16 / fp32);
  }
  return 0;
}
