// Every backend primitive on the GPU against the CPU backend, on the same
// random inputs: f32 within 1e-5 (relative, with a small absolute floor),
// half precision within 1e-2, TF32 products within 1e-3. Then whole training
// steps on both devices. Skipped where no GPU can be used (CI).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/api/trainer.h"
#include "core/backend/device.h"
#include "core/base/rng.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

// One device buffer per backend holding the same values.
struct Pair;

class CudaBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (cuda_devices(&why).empty()) GTEST_SKIP() << "no GPU: " << why;
    cpu_ = make_backend(kDeviceCpu, 0);
    gpu_ = make_backend(0, 0);
  }

  // A device copy of `values` (given in f64) converted to `dt`, on backend b.
  void* upload(Backend* b, const std::vector<double>& values, DType dt) {
    void* p = b->allocate(std::max<size_t>(1, values.size()) * dtype_size(dt));
    owned_.push_back({b, p});
    HostView view{const_cast<double*>(values.data()), DType::kF64, {static_cast<int64_t>(values.size())}, {}};
    b->load_host(view, dt, p);
    return p;
  }
  std::vector<double> download(Backend* b, const void* p, DType dt, int64_t n) {
    std::vector<double> out(n);
    b->store_host(dt, p, {out.data(), DType::kF64, {n}, {}});
    return out;
  }
  std::vector<double> random(int64_t n, double scale = 1.0) {
    std::vector<double> v(n);
    for (double& x : v) x = scale * (2 * rng_.uniform() - 1);
    return v;
  }

  // Runs `op` on both backends with the same inputs (one device buffer per
  // input on each) and compares output buffer `outputs` element-wise.
  struct Run {
    std::vector<void*> cpu, gpu;
  };
  Run both(const std::vector<std::pair<std::vector<double>, DType>>& buffers) {
    Run r;
    for (const auto& [values, dt] : buffers) {
      r.cpu.push_back(upload(cpu_.get(), values, dt));
      r.gpu.push_back(upload(gpu_.get(), values, dt));
    }
    return r;
  }
  void expect_close(const Run& r, size_t index, DType dt, int64_t n, double tolerance, const std::string& what) {
    const std::vector<double> a = download(cpu_.get(), r.cpu[index], dt, n);
    const std::vector<double> b = download(gpu_.get(), r.gpu[index], dt, n);
    int reported = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double scale = std::max({std::abs(a[i]), std::abs(b[i]), 1e-2});
      const bool same_nan = std::isnan(a[i]) && std::isnan(b[i]);
      if (!same_nan && !(std::abs(a[i] - b[i]) <= tolerance * scale) && reported++ < 5)
        ADD_FAILURE() << what << " element " << i << ": cpu " << a[i] << " gpu " << b[i];
    }
  }

  void TearDown() override {
    for (auto& [b, p] : owned_) b->deallocate(p, 0);
  }

  static double tolerance(DType dt) { return dt == DType::kF32 ? 1e-5 : (dt == DType::kF64 ? 1e-12 : 1e-2); }

  Rng rng_{42};
  std::unique_ptr<Backend> cpu_, gpu_;
  std::vector<std::pair<Backend*, void*>> owned_;
};

TEST_F(CudaBackendTest, GemmMatchesTheCpuForEveryTransposeAndDtype) {
  const int64_t m = 37, n = 29, k = 53;
  for (DType dt : {DType::kF32, DType::kF64, DType::kF16, DType::kBF16})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const DType out = dt == DType::kF64 ? DType::kF64 : DType::kF32;
        Run r = both({{random(m * k), dt}, {random(k * n), dt}, {random(m * n), out}});
        cpu_->gemm(dt, dt, out, ta, tb, m, n, k, 0.75, r.cpu[0], r.cpu[1], 0.5, r.cpu[2]);
        gpu_->gemm(dt, dt, out, ta, tb, m, n, k, 0.75, r.gpu[0], r.gpu[1], 0.5, r.gpu[2]);
        expect_close(r, 2, out, m * n, dt == DType::kF32 ? 1e-5 : tolerance(dt),
                     std::string("gemm ") + dtype_name(dt) + (ta ? " A^T" : "") + (tb ? " B^T" : ""));
      }
}

