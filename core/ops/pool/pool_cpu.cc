// Pooling on the CPU. Windows that tile the image (stride = kernel, no
// padding or dilation: PyTorch's MaxPool2d(k)) take a direct path, each
// window owning its inputs; any other window shape walks whole output rows one
// tap at a time. Max pooling propagates NaN and gives each output's gradient
// to the first maximum in raster order, as PyTorch does.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"
#include "core/kernels/window_range.h"
#include "core/ops/pool/pool_kernels.h"

namespace tk::cpu {
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

// Whether v takes over from best as a window's maximum, scanning in raster
// order: a larger value, or the first NaN. NaN wins, as in PyTorch (it must
// not vanish before the loss check), and once taken nothing replaces it.
// Bitwise, not short-circuit: no branch is left for loops to vectorize around.
template <typename T>
TK_CPU_INLINE bool takes_over(T best, T v) {
  return (best == best) & ((v > best) | (v != v));
}

// The same maximum without the first-NaN test: any NaN gives NaN, and one
// compare less keeps the forward loops fast.
template <typename T>
TK_CPU_INLINE T max_keeping_nan(T best, T v) {
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
        const int64_t base = row_offset + t.x_offset;  // an index: with padding it can be negative
        for (int64_t ox = t.lo; ox < t.hi; ++ox)
          best[ox] = max_keeping_nan(best[ox], T(load(plane[base + ox * w.stride_w])));
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
        const int64_t base = row_offset + t.x_offset;
        for (int64_t ox = t.lo; ox < t.hi; ++ox) sum[ox] += load(plane[base + ox * w.stride_w]);
      });
      S* dst = out + (p * w.out_h + oy) * w.out_w;
      for (int64_t ox = 0; ox < w.out_w; ++ox) dst[ox] = store<S>(sum[ox] / area);
    }
  }
}

// Whether the windows tile the image: no overlap, no padding, no gaps.
bool tiles(const Window2d& w) {
  return w.stride_h == w.kernel_h && w.stride_w == w.kernel_w && w.pad_h == 0 && w.pad_w == 0 && w.dilation_h == 1 &&
         w.dilation_w == 1;
}

// Tiling windows, KH x KW fixed at compile time (0: w's, at run time).
template <int KH, int KW, typename S>
void max_pool_tiles(const Window2d& w, int64_t begin, int64_t end, const S* in, S* out) {
  using T = compute_t<S>;
  const int64_t kh = KH ? KH : w.kernel_h, kw = KW ? KW : w.kernel_w, width = w.width;
  for (int64_t p = begin; p < end; ++p) {
    const S* plane = in + p * w.height * width;
    S* dst = out + p * w.out_h * w.out_w;
    for (int64_t oy = 0; oy < w.out_h; ++oy) {
      const S* rows = plane + oy * kh * width;
      for (int64_t ox = 0; ox < w.out_w; ++ox) {
        T best = -std::numeric_limits<T>::infinity();
        for (int64_t ky = 0; ky < kh; ++ky)
          for (int64_t kx = 0; kx < kw; ++kx) best = max_keeping_nan(best, T(load(rows[ky * width + ox * kw + kx])));
        dst[oy * w.out_w + ox] = store<S>(best);
      }
    }
  }
}

