// Sliding-window kernels: im2col/col2im for convolution, pooling, and the
// per-channel bias kernels beside them.
#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"

namespace tk::cpu {
namespace {

// Plane-sized work runs on one thread below this many elements: OpenMP
// regions cost more than they save on small images.
constexpr int64_t kMinParallelElements = 1 << 15;

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// The output positions o in [0, out) whose input coordinate o * stride + offset
// lies in [0, size): [lo, hi). Lets the inner loops run without bounds checks.
void valid_range(int64_t out, int64_t stride, int64_t offset, int64_t size, int64_t* lo, int64_t* hi) {
  *lo = std::max<int64_t>(0, floor_div(-offset + stride - 1, stride));
  *hi = std::min<int64_t>(out, floor_div(size - 1 - offset, stride) + 1);
  if (*hi < *lo) *hi = *lo;
}

// Calls row(column_row, oy, iy_or_minus_one, ox_lo, ox_hi, ix_offset) for
// every kernel tap and output row of channel c.
template <typename Row>
void for_each_row(const Window2d& w, int64_t c, const Row& row) {
  for (int64_t ky = 0; ky < w.kernel_h; ++ky)
    for (int64_t kx = 0; kx < w.kernel_w; ++kx) {
      const int64_t r = (c * w.kernel_h + ky) * w.kernel_w + kx;
      const int64_t x_offset = kx * w.dilation_w - w.pad_w;
      int64_t ox_lo, ox_hi;
      valid_range(w.out_w, w.stride_w, x_offset, w.width, &ox_lo, &ox_hi);
      for (int64_t oy = 0; oy < w.out_h; ++oy) {
        const int64_t iy = oy * w.stride_h - w.pad_h + ky * w.dilation_h;
        const bool inside = iy >= 0 && iy < w.height;
        row(r, oy, inside ? iy : -1, inside ? ox_lo : 0, inside ? ox_hi : 0, x_offset);
      }
    }
}

}  // namespace

void CpuBackend::im2col(DType dt, const Window2d& w, const void* image, void* columns, int64_t column_stride) {
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    const S* in = static_cast<const S*>(image);
    S* out = static_cast<S*>(columns);
    const int64_t spatial = w.out_h * w.out_w;
    const S zero = store<S>(0);
    const int threads = w.channels * w.kernel_h * w.kernel_w * spatial < kMinParallelElements ? 1 : threads_;
    parallel_for(threads, w.channels, 1, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c)
        for_each_row(w, c, [&](int64_t r, int64_t oy, int64_t iy, int64_t lo, int64_t hi, int64_t x_offset) {
          S* dst = out + r * column_stride + oy * w.out_w;
          for (int64_t ox = 0; ox < lo; ++ox) dst[ox] = zero;
          const S* src = in + (c * w.height + iy) * w.width + x_offset;
          for (int64_t ox = lo; ox < hi; ++ox) dst[ox] = src[ox * w.stride_w];
          for (int64_t ox = hi; ox < w.out_w; ++ox) dst[ox] = zero;
        });
    });
  });
}

void CpuBackend::col2im(DType dt, const Window2d& w, const void* columns, int64_t column_stride, void* image,
                        bool accumulate) {
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    using T = compute_t<S>;
    const S* in = static_cast<const S*>(columns);
    S* out = static_cast<S*>(image);
    const int64_t spatial = w.out_h * w.out_w, plane = w.height * w.width;
    const int threads = w.channels * w.kernel_h * w.kernel_w * spatial < kMinParallelElements ? 1 : threads_;
    // Channels are independent: each thread owns whole image planes.
    parallel_for(threads, w.channels, 1, [&](int64_t begin, int64_t end) {
      std::vector<T> sums(plane);
      for (int64_t c = begin; c < end; ++c) {
        for (int64_t i = 0; i < plane; ++i) sums[i] = accumulate ? load(out[c * plane + i]) : T(0);
        for_each_row(w, c, [&](int64_t r, int64_t oy, int64_t iy, int64_t lo, int64_t hi, int64_t x_offset) {
          const S* src = in + r * column_stride + oy * w.out_w;
          T* dst = sums.data() + iy * w.width + x_offset;
          for (int64_t ox = lo; ox < hi; ++ox) dst[ox * w.stride_w] += load(src[ox]);
        });
        for (int64_t i = 0; i < plane; ++i) out[c * plane + i] = store<S>(sums[i]);
      }
    });
  });
}

void CpuBackend::copy_2d(DType dt, int64_t rows, int64_t cols, const void* src, int64_t src_stride, void* dst,
                         int64_t dst_stride) {
  const size_t elem = dtype_size(dt), row_bytes = static_cast<size_t>(cols) * elem;
  const char* from = static_cast<const char*>(src);
  char* to = static_cast<char*>(dst);
  const int threads = rows * cols < kMinParallelElements ? 1 : threads_;
  parallel_for(threads, rows, 1, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) std::memcpy(to + r * dst_stride * elem, from + r * src_stride * elem, row_bytes);
  });
}

