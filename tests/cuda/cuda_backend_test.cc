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
#include <tuple>
#include <vector>

#include "core/api/replicated_trainer.h"
#include "core/api/trainer.h"
#include "core/backend/device.h"
#include "core/base/rng.h"
#include "core/kernels/elementwise_kernels.h"
#include "core/kernels/reduce_kernels.h"
#include "core/ops/activation/activation_kernels.h"
#include "core/ops/conv/conv_kernels.h"
#include "core/ops/dropout/dropout_kernels.h"
#include "core/ops/linear/linear_kernels.h"
#include "core/ops/loss/loss_kernels.h"
#include "core/ops/norm/norm_kernels.h"
#include "core/ops/ops.h"
#include "core/ops/pool/pool_kernels.h"
#include "core/optim/optim_kernels.h"

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
  // `magnitudes` (optional) gives each element the size of the terms it was
  // summed from: a result that cancels is only as exact as its terms.
  void expect_close(const Run& r, size_t index, DType dt, int64_t n, double tolerance, const std::string& what,
                    const std::vector<double>& magnitudes = {}) {
    const std::vector<double> a = download(cpu_.get(), r.cpu[index], dt, n);
    const std::vector<double> b = download(gpu_.get(), r.gpu[index], dt, n);
    int reported = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double floor = magnitudes.empty() ? 1e-2 : magnitudes[i];
      const double scale = std::max({std::abs(a[i]), std::abs(b[i]), floor});
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
        const std::vector<double> a = random(m * k), b = random(k * n), c = random(m * n);
        Run r = both({{a, dt}, {b, dt}, {c, out}});
        cpu_->gemm(dt, dt, out, ta, tb, m, n, k, 0.75, r.cpu[0], r.cpu[1], 0.5, r.cpu[2]);
        gpu_->gemm(dt, dt, out, ta, tb, m, n, k, 0.75, r.gpu[0], r.gpu[1], 0.5, r.gpu[2]);
        // Each result's terms: 0.75 sum_k |a_ik b_kj| + 0.5 |c_ij| (a is m x k, or k x m when transposed).
        std::vector<double> magnitudes(m * n);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double terms = 0;
            for (int64_t p = 0; p < k; ++p)
              terms += std::abs(a[ta ? p * m + i : i * k + p] * b[tb ? j * k + p : p * n + j]);
            magnitudes[i * n + j] = 0.75 * terms + 0.5 * std::abs(c[i * n + j]);
          }
        expect_close(r, 2, out, m * n, tolerance(dt),
                     std::string("gemm ") + dtype_name(dt) + (ta ? " A^T" : "") + (tb ? " B^T" : ""), magnitudes);
      }
}

// A Linear's fused products (cuBLASLt epilogues on the GPU, a product then a
// pass on the CPU): the forward with its bias, the weight gradient with the
// bias gradient.
TEST_F(CudaBackendTest, FusedBiasProductsMatchTheCpu) {
  const int64_t rows = 96, in = 40, units = 24;
  for (DType dt : {DType::kF32, DType::kF16, DType::kBF16}) {
    const double tol = tolerance(dt);
    const std::vector<double> x = random(rows * in), w = random(units * in), bias = random(units);
    Run f = both({{x, dt}, {w, dt}, {random(rows * units), dt}, {bias, dt}});
    kernels::gemm_bias(*cpu_, dt, dt, dt, true, rows, units, in, 1.0, f.cpu[0], f.cpu[1], f.cpu[2], dt, f.cpu[3]);
    kernels::gemm_bias(*gpu_, dt, dt, dt, true, rows, units, in, 1.0, f.gpu[0], f.gpu[1], f.gpu[2], dt, f.gpu[3]);
    std::vector<double> magnitudes(rows * units);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t u = 0; u < units; ++u) {
        double terms = std::abs(bias[u]);
        for (int64_t p = 0; p < in; ++p) terms += std::abs(x[r * in + p] * w[u * in + p]);
        magnitudes[r * units + u] = terms;
      }
    expect_close(f, 2, dt, rows * units, tol, std::string("linear forward with bias, ") + dtype_name(dt), magnitudes);

    // With the ReLU in the epilogue too; a NaN in row 3 must reach the output,
    // as it does on the CPU (the loss check has to see it).
    std::vector<double> x_nan = x;
    x_nan[3 * in + 5] = std::nan("");
    Run h = both({{x_nan, dt}, {w, dt}, {random(rows * units), dt}, {bias, dt}});
    kernels::gemm_bias_relu(*cpu_, dt, dt, dt, rows, units, in, h.cpu[0], h.cpu[1], h.cpu[2], dt, h.cpu[3]);
    kernels::gemm_bias_relu(*gpu_, dt, dt, dt, rows, units, in, h.gpu[0], h.gpu[1], h.gpu[2], dt, h.gpu[3]);
    expect_close(h, 2, dt, rows * units, tol, std::string("linear forward with bias and ReLU, ") + dtype_name(dt),
                 magnitudes);

    const std::vector<double> dy = random(rows * units);
    Run g = both({{dy, dt}, {x, dt}, {random(units * in), DType::kF32}, {random(units), DType::kF32}});
    kernels::gemm_bias_grad(*cpu_, dt, dt, DType::kF32, units, in, rows, 1.0, g.cpu[0], g.cpu[1], g.cpu[2], DType::kF32, g.cpu[3]);
    kernels::gemm_bias_grad(*gpu_, dt, dt, DType::kF32, units, in, rows, 1.0, g.gpu[0], g.gpu[1], g.gpu[2], DType::kF32, g.gpu[3]);
    std::vector<double> weight_terms(units * in), bias_terms(units);
    for (int64_t u = 0; u < units; ++u) {
      for (int64_t i = 0; i < in; ++i)
        for (int64_t r = 0; r < rows; ++r) weight_terms[u * in + i] += std::abs(dy[r * units + u] * x[r * in + i]);
      for (int64_t r = 0; r < rows; ++r) bias_terms[u] += std::abs(dy[r * units + u]);
    }
    expect_close(g, 2, DType::kF32, units * in, tol, std::string("weight gradient, ") + dtype_name(dt), weight_terms);
    expect_close(g, 3, DType::kF32, units, tol, std::string("bias gradient, ") + dtype_name(dt), bias_terms);
  }
}