// Each input gets its window's gradient if it is the window's first maximum
// (or first NaN), else zero; inputs past the last whole window get zero.
// Every input is written once, so no scatter and no staging plane. (2 x 2
// windows have max_pool_2x2_backward.)
template <typename S>
void max_pool_tiles_backward(const Window2d& w, int64_t begin, int64_t end, const S* in, const S* grad_out, S* grad_in,
                             bool accumulate) {
  using T = compute_t<S>;
  const int64_t kh = w.kernel_h, kw = w.kernel_w, width = w.width;
  const int64_t plane_size = w.height * width;
  auto put = [&](S* at, T g) { *at = store<S>(accumulate ? load(*at) + g : g); };
  for (int64_t p = begin; p < end; ++p) {
    const S* plane = in + p * plane_size;
    const S* g = grad_out + p * w.out_h * w.out_w;
    S* dst = grad_in + p * plane_size;
    for (int64_t oy = 0; oy < w.out_h; ++oy) {
      const int64_t row0 = oy * kh * width;
      for (int64_t ox = 0; ox < w.out_w; ++ox) {
        const int64_t corner = row0 + ox * kw;
        int64_t best_at = corner;
        T best = load(plane[corner]);
        for (int64_t ky = 0; ky < kh; ++ky)
          for (int64_t kx = 0; kx < kw; ++kx) {
            const int64_t at = corner + ky * width + kx;
            const T v = load(plane[at]);
            const bool take = takes_over(best, v);  // selects: data-dependent branches mispredict
            best = take ? v : best;
            best_at = take ? at : best_at;
          }
        const T grad = load(g[oy * w.out_w + ox]);
        for (int64_t ky = 0; ky < kh; ++ky)
          for (int64_t kx = 0; kx < kw; ++kx) {
            const int64_t at = corner + ky * width + kx;
            put(dst + at, at == best_at ? grad : T(0));
          }
      }
      // Columns past the last whole window.
      for (int64_t ky = 0; ky < kh; ++ky)
        for (int64_t x = w.out_w * kw; x < width; ++x) put(dst + row0 + ky * width + x, T(0));
    }
    // Rows past the last whole window.
    for (int64_t i = w.out_h * kh * width; i < plane_size; ++i) put(dst + i, T(0));
  }
}

// MaxPool2d(2)'s backward: a window's four taps in straight-line selects
// over a pair of rows, a loop the compiler vectorizes; the same rule as
// max_pool_tiles_backward (the first maximum, or first NaN, takes the gradient).
template <bool kAccumulate, typename S>
void max_pool_2x2_backward(const Window2d& w, int64_t begin, int64_t end, const S* in, const S* grad_out,
                           S* grad_in) {
  using T = compute_t<S>;
  const int64_t width = w.width, plane_size = w.height * width, out_w = w.out_w;
  auto put = [](S& at, T g) { at = store<S>(kAccumulate ? load(at) + g : g); };
  for (int64_t p = begin; p < end; ++p) {
    S* dst = grad_in + p * plane_size;
    for (int64_t oy = 0; oy < w.out_h; ++oy) {
      const S* __restrict top = in + p * plane_size + 2 * oy * width;
      const S* __restrict bottom = top + width;
      const S* __restrict g = grad_out + (p * w.out_h + oy) * out_w;
      S* __restrict d_top = dst + 2 * oy * width;
      S* __restrict d_bottom = d_top + width;
      for (int64_t ox = 0; ox < out_w; ++ox) {
        const T a = load(top[2 * ox]), b = load(top[2 * ox + 1]), c = load(bottom[2 * ox]),
                d = load(bottom[2 * ox + 1]);
        const bool to_b = takes_over(a, b);
        const T ab = to_b ? b : a;
        const bool to_c = takes_over(ab, c);
        const T abc = to_c ? c : ab;
        const bool to_d = takes_over(abc, d);
        const bool at_c = to_c & !to_d, at_b = to_b & !to_c & !to_d, at_a = !to_b & !to_c & !to_d;
        if constexpr (kAccumulate) {
          const T grad = load(g[ox]), zero = T(0);
          put(d_top[2 * ox], at_a ? grad : zero);
          put(d_top[2 * ox + 1], at_b ? grad : zero);
          put(d_bottom[2 * ox], at_c ? grad : zero);
          put(d_bottom[2 * ox + 1], to_d ? grad : zero);
        } else {
          // The gradient itself or zero: its stored bits, no rounding to redo.
          using Bits = std::conditional_t<sizeof(S) == 2, uint16_t, std::conditional_t<sizeof(S) == 4, uint32_t, uint64_t>>;
          Bits grad;
          std::memcpy(&grad, &g[ox], sizeof(S));
          const Bits out[4] = {at_a ? grad : Bits(0), at_b ? grad : Bits(0), at_c ? grad : Bits(0),
                               to_d ? grad : Bits(0)};
          std::memcpy(&d_top[2 * ox], &out[0], 2 * sizeof(S));
          std::memcpy(&d_bottom[2 * ox], &out[2], 2 * sizeof(S));
        }
      }
      for (int64_t x = 2 * out_w; x < width; ++x) {  // an odd width's last column
        put(d_top[x], T(0));
        put(d_bottom[x], T(0));
      }
    }
    for (int64_t i = 2 * w.out_h * width; i < plane_size; ++i) put(dst[i], T(0));  // an odd height's last row
  }
}

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "a bf16 pair's first element is the word's low half");

