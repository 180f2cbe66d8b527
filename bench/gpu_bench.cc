// trainkit's side of the GPU benchmark (bench/gpu_bench.sh runs it beside
// bench/torch_bench.py and prints the ratios). Trains each model on random
// data held in host memory and prints one line per model:
//   <model> <steps/s> <train GFLOP/s> <pageable steps/s> <queued steps/s> <steps/s without CUDA graphs>
// Batches come from page-locked memory (tk_host_alloc), as the PyTorch side
// feeds from pin_memory(), except in the pageable column (ordinary memory).
// Queued steps are tk_trainer_step_async, waited for once at the end.
//
//   gpu_bench [--seconds S] [--device N] [--models a1,a2,b,c,cnn]
//
// Models (the CUDA issue's benchmark set):
//   a1  MLP 10-1000-100-10, batch 1024, fp16 AMP
//   a2  MLP 10-1000-100-10, batch 16384, fp16 AMP
//   b   4 x Linear 4096 (ReLU between), batch 8192, bf16 AMP
//   c   Fashion-MNIST MLP 784-256-128-10, batch 128, fp32
//   cnn the Fashion-MNIST CNN (two conv/BN/ReLU/pool blocks), batch 256, bf16 AMP
// A step is tk_trainer_step: batch copied from host memory, forward,
// backward, optimizer (Adam), loss returned (one device sync per step); on a
// GPU replayed from a CUDA graph unless the last column says otherwise.
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
  std::vector<int64_t> widths;  // input, hidden..., classes (for the CNN: pixels, then its 10 classes)
  int64_t batch;
  tk_precision precision;
  bool cnn = false;
};

// The Fashion-MNIST CNN of samples/c/fashion_mnist_cnn.c without its dropout:
// two blocks of conv 3x3, batch norm, ReLU and 2x2 max pooling, then 128 units.
tk_node build_cnn(tk_model* model) {
  const int64_t image[3] = {1, 28, 28};
  tk_node node;
  check(tk_model_input(model, "x", 3, image, &node), "input");
  for (int64_t channels : {32, 64}) {
    check(tk_model_conv2d(model, node, channels, 3, 1, 1, 1, 1, 0, &node), "conv2d");
    check(tk_model_batch_norm(model, node, 1e-5, 0.1, &node), "batch norm");
    check(tk_model_relu(model, node, &node), "relu");
    check(tk_model_max_pool2d(model, node, 2, 2, 0, &node), "max pool");
  }
  check(tk_model_flatten(model, node, &node), "flatten");
  check(tk_model_linear(model, node, 128, &node), "linear");
  check(tk_model_relu(model, node, &node), "relu");
  check(tk_model_linear(model, node, 10, &node), "linear");
  return node;
}

double train_flops_per_step(const Model& m) {
  if (m.cnn) {
    // Multiply-adds per image: conv 1->32 and 32->64 (3x3 at 28x28 and 14x14), then 3136->128->10;
    // a training step is about three forward passes.
    const double macs = 28 * 28 * 32 * 9.0 + 14 * 14 * 64 * 9.0 * 32 + 3136 * 128.0 + 128 * 10.0;
    return 6.0 * macs * static_cast<double>(m.batch);
  }
  double flops = 0;
  for (size_t l = 0; l + 1 < m.widths.size(); ++l)
    flops += (l == 0 ? 4.0 : 6.0) * static_cast<double>(m.widths[l] * m.widths[l + 1]);
  return flops * static_cast<double>(m.batch);
}

// Batch memory as applications hold it: page-locked (tk_host_alloc, as
// PyTorch's pin_memory) or ordinary pageable memory.
template <typename T>
struct HostArray {
  HostArray(size_t n, bool page_locked) : page_locked(page_locked) {
    if (page_locked) {
      void* block = nullptr;
      check(tk_host_alloc(n * sizeof(T), &block), "host alloc");
      data = static_cast<T*>(block);
    } else {
      owned.resize(n);
      data = owned.data();
    }
  }
  ~HostArray() {
    if (page_locked) tk_host_free(data);
  }
  bool page_locked;
  T* data = nullptr;
  std::vector<T> owned;
};

