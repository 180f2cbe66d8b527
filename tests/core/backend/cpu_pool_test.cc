// The CPU pooling kernels against a plain per-output reference: every window
// shape (stride, padding, dilation, overlap, odd sizes), ties and NaN routed
// as PyTorch routes them, accumulation, and any thread count.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/backend/cpu/cpu_backend.h"
#include "core/base/half.h"
#include "core/base/rng.h"
#include "core/ops/pool/pool_kernels.h"

namespace tk {
namespace {

struct Shape {
  int64_t height, width, kernel_h, kernel_w, stride_h, stride_w, pad, dilation;
};

Window2d window_of(const Shape& s) {
  Window2d w{};
  w.channels = 1;
  w.height = s.height;
  w.width = s.width;
  w.kernel_h = s.kernel_h;
  w.kernel_w = s.kernel_w;
  w.stride_h = s.stride_h;
  w.stride_w = s.stride_w;
  w.pad_h = w.pad_w = s.pad;
  w.dilation_h = w.dilation_w = s.dilation;
  w.out_h = (s.height + 2 * s.pad - s.dilation * (s.kernel_h - 1) - 1) / s.stride_h + 1;
  w.out_w = (s.width + 2 * s.pad - s.dilation * (s.kernel_w - 1) - 1) / s.stride_w + 1;
  return w;
}

// Input positions of output (oy, ox)'s window inside the image, in raster order.
std::vector<int64_t> taps_of(const Window2d& w, int64_t oy, int64_t ox) {
  std::vector<int64_t> taps;
  for (int64_t ky = 0; ky < w.kernel_h; ++ky)
    for (int64_t kx = 0; kx < w.kernel_w; ++kx) {
      const int64_t iy = oy * w.stride_h - w.pad_h + ky * w.dilation_h;
      const int64_t ix = ox * w.stride_w - w.pad_w + kx * w.dilation_w;
      if (iy >= 0 && iy < w.height && ix >= 0 && ix < w.width) taps.push_back(iy * w.width + ix);
    }
  return taps;
}

struct Reference {
  std::vector<float> y, dx;
};

// Max: NaN wins and the first maximum (or first NaN) takes the gradient.
// Average: the divisor is the whole window, padding included.
Reference reference(Pool pool, int64_t planes, const Window2d& w, const std::vector<float>& x,
                    const std::vector<float>& dy, const std::vector<float>& dx_before) {
  const int64_t plane = w.height * w.width, outs = w.out_h * w.out_w;
  Reference r{std::vector<float>(static_cast<size_t>(planes * outs)), dx_before};
  const float area = static_cast<float>(w.kernel_h * w.kernel_w);
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oy = 0; oy < w.out_h; ++oy)
      for (int64_t ox = 0; ox < w.out_w; ++ox) {
        const int64_t o = p * outs + oy * w.out_w + ox;
        float result = pool == Pool::kMax ? -std::numeric_limits<float>::infinity() : 0.0f;
        int64_t best = -1;
        for (int64_t at : taps_of(w, oy, ox)) {
          const float v = x[static_cast<size_t>(p * plane + at)];
          if (pool == Pool::kAverage) {
            result += v;
            r.dx[static_cast<size_t>(p * plane + at)] += dy[static_cast<size_t>(o)] / area;
          } else if (best < 0 || (result == result && (v > result || v != v))) {
            best = at;
            result = v;
          }
        }
        if (pool == Pool::kMax && best >= 0) r.dx[static_cast<size_t>(p * plane + best)] += dy[static_cast<size_t>(o)];
        r.y[static_cast<size_t>(o)] = pool == Pool::kMax ? result : result / area;
      }
  return r;
}

// Values from a handful of levels, so windows hold ties.
std::vector<float> tied_values(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = static_cast<float>(std::floor(rng.uniform() * 5)) - 2.0f;
  return v;
}

bool same(float a, float b, float tolerance) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (a == b) return true;  // infinities too
  return std::fabs(a - b) <= tolerance * std::max(1.0f, std::fabs(b));
}

