// The CPU's whole convolutions (oneDNN) against a direct convolution in
// double, forward and backward, over strides, padding, dilation, groups, odd
// sizes and an accumulated input gradient, in f32 and bf16 storage; f64 and
// f16 are declined (the op lowers them to matrix products, whose gradients
// gradient_check_test checks in f64).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/backend/cpu/cpu_backend.h"
#include "core/base/half.h"
#include "core/base/rng.h"
#include "core/ops/conv/conv_kernels.h"

namespace tk {
namespace {

struct Case {
  int64_t batch, channels, height, width, out_channels, kernel, stride, pad, dilation, groups;
};

Conv2dShape shape_of(const Case& c) {
  Window2d w{c.channels, c.height, c.width, c.kernel, c.kernel, c.stride, c.stride, c.pad, c.pad,
             c.dilation, c.dilation, 0, 0};
  const int64_t reach = c.dilation * (c.kernel - 1) + 1;
  w.out_h = (c.height + 2 * c.pad - reach) / c.stride + 1;
  w.out_w = (c.width + 2 * c.pad - reach) / c.stride + 1;
  return {c.batch, c.out_channels, c.groups, w};
}

std::vector<float> random(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(2 * rng.uniform() - 1);
  return v;
}

// Calls tap(n, o, oy, ox, c, ky, kx, x_index) for every product of the
// convolution y[n, o, oy, ox] += w[o, c_in_group, ky, kx] * x[n, c, iy, ix].
template <typename Tap>
void for_each_tap(const Conv2dShape& s, const Tap& tap) {
  const Window2d& w = s.window;
  const int64_t in_per_group = w.channels / s.groups, out_per_group = s.out_channels / s.groups;
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t o = 0; o < s.out_channels; ++o)
      for (int64_t oy = 0; oy < w.out_h; ++oy)
        for (int64_t ox = 0; ox < w.out_w; ++ox)
          for (int64_t ci = 0; ci < in_per_group; ++ci)
            for (int64_t ky = 0; ky < w.kernel_h; ++ky)
              for (int64_t kx = 0; kx < w.kernel_w; ++kx) {
                const int64_t iy = oy * w.stride_h - w.pad_h + ky * w.dilation_h;
                const int64_t ix = ox * w.stride_w - w.pad_w + kx * w.dilation_w;
                if (iy < 0 || iy >= w.height || ix < 0 || ix >= w.width) continue;
                const int64_t c = o / out_per_group * in_per_group + ci;
                const int64_t y_index = ((n * s.out_channels + o) * w.out_h + oy) * w.out_w + ox;
                const int64_t w_index = ((o * in_per_group + ci) * w.kernel_h + ky) * w.kernel_w + kx;
                const int64_t x_index = ((n * w.channels + c) * w.height + iy) * w.width + ix;
                tap(y_index, w_index, x_index);
              }
}

void expect_close(const std::vector<float>& got, const std::vector<double>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  double scale = 1e-3;
  for (double v : want) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 2e-5 * scale) << what << " element " << i;
}

class CpuConvTest : public ::testing::TestWithParam<Case> {};

TEST_P(CpuConvTest, MatchesADirectConvolution) {
  cpu::CpuBackend backend(2);
  const Conv2dShape s = shape_of(GetParam());
  const Window2d& w = s.window;
  const size_t x_n = s.batch * w.channels * w.height * w.width;
  const size_t w_n = s.out_channels * (w.channels / s.groups) * w.kernel_h * w.kernel_w;
  const size_t y_n = s.batch * s.out_channels * w.out_h * w.out_w;
  const std::vector<float> x = random(x_n, 1), weight = random(w_n, 2), dy = random(y_n, 3), dx_before = random(x_n, 4);
  std::vector<double> y_ref(y_n), dw_ref(w_n), dx_ref(x_n);
  for_each_tap(s, [&](int64_t yi, int64_t wi, int64_t xi) {
    y_ref[yi] += double{weight[wi]} * x[xi];
    dw_ref[wi] += double{dy[yi]} * x[xi];
    dx_ref[xi] += double{dy[yi]} * weight[wi];
  });

  ASSERT_TRUE(kernels::conv2d_forward.offered(backend));
  std::vector<float> y(y_n, 7.0f);
  ASSERT_TRUE(kernels::conv2d_forward(backend, DType::kF32, s, x.data(), weight.data(), y.data()));
  expect_close(y, y_ref, "y");

  for (const bool accumulate : {false, true}) {
    std::vector<float> dw(w_n, 7.0f), dx = dx_before;
    ASSERT_TRUE(kernels::conv2d_backward(backend, DType::kF32, DType::kF32, s, x.data(), weight.data(), dy.data(),
                                         dw.data(), dx.data(), accumulate));
    expect_close(dw, dw_ref, "dweight");
    std::vector<double> want = dx_ref;
    if (accumulate)
      for (size_t i = 0; i < x_n; ++i) want[i] += dx_before[i];
    expect_close(dx, want, accumulate ? "dx accumulated" : "dx");
  }
  // No input gradient asked for (a first layer): the weights' still comes.
  std::vector<float> dw(w_n, 7.0f);
  ASSERT_TRUE(kernels::conv2d_backward(backend, DType::kF32, DType::kF32, s, x.data(), weight.data(), dy.data(),
                                       dw.data(), nullptr, false));
  expect_close(dw, dw_ref, "dweight without dx");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CpuConvTest,
    ::testing::Values(Case{2, 1, 28, 28, 32, 3, 1, 1, 1, 1},   // the CNN's conv1
                      Case{3, 32, 14, 14, 64, 3, 1, 1, 1, 1},  // its conv2
                      Case{2, 3, 11, 9, 5, 3, 2, 0, 1, 1},     // stride 2, odd sizes, no padding
                      Case{2, 4, 10, 10, 6, 3, 1, 2, 2, 1},    // dilation 2
                      Case{2, 6, 8, 7, 9, 3, 2, 1, 1, 3},      // groups of 2 in, 3 out
                      Case{1, 8, 6, 6, 8, 1, 1, 0, 1, 8},      // depthwise 1x1
                      Case{2, 2, 9, 9, 3, 5, 3, 2, 1, 1}));    // a 5x5 kernel, stride 3