struct Run {
  bool page_locked = true;
  bool queued = false;
  bool cuda_graphs = true;
};

double steps_per_second(const Model& m, int device, double seconds, Run run) {
  const bool page_locked = run.page_locked;
  tk_model* model;
  tk_node node;
  check(tk_model_create(&model), "model");
  if (m.cnn) {
    node = build_cnn(model);
  } else {
    check(tk_model_input(model, "x", 1, &m.widths[0], &node), "input");
    for (size_t l = 1; l < m.widths.size(); ++l) {
      check(tk_model_linear(model, node, m.widths[l], &node), "linear");
      if (l + 1 < m.widths.size()) check(tk_model_relu(model, node, &node), "relu");
    }
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
  check(tk_trainer_options_set_cuda_graphs(o, run.cuda_graphs ? 1 : 0), "cuda graphs");
  check(tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &t), "trainer");

  const int64_t features = m.widths.front(), classes = m.widths.back();
  const size_t x_count = static_cast<size_t>(m.batch * features), y_count = static_cast<size_t>(m.batch);
  HostArray<float> x(x_count, page_locked);
  HostArray<int32_t> y(y_count, page_locked);
  for (size_t i = 0; i < x_count; ++i) x.data[i] = static_cast<float>((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
  for (size_t i = 0; i < y_count; ++i) y.data[i] = static_cast<int32_t>(i % static_cast<size_t>(classes));
  int64_t x_shape[4] = {m.batch, features}, y_shape[1] = {m.batch};
  if (m.cnn) {
    x_shape[1] = 1;
    x_shape[2] = x_shape[3] = 28;
  }
  tk_tensor_view in = tk_view_f32(x.data, m.cnn ? 4 : 2, x_shape), labels = tk_view_i32(y.data, 1, y_shape);
  float loss;
  for (int i = 0; i < 10; ++i) check(tk_trainer_step(t, &in, &labels, &loss), "warm-up step");
  int steps = 0;
  const auto start = Clock::now();
  double elapsed = 0;
  do {
    if (run.queued) check(tk_trainer_step_async(t, &in, &labels), "queued step");
    else check(tk_trainer_step(t, &in, &labels, &loss), "step");
    ++steps;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < seconds);
  if (run.queued) {
    check(tk_trainer_wait(t, nullptr), "wait");
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  tk_trainer_destroy(t);
  tk_trainer_options_destroy(o);
  tk_model_destroy(model);
  return steps / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3.0;
  int device = 0;
  std::string wanted = "a1,a2,b,c,cnn";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--device")) device = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--models")) wanted = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: gpu_bench [--seconds S] [--device N] [--models a1,a2,b,c,cnn]\n");
      return 2;
    }
  }
  const Model models[] = {
      {"a1", {10, 1000, 100, 10}, 1024, TK_PRECISION_FP16},
      {"a2", {10, 1000, 100, 10}, 16384, TK_PRECISION_FP16},
      {"b", {4096, 4096, 4096, 4096, 4096}, 8192, TK_PRECISION_BF16},
      {"c", {784, 256, 128, 10}, 128, TK_PRECISION_FP32},
      {"cnn", {784, 10}, 256, TK_PRECISION_BF16, true},
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
    const double rate = steps_per_second(m, device, seconds, Run{});
    const double pageable = steps_per_second(m, device, seconds / 2, Run{false, false, true});
    const double queued = steps_per_second(m, device, seconds, Run{true, true, true});
    const double launched = steps_per_second(m, device, seconds / 2, Run{true, false, false});
    std::printf("%s %.2f %.1f %.2f %.2f %.2f\n", m.name, rate, rate * train_flops_per_step(m) / 1e9, pageable, queued,
                launched);
    std::fflush(stdout);
  }
  return 0;
}