// cuDNN's convolutions against a direct sum in f64 on the host (strided,
// padded, dilated, grouped): the forward, the data gradient added into dx,
// and the weight gradient widened into f32.
TEST_F(CudaBackendTest, CudnnConvolutionsMatchADirectSum) {
  const int64_t n = 3, c = 4, h = 9, wd = 8, k = 6, groups = 2, kernel = 3, stride = 2, pad = 1, dilation = 2;
  const Window2d win{c, h, wd, kernel, kernel, stride, stride, pad, pad, dilation, dilation,
                     (h + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1,
                     (wd + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1};
  const Conv2dShape shape{n, k, groups, win};
  const int64_t cg = c / groups, kg = k / groups, oh = win.out_h, ow = win.out_w;
  const std::vector<double> x = random(n * c * h * wd), w = random(k * cg * kernel * kernel);
  const std::vector<double> dy = random(n * k * oh * ow), dx0 = random(n * c * h * wd);
  std::vector<double> y(n * k * oh * ow), y_terms(y.size()), dx(dx0), dx_terms(dx0.size()), dw(w.size()),
      dw_terms(w.size());
  for (double& v : dx_terms) v = 1e-2;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t o = 0; o < k; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j)
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t r = 0; r < kernel; ++r)
              for (int64_t q = 0; q < kernel; ++q) {
                const int64_t yy = i * stride - pad + r * dilation, xx = j * stride - pad + q * dilation;
                if (yy < 0 || yy >= h || xx < 0 || xx >= wd) continue;
                const int64_t channel = (o / kg) * cg + ci;
                const int64_t xi = ((b * c + channel) * h + yy) * wd + xx, wi = ((o * cg + ci) * kernel + r) * kernel + q;
                const int64_t yi = ((b * k + o) * oh + i) * ow + j;
                y[yi] += x[xi] * w[wi];
                y_terms[yi] += std::abs(x[xi] * w[wi]);
                dx[xi] += dy[yi] * w[wi];
                dx_terms[xi] += std::abs(dy[yi] * w[wi]);
                dw[wi] += dy[yi] * x[xi];
                dw_terms[wi] += std::abs(dy[yi] * x[xi]);
              }
  for (size_t i = 0; i < dx_terms.size(); ++i) dx_terms[i] += std::abs(dx0[i]);
  for (DType dt : {DType::kF32, DType::kBF16}) {
    const double tol = tolerance(dt);
    void* gx = upload(gpu_.get(), x, dt);
    void* gw = upload(gpu_.get(), w, dt);
    void* gy = upload(gpu_.get(), std::vector<double>(y.size()), dt);
    void* gdy = upload(gpu_.get(), dy, dt);
    void* gdx = upload(gpu_.get(), dx0, dt);
    void* gdw = upload(gpu_.get(), std::vector<double>(w.size()), DType::kF32);
    ASSERT_TRUE(kernels::conv2d_forward(*gpu_, dt, shape, gx, gw, gy)) << "cuDNN took no " << dtype_name(dt) << " convolution";
    ASSERT_TRUE(kernels::conv2d_backward(*gpu_, dt, DType::kF32, shape, gx, gw, gdy, gdw, gdx, true));
    auto expect = [&](const void* got, DType got_dt, const std::vector<double>& want,
                      const std::vector<double>& terms, const char* what) {
      const std::vector<double> g = download(gpu_.get(), got, got_dt, static_cast<int64_t>(want.size()));
      int reported = 0;
      for (size_t i = 0; i < want.size(); ++i)
        if (!(std::abs(g[i] - want[i]) <= tol * std::max(terms[i], 1e-2)) && reported++ < 5)
          ADD_FAILURE() << what << " " << dtype_name(dt) << " element " << i << ": direct " << want[i] << " cuDNN "
                        << g[i];
    };
    expect(gy, dt, y, y_terms, "forward");
    expect(gdx, dt, dx, dx_terms, "data gradient (added)");
    expect(gdw, DType::kF32, dw, dw_terms, "weight gradient");
  }
}