// Inputs, output gradients and (when accumulating) earlier input gradients
// for `s`: enough planes that four threads each get some (the kernels run
// planes of fewer than 2^15 elements together), tied values, and NaNs,
// infinities and negative zeros at scattered places, some in rows or columns
// no window covers: each NaN must reach its output and take the gradient.
struct Problem {
  Window2d w;
  int64_t planes, inputs, outputs;
  std::vector<float> x, dy, dx_before;
};

Problem problem_of(const Shape& s, bool accumulate, uint64_t seed) {
  Problem p;
  p.w = window_of(s);
  const int64_t plane = s.height * s.width;
  p.planes = 4 * ((1 << 15) / plane + 1);
  p.inputs = p.planes * plane;
  p.outputs = p.planes * p.w.out_h * p.w.out_w;
  p.x = tied_values(p.inputs, seed);
  p.dy = tied_values(p.outputs, seed + 1);
  const float specials[] = {std::nanf(""), INFINITY, -INFINITY, -0.0f};
  for (int64_t q = 0; q < p.planes; ++q) p.x[q * plane + (q * 37) % plane] = specials[q % 4];
  p.dx_before = accumulate ? tied_values(p.inputs, seed + 2) : std::vector<float>(p.inputs, 0.0f);
  return p;
}

TEST(CpuPoolTest, MatchesThePerOutputReferenceForEveryWindowShape) {
  const Shape shapes[] = {
      {28, 28, 2, 2, 2, 2, 0, 1},   // the CNN's pooling: tiles, 2 x 2 at compile time
      {7, 9, 2, 2, 2, 2, 0, 1},     // tiles; odd sizes leave a last row and column out
      {7, 11, 3, 3, 3, 3, 0, 1},    // tiles, kernel at run time, rows and columns left out
      {9, 10, 2, 3, 2, 3, 0, 1},    // tiles, not square
      {4, 4, 4, 4, 4, 4, 0, 1},     // one window per plane
      {5, 5, 3, 3, 1, 1, 1, 1},     // overlapping and padded
      {6, 7, 3, 3, 2, 2, 1, 1},     // strided and padded
      {8, 9, 3, 2, 2, 1, 1, 1},     // not square, padded
      {9, 8, 2, 2, 1, 1, 0, 2},     // dilated
      {10, 11, 3, 3, 3, 3, 1, 2},   // dilated, strided and padded
  };
  cpu::CpuBackend one(1), four(4);
  for (const Shape& s : shapes)
    for (Pool pool : {Pool::kMax, Pool::kAverage})
      for (bool accumulate : {false, true}) {
        SCOPED_TRACE(testing::Message() << s.height << "x" << s.width << " k" << s.kernel_h << "x" << s.kernel_w
                                        << " s" << s.stride_h << "x" << s.stride_w << " p" << s.pad << " d"
                                        << s.dilation << (pool == Pool::kMax ? " max" : " avg")
                                        << (accumulate ? " accumulate" : ""));
        const Problem problem = problem_of(s, accumulate, 1);
        const Window2d& w = problem.w;
        const int64_t planes = problem.planes, inputs = problem.inputs, outputs = problem.outputs;
        const std::vector<float>&x = problem.x, &dy = problem.dy, &dx_before = problem.dx_before;
        const Reference want = reference(pool, planes, w, x, dy, dx_before);
        for (cpu::CpuBackend* backend : {&one, &four}) {
          // Without accumulation, every input must be written: start from a sentinel.
          std::vector<float> y(static_cast<size_t>(outputs));
          std::vector<float> dx = accumulate ? dx_before : std::vector<float>(inputs, 1234.5f);
          kernels::pool2d_forward(*backend, DType::kF32, pool, planes, w, x.data(), y.data());
          kernels::pool2d_backward(*backend, DType::kF32, pool, planes, w, x.data(), dy.data(), dx.data(), accumulate);
          for (int64_t i = 0; i < outputs; ++i) ASSERT_TRUE(same(y[i], want.y[i], 1e-6f)) << "output " << i;
          for (int64_t i = 0; i < inputs; ++i) ASSERT_TRUE(same(dx[i], want.dx[i], 1e-6f)) << "input " << i;
        }
      }
}