namespace {

// Kernel column kx of a pooling window reads input column ox * stride + x_offset;
// [lo, hi) are the output columns for which that lies inside the image.
struct TapColumns {
  int64_t x_offset, lo, hi;
};

std::vector<TapColumns> tap_columns(const Window2d& w) {
  std::vector<TapColumns> taps(static_cast<size_t>(w.kernel_w));
  for (int64_t kx = 0; kx < w.kernel_w; ++kx) {
    TapColumns& t = taps[static_cast<size_t>(kx)];
    t.x_offset = kx * w.dilation_w - w.pad_w;
    valid_range(w.out_w, w.stride_w, t.x_offset, w.width, &t.lo, &t.hi);
  }
  return taps;
}

// Calls tap(input_row_offset, tap_columns, tap_index) for each window tap of
// output row oy that falls inside the image, in raster order (ky, then kx;
// tap_index = ky * kernel_w + kx). Whole output rows go through one tap at a
// time, so the inner loops carry no bounds checks.
template <typename Tap>
void for_each_tap(const Window2d& w, const std::vector<TapColumns>& taps, int64_t oy, const Tap& tap) {
  const int64_t y0 = oy * w.stride_h - w.pad_h;
  int64_t ky_lo, ky_hi;
  valid_range(w.kernel_h, w.dilation_h, y0, w.height, &ky_lo, &ky_hi);
  for (int64_t ky = ky_lo; ky < ky_hi; ++ky)
    for (size_t kx = 0; kx < taps.size(); ++kx)
      tap((y0 + ky * w.dilation_h) * w.width, taps[kx], static_cast<int32_t>(ky * w.kernel_w + kx));
}

// NaN wins, as in PyTorch: it must not vanish before the loss check.
template <typename T>
T max_keeping_nan(T best, T v) {
  return (v > best || v != v) ? v : best;
}

template <typename S>
void max_pool_planes(const Window2d& w, int64_t begin, int64_t end, const S* in, S* out) {
  using T = compute_t<S>;
  const std::vector<TapColumns> taps = tap_columns(w);
  std::vector<T> best(static_cast<size_t>(w.out_w));
  for (int64_t p = begin; p < end; ++p) {
    const S* plane = in + p * w.height * w.width;
    for (int64_t oy = 0; oy < w.out_h; ++oy) {
      std::fill(best.begin(), best.end(), -std::numeric_limits<T>::infinity());
      for_each_tap(w, taps, oy, [&](int64_t row_offset, const TapColumns& t, int32_t) {
        const S* src = plane + row_offset + t.x_offset;
        for (int64_t ox = t.lo; ox < t.hi; ++ox) best[ox] = max_keeping_nan(best[ox], T(load(src[ox * w.stride_w])));
      });
      S* dst = out + (p * w.out_h + oy) * w.out_w;
      for (int64_t ox = 0; ox < w.out_w; ++ox) dst[ox] = store<S>(best[ox]);
    }
  }
}

// Padding counts as zeros: the divisor is always the whole window.
template <typename S>
void average_pool_planes(const Window2d& w, int64_t begin, int64_t end, const S* in, S* out) {
  using T = compute_t<S>;
  const std::vector<TapColumns> taps = tap_columns(w);
  const T area = static_cast<T>(w.kernel_h * w.kernel_w);
  std::vector<T> sum(static_cast<size_t>(w.out_w));
  for (int64_t p = begin; p < end; ++p) {
    const S* plane = in + p * w.height * w.width;
    for (int64_t oy = 0; oy < w.out_h; ++oy) {
      std::fill(sum.begin(), sum.end(), T(0));
      for_each_tap(w, taps, oy, [&](int64_t row_offset, const TapColumns& t, int32_t) {
        const S* src = plane + row_offset + t.x_offset;
        for (int64_t ox = t.lo; ox < t.hi; ++ox) sum[ox] += load(src[ox * w.stride_w]);
      });
      S* dst = out + (p * w.out_h + oy) * w.out_w;
      for (int64_t ox = 0; ox < w.out_w; ++ox) dst[ox] = store<S>(sum[ox] / area);
    }
  }
}

}  // namespace

void CpuBackend::pool2d_forward(DType dt, Pool pool, int64_t planes, const Window2d& w, const void* x, void* y) {
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    const S* in = static_cast<const S*>(x);
    S* out = static_cast<S*>(y);
    const int64_t grain = std::max<int64_t>(1, kMinParallelElements / (w.height * w.width));
    parallel_for(threads_, planes, grain, [&](int64_t begin, int64_t end) {
      if (pool == Pool::kMax)
        max_pool_planes(w, begin, end, in, out);
      else
        average_pool_planes(w, begin, end, in, out);
    });
  });
}

