// Sliding-window kernels: im2col/col2im for convolution, and the per-channel
// bias kernels beside them.
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"
#include "core/backend/cpu/window_range.h"

namespace tk::cpu {
namespace {

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