TEST_F(CudaBackendTest, ElementwiseOpsMatchTheCpu) {
  const int64_t n = 10007;
  for (DType dt : {DType::kF32, DType::kF16, DType::kBF16}) {
    const double tol = tolerance(dt);
    for (Activation act : kActivations) {
      Run r = both({{random(n, 3), dt}, {random(n), dt}, {random(n), dt}, {random(n), dt}});
      kernels::activation_forward(*cpu_, dt, act, n, r.cpu[0], r.cpu[1]);
      kernels::activation_forward(*gpu_, dt, act, n, r.gpu[0], r.gpu[1]);
      expect_close(r, 1, dt, n, tol, "activation forward");
      const std::vector<double> before = download(cpu_.get(), r.cpu[3], dt, n);
      kernels::activation_backward(*cpu_, dt, act, n, r.cpu[0], r.cpu[1], r.cpu[2], r.cpu[3], true);
      kernels::activation_backward(*gpu_, dt, act, n, r.gpu[0], r.gpu[1], r.gpu[2], r.gpu[3], true);
      // dx accumulates: dx + dy f'(x) may cancel, so compare against both terms' size.
      const std::vector<double> after = download(cpu_.get(), r.cpu[3], dt, n);
      std::vector<double> magnitudes(n);
      for (int64_t i = 0; i < n; ++i)
        magnitudes[i] = std::max(1e-2, std::abs(before[i]) + std::abs(after[i] - before[i]));
      expect_close(r, 3, dt, n, tol, "activation backward", magnitudes);
    }
    Run r = both({{random(n), dt}, {random(n), dt}, {random(n), dt}});
    kernels::add(*cpu_, dt, n, r.cpu[0], r.cpu[1], r.cpu[2]);
    kernels::add(*gpu_, dt, n, r.gpu[0], r.gpu[1], r.gpu[2]);
    expect_close(r, 2, dt, n, tol, "add");
    kernels::axpy(*cpu_, dt, n, -0.3, r.cpu[0], r.cpu[2], true);
    kernels::axpy(*gpu_, dt, n, -0.3, r.gpu[0], r.gpu[2], true);
    expect_close(r, 2, dt, n, tol, "axpy");
    for (int64_t block : {1, 49}) {
      kernels::dropout(*cpu_, dt, n, block, 0.3, 5, 9, r.cpu[0], r.cpu[1], false);
      kernels::dropout(*gpu_, dt, n, block, 0.3, 5, 9, r.gpu[0], r.gpu[1], false);
      expect_close(r, 1, dt, n, tol, "dropout (the same mask)");
    }
    Run bias = both({{random(n - 7), dt}, {random(7), DType::kF32}, {random(7), DType::kF32}});
    kernels::bias_add(*cpu_, dt, DType::kF32, 1428, 7, bias.cpu[1], bias.cpu[0]);
    kernels::bias_add(*gpu_, dt, DType::kF32, 1428, 7, bias.gpu[1], bias.gpu[0]);
    expect_close(bias, 0, dt, n - 7, tol, "bias_add");
    kernels::column_sum(*cpu_, dt, DType::kF32, 1428, 7, bias.cpu[0], bias.cpu[2], true);
    kernels::column_sum(*gpu_, dt, DType::kF32, 1428, 7, bias.gpu[0], bias.gpu[2], true);
    expect_close(bias, 2, DType::kF32, 7, 1e-4, "column_sum");
    // Bias gradients of large batches: many row chunks, and one short chunk.
    for (int64_t rows : {16384, 300}) {
      const int64_t cols = 45;
      const std::vector<double> values = random(rows * cols);
      Run sums = both({{values, dt}, {random(cols), DType::kF32}});
      kernels::column_sum(*cpu_, dt, DType::kF32, rows, cols, sums.cpu[0], sums.cpu[1], false);
      kernels::column_sum(*gpu_, dt, DType::kF32, rows, cols, sums.gpu[0], sums.gpu[1], false);
      std::vector<double> terms(cols);  // the sums of |x|: both devices sum the same values in other orders
      for (int64_t i = 0; i < rows * cols; ++i) terms[i % cols] += std::abs(values[i]);
      expect_close(sums, 1, DType::kF32, cols, 1e-5, "column_sum of " + std::to_string(rows) + " rows", terms);
    }
    Run conv = both({{random(n), DType::kF32}, {random(n), dt}});
    kernels::convert(*cpu_, DType::kF32, dt, n, conv.cpu[0], conv.cpu[1]);
    kernels::convert(*gpu_, DType::kF32, dt, n, conv.gpu[0], conv.gpu[1]);
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
    kernels::softmax_cross_entropy(*cpu_, dt, DType::kF32, rows, classes, r.cpu[0], cpu_labels, r.cpu[2], r.cpu[3], 0.01);
    kernels::softmax_cross_entropy(*gpu_, dt, DType::kF32, rows, classes, r.gpu[0], gpu_labels, r.gpu[2], r.gpu[3], 0.01);
    expect_close(r, 2, DType::kF32, rows, 1e-5, "cross-entropy loss");
    expect_close(r, 3, dt, rows * classes, tolerance(dt), "cross-entropy gradient");
    kernels::squared_error(*cpu_, dt, DType::kF32, rows, classes, r.cpu[0], r.cpu[4], r.cpu[2], r.cpu[3], 0.5);
    kernels::squared_error(*gpu_, dt, DType::kF32, rows, classes, r.gpu[0], r.gpu[4], r.gpu[2], r.gpu[3], 0.5);
    expect_close(r, 2, DType::kF32, rows, 1e-5, "squared error");
    expect_close(r, 3, dt, rows * classes, tolerance(dt), "squared error gradient");
    kernels::bce_with_logits(*cpu_, dt, DType::kF32, rows, classes, r.cpu[0], r.cpu[4], r.cpu[2], r.cpu[3], 0.5);
    kernels::bce_with_logits(*gpu_, dt, DType::kF32, rows, classes, r.gpu[0], r.gpu[4], r.gpu[2], r.gpu[3], 0.5);
    expect_close(r, 2, DType::kF32, rows, 1e-5, "bce loss");
    expect_close(r, 3, dt, rows * classes, tolerance(dt), "bce gradient");
    kernels::softmax(*cpu_, dt, rows, classes, r.cpu[0], r.cpu[3]);
    kernels::softmax(*gpu_, dt, rows, classes, r.gpu[0], r.gpu[3]);
    expect_close(r, 3, dt, rows * classes, tolerance(dt), "softmax");
    EXPECT_EQ(kernels::count_correct_argmax(*cpu_, dt, rows, classes, r.cpu[0], cpu_labels),
              kernels::count_correct_argmax(*gpu_, dt, rows, classes, r.gpu[0], gpu_labels));
    EXPECT_EQ(kernels::count_correct_binary(*cpu_, dt, DType::kF32, rows * classes, r.cpu[0], r.cpu[4]),
              kernels::count_correct_binary(*gpu_, dt, DType::kF32, rows * classes, r.gpu[0], r.gpu[4]));
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
    kernels::im2col(*cpu_, dt, w, r.cpu[0], r.cpu[1], spatial);
    kernels::im2col(*gpu_, dt, w, r.gpu[0], r.gpu[1], spatial);
    expect_close(r, 1, dt, columns, 0.0, "im2col");
    kernels::col2im(*cpu_, dt, w, r.cpu[1], spatial, r.cpu[2], true);
    kernels::col2im(*gpu_, dt, w, r.gpu[1], spatial, r.gpu[2], true);
    expect_close(r, 2, dt, image, tolerance(dt), "col2im");
    // Two images' columns side by side (row stride 2 * spatial), and a strided copy.
    Run wide = both({{random(2 * columns), dt}, {random(columns), dt}});
    kernels::im2col(*cpu_, dt, w, r.cpu[0], static_cast<char*>(wide.cpu[0]) + spatial * dtype_size(dt), 2 * spatial);
    kernels::im2col(*gpu_, dt, w, r.gpu[0], static_cast<char*>(wide.gpu[0]) + spatial * dtype_size(dt), 2 * spatial);
    expect_close(wide, 0, dt, 2 * columns, 0.0, "im2col with a row stride");
    kernels::copy_2d(*cpu_, dt, 3 * 9, spatial, wide.cpu[0], 2 * spatial, wide.cpu[1], spatial);
    kernels::copy_2d(*gpu_, dt, 3 * 9, spatial, wide.gpu[0], 2 * spatial, wide.gpu[1], spatial);
    expect_close(wide, 1, dt, columns, 0.0, "copy_2d");

    Window2d p{1, 9, 8, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0};
    p.out_h = (9 + 2 - 3) / 2 + 1;
    p.out_w = (8 + 2 - 3) / 2 + 1;
    const int64_t planes = 6, in = planes * 72, out = planes * p.out_h * p.out_w;
    for (Pool pool : {Pool::kMax, Pool::kAverage}) {
      Run q = both({{random(in), dt}, {random(out), dt}, {random(out), dt}, {random(in), dt}});
      kernels::pool2d_forward(*cpu_, dt, pool, planes, p, q.cpu[0], q.cpu[1]);
      kernels::pool2d_forward(*gpu_, dt, pool, planes, p, q.gpu[0], q.gpu[1]);
      expect_close(q, 1, dt, out, tolerance(dt), "pool forward");
      kernels::pool2d_backward(*cpu_, dt, pool, planes, p, q.cpu[0], q.cpu[2], q.cpu[3], true);
      kernels::pool2d_backward(*gpu_, dt, pool, planes, p, q.gpu[0], q.gpu[2], q.gpu[3], true);
      expect_close(q, 3, dt, in, tolerance(dt), "pool backward");
    }
    Run c = both({{random(4 * 5 * 30), dt}, {random(5), DType::kF32}, {random(5), DType::kF32}});
    kernels::channel_bias_add(*cpu_, dt, DType::kF32, 4, 5, 30, c.cpu[1], c.cpu[0]);
    kernels::channel_bias_add(*gpu_, dt, DType::kF32, 4, 5, 30, c.gpu[1], c.gpu[0]);
    expect_close(c, 0, dt, 600, tolerance(dt), "channel_bias_add");
    kernels::channel_sum(*cpu_, dt, DType::kF32, 4, 5, 30, c.cpu[0], c.cpu[2], false);
    kernels::channel_sum(*gpu_, dt, DType::kF32, 4, 5, 30, c.gpu[0], c.gpu[2], false);
    expect_close(c, 2, DType::kF32, 5, 1e-4, "channel_sum");
  }
}