void CpuBackend::pool2d_backward(DType dt, Pool pool, int64_t planes, const Window2d& w, const void* x,
                                 const void* dy, void* dx, bool accumulate) {
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    using T = compute_t<S>;
    const S* in = static_cast<const S*>(x);
    const S* grad_out = static_cast<const S*>(dy);
    S* grad_in = static_cast<S*>(dx);
    const int64_t plane_size = w.height * w.width;
    const T area = static_cast<T>(w.kernel_h * w.kernel_w);
    const int64_t grain = std::max<int64_t>(1, kMinParallelElements / plane_size);
    parallel_for(threads_, planes, grain, [&](int64_t begin, int64_t end) {
      const std::vector<TapColumns> taps = tap_columns(w);
      std::vector<T> sums(static_cast<size_t>(plane_size)), best(static_cast<size_t>(w.out_w));
      std::vector<int32_t> best_tap(static_cast<size_t>(w.out_w));
      // Tap ky * kernel_w + kx of output (oy, ox) reads the input at
      // (oy * stride_h - pad_h) * width + ox * stride_w + tap_offset[tap].
      std::vector<int64_t> tap_offset(static_cast<size_t>(w.kernel_h * w.kernel_w));
      for (int64_t ky = 0; ky < w.kernel_h; ++ky)
        for (int64_t kx = 0; kx < w.kernel_w; ++kx)
          tap_offset[ky * w.kernel_w + kx] = ky * w.dilation_h * w.width + kx * w.dilation_w - w.pad_w;
      for (int64_t p = begin; p < end; ++p) {
        const S* plane = in + p * plane_size;
        for (int64_t i = 0; i < plane_size; ++i) sums[i] = accumulate ? load(grad_in[p * plane_size + i]) : T(0);
        for (int64_t oy = 0; oy < w.out_h; ++oy) {
          const S* g = grad_out + (p * w.out_h + oy) * w.out_w;
          if (pool == Pool::kAverage) {
            for_each_tap(w, taps, oy, [&](int64_t row_offset, const TapColumns& t, int32_t) {
              T* dst = sums.data() + row_offset + t.x_offset;
              for (int64_t ox = t.lo; ox < t.hi; ++ox) dst[ox * w.stride_w] += load(g[ox]) / area;
            });
            continue;
          }
          // The first maximum in raster order (or the first NaN, as forward
          // picks it) takes each output's gradient. The scan keeps tap indices
          // (32 bits, like the values) and selects rather than branches, so it
          // vectorizes; the positions are worked out once, for the scatter.
          std::fill(best_tap.begin(), best_tap.end(), int32_t{-1});
          for_each_tap(w, taps, oy, [&](int64_t row_offset, const TapColumns& t, int32_t tap) {
            const S* src = plane + row_offset + t.x_offset;
            const int64_t stride = w.stride_w, lo = t.lo, hi = t.hi;
            int32_t* __restrict tap_of = best_tap.data();
            T* __restrict value_of = best.data();
            for (int64_t ox = lo; ox < hi; ++ox) {
              const T v = load(src[ox * stride]);
              // A NaN, once taken, keeps the gradient: nothing compares above it.
              const bool take = tap_of[ox] < 0 || (value_of[ox] == value_of[ox] && (v > value_of[ox] || v != v));
              tap_of[ox] = take ? tap : tap_of[ox];
              value_of[ox] = take ? v : value_of[ox];
            }
          });
          const int64_t row_start = (oy * w.stride_h - w.pad_h) * w.width;
          for (int64_t ox = 0; ox < w.out_w; ++ox)
            if (best_tap[ox] >= 0) sums[row_start + ox * w.stride_w + tap_offset[best_tap[ox]]] += load(g[ox]);
        }
        for (int64_t i = 0; i < plane_size; ++i) grad_in[p * plane_size + i] = store<S>(sums[i]);
      }
    });
  });
}

void CpuBackend::channel_bias_add(DType y_dt, DType bias_dt, int64_t batch, int64_t channels, int64_t spatial,
                                  const void* bias, void* y) {
  dispatch_storage(y_dt, [&](auto y_tag) {
    dispatch_storage(bias_dt, [&](auto b_tag) {
      using S = decltype(y_tag);
      using B = decltype(b_tag);
      const B* b = static_cast<const B*>(bias);
      S* out = static_cast<S*>(y);
      parallel_for(threads_, batch * channels, 4, [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {
          const compute_t<S> add = static_cast<compute_t<S>>(load(b[row % channels]));
          for (int64_t s = 0; s < spatial; ++s) out[row * spatial + s] = store<S>(load(out[row * spatial + s]) + add);
        }
      });
    });
  });
}

void CpuBackend::channel_sum(DType x_dt, DType out_dt, int64_t batch, int64_t channels, int64_t spatial,
                             const void* x, void* out, bool accumulate) {
  dispatch_storage(x_dt, [&](auto x_tag) {
    dispatch_storage(out_dt, [&](auto o_tag) {
      using S = decltype(x_tag);
      using O = decltype(o_tag);
      using T = compute_t<O>;
      const S* in = static_cast<const S*>(x);
      O* sums = static_cast<O*>(out);
      parallel_for(threads_, channels, 1, [&](int64_t begin, int64_t end) {
        for (int64_t c = begin; c < end; ++c) {
          T total = accumulate ? load(sums[c]) : T(0);
          for (int64_t n = 0; n < batch; ++n)
            for (int64_t s = 0; s < spatial; ++s) total += static_cast<T>(load(in[(n * channels + c) * spatial + s]));
          sums[c] = store<O>(total);
        }
      });
    });
  });
}

}  // namespace tk::cpu