TEST_F(CudaBackendTest, ElementwiseOpsMatchTheCpu) {
  const int64_t n = 10007;
  for (DType dt : {DType::kF32, DType::kF16, DType::kBF16}) {
    const double tol = tolerance(dt);
    for (Activation act : {Activation::kRelu, Activation::kGelu, Activation::kTanh, Activation::kSigmoid}) {
      Run r = both({{random(n, 3), dt}, {random(n), dt}, {random(n), dt}, {random(n), dt}});
      cpu_->activation_forward(dt, act, n, r.cpu[0], r.cpu[1]);
      gpu_->activation_forward(dt, act, n, r.gpu[0], r.gpu[1]);
      expect_close(r, 1, dt, n, tol, "activation forward");
      cpu_->activation_backward(dt, act, n, r.cpu[0], r.cpu[1], r.cpu[2], r.cpu[3], true);
      gpu_->activation_backward(dt, act, n, r.gpu[0], r.gpu[1], r.gpu[2], r.gpu[3], true);
      expect_close(r, 3, dt, n, tol, "activation backward");
    }
    Run r = both({{random(n), dt}, {random(n), dt}, {random(n), dt}});
    cpu_->add(dt, n, r.cpu[0], r.cpu[1], r.cpu[2]);
    gpu_->add(dt, n, r.gpu[0], r.gpu[1], r.gpu[2]);
    expect_close(r, 2, dt, n, tol, "add");
    cpu_->axpy(dt, n, -0.3, r.cpu[0], r.cpu[2], true);
    gpu_->axpy(dt, n, -0.3, r.gpu[0], r.gpu[2], true);
    expect_close(r, 2, dt, n, tol, "axpy");
    for (int64_t block : {1, 49}) {
      cpu_->dropout(dt, n, block, 0.3, 5, 9, r.cpu[0], r.cpu[1], false);
      gpu_->dropout(dt, n, block, 0.3, 5, 9, r.gpu[0], r.gpu[1], false);
      expect_close(r, 1, dt, n, tol, "dropout (the same mask)");
    }
    Run bias = both({{random(n - 7), dt}, {random(7), DType::kF32}, {random(7), DType::kF32}});
    cpu_->bias_add(dt, DType::kF32, 1428, 7, bias.cpu[1], bias.cpu[0]);
    gpu_->bias_add(dt, DType::kF32, 1428, 7, bias.gpu[1], bias.gpu[0]);
    expect_close(bias, 0, dt, n - 7, tol, "bias_add");
    cpu_->column_sum(dt, DType::kF32, 1428, 7, bias.cpu[0], bias.cpu[2], true);
    gpu_->column_sum(dt, DType::kF32, 1428, 7, bias.gpu[0], bias.gpu[2], true);
    expect_close(bias, 2, DType::kF32, 7, 1e-4, "column_sum");
    Run conv = both({{random(n), DType::kF32}, {random(n), dt}});
    cpu_->convert(DType::kF32, dt, n, conv.cpu[0], conv.cpu[1]);
    gpu_->convert(DType::kF32, dt, n, conv.gpu[0], conv.gpu[1]);
    expect_close(conv, 1, dt, n, 0.0, "convert (rounding must agree exactly)");
  }
}

