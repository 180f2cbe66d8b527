// Convolution lowered to matrix products on the CPU: im2col/col2im and the
// per-channel bias.
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"
#include "core/kernels/window_range.h"
#include "core/ops/conv/conv_kernels.h"

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

void im2col(Backend& backend, DType dt, const Window2d& w, const void* image, void* columns, int64_t column_stride) {
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    const S* in = static_cast<const S*>(image);
    S* out = static_cast<S*>(columns);
    const int64_t spatial = w.out_h * w.out_w;
    const S zero = store<S>(0);
    const int threads =
        w.channels * w.kernel_h * w.kernel_w * spatial < kMinParallelElements ? 1 : as_cpu(backend).threads();
    parallel_for(threads, w.channels, 1, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
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

void col2im(Backend& backend, DType dt, const Window2d& w, const void* columns, int64_t column_stride, void* image,
            bool accumulate) {
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    using T = compute_t<S>;
    const S* in = static_cast<const S*>(columns);
    S* out = static_cast<S*>(image);
    const int64_t spatial = w.out_h * w.out_w, plane = w.height * w.width;
    const int threads =
        w.channels * w.kernel_h * w.kernel_w * spatial < kMinParallelElements ? 1 : as_cpu(backend).threads();
    // Channels are independent: each thread owns whole image planes.
    parallel_for(threads, w.channels, 1, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
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

void channel_bias_add(Backend& backend, DType y_dt, DType bias_dt, int64_t batch, int64_t channels, int64_t spatial,
                      const void* bias, void* y) {
  const int threads = as_cpu(backend).threads();
  dispatch_storage(y_dt, [&](auto y_tag) {
    dispatch_storage(bias_dt, [&](auto b_tag) {
      using S = decltype(y_tag);
      using B = decltype(b_tag);
      const B* b = static_cast<const B*>(bias);
      S* out = static_cast<S*>(y);
      parallel_for(threads, batch * channels, 4, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
        for (int64_t row = begin; row < end; ++row) {
          const compute_t<S> add = static_cast<compute_t<S>>(load(b[row % channels]));
          for (int64_t s = 0; s < spatial; ++s) out[row * spatial + s] = store<S>(load(out[row * spatial + s]) + add);
        }
      });
    });
  });
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::im2col, DeviceKind::kCpu, im2col},
    {kernels::col2im, DeviceKind::kCpu, col2im},
    {kernels::channel_bias_add, DeviceKind::kCpu, channel_bias_add},
};

}  // namespace tk::cpu
