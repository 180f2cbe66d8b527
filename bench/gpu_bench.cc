// trainkit's side of the GPU benchmark (bench/gpu_bench.sh runs it beside
// bench/torch_bench.py and prints the ratios). Trains each model on random
// data held in host memory and prints one line per model:
//   <model> <steps/s> <train GFLOP/s>
//
//   gpu_bench [--seconds S] [--device N] [--models a1,a2,b,c]
//
// Models (the CUDA issue's benchmark set):
//   a1  MLP 10-1000-100-10, batch 1024, fp16 AMP
//   a2  MLP 10-1000-100-10, batch 16384, fp16 AMP
//   b   4 x Linear 4096 (ReLU between), batch 8192, bf16 AMP
//   c   Fashion-MNIST MLP 784-256-128-10, batch 128, fp32
// A step is tk_trainer_step: batch copied from host memory, forward,
// backward, optimizer (Adam), loss returned (one device sync per step).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "capi/trainkit.h"

namespace {

using Clock = std::chrono::steady_clock;

void check(tk_status status, const char* what) {
  if (status != TK_OK) {
    std::fprintf(stderr, "gpu_bench: %s: %s\n", what, tk_last_error_message());
    std::exit(1);
  }
}

struct Model {
  const char* name;
  std::vector<int64_t> widths;  // input, hidden..., classes
  int64_t batch;
  tk_precision precision;
};

double train_flops_per_step(const Model& m) {
  double flops = 0;
  for (size_t l = 0; l + 1 < m.widths.size(); ++l)
    flops += (l == 0 ? 4.0 : 6.0) * static_cast<double>(m.widths[l] * m.widths[l + 1]);
  return flops * static_cast<double>(m.batch);
}

double steps_per_second(const Model& m, int device, double seconds) {
  tk_model* model;
  tk_node node;
  check(tk_model_create(&model), "model");
  check(tk_model_input(model, "x", 1, &m.widths[0], &node), "input");
  for (size_t l = 1; l < m.widths.size(); ++l) {
    check(tk_model_linear(model, node, m.widths[l], &node), "linear");
    if (l + 1 < m.widths.size()) check(tk_model_relu(model, node, &node), "relu");
  }
  check(tk_model_output(model, node, "logits"), "output");
  tk_trainer_options* o;
  tk_trainer* t;
  check(tk_trainer_options_create(&o), "options");
  check(tk_trainer_options_set_optimizer(o, TK_OPTIMIZER_ADAM), "optimizer");
  check(tk_trainer_options_set_learning_rate(o, 1e-4), "lr");
  check(tk_trainer_options_set_precision(o, m.precision), "precision");
  check(tk_trainer_options_set_cuda_device(o, device), "device");
  check(tk_trainer_options_set_batch_hint(o, m.batch), "batch hint");
  check(tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &t), "trainer");

  const int64_t features = m.widths.front(), classes = m.widths.back();
  std::vector<float> x(static_cast<size_t>(m.batch * features));
  std::vector<int32_t> y(static_cast<size_t>(m.batch));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
  for (size_t i = 0; i < y.size(); ++i) y[i] = static_cast<int32_t>(i % static_cast<size_t>(classes));
  int64_t x_shape[2] = {m.batch, features}, y_shape[1] = {m.batch};
  tk_tensor_view in = tk_view_f32(x.data(), 2, x_shape), labels = tk_view_i32(y.data(), 1, y_shape);
  float loss;
  for (int i = 0; i < 10; ++i) check(tk_trainer_step(t, &in, &labels, &loss), "warm-up step");
  int steps = 0;
  const auto start = Clock::now();
  double elapsed = 0;
  do {
    check(tk_trainer_step(t, &in, &labels, &loss), "step");
    ++steps;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < seconds);
  tk_trainer_destroy(t);
  tk_trainer_options_destroy(o);
  tk_model_destroy(model);
  return steps / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3.0;
  int device = 0;
  std::string wanted = "a1,a2,b,c";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--device")) device = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--models")) wanted = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: gpu_bench [--seconds S] [--device N] [--models a1,a2,b,c]\n");
      return 2;
    }
  }
  const Model models[] = {
      {"a1", {10, 1000, 100, 10}, 1024, TK_PRECISION_FP16},
      {"a2", {10, 1000, 100, 10}, 16384, TK_PRECISION_FP16},
      {"b", {4096, 4096, 4096, 4096, 4096}, 8192, TK_PRECISION_BF16},
      {"c", {784, 256, 128, 10}, 128, TK_PRECISION_FP32},
  };
  int32_t gpus = 0;
  char reason[512];
  check(tk_gpu_count(&gpus, reason, sizeof reason), "gpu count");
  if (gpus == 0) {
    std::fprintf(stderr, "gpu_bench: no GPU: %s\n", reason);
    return 1;
  }
  tk_gpu_info info;
  info.struct_size = sizeof info;
  check(tk_gpu_info_get(device, &info), "gpu info");
  std::printf("# trainkit %s on %s (compute %d.%d, %.0f GiB)\n", tk_version(), info.name, info.compute_major,
              info.compute_minor, static_cast<double>(info.memory_bytes) / (1u << 30));
  for (const Model& m : models) {
    if (("," + wanted + ",").find(std::string(",") + m.name + ",") == std::string::npos) continue;
    const double rate = steps_per_second(m, device, seconds);
    std::printf("%s %.2f %.1f\n", m.name, rate, rate * train_flops_per_step(m) / 1e9);
    std::fflush(stdout);
  }
  return 0;
}