template <typename H>
void expect_half_storage_routes_gradients_as_float(DType dt, H (*to_half)(float), float (*to_float)(H)) {
  // MaxPool2d(2) has kernels of its own for bf16: the CNN's planes, odd
  // sizes, NaNs, overwriting and accumulating, on one and several threads.
  // Rows of 3, 4 (odd width), 7, 8, 14 (odd width too) and 17 outputs: under,
  // at and over one block of eight, and a last block that overlaps.
  for (const Shape& s : {Shape{7, 9, 2, 2, 2, 2, 0, 1}, Shape{28, 28, 2, 2, 2, 2, 0, 1}, Shape{9, 7, 2, 2, 2, 2, 0, 1},
                         Shape{6, 16, 2, 2, 2, 2, 0, 1}, Shape{8, 29, 2, 2, 2, 2, 0, 1}, Shape{9, 34, 2, 2, 2, 2, 0, 1},
                         Shape{14, 14, 2, 2, 2, 2, 0, 1}})
    for (bool accumulate : {false, true}) {
      SCOPED_TRACE(testing::Message() << dtype_name(dt) << " " << s.height << "x" << s.width
                                      << (accumulate ? " accumulate" : ""));
      const Problem problem = problem_of(s, accumulate, 4);
      const Window2d& w = problem.w;
      const int64_t planes = problem.planes, inputs = problem.inputs, outputs = problem.outputs;
      const std::vector<float>&x = problem.x, &dy = problem.dy, &dx_before = problem.dx_before;
      const Reference want = reference(Pool::kMax, planes, w, x, dy, dx_before);
      // The tied levels are small integers: exact in 16 bits, and so are their sums.
      std::vector<H> xh(inputs), dyh(outputs), yh(outputs);
      for (int64_t i = 0; i < inputs; ++i) xh[i] = to_half(x[i]);
      // Some of the NaNs signalling (quiet bit clear), which the output must quiet.
      const uint16_t signalling = dt == DType::kBF16 ? 0x7F81 : 0x7C01;
      int64_t nans = 0;
      for (int64_t i = 0; i < inputs; ++i)
        if (std::isnan(x[i]) && nans++ % 2) std::memcpy(&xh[i], &signalling, 2);
      for (int64_t i = 0; i < outputs; ++i) dyh[i] = to_half(dy[i]);
      for (int threads : {1, 4}) {
        std::vector<H> dxh(inputs, to_half(1234.5f));
        if (accumulate)
          for (int64_t i = 0; i < inputs; ++i) dxh[i] = to_half(dx_before[i]);
        cpu::CpuBackend backend(threads);
        kernels::pool2d_forward(backend, dt, Pool::kMax, planes, w, xh.data(), yh.data());
        kernels::pool2d_backward(backend, dt, Pool::kMax, planes, w, xh.data(), dyh.data(), dxh.data(), accumulate);
        // Bit for bit: the maximum is an input (a negative zero stays one), a
        // NaN comes out a NaN (in bf16 a quiet one, as store<BFloat16> makes
        // it), and the gradient goes to one input untouched.
        auto bits = [](H h) {
          uint16_t b;
          std::memcpy(&b, &h, 2);
          return b;
        };
        const uint16_t quiet = dt == DType::kBF16 ? 0x0040 : 0xFFFF;
        for (int64_t i = 0; i < outputs; ++i) {
          if (std::isnan(want.y[i]))
            ASSERT_TRUE(std::isnan(to_float(yh[i])) && (bits(yh[i]) & quiet))
                << threads << " threads, output " << i << ": bits " << std::hex << bits(yh[i]);
          else
            ASSERT_EQ(bits(yh[i]), bits(to_half(want.y[i]))) << threads << " threads, output " << i;
        }
        for (int64_t i = 0; i < inputs; ++i)
          ASSERT_EQ(bits(dxh[i]), bits(to_half(want.dx[i]))) << threads << " threads, input " << i;
      }
    }
}

TEST(CpuPoolTest, HalfStorageRoutesGradientsAsFloat) {
  expect_half_storage_routes_gradients_as_float<BFloat16>(DType::kBF16, float_to_bfloat16, bfloat16_to_float);
  expect_half_storage_routes_gradients_as_float<Half>(DType::kF16, float_to_half, half_to_float);
}

}  // namespace
}  // namespace tk