TEST_F(CudaBackendTest, NormalizationMatchesTheCpu) {
  // The second shape spreads each channel over several chunks (the last one
  // short), with planes wider than a block.
  for (auto [batch, channels, spatial] : {std::tuple<int64_t, int64_t, int64_t>{6, 4, 50}, {40, 3, 300}})
  for (DType dt : {DType::kF32, DType::kBF16}) {
    const int64_t n = batch * channels * spatial;
    const double tol = tolerance(dt);
    Run r = both({{random(n, 2), dt}, {random(n), dt}, {random(n), dt}, {random(channels), DType::kF32},
                  {random(channels), DType::kF32}, {random(channels), DType::kF32}, {random(channels), DType::kF32},
                  {random(channels), DType::kF32}, {random(channels), DType::kF32}, {random(channels), DType::kF32}});
    kernels::batch_norm_statistics(*cpu_, dt, DType::kF32, batch, channels, spatial, r.cpu[0], r.cpu[3], r.cpu[4]);
    kernels::batch_norm_statistics(*gpu_, dt, DType::kF32, batch, channels, spatial, r.gpu[0], r.gpu[3], r.gpu[4]);
    expect_close(r, 3, DType::kF32, channels, 1e-5, "batch mean");
    expect_close(r, 4, DType::kF32, channels, 1e-5, "batch variance");
    kernels::batch_norm_apply(*cpu_, dt, DType::kF32, batch, channels, spatial, 1e-5, r.cpu[0], r.cpu[3], r.cpu[4], r.cpu[5],
                           r.cpu[6], r.cpu[1]);
    kernels::batch_norm_apply(*gpu_, dt, DType::kF32, batch, channels, spatial, 1e-5, r.gpu[0], r.gpu[3], r.gpu[4], r.gpu[5],
                           r.gpu[6], r.gpu[1]);
    expect_close(r, 1, dt, n, tol, "batch norm");
    kernels::batch_norm_backward(*cpu_, dt, DType::kF32, batch, channels, spatial, 1e-5, true, r.cpu[0], r.cpu[1], r.cpu[3],
                              r.cpu[4], r.cpu[5], r.cpu[2], true, r.cpu[7], r.cpu[8]);
    kernels::batch_norm_backward(*gpu_, dt, DType::kF32, batch, channels, spatial, 1e-5, true, r.gpu[0], r.gpu[1], r.gpu[3],
                              r.gpu[4], r.gpu[5], r.gpu[2], true, r.gpu[7], r.gpu[8]);
    expect_close(r, 2, dt, n, tol, "batch norm dx");
    expect_close(r, 7, DType::kF32, channels, 1e-4, "batch norm dgamma");
    expect_close(r, 8, DType::kF32, channels, 1e-4, "batch norm dbeta");
    // With a fused ReLU (on the GPU: the Backend's default two passes).
    Run f = both({{std::vector<double>(n, 0.0), dt}, {random(n), dt}, {std::vector<double>(n, 0.0), dt},
                  {std::vector<double>(n, 0.0), dt}, {random(channels), DType::kF32}, {random(channels), DType::kF32}});
    kernels::batch_norm_apply_relu(*cpu_, dt, DType::kF32, batch, channels, spatial, 1e-5, r.cpu[0], r.cpu[3], r.cpu[4],
                                r.cpu[5], r.cpu[6], f.cpu[0]);
    kernels::batch_norm_apply_relu(*gpu_, dt, DType::kF32, batch, channels, spatial, 1e-5, r.gpu[0], r.gpu[3], r.gpu[4],
                                r.gpu[5], r.gpu[6], f.gpu[0]);
    expect_close(f, 0, dt, n, tol, "batch norm + ReLU");
    kernels::batch_norm_relu_backward(*cpu_, dt, DType::kF32, batch, channels, spatial, 1e-5, true, r.cpu[0], f.cpu[0],
                                   f.cpu[1], f.cpu[3], r.cpu[3], r.cpu[4], r.cpu[5], f.cpu[2], false, f.cpu[4],
                                   f.cpu[5]);
    kernels::batch_norm_relu_backward(*gpu_, dt, DType::kF32, batch, channels, spatial, 1e-5, true, r.gpu[0], f.gpu[0],
                                   f.gpu[1], f.gpu[3], r.gpu[3], r.gpu[4], r.gpu[5], f.gpu[2], false, f.gpu[4],
                                   f.gpu[5]);
    expect_close(f, 2, dt, n, tol, "batch norm + ReLU dx");
    expect_close(f, 4, DType::kF32, channels, 1e-4, "batch norm + ReLU dgamma");
    expect_close(f, 5, DType::kF32, channels, 1e-4, "batch norm + ReLU dbeta");
    kernels::moving_average(*cpu_, DType::kF32, channels, 0.1, r.cpu[5], r.cpu[3], 1.5, r.cpu[9]);
    kernels::moving_average(*gpu_, DType::kF32, channels, 0.1, r.gpu[5], r.gpu[3], 1.5, r.gpu[9]);
    expect_close(r, 9, DType::kF32, channels, 1e-6, "moving average");
    if (spatial != 50) continue;  // layer norm once per dtype

    const int64_t rows = 60, cols = 20;  // layer norm over the same n values
    Run l = both({{random(rows * cols, 2), dt}, {random(rows * cols), dt}, {random(rows * cols), dt},
                  {random(cols), DType::kF32}, {random(cols), DType::kF32}, {random(cols), DType::kF32},
                  {random(cols), DType::kF32}});
    kernels::layer_norm_forward(*cpu_, dt, DType::kF32, rows, cols, 1e-5, l.cpu[0], l.cpu[3], l.cpu[4], l.cpu[1]);
    kernels::layer_norm_forward(*gpu_, dt, DType::kF32, rows, cols, 1e-5, l.gpu[0], l.gpu[3], l.gpu[4], l.gpu[1]);
    expect_close(l, 1, dt, rows * cols, tol, "layer norm");
    kernels::layer_norm_backward(*cpu_, dt, DType::kF32, rows, cols, 1e-5, l.cpu[0], l.cpu[1], l.cpu[3], l.cpu[2], false,
                              l.cpu[5], l.cpu[6]);
    kernels::layer_norm_backward(*gpu_, dt, DType::kF32, rows, cols, 1e-5, l.gpu[0], l.gpu[1], l.gpu[3], l.gpu[2], false,
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
  EXPECT_NEAR(kernels::sum(*cpu_, DType::kF32, n, r.cpu[0]), kernels::sum(*gpu_, DType::kF32, n, r.gpu[0]), 1e-6 * n);
  EXPECT_NEAR(kernels::sum_squares(*cpu_, DType::kF32, n, r.cpu[0]), kernels::sum_squares(*gpu_, DType::kF32, n, r.gpu[0]), 1e-6 * n);
  EXPECT_TRUE(kernels::all_finite(*gpu_, DType::kF32, n, r.gpu[0]));
  // Same n, same result: the GPU reduction order does not depend on timing.
  EXPECT_EQ(kernels::sum(*gpu_, DType::kF32, n, r.gpu[0]), kernels::sum(*gpu_, DType::kF32, n, r.gpu[0]));
  const UpdateStep second{0.5, 0.1, 2, nullptr};
  kernels::sgd_update(*cpu_, DType::kF32, n, r.cpu[0], r.cpu[1], r.cpu[2], second, 0.9, 1e-4, true, {});
  kernels::sgd_update(*gpu_, DType::kF32, n, r.gpu[0], r.gpu[1], r.gpu[2], second, 0.9, 1e-4, true, {});
  expect_close(r, 0, DType::kF32, n, 1e-5, "sgd params");
  expect_close(r, 2, DType::kF32, n, 1e-5, "sgd momentum");
  Run v = both({{random(n, 0.01), DType::kF32}});
  const std::vector<double> squares = download(cpu_.get(), v.cpu[0], DType::kF32, n);
  for (bool decoupled : {false, true}) {
    const UpdateStep seventh{0.5, 1e-3, 7, nullptr};
    kernels::adam_update(*cpu_, DType::kF32, n, r.cpu[0], r.cpu[1], r.cpu[3], v.cpu[0], seventh, 0.9, 0.999, 1e-8, 0.01,
                      decoupled, {});
    kernels::adam_update(*gpu_, DType::kF32, n, r.gpu[0], r.gpu[1], r.gpu[3], v.gpu[0], seventh, 0.9, 0.999, 1e-8, 0.01,
                      decoupled, {});
    expect_close(r, 0, DType::kF32, n, 1e-5, "adam params");
    expect_close(r, 3, DType::kF32, n, 1e-5, "adam m");
  }
  (void)squares;
  // The half copy an update writes is the updated weights rounded, bit for bit.
  for (DType half_dt : {DType::kF16, DType::kBF16}) {
    void* fused = gpu_->allocate(n * 2);
    void* rounded = gpu_->allocate(n * 2);
    kernels::adam_update(*gpu_, DType::kF32, n, r.gpu[0], r.gpu[1], r.gpu[3], v.gpu[0], UpdateStep{0.5, 1e-3, 8, nullptr}, 0.9,
                      0.999, 1e-8, 0.01, true, HalfCopy{fused, half_dt});
    kernels::convert(*gpu_, DType::kF32, half_dt, n, r.gpu[0], rounded);
    std::vector<uint16_t> a(n), b(n);
    gpu_->copy_to_host(a.data(), fused, n * 2);
    gpu_->copy_to_host(b.data(), rounded, n * 2);
    EXPECT_EQ(a, b) << dtype_name(half_dt);
    gpu_->deallocate(fused, n * 2);
    gpu_->deallocate(rounded, n * 2);
  }
  std::vector<double> bad = random(1000);
  bad[617] = std::nan("");
  Run b = both({{bad, DType::kF32}});
  EXPECT_FALSE(kernels::all_finite(*gpu_, DType::kF32, 1000, b.gpu[0]));
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

// The largest difference between two trainers' f32 weights.
double largest_weight_difference(Trainer& a, Trainer& b) {
  const int64_t count = a.plan().flat_param_count();
  std::vector<float> wa(count), wb(count);
  a.backend().copy_to_host(wa.data(), a.flat_params().data(), count * sizeof(float));
  b.backend().copy_to_host(wb.data(), b.flat_params().data(), count * sizeof(float));
  double worst = 0;
  for (int64_t i = 0; i < count; ++i) worst = std::max(worst, std::abs(double(wa[i]) - double(wb[i])));
  return worst;
}

// Adam at `rate`, seed 3, on `device` (kDeviceCpu or a CUDA index).
TrainerConfig adam_config(Precision precision, double rate, int device) {
  TrainerConfig config;
  config.optimizer.kind = OptimizerKind::kAdam;
  config.optimizer.learning_rate = rate;
  config.seed = 3;
  config.precision = precision;
  config.device = device;
  return config;
}

// The same training on both devices: f32 weights agree after 20 steps.
void expect_same_training(const Graph& graph, const Shape& sample, Precision precision, double tolerance) {
  std::string why;
  if (cuda_devices(&why).empty()) GTEST_SKIP() << "no GPU: " << why;
  Trainer cpu(graph, adam_config(precision, 1e-3, kDeviceCpu)), gpu(graph, adam_config(precision, 1e-3, 0));
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
    const StepResult a = cpu.step(HostView{x.data(), DType::kF32, shape, {}}, {y.data(), DType::kI32, {batch}, {}});
    const StepResult b = gpu.step(HostView{x.data(), DType::kF32, shape, {}}, {y.data(), DType::kI32, {batch}, {}});
    EXPECT_NEAR(a.loss, b.loss, tolerance * std::max(1.0, std::abs(a.loss))) << "step " << step;
    if (step == 0) first = b.loss;
    last = b.loss;
  }
  (void)first;
  (void)last;
  EXPECT_LT(largest_weight_difference(cpu, gpu), tolerance) << "largest weight difference after 20 steps";
}

// The sequence ops on both devices: token ids and a keep mask in, an
// embedding, learned positions, masked multi-head attention, tanh GELU,
// softmax, matmul, concat and slice, masked mean and CLS pooling, L2
// normalization, class logits out. `per_token`: a causal GPT block with the
// output projection tied to the embedding and a next-token loss (one target
// in four left out) instead. f32 weights agree after 20 Adam steps.
void expect_same_sequence_training(bool per_token, Precision precision, double tolerance) {
  std::string why;
  if (cuda_devices(&why).empty()) GTEST_SKIP() << "no GPU: " << why;
  constexpr int64_t kVocab = 11, kSeq = 7, kDim = 16, kBatch = 8;
  Graph g;
  const int ids = g.add_input("ids", {kSeq}, true);
  const int mask = per_token ? -1 : g.add_input("mask", {kSeq});
  const int tokens = g.add(make_embedding(kVocab, kDim, 0), {ids}, "tokens");
  int x = g.add(make_learned_positions(kSeq), {tokens});
  int h = g.add(make_layer_norm(1, 1e-5), {x});
  const int q = g.add(make_linear(kDim, true, Init::kXavierUniform), {h});
  const int k = g.add(make_linear(kDim, true, Init::kXavierUniform), {h});
  const int v = g.add(make_linear(kDim, true, Init::kXavierUniform), {h});
  h = per_token ? g.add(make_attention(4, true, 0, false), {q, k, v})
                : g.add(make_attention(4, false, 0, true, true), {q, k, v, mask});
  x = g.add(make_add(), {x, g.add(make_activation(Activation::kGeluTanh), {h})});
  // A softmax-weighted mix of the tokens: x^T-free, per sample [seq, seq] x [seq, dim].
  const int weights = g.add(make_softmax(false), {g.add(make_matmul(true), {x, x})});
  x = g.add(make_add(), {x, g.add(make_matmul(false), {weights, x})});
  int out;
  if (per_token) {
    x = g.add(make_layer_norm(1, 1e-5), {x});
    out = g.add(make_linear(kVocab, false, Init::kXavierUniform), {x}, "head");
    g.share_param(out, "weight", tokens, "weight");
  } else {
    const int both = g.add(make_concat(-1), {g.add(make_mean_pool(true), {x, mask}), g.add(make_cls_pool(), {x})});
    const int first_half = g.add(make_slice(-1, 0, kDim), {both});
    out = g.add(make_linear(3, true, Init::kXavierUniform), {g.add(make_l2_normalize(1e-12), {first_half})});
  }
  g.set_output(out, "logits");
  Trainer cpu(g, adam_config(precision, 1e-2, kDeviceCpu)), gpu(g, adam_config(precision, 1e-2, 0));
  Rng rng(9);
  std::vector<int32_t> token_ids(kBatch * kSeq), labels(per_token ? kBatch * kSeq : kBatch);
  std::vector<float> keep(kBatch * kSeq);
  for (int step = 0; step < 20; ++step) {
    for (int64_t b = 0; b < kBatch; ++b) {
      const int64_t length = 2 + static_cast<int64_t>(rng.next_u64() % (kSeq - 1));
      for (int64_t s = 0; s < kSeq; ++s) {
        token_ids[b * kSeq + s] = s < length ? 1 + static_cast<int32_t>(rng.next_u64() % (kVocab - 1)) : 0;
        keep[b * kSeq + s] = s < length ? 1.0f : 0.0f;
      }
    }
    for (size_t i = 0; i < labels.size(); ++i)
      labels[i] = per_token ? (i % 4 == 0 ? kIgnoreIndex : token_ids[(i + 1) % token_ids.size()])
                            : static_cast<int32_t>(rng.next_u64() % 3);
    std::vector<HostView> views = {HostView{token_ids.data(), DType::kI32, {kBatch, kSeq}, {}}};
    if (!per_token) views.push_back(HostView{keep.data(), DType::kF32, {kBatch, kSeq}, {}});
    const InputViews inputs(views);
    const HostView targets = per_token ? HostView{labels.data(), DType::kI32, {kBatch, kSeq}, {}}
                                       : HostView{labels.data(), DType::kI32, {kBatch}, {}};
    const StepResult a = cpu.step(inputs, targets);
    const StepResult b = gpu.step(inputs, targets);
    EXPECT_NEAR(a.loss, b.loss, tolerance * std::max(1.0, std::abs(a.loss))) << "step " << step;
  }
  EXPECT_LT(largest_weight_difference(cpu, gpu), tolerance) << "largest weight difference after 20 steps";
}

TEST(CudaTrainingTest, SequenceOpsTrainTheSameOnBothDevices) {
  expect_same_sequence_training(false, Precision::kFp32, 1e-4);
}

TEST(CudaTrainingTest, ATiedCausalLanguageModelTrainsTheSameOnBothDevices) {
  expect_same_sequence_training(true, Precision::kFp32, 1e-4);
}

TEST(CudaTrainingTest, SequenceOpsInBf16TrainCloseToTheCpu) {
  expect_same_sequence_training(false, Precision::kBf16, 3e-2);
  expect_same_sequence_training(true, Precision::kBf16, 3e-2);
}

TEST(CudaTrainingTest, AnMlpTrainsTheSameOnBothDevices) { expect_same_training(mlp(), {20}, Precision::kFp32, 1e-4); }

TEST(CudaTrainingTest, ACnnWithBatchNormTrainsTheSameOnBothDevices) {
  expect_same_training(cnn(), {1, 12, 12}, Precision::kFp32, 1e-4);
}

Graph strided_cnn() {
  Graph g;
  int h = g.add_input("x", {4, 11, 11});
  h = g.add(make_conv2d(8, 3, 2, 1, 2, 2, true, Init::kHeUniform), {h});
  h = g.add(make_activation(Activation::kRelu), {h});
  h = g.add(make_conv2d(6, 1, 1, 0, 1, 1, true, Init::kHeUniform), {h});
  h = g.add(make_flatten(), {h});
  h = g.add(make_linear(5, true, Init::kHeUniform), {h});
  g.set_output(h, "logits");
  return g;
}

TEST(CudaTrainingTest, AStridedGroupedCnnTrainsTheSameOnBothDevices) {
  expect_same_training(strided_cnn(), {4, 11, 11}, Precision::kFp32, 1e-4);
}

TEST(CudaTrainingTest, ACnnInBf16TrainsCloseToTheCpu) {
  expect_same_training(cnn(), {1, 12, 12}, Precision::kBf16, 5e-2);
}

TEST(CudaTrainingTest, MixedPrecisionTrainsCloseToTheCpu) {
  expect_same_training(mlp(), {20}, Precision::kBf16, 5e-2);
}

TEST(CudaTrainingTest, Fp16WithLossScalingTrainsCloseToTheCpu) {
  expect_same_training(mlp(), {20}, Precision::kFp16, 5e-2);
}

// A batch from page-locked memory (tk_host_alloc) goes straight to the device;
// a large pageable one through staging filled by several threads. Both land
// exactly.
TEST_F(CudaBackendTest, BatchesLoadFromPageLockedAndLargePageableMemory) {
  const int64_t n = int64_t{6} << 20;  // 24 MB of f32: the threaded copy
  HostMemory locked = host_alloc(n * sizeof(float));
  EXPECT_TRUE(locked.page_locked);
  std::vector<float> pageable(n);
  float* pinned = static_cast<float*>(locked.ptr);
  for (int64_t i = 0; i < n; ++i) pageable[i] = pinned[i] = static_cast<float>(i % 256);
  for (float* source : {pinned, pageable.data()}) {
    for (DType target : {DType::kF32, DType::kBF16}) {
      void* device = gpu_->allocate(n * dtype_size(target));
      gpu_->load_host({source, DType::kF32, {n}, {}}, target, device);
      std::vector<float> back(n);
      gpu_->store_host(target, device, {back.data(), DType::kF32, {n}, {}});
      gpu_->deallocate(device, 0);
      int64_t wrong = 0;
      for (int64_t i = 0; i < n; ++i) wrong += back[i] != pageable[i];  // integers below 256 are exact in bf16
      EXPECT_EQ(wrong, 0) << (source == pinned ? "page-locked" : "pageable") << " to " << dtype_name(target);
    }
  }
  host_free(locked);
}

// Two replicas on two GPUs through NCCL train as one GPU on the whole batch.
TEST(CudaTrainingTest, TwoGpuReplicasTrainAsOneGpu) {
  if (cuda_devices().size() < 2) GTEST_SKIP() << "two GPU replicas need two GPUs";
  TrainerConfig config;
  config.device = 0;
  config.optimizer.kind = OptimizerKind::kAdam;
  config.optimizer.learning_rate = 1e-3;
  config.seed = 5;
  Graph g;  // no dropout: replicas draw their own masks
  int h = g.add_input("x", {20});
  h = g.add(make_linear(64, true, Init::kHeUniform), {h});
  h = g.add(make_activation(Activation::kGelu), {h});
  h = g.add(make_linear(5, true, Init::kHeUniform), {h});
  g.set_output(h, "logits");
  ReplicatedTrainer one(g, config, 1), two(g, config, 2);
  EXPECT_EQ(std::string(two.primary().backend().name()).rfind("cuda:0", 0), 0u);
  const int64_t batch = 32;
  Rng rng(11);
  std::vector<float> x(batch * 20);
  std::vector<int32_t> y(batch);
  for (int step = 0; step < 10; ++step) {
    for (float& v : x) v = static_cast<float>(rng.normal());
    for (int32_t& v : y) v = static_cast<int32_t>(rng.next_u64() % 5);
    const HostView in{x.data(), DType::kF32, {batch, 20}, {}}, labels{y.data(), DType::kI32, {batch}, {}};
    const StepResult a = one.step(in, labels), b = two.step(in, labels);
    EXPECT_NEAR(a.loss, b.loss, 1e-5 * std::max(1.0, std::abs(a.loss))) << "step " << step;
  }
  EXPECT_LT(largest_weight_difference(one.primary(), two.primary()), 1e-5);
}

TEST(CudaTrainingTest, AStepAfterTheFirstAllocatesNothing) {
  std::string why;
  if (cuda_devices(&why).empty()) GTEST_SKIP() << "no GPU: " << why;
  TrainerConfig config;
  config.device = 0;
  Trainer t(mlp(), config);
  std::vector<float> x(32 * 20, 0.5f);
  std::vector<int32_t> y(32, 1);
  t.step(HostView{x.data(), DType::kF32, {32, 20}, {}}, {y.data(), DType::kI32, {32}, {}});
  const uint64_t allocations = t.backend().allocation_count();
  for (int i = 0; i < 5; ++i) t.step(HostView{x.data(), DType::kF32, {32, 20}, {}}, {y.data(), DType::kI32, {32}, {}});
  EXPECT_EQ(t.backend().allocation_count(), allocations);
}

// A CNN with batch norm and no dropout: every step can be decided on the
// device and recorded.
Graph recordable_cnn() {
  Graph g;
  int h = g.add_input("x", {1, 12, 12});
  h = g.add(make_conv2d(8, 3, 1, 1, 1, 1, true, Init::kHeUniform), {h});
  h = g.add(make_batch_norm(1e-5, 0.1), {h});
  h = g.add(make_activation(Activation::kRelu), {h});
  h = g.add(make_max_pool2d(2, 2, 0), {h});
  h = g.add(make_flatten(), {h});
  h = g.add(make_layer_norm(1, 1e-5), {h});
  h = g.add(make_linear(5, true, Init::kHeUniform), {h});
  g.set_output(h, "logits");
  return g;
}

std::vector<float> all_weights(Trainer& t) {
  TrainerSnapshot s = t.snapshot();
  std::vector<float> all;
  auto add = [&](const std::vector<std::vector<uint8_t>>& tensors) {
    for (const auto& bytes : tensors) {
      const float* f = reinterpret_cast<const float*>(bytes.data());
      all.insert(all.end(), f, f + bytes.size() / sizeof(float));
    }
  };
  add(s.params);
  add(s.state);
  for (auto& [name, tensors] : s.optimizer_state) add(tensors);
  return all;
}

// fp16 with loss scaling (the first steps overflow and back off, one batch
// overflows later), AdamW, clipping and a cosine schedule: the steps a CUDA
// graph replays give the same bits as the same steps launched kernel by
// kernel, queued or waited for; and stay close to steps decided on the host.
TEST(CudaGraphTest, ReplayedStepsEqualLaunchedStepsBitForBit) {
  std::string why;
  if (cuda_devices(&why).empty()) GTEST_SKIP() << "no GPU: " << why;
  TrainerConfig config;
  config.device = 0;
  config.optimizer.kind = OptimizerKind::kAdamW;
  config.optimizer.learning_rate = 1e-2;
  config.precision = Precision::kFp16;
  config.scaler.init_scale = 1 << 24;
  config.scaler.growth_interval = 3;
  config.clip_norm = 1.0;
  config.schedule.kind = ScheduleKind::kCosine;
  config.schedule.warmup_steps = 3;
  config.schedule.total_steps = 30;
  config.seed = 11;
  TrainerConfig launched = config, host = config;
  launched.record_steps = false;
  host.step_decision = StepDecision::kHost;
  Trainer graph_t(recordable_cnn(), config), queued_t(recordable_cnn(), config), launched_t(recordable_cnn(), launched),
      host_t(recordable_cnn(), host);
  ASSERT_TRUE(graph_t.decides_on_device());
  ASSERT_FALSE(host_t.decides_on_device());
  const int64_t batch = 32;
  Rng rng(21);
  std::vector<float> x(batch * 144);
  std::vector<int32_t> y(batch);
  for (int step = 0; step < 25; ++step) {
    for (float& v : x) v = static_cast<float>(rng.normal()) * (step == 15 ? 3e4f : 1.0f);
    for (int32_t& v : y) v = static_cast<int32_t>(rng.next_u64() % 5);
    const HostView in{x.data(), DType::kF32, {batch, 1, 12, 12}, {}}, target{y.data(), DType::kI32, {batch}, {}};
    const StepResult g = graph_t.step(in, target);
    const StepResult l = launched_t.step(in, target);
    const StepResult h = host_t.step(in, target);
    queued_t.step_async(in, target);
    SCOPED_TRACE(step);
    EXPECT_EQ(g.applied, l.applied);
    EXPECT_EQ(g.applied, h.applied);
    EXPECT_EQ(g.loss_scale, h.loss_scale);
    EXPECT_EQ(g.loss, l.loss);
    EXPECT_NEAR(g.loss, h.loss, 1e-4 * std::max(1.0, std::abs(h.loss)));
  }
  queued_t.wait();
  EXPECT_GT(graph_t.replayed_steps(), 20) << "the steps were not replayed from a CUDA graph";
  EXPECT_EQ(launched_t.replayed_steps(), 0);
  EXPECT_GT(graph_t.skipped_steps(), 1);
  EXPECT_EQ(graph_t.skipped_steps(), host_t.skipped_steps());
  EXPECT_EQ(graph_t.optimizer_steps(), host_t.optimizer_steps());
  EXPECT_EQ(graph_t.loss_scaler().scale(), host_t.loss_scaler().scale());
  const std::vector<float> g = all_weights(graph_t), l = all_weights(launched_t), q = all_weights(queued_t),
                           h = all_weights(host_t);
  EXPECT_EQ(g, l) << "replayed and launched steps differ";
  EXPECT_EQ(g, q) << "queued and waited steps differ";
  double worst = 0;
  for (size_t i = 0; i < g.size(); ++i) worst = std::max(worst, std::abs(double(g[i]) - double(h[i])));
  EXPECT_LT(worst, 1e-4) << "device- and host-decided steps drifted apart";
}

// A new batch size runs directly, then gets its own recording; a bigger
// evaluation batch that grows the arena retires the recording.
TEST(CudaGraphTest, RecordingsFollowTheBatchSizeAndTheArena) {
  std::string why;
  if (cuda_devices(&why).empty()) GTEST_SKIP() << "no GPU: " << why;
  TrainerConfig config;
  config.device = 0;
  config.optimizer.kind = OptimizerKind::kAdam;
  TrainerConfig launched = config;
  launched.record_steps = false;
  Trainer graph_t(recordable_cnn(), config), launched_t(recordable_cnn(), launched);
  Rng rng(5);
  auto run = [&](int64_t batch) {
    std::vector<float> x(batch * 144);
    std::vector<int32_t> y(batch);
    for (float& v : x) v = static_cast<float>(rng.normal());
    for (int32_t& v : y) v = static_cast<int32_t>(rng.next_u64() % 5);
    const HostView in{x.data(), DType::kF32, {batch, 1, 12, 12}, {}}, target{y.data(), DType::kI32, {batch}, {}};
    EXPECT_EQ(graph_t.step(in, target).loss, launched_t.step(in, target).loss) << "batch " << batch;
  };
  for (int64_t batch : {16, 16, 16, 7, 16, 16, 7, 7, 7}) run(batch);
  std::vector<float> big(256 * 144, 0.1f);
  std::vector<int32_t> labels(256, 1);
  graph_t.evaluate(HostView{big.data(), DType::kF32, {256, 1, 12, 12}, {}}, {labels.data(), DType::kI32, {256}, {}});
  for (int64_t batch : {16, 16, 16}) run(batch);
  EXPECT_GT(graph_t.replayed_steps(), 3);
  EXPECT_EQ(all_weights(graph_t), all_weights(launched_t));
}

}  // namespace
}  // namespace tk