std::vector<BFloat16> to_bf16(const std::vector<float>& values) {
  std::vector<BFloat16> out;
  for (float v : values) out.push_back(float_to_bfloat16(v));
  return out;
}

std::vector<float> from_bf16(const std::vector<BFloat16>& values) {
  std::vector<float> out;
  for (BFloat16 v : values) out.push_back(bfloat16_to_float(v));
  return out;
}

// bf16 storage: inputs that bf16 holds exactly (multiples of 1/64 in
// [-1, 1]), f32 arithmetic, outputs rounded to bf16 (relative error 2^-8);
// the weights' gradient in f32.
TEST(CpuConvTest, Bf16StorageComputesInF32) {
  cpu::CpuBackend backend(2);
  for (const Case& c : {Case{3, 8, 9, 9, 12, 3, 1, 1, 1, 1}, Case{2, 6, 8, 7, 9, 3, 2, 1, 1, 3}}) {
    const Conv2dShape s = shape_of(c);
    const Window2d& w = s.window;
    auto exact = [](size_t n, uint64_t seed) {
      std::vector<float> v = random(n, seed);
      for (float& x : v) x = std::round(x * 64) / 64;
      return v;
    };
    const size_t x_n = s.batch * w.channels * w.height * w.width;
    const size_t w_n = s.out_channels * (w.channels / s.groups) * w.kernel_h * w.kernel_w;
    const size_t y_n = s.batch * s.out_channels * w.out_h * w.out_w;
    const std::vector<float> x = exact(x_n, 5), weight = exact(w_n, 6), dy = exact(y_n, 7);
    std::vector<double> y_ref(y_n), dw_ref(w_n), dx_ref(x_n);
    for_each_tap(s, [&](int64_t yi, int64_t wi, int64_t xi) {
      y_ref[yi] += double{weight[wi]} * x[xi];
      dw_ref[wi] += double{dy[yi]} * x[xi];
      dx_ref[xi] += double{dy[yi]} * weight[wi];
    });
    const std::vector<BFloat16> x16 = to_bf16(x), w16 = to_bf16(weight), dy16 = to_bf16(dy);
    std::vector<BFloat16> y16(y_n), dx16(x_n);
    std::vector<float> dw(w_n);
    ASSERT_TRUE(kernels::conv2d_forward(backend, DType::kBF16, s, x16.data(), w16.data(), y16.data()));
    ASSERT_TRUE(kernels::conv2d_backward(backend, DType::kBF16, DType::kF32, s, x16.data(), w16.data(), dy16.data(),
                                         dw.data(), dx16.data(), false));
    auto near = [](const std::vector<float>& got, const std::vector<double>& want, double tolerance, const char* what) {
      double scale = 1e-3;
      for (double v : want) scale = std::max(scale, std::abs(v));
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_NEAR(got[i], want[i], tolerance * std::max(std::abs(want[i]), 0.01 * scale)) << what << " " << i;
    };
    near(from_bf16(y16), y_ref, 1.0 / 128, "y");
    near(from_bf16(dx16), dx_ref, 1.0 / 128, "dx");
    near(dw, dw_ref, 1e-5, "dweight");
  }
}

// f64 (the gradient checks) and f16 storage are declined, so the op lowers them.
TEST(CpuConvTest, OtherDtypesAreDeclined) {
  cpu::CpuBackend backend(1);
  const Conv2dShape s = shape_of({1, 1, 4, 4, 1, 3, 1, 1, 1, 1});
  std::vector<double> buffer(64);
  EXPECT_FALSE(kernels::conv2d_forward(backend, DType::kF64, s, buffer.data(), buffer.data(), buffer.data()));
  EXPECT_FALSE(kernels::conv2d_forward(backend, DType::kF16, s, buffer.data(), buffer.data(), buffer.data()));
  EXPECT_FALSE(kernels::conv2d_backward(backend, DType::kF32, DType::kF64, s, buffer.data(), buffer.data(),
                                        buffer.data(), buffer.data(), buffer.data(), false));
}

}  // namespace
}  // namespace tk
