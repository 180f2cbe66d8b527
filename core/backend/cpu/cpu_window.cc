// Sliding-window kernels: im2col/col2im for convolution, pooling, and the
// per-channel bias kernels beside them.
#include <limits>
#include <vector>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"

namespace tk::cpu {
namespace {

// Calls visit(column_row, out_index, input_y, input_x) for every kernel tap
// of every output position of channel c; input coordinates may be outside.
template <typename Visit>
void for_each_tap(const Window2d& w, int64_t c, const Visit& visit) {
  for (int64_t ky = 0; ky < w.kernel_h; ++ky)
    for (int64_t kx = 0; kx < w.kernel_w; ++kx) {
      const int64_t row = (c * w.kernel_h + ky) * w.kernel_w + kx;
      for (int64_t oy = 0; oy < w.out_h; ++oy) {
        const int64_t iy = oy * w.stride_h - w.pad_h + ky * w.dilation_h;
        for (int64_t ox = 0; ox < w.out_w; ++ox) {
          const int64_t ix = ox * w.stride_w - w.pad_w + kx * w.dilation_w;
          visit(row, oy * w.out_w + ox, iy, ix);
        }
      }
    }
}

}  // namespace

void CpuBackend::im2col(DType dt, const Window2d& w, const void* image, void* columns) {
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    const S* in = static_cast<const S*>(image);
    S* out = static_cast<S*>(columns);
    const int64_t spatial = w.out_h * w.out_w;
    parallel_for(threads_, w.channels, 1, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c)
        for_each_tap(w, c, [&](int64_t row, int64_t o, int64_t iy, int64_t ix) {
          const bool inside = iy >= 0 && iy < w.height && ix >= 0 && ix < w.width;
          out[row * spatial + o] = inside ? in[(c * w.height + iy) * w.width + ix] : store<S>(0);
        });
    });
  });
}

void CpuBackend::col2im(DType dt, const Window2d& w, const void* columns, void* image, bool accumulate) {
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    using T = compute_t<S>;
    const S* in = static_cast<const S*>(columns);
    S* out = static_cast<S*>(image);
    const int64_t spatial = w.out_h * w.out_w, plane = w.height * w.width;
    // Channels are independent: each thread owns whole image planes.
    parallel_for(threads_, w.channels, 1, [&](int64_t begin, int64_t end) {
      std::vector<T> sums(plane);
      for (int64_t c = begin; c < end; ++c) {
        for (int64_t i = 0; i < plane; ++i) sums[i] = accumulate ? load(out[c * plane + i]) : T(0);
        for_each_tap(w, c, [&](int64_t row, int64_t o, int64_t iy, int64_t ix) {
          if (iy >= 0 && iy < w.height && ix >= 0 && ix < w.width) sums[iy * w.width + ix] += load(in[row * spatial + o]);
        });
        for (int64_t i = 0; i < plane; ++i) out[c * plane + i] = store<S>(sums[i]);
      }
    });
  });
}

void CpuBackend::pool2d_forward(DType dt, Pool pool, int64_t planes, const Window2d& w, const void* x, void* y) {
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    using T = compute_t<S>;
    const S* in = static_cast<const S*>(x);
    S* out = static_cast<S*>(y);
    const T area = static_cast<T>(w.kernel_h * w.kernel_w);
    parallel_for(threads_, planes, 1, [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) {
        const S* plane = in + p * w.height * w.width;
        for (int64_t oy = 0; oy < w.out_h; ++oy)
          for (int64_t ox = 0; ox < w.out_w; ++ox) {
            T result = pool == Pool::kMax ? -std::numeric_limits<T>::infinity() : T(0);
            for (int64_t ky = 0; ky < w.kernel_h; ++ky)
              for (int64_t kx = 0; kx < w.kernel_w; ++kx) {
                const int64_t iy = oy * w.stride_h - w.pad_h + ky * w.dilation_h;
                const int64_t ix = ox * w.stride_w - w.pad_w + kx * w.dilation_w;
                if (iy < 0 || iy >= w.height || ix < 0 || ix >= w.width) continue;
                const T v = load(plane[iy * w.width + ix]);
                result = pool == Pool::kMax ? (v > result ? v : result) : result + v;
              }
            out[(p * w.out_h + oy) * w.out_w + ox] = store<S>(pool == Pool::kMax ? result : result / area);
          }
      }
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
    parallel_for(threads_, planes, 1, [&](int64_t begin, int64_t end) {
      std::vector<T> sums(plane_size);
      for (int64_t p = begin; p < end; ++p) {
        const S* plane = in + p * plane_size;
        for (int64_t i = 0; i < plane_size; ++i) sums[i] = accumulate ? load(grad_in[p * plane_size + i]) : T(0);
        for (int64_t oy = 0; oy < w.out_h; ++oy)
          for (int64_t ox = 0; ox < w.out_w; ++ox) {
            const T g = load(grad_out[(p * w.out_h + oy) * w.out_w + ox]);
            int64_t best = -1;
            T best_value = -std::numeric_limits<T>::infinity();
            for (int64_t ky = 0; ky < w.kernel_h; ++ky)
              for (int64_t kx = 0; kx < w.kernel_w; ++kx) {
                const int64_t iy = oy * w.stride_h - w.pad_h + ky * w.dilation_h;
                const int64_t ix = ox * w.stride_w - w.pad_w + kx * w.dilation_w;
                if (iy < 0 || iy >= w.height || ix < 0 || ix >= w.width) continue;
                const int64_t at = iy * w.width + ix;
                if (pool == Pool::kAverage) {
                  sums[at] += g / area;
                } else if (best < 0 || load(plane[at]) > best_value) {  // the first maximum takes the gradient
                  best = at;
                  best_value = load(plane[at]);
                }
              }
            if (pool == Pool::kMax && best >= 0) sums[best] += g;
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