// MaxPool2d(2) in bf16, forward and (overwriting) backward: a row's pair of
// columns is one 32-bit load whose halves are the two bf16 values' f32 bits,
// and every choice is a bit mask, so the loops vectorize as f32's do (the
// compiler leaves a select on bools between floats as a branch). The same
// rule as the generic kernels, bit for bit: the maximum is one of the inputs
// (stored exactly; a NaN quieted as store<BFloat16> quiets it).
TK_CPU_INLINE float f32_of_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
TK_CPU_INLINE uint32_t bits_of(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return bits;
}
TK_CPU_INLINE uint32_t pair_at(const BFloat16* at) {
  uint32_t pair;
  std::memcpy(&pair, at, 4);
  return pair;
}
TK_CPU_INLINE uint32_t mask_of(bool b) { return 0u - static_cast<uint32_t>(b); }
TK_CPU_INLINE float pick(uint32_t mask, float yes, float no) { return f32_of_bits((bits_of(yes) & mask) | (bits_of(no) & ~mask)); }

// One output of a row pair, forward: the first maximum (or NaN) of the four.
TK_CPU_INLINE void max_of_window_bf16(int64_t ox, const BFloat16* __restrict top, const BFloat16* __restrict bottom,
                        uint16_t* __restrict out) {
  const uint32_t upper = pair_at(top + 2 * ox), lower = pair_at(bottom + 2 * ox);
  const float a = f32_of_bits(upper << 16), b = f32_of_bits(upper & 0xFFFF0000u);
  const float c = f32_of_bits(lower << 16), d = f32_of_bits(lower & 0xFFFF0000u);
  // max_keeping_nan from a on (a beats the -inf start unless it is -inf itself)
  float best = a;
  best = pick(mask_of((b > best) | (b != b)), b, best);
  best = pick(mask_of((c > best) | (c != c)), c, best);
  best = pick(mask_of((d > best) | (d != d)), d, best);
  const uint32_t bits = bits_of(best);
  out[ox] = static_cast<uint16_t>((bits >> 16) | (mask_of((bits & 0x7FFFFFFFu) > 0x7F800000u) & 0x0040u));
}

// Which of a window's values (raster order: a b over c d) is its first
// maximum, or first NaN: an all-ones mask for that one, zeros for the rest.
struct Winner {
  uint32_t a, b, c, d;
};
TK_CPU_INLINE Winner winner_of(float a, float b, float c, float d) {
  const uint32_t to_b = mask_of(takes_over(a, b));
  const float ab = pick(to_b, b, a);
  const uint32_t to_c = mask_of(takes_over(ab, c));
  const float abc = pick(to_c, c, ab);
  const uint32_t to_d = mask_of(takes_over(abc, d));
  return {~to_b & ~to_c & ~to_d, to_b & ~to_c & ~to_d, to_c & ~to_d, to_d};
}

// One output of a row pair, backward: its gradient to the window's first
// maximum (or first NaN), zeros to the other three.
TK_CPU_INLINE void route_window_bf16(int64_t ox, const BFloat16* __restrict top, const BFloat16* __restrict bottom,
                       const uint16_t* __restrict g, BFloat16* __restrict d_top, BFloat16* __restrict d_bottom) {
  const uint32_t upper = pair_at(top + 2 * ox), lower = pair_at(bottom + 2 * ox);
  const float a = f32_of_bits(upper << 16), b = f32_of_bits(upper & 0xFFFF0000u);
  const float c = f32_of_bits(lower << 16), d = f32_of_bits(lower & 0xFFFF0000u);
  const Winner at = winner_of(a, b, c, d);
  const uint32_t grad = g[ox];
  const uint32_t new_upper = (grad & at.a) | ((grad << 16) & at.b);
  const uint32_t new_lower = (grad & at.c) | ((grad << 16) & at.d);
  std::memcpy(d_top + 2 * ox, &new_upper, 4);
  std::memcpy(d_bottom + 2 * ox, &new_lower, 4);
}