TEST_F(CudaBackendTest, LossesAndSoftmaxMatchTheCpu) {
  const int64_t rows = 300, classes = 13;
  for (DType dt : {DType::kF32, DType::kBF16}) {
    std::vector<double> labels(rows);
    for (double& l : labels) l = static_cast<double>(rng_.next_u64() % classes);
    std::vector<double> targets = random(rows * classes);
    for (double& t : targets) t = 0.5 + 0.5 * t;
    Run r = both({{random(rows * classes, 4), dt}, {labels, DType::kI32}, {random(rows), DType::kF32},
                  {random(rows * classes), dt}, {targets, DType::kF32}});
    const auto* cpu_labels = static_cast<const int32_t*>(r.cpu[1]);
    const auto* gpu_labels = static_cast<const int32_t*>(r.gpu[1]);
    cpu_->softmax_cross_entropy(dt, DType::kF32, rows, classes, r.cpu[0], cpu_labels, r.cpu[2], r.cpu[3], 0.01);
    gpu_->softmax_cross_entropy(dt, DType::kF32, rows, classes, r.gpu[0], gpu_labels, r.gpu[2], r.gpu[3], 0.01);
    expect_close(r, 2, DType::kF32, rows, 1e-5, "cross-entropy loss");
    expect_close(r, 3, dt, rows * classes, tolerance(dt), "cross-entropy gradient");
    cpu_->squared_error(dt, DType::kF32, rows, classes, r.cpu[0], r.cpu[4], r.cpu[2], r.cpu[3], 0.5);
    gpu_->squared_error(dt, DType::kF32, rows, classes, r.gpu[0], r.gpu[4], r.gpu[2], r.gpu[3], 0.5);
    expect_close(r, 2, DType::kF32, rows, 1e-5, "squared error");
    expect_close(r, 3, dt, rows * classes, tolerance(dt), "squared error gradient");
    cpu_->bce_with_logits(dt, DType::kF32, rows, classes, r.cpu[0], r.cpu[4], r.cpu[2], r.cpu[3], 0.5);
    gpu_->bce_with_logits(dt, DType::kF32, rows, classes, r.gpu[0], r.gpu[4], r.gpu[2], r.gpu[3], 0.5);
    expect_close(r, 2, DType::kF32, rows, 1e-5, "bce loss");
    expect_close(r, 3, dt, rows * classes, tolerance(dt), "bce gradient");
    cpu_->softmax(dt, rows, classes, r.cpu[0], r.cpu[3]);
    gpu_->softmax(dt, rows, classes, r.gpu[0], r.gpu[3]);
    expect_close(r, 3, dt, rows * classes, tolerance(dt), "softmax");
    EXPECT_EQ(cpu_->count_correct_argmax(dt, rows, classes, r.cpu[0], cpu_labels),
              gpu_->count_correct_argmax(dt, rows, classes, r.gpu[0], gpu_labels));
    EXPECT_EQ(cpu_->count_correct_binary(dt, DType::kF32, rows * classes, r.cpu[0], r.cpu[4]),
              gpu_->count_correct_binary(dt, DType::kF32, rows * classes, r.gpu[0], r.gpu[4]));
  }
}

TEST_F(CudaBackendTest, WindowsPoolingAndChannelsMatchTheCpu) {
  for (DType dt : {DType::kF32, DType::kF16}) {
    // 3 channels of 9x8, kernel 3, stride 2, padding 1, dilation 2.
    Window2d w{3, 9, 8, 3, 3, 2, 2, 1, 1, 2, 2, 0, 0};
    w.out_h = (w.height + 2 * w.pad_h - w.dilation_h * (w.kernel_h - 1) - 1) / w.stride_h + 1;
    w.out_w = (w.width + 2 * w.pad_w - w.dilation_w * (w.kernel_w - 1) - 1) / w.stride_w + 1;
    const int64_t image = 3 * 9 * 8, columns = 3 * 9 * w.out_h * w.out_w;
    Run r = both({{random(image), dt}, {random(columns), dt}, {random(image), dt}});
    const int64_t spatial = w.out_h * w.out_w;
    cpu_->im2col(dt, w, r.cpu[0], r.cpu[1], spatial);
    gpu_->im2col(dt, w, r.gpu[0], r.gpu[1], spatial);
    expect_close(r, 1, dt, columns, 0.0, "im2col");
    cpu_->col2im(dt, w, r.cpu[1], spatial, r.cpu[2], true);
    gpu_->col2im(dt, w, r.gpu[1], spatial, r.gpu[2], true);
    expect_close(r, 2, dt, image, tolerance(dt), "col2im");
    // Two images' columns side by side (row stride 2 * spatial), and a strided copy.
    Run wide = both({{random(2 * columns), dt}, {random(columns), dt}});
    cpu_->im2col(dt, w, r.cpu[0], static_cast<char*>(wide.cpu[0]) + spatial * dtype_size(dt), 2 * spatial);
    gpu_->im2col(dt, w, r.gpu[0], static_cast<char*>(wide.gpu[0]) + spatial * dtype_size(dt), 2 * spatial);
    expect_close(wide, 0, dt, 2 * columns, 0.0, "im2col with a row stride");
    cpu_->copy_2d(dt, 3 * 9, spatial, wide.cpu[0], 2 * spatial, wide.cpu[1], spatial);
    gpu_->copy_2d(dt, 3 * 9, spatial, wide.gpu[0], 2 * spatial, wide.gpu[1], spatial);
    expect_close(wide, 1, dt, columns, 0.0, "copy_2d");

    Window2d p{1, 9, 8, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0};
    p.out_h = (9 + 2 - 3) / 2 + 1;
    p.out_w = (8 + 2 - 3) / 2 + 1;
    const int64_t planes = 6, in = planes * 72, out = planes * p.out_h * p.out_w;
    for (Pool pool : {Pool::kMax, Pool::kAverage}) {
      Run q = both({{random(in), dt}, {random(out), dt}, {random(out), dt}, {random(in), dt}});
      cpu_->pool2d_forward(dt, pool, planes, p, q.cpu[0], q.cpu[1]);
      gpu_->pool2d_forward(dt, pool, planes, p, q.gpu[0], q.gpu[1]);
      expect_close(q, 1, dt, out, tolerance(dt), "pool forward");
      cpu_->pool2d_backward(dt, pool, planes, p, q.cpu[0], q.cpu[2], q.cpu[3], true);
      gpu_->pool2d_backward(dt, pool, planes, p, q.gpu[0], q.gpu[2], q.gpu[3], true);
      expect_close(q, 3, dt, in, tolerance(dt), "pool backward");
    }
    Run c = both({{random(4 * 5 * 30), dt}, {random(5), DType::kF32}, {random(5), DType::kF32}});
    cpu_->channel_bias_add(dt, DType::kF32, 4, 5, 30, c.cpu[1], c.cpu[0]);
    gpu_->channel_bias_add(dt, DType::kF32, 4, 5, 30, c.gpu[1], c.gpu[0]);
    expect_close(c, 0, dt, 600, tolerance(dt), "channel_bias_add");
    cpu_->channel_sum(dt, DType::kF32, 4, 5, 30, c.cpu[0], c.cpu[2], false);
    gpu_->channel_sum(dt, DType::kF32, 4, 5, 30, c.gpu[0], c.gpu[2], false);
    expect_close(c, 2, DType::kF32, 5, 1e-4, "channel_sum");
  }
}