// Calls window(ox) for every output column of a row: in blocks of 8, the
// last one moved back to end at the row's end (it redoes a few outputs, which
// write the same values again), so that rows as short as the CNN's 14 run
// in vector registers instead of a scalar tail. Only for kernels that
// overwrite what they write (an accumulating one would add twice).
template <typename Window>
TK_CPU_INLINE void for_each_window(int64_t out_w, const Window& window) {
  constexpr int64_t kBlock = 8;
  if (out_w < kBlock) {
    for (int64_t ox = 0; ox < out_w; ++ox) window(ox);
    return;
  }
  for (int64_t x0 = 0; x0 < out_w; x0 += kBlock) {
    const int64_t base = std::min(x0, out_w - kBlock);
    for (int64_t lane = 0; lane < kBlock; ++lane) window(base + lane);
  }
}

// The same for f32, whose pairs are two plain loads; the backward writes the
// gradient's bits or zero.
TK_CPU_INLINE void route_window_f32(int64_t ox, const float* __restrict top, const float* __restrict bottom,
                                    const float* __restrict g, float* __restrict d_top, float* __restrict d_bottom) {
  const float a = top[2 * ox], b = top[2 * ox + 1], c = bottom[2 * ox], d = bottom[2 * ox + 1];
  const Winner at = winner_of(a, b, c, d);
  const uint32_t grad = bits_of(g[ox]);
  d_top[2 * ox] = f32_of_bits(grad & at.a);
  d_top[2 * ox + 1] = f32_of_bits(grad & at.b);
  d_bottom[2 * ox] = f32_of_bits(grad & at.c);
  d_bottom[2 * ox + 1] = f32_of_bits(grad & at.d);
}

TK_CPU_CLONES void max_pool_2x2_bf16(const Window2d& w, int64_t begin, int64_t end, const BFloat16* in, BFloat16* out) {
  const int64_t width = w.width, out_w = w.out_w;
  for (int64_t p = begin; p < end; ++p)
    for (int64_t oy = 0; oy < w.out_h; ++oy) {
      const BFloat16* top = in + p * w.height * width + 2 * oy * width;
      uint16_t* dst = reinterpret_cast<uint16_t*>(out + (p * w.out_h + oy) * out_w);
      for_each_window(out_w, [&](int64_t ox) { max_of_window_bf16(ox, top, top + width, dst); });
    }
}

// MaxPool2d(2)'s overwriting backward for f32 and bf16, choosing by masks
// (other storage takes max_pool_2x2_backward).
template <typename S>
TK_CPU_CLONES void max_pool_2x2_backward_masked(const Window2d& w, int64_t begin, int64_t end, const S* in,
                                                const S* grad_out, S* grad_in) {
  if constexpr (!std::is_same_v<S, float> && !std::is_same_v<S, BFloat16>) {
    max_pool_2x2_backward<false>(w, begin, end, in, grad_out, grad_in);
  } else {
    const int64_t width = w.width, plane_size = w.height * width, out_w = w.out_w;
    for (int64_t p = begin; p < end; ++p) {
      S* dst = grad_in + p * plane_size;
      for (int64_t oy = 0; oy < w.out_h; ++oy) {
        const S* top = in + p * plane_size + 2 * oy * width;
        const S* g = grad_out + (p * w.out_h + oy) * out_w;
        S* d_top = dst + 2 * oy * width;
        for_each_window(out_w, [&](int64_t ox) {
          if constexpr (std::is_same_v<S, float>)
            route_window_f32(ox, top, top + width, g, d_top, d_top + width);
          else
            route_window_bf16(ox, top, top + width, reinterpret_cast<const uint16_t*>(g), d_top, d_top + width);
        });
        for (int64_t x = 2 * out_w; x < width; ++x) d_top[x] = d_top[width + x] = S{};  // an odd width's last column
      }
      for (int64_t i = 2 * w.out_h * width; i < plane_size; ++i) dst[i] = S{};  // an odd height's last row
    }
  }
}