TEST_F(CudaBackendTest, NormalizationMatchesTheCpu) {
  const int64_t batch = 6, channels = 4, spatial = 50, n = batch * channels * spatial;
  for (DType dt : {DType::kF32, DType::kBF16}) {
    const double tol = tolerance(dt);
    Run r = both({{random(n, 2), dt}, {random(n), dt}, {random(n), dt}, {random(channels), DType::kF32},
                  {random(channels), DType::kF32}, {random(channels), DType::kF32}, {random(channels), DType::kF32},
                  {random(channels), DType::kF32}, {random(channels), DType::kF32}, {random(channels), DType::kF32}});
    cpu_->batch_norm_statistics(dt, DType::kF32, batch, channels, spatial, r.cpu[0], r.cpu[3], r.cpu[4]);
    gpu_->batch_norm_statistics(dt, DType::kF32, batch, channels, spatial, r.gpu[0], r.gpu[3], r.gpu[4]);
    expect_close(r, 3, DType::kF32, channels, 1e-5, "batch mean");
    expect_close(r, 4, DType::kF32, channels, 1e-5, "batch variance");
    cpu_->batch_norm_apply(dt, DType::kF32, batch, channels, spatial, 1e-5, r.cpu[0], r.cpu[3], r.cpu[4], r.cpu[5],
                           r.cpu[6], r.cpu[1]);
    gpu_->batch_norm_apply(dt, DType::kF32, batch, channels, spatial, 1e-5, r.gpu[0], r.gpu[3], r.gpu[4], r.gpu[5],
                           r.gpu[6], r.gpu[1]);
    expect_close(r, 1, dt, n, tol, "batch norm");
    cpu_->batch_norm_backward(dt, DType::kF32, batch, channels, spatial, 1e-5, true, r.cpu[0], r.cpu[1], r.cpu[3],
                              r.cpu[4], r.cpu[5], r.cpu[2], true, r.cpu[7], r.cpu[8]);
    gpu_->batch_norm_backward(dt, DType::kF32, batch, channels, spatial, 1e-5, true, r.gpu[0], r.gpu[1], r.gpu[3],
                              r.gpu[4], r.gpu[5], r.gpu[2], true, r.gpu[7], r.gpu[8]);
    expect_close(r, 2, dt, n, tol, "batch norm dx");
    expect_close(r, 7, DType::kF32, channels, 1e-4, "batch norm dgamma");
    expect_close(r, 8, DType::kF32, channels, 1e-4, "batch norm dbeta");
    cpu_->moving_average(DType::kF32, channels, 0.1, r.cpu[5], r.cpu[3], 1.5, r.cpu[9]);
    gpu_->moving_average(DType::kF32, channels, 0.1, r.gpu[5], r.gpu[3], 1.5, r.gpu[9]);
    expect_close(r, 9, DType::kF32, channels, 1e-6, "moving average");

    const int64_t rows = 60, cols = 20;  // layer norm over the same n values
    Run l = both({{random(rows * cols, 2), dt}, {random(rows * cols), dt}, {random(rows * cols), dt},
                  {random(cols), DType::kF32}, {random(cols), DType::kF32}, {random(cols), DType::kF32},
                  {random(cols), DType::kF32}});
    cpu_->layer_norm_forward(dt, DType::kF32, rows, cols, 1e-5, l.cpu[0], l.cpu[3], l.cpu[4], l.cpu[1]);
    gpu_->layer_norm_forward(dt, DType::kF32, rows, cols, 1e-5, l.gpu[0], l.gpu[3], l.gpu[4], l.gpu[1]);
    expect_close(l, 1, dt, rows * cols, tol, "layer norm");
    cpu_->layer_norm_backward(dt, DType::kF32, rows, cols, 1e-5, l.cpu[0], l.cpu[1], l.cpu[3], l.cpu[2], false,
                              l.cpu[5], l.cpu[6]);
    gpu_->layer_norm_backward(dt, DType::kF32, rows, cols, 1e-5, l.gpu[0], l.gpu[1], l.gpu[3], l.gpu[2], false,
                              l.gpu[5], l.gpu[6]);
    expect_close(l, 2, dt, rows * cols, tol, "layer norm dx");
    expect_close(l, 5, DType::kF32, cols, 1e-4, "layer norm dgamma");
    expect_close(l, 6, DType::kF32, cols, 1e-4, "layer norm dbeta");
  }
}