void pool2d_forward(Backend& backend, DType dt, Pool pool, int64_t planes, const Window2d& w, const void* x, void* y) {
  const int threads = as_cpu(backend).threads();
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    const S* in = static_cast<const S*>(x);
    S* out = static_cast<S*>(y);
    const int64_t grain = std::max<int64_t>(1, kMinParallelElements / (w.height * w.width));
    const bool tiled = tiles(w), two_by_two = tiled && w.kernel_h == 2 && w.kernel_w == 2;
    parallel_for(threads, planes, grain, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
      if (pool == Pool::kAverage)
        average_pool_planes(w, begin, end, in, out);
      else if (two_by_two && std::is_same_v<S, BFloat16>)
        max_pool_2x2_bf16(w, begin, end, reinterpret_cast<const BFloat16*>(in), reinterpret_cast<BFloat16*>(out));
      else if (two_by_two)
        max_pool_tiles<2, 2>(w, begin, end, in, out);
      else if (tiled)
        max_pool_tiles<0, 0>(w, begin, end, in, out);
      else
        max_pool_planes(w, begin, end, in, out);
    });
  });
}

void pool2d_backward(Backend& backend, DType dt, Pool pool, int64_t planes, const Window2d& w, const void* x,
                     const void* dy, void* dx, bool accumulate) {
  const int threads = as_cpu(backend).threads();
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    using T = compute_t<S>;
    const S* in = static_cast<const S*>(x);
    const S* grad_out = static_cast<const S*>(dy);
    S* grad_in = static_cast<S*>(dx);
    const int64_t plane_size = w.height * w.width;
    const T area = static_cast<T>(w.kernel_h * w.kernel_w);
    const int64_t grain = std::max<int64_t>(1, kMinParallelElements / plane_size);
    if (pool == Pool::kMax && tiles(w)) {
      const bool two_by_two = w.kernel_h == 2 && w.kernel_w == 2;
      parallel_for(threads, planes, grain, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
        if (two_by_two && accumulate)
          max_pool_2x2_backward<true>(w, begin, end, in, grad_out, grad_in);
        else if (two_by_two)
          max_pool_2x2_backward_masked(w, begin, end, in, grad_out, grad_in);
        else
          max_pool_tiles_backward(w, begin, end, in, grad_out, grad_in, accumulate);
      });
      return;
    }
    parallel_for(threads, planes, grain, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
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
              const int64_t base = row_offset + t.x_offset;
              for (int64_t ox = t.lo; ox < t.hi; ++ox) sums[base + ox * w.stride_w] += load(g[ox]) / area;
            });
            continue;
          }
          // The first maximum in raster order (or the first NaN, as forward
          // picks it) takes each output's gradient. The scan keeps tap indices
          // (32 bits, as f32 values are) and selects rather than branches, so it
          // vectorizes; the positions are worked out once, for the scatter.
          std::fill(best_tap.begin(), best_tap.end(), int32_t{-1});
          for_each_tap(w, taps, oy, [&](int64_t row_offset, const TapColumns& t, int32_t tap) {
            const int64_t base = row_offset + t.x_offset, stride = w.stride_w, lo = t.lo, hi = t.hi;
            int32_t* __restrict tap_of = best_tap.data();
            T* __restrict value_of = best.data();
            for (int64_t ox = lo; ox < hi; ++ox) {
              const T v = load(plane[base + ox * stride]);
              const bool take = tap_of[ox] < 0 || takes_over(value_of[ox], v);
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

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::pool2d_forward, DeviceKind::kCpu, pool2d_forward},
    {kernels::pool2d_backward, DeviceKind::kCpu, pool2d_backward},
};

}  // namespace tk::cpu