TEST_F(CudaBackendTest, ReductionsAndOptimizersMatchTheCpu) {
  const int64_t n = 100003;
  Run r = both({{random(n), DType::kF32}, {random(n), DType::kF32}, {random(n), DType::kF32},
                {random(n, 0.1), DType::kF32}});
  EXPECT_NEAR(cpu_->sum(DType::kF32, n, r.cpu[0]), gpu_->sum(DType::kF32, n, r.gpu[0]), 1e-6 * n);
  EXPECT_NEAR(cpu_->sum_squares(DType::kF32, n, r.cpu[0]), gpu_->sum_squares(DType::kF32, n, r.gpu[0]), 1e-6 * n);
  EXPECT_TRUE(gpu_->all_finite(DType::kF32, n, r.gpu[0]));
  // Same n, same result: the GPU reduction order does not depend on timing.
  EXPECT_EQ(gpu_->sum(DType::kF32, n, r.gpu[0]), gpu_->sum(DType::kF32, n, r.gpu[0]));
  cpu_->sgd_update(DType::kF32, n, r.cpu[0], r.cpu[1], r.cpu[2], 0.5, 0.1, 0.9, 1e-4, true, false);
  gpu_->sgd_update(DType::kF32, n, r.gpu[0], r.gpu[1], r.gpu[2], 0.5, 0.1, 0.9, 1e-4, true, false);
  expect_close(r, 0, DType::kF32, n, 1e-5, "sgd params");
  expect_close(r, 2, DType::kF32, n, 1e-5, "sgd momentum");
  Run v = both({{random(n, 0.01), DType::kF32}});
  const std::vector<double> squares = download(cpu_.get(), v.cpu[0], DType::kF32, n);
  for (bool decoupled : {false, true}) {
    cpu_->adam_update(DType::kF32, n, r.cpu[0], r.cpu[1], r.cpu[3], v.cpu[0], 0.5, 1e-3, 0.9, 0.999, 1e-8, 0.01,
                      decoupled, 7);
    gpu_->adam_update(DType::kF32, n, r.gpu[0], r.gpu[1], r.gpu[3], v.gpu[0], 0.5, 1e-3, 0.9, 0.999, 1e-8, 0.01,
                      decoupled, 7);
    expect_close(r, 0, DType::kF32, n, 1e-5, "adam params");
    expect_close(r, 3, DType::kF32, n, 1e-5, "adam m");
  }
  (void)squares;
  std::vector<double> bad = random(1000);
  bad[617] = std::nan("");
  Run b = both({{bad, DType::kF32}});
  EXPECT_FALSE(gpu_->all_finite(DType::kF32, 1000, b.gpu[0]));
}

Graph mlp() {
  Graph g;
  int h = g.add_input("x", {20});
  h = g.add(make_linear(64, true, Init::kHeUniform), {h});
  h = g.add(make_activation(Activation::kGelu), {h});
  h = g.add(make_layer_norm(1, 1e-5), {h});
  h = g.add(make_dropout(0.1), {h});
  h = g.add(make_linear(5, true, Init::kHeUniform), {h});
  g.set_output(h, "logits");
  return g;
}

Graph cnn() {
  Graph g;
  int h = g.add_input("x", {1, 12, 12});
  h = g.add(make_conv2d(8, 3, 1, 1, 1, 1, false, Init::kHeUniform), {h});
  h = g.add(make_batch_norm(1e-5, 0.1), {h});
  h = g.add(make_activation(Activation::kRelu), {h});
  h = g.add(make_max_pool2d(2, 2, 0), {h});
  h = g.add(make_flatten(), {h});
  h = g.add(make_linear(5, true, Init::kHeUniform), {h});
  g.set_output(h, "logits");
  return g;
}

// The same training on both devices: f32 weights agree after 20 steps.
void expect_same_training(const Graph& graph, const Shape& sample, Precision precision, double tolerance) {
  std::string why;
  if (cuda_devices(&why).empty()) GTEST_SKIP() << "no GPU: " << why;
  TrainerConfig config;
  config.optimizer.kind = OptimizerKind::kAdam;
  config.optimizer.learning_rate = 1e-3;
  config.seed = 3;
  config.precision = precision;
  TrainerConfig on_gpu = config;
  on_gpu.device = 0;
  Trainer cpu(graph, config), gpu(graph, on_gpu);
  EXPECT_EQ(std::string(gpu.backend().name()).rfind("cuda:0", 0), 0u);
  const int64_t batch = 32, features = shape_numel(sample);
  Rng rng(9);
  std::vector<float> x(batch * features);
  std::vector<int32_t> y(batch);
  Shape shape = {batch};
  shape.insert(shape.end(), sample.begin(), sample.end());
  double first = 0, last = 0;
  for (int step = 0; step < 20; ++step) {
    for (float& v : x) v = static_cast<float>(rng.normal());
    for (int32_t& v : y) v = static_cast<int32_t>(rng.next_u64() % 5);
    const StepResult a = cpu.step({x.data(), DType::kF32, shape, {}}, {y.data(), DType::kI32, {batch}, {}});
    const StepResult b = gpu.step({x.data(), DType::kF32, shape, {}}, {y.data(), DType::kI32, {batch}, {}});
    EXPECT_NEAR(a.loss, b.loss, tolerance * std::max(1.0, std::abs(a.loss))) << "step " << step;
    if (step == 0) first = b.loss;
    last = b.loss;
  }
  (void)first;
  (void)last;
  const int64_t count = cpu.plan().flat_param_count();
  std::vector<float> a(count), b(count);
  cpu.backend().copy_to_host(a.data(), cpu.flat_params().data(), count * sizeof(float));
  gpu.backend().copy_to_host(b.data(), gpu.flat_params().data(), count * sizeof(float));
  double worst = 0;
  for (int64_t i = 0; i < count; ++i) worst = std::max(worst, std::abs(double(a[i]) - double(b[i])));
  EXPECT_LT(worst, tolerance) << "largest weight difference after 20 steps";
}

TEST(CudaTrainingTest, AnMlpTrainsTheSameOnBothDevices) { expect_same_training(mlp(), {20}, Precision::kFp32, 1e-4); }

TEST(CudaTrainingTest, ACnnWithBatchNormTrainsTheSameOnBothDevices) {
  expect_same_training(cnn(), {1, 12, 12}, Precision::kFp32, 1e-4);
}

TEST(CudaTrainingTest, MixedPrecisionTrainsCloseToTheCpu) {
  expect_same_training(mlp(), {20}, Precision::kBf16, 5e-2);
}

TEST(CudaTrainingTest, AStepAfterTheFirstAllocatesNothing) {
  std::string why;
  if (cuda_devices(&why).empty()) GTEST_SKIP() << "no GPU: " << why;
  TrainerConfig config;
  config.device = 0;
  Trainer t(mlp(), config);
  std::vector<float> x(32 * 20, 0.5f);
  std::vector<int32_t> y(32, 1);
  t.step({x.data(), DType::kF32, {32, 20}, {}}, {y.data(), DType::kI32, {32}, {}});
  const uint64_t allocations = t.backend().allocation_count();
  for (int i = 0; i < 5; ++i) t.step({x.data(), DType::kF32, {32, 20}, {}}, {y.data(), DType::kI32, {32}, {}});
  EXPECT_EQ(t.backend().allocation_count(), allocations);
}

}  // namespace
}  // namespace tk
