// Whole convolutions on the CPU through oneDNN (Debian's libdnnl, the
// OpenMP build, so it shares trainkit's thread pool): its f32 JIT kernels
// work on channel-blocked copies of the images, faster here than im2col plus
// sgemm. trainkit's tensors stay plain NCHW; each call reorders into and out
// of the layouts oneDNN picks. bf16 storage runs oneDNN's bf16 kernels where
// the CPU multiplies bf16 itself (AVX512-BF16, AMX), with f32 weight
// gradients; elsewhere it is widened to f32 and rounded back by trainkit's own
// conversion (oneDNN's bf16 path on AVX2 ran 6x slower than the whole lowered
// step). f64 and f16 are not offered (conv2d.cc lowers them to matrix products).
#include <omp.h>

#include <dnnl.hpp>
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "core/backend/cpu/cpu_backend.h"
#include "core/base/error.h"
#include "core/ops/conv/conv_kernels.h"
#include "core/ops/onednn_cpu.h"

namespace tk::cpu {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;

// One convolution geometry's primitives and the blocked buffers they work
// on (made once per shape and backend, reused every step).
struct Convolution {
  memory::desc src, weights, dst;  // trainkit's plain layouts, in the storage dtype
  memory::desc diff_weights;       // plain, f32 (master weights' gradients)
  dnnl::convolution_forward::primitive_desc forward_pd;
  dnnl::convolution_forward forward;
  dnnl::convolution_backward_data::primitive_desc backward_data_pd;
  dnnl::convolution_backward_data backward_data;
  dnnl::convolution_backward_weights::primitive_desc backward_weights_pd;
  dnnl::convolution_backward_weights backward_weights;
  memory scratchpad;  // the primitives' working memory
  // Buffers in the layouts the primitives chose, by role and layout. A
  // forward call and a backward call never overlap, so they share roles:
  // "input" holds x, "output" y or dy, "weights" the weights.
  std::multimap<std::string, memory> blocked;
  // f32 copies of bf16 operands, by role.
  std::map<std::string, std::vector<float>> widened;
};

using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                       int64_t, int64_t, int64_t, int64_t, int>;

Key key_of(const Conv2dShape& s, memory::data_type dt) {
  const Window2d& w = s.window;
  return {s.batch,    s.out_channels, s.groups,   w.channels, w.height,     w.width,     w.kernel_h,
          w.kernel_w, w.stride_h,     w.stride_w, w.pad_h,    w.pad_w,      w.dilation_h, w.dilation_w,
          static_cast<int>(dt)};
}

// Whether oneDNN runs bf16 convolutions on bf16 instructions here.
bool native_bf16() {
  static const bool native = [] {
    const unsigned isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    return (isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16;
  }();
  return native;
}

constexpr size_t kMaxShapes = 32;

// Every shape's convolution on one backend (null: oneDNN has none for it).
using Convolutions = std::map<Key, std::unique_ptr<Convolution>>;

// Runs fn on the backend's threads; oneDNN's errors become kInternal.
template <typename Fn>
void with_threads(Backend& backend, const Fn& fn) {
  const OnednnThreads threads(backend);
  try {
    fn();
  } catch (const dnnl::error& e) {
    fail(ErrorCode::kInternal, "oneDNN convolution failed: ", e.what());
  }
}

// The primitives for `shape` with `dt` (f32 or bf16) operands on `backend`,
// or null when oneDNN has none for it. They are made on the backend's thread
// count, which oneDNN's kernels fix when they are made.
Convolution* convolution_for(Backend& backend, const Conv2dShape& shape, memory::data_type dt) {
  Convolutions& cache = as_cpu(backend).kernel_state<Convolutions>("onednn_conv2d");
  const Key key = key_of(shape, dt);
  auto found = cache.find(key);
  if (found != cache.end()) return found->second.get();
  // Batches of many sizes (evaluation's last, partial one; predictions)
  // would each keep full-size buffers: past a bound, start over.
  if (cache.size() >= kMaxShapes) cache.clear();
  const Window2d& w = shape.window;
  const int64_t g = shape.groups;
  const memory::dims src_dims = {shape.batch, w.channels, w.height, w.width};
  const memory::dims dst_dims = {shape.batch, shape.out_channels, w.out_h, w.out_w};
  const memory::dims weight_dims = g == 1 ? memory::dims{shape.out_channels, w.channels, w.kernel_h, w.kernel_w}
                                          : memory::dims{g, shape.out_channels / g, w.channels / g, w.kernel_h,
                                                         w.kernel_w};
  const memory::dims strides = {w.stride_h, w.stride_w}, dilation = {w.dilation_h - 1, w.dilation_w - 1};
  const memory::dims pad_l = {w.pad_h, w.pad_w};
  // The right padding that gives exactly out_h x out_w (trainkit's sizes floor).
  const memory::dims pad_r = {(w.out_h - 1) * w.stride_h + (w.kernel_h - 1) * w.dilation_h + 1 - w.height - w.pad_h,
                              (w.out_w - 1) * w.stride_w + (w.kernel_w - 1) * w.dilation_w + 1 - w.width - w.pad_w};
  auto convolution = std::make_unique<Convolution>();
  const OnednnThreads threads(backend);
  try {
    const Tag weight_tag = g == 1 ? Tag::oihw : Tag::goihw;
    convolution->src = memory::desc(src_dims, dt, Tag::nchw);
    convolution->dst = memory::desc(dst_dims, dt, Tag::nchw);
    convolution->weights = memory::desc(weight_dims, dt, weight_tag);
    convolution->diff_weights = memory::desc(weight_dims, memory::data_type::f32, weight_tag);
    const memory::desc src_any(src_dims, dt, Tag::any), dst_any(dst_dims, dt, Tag::any);
    const memory::desc weights_any(weight_dims, dt, Tag::any);
    const memory::desc diff_weights_any(weight_dims, memory::data_type::f32, Tag::any);
    dnnl::engine& engine = onednn_engine();
    // Each convolution's own scratchpad: oneDNN's shared one is not safe for
    // replicas that run convolutions on several threads at once.
    dnnl::primitive_attr own_scratchpad;
    own_scratchpad.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    convolution->forward_pd = dnnl::convolution_forward::primitive_desc(
        dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                        src_any, weights_any, dst_any, strides, dilation, pad_l, pad_r),
        own_scratchpad, engine);
    convolution->backward_data_pd = dnnl::convolution_backward_data::primitive_desc(
        dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, src_any, weights_any, dst_any,
                                              strides, dilation, pad_l, pad_r),
        own_scratchpad, engine, convolution->forward_pd);
    convolution->backward_weights_pd = dnnl::convolution_backward_weights::primitive_desc(
        dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, src_any, diff_weights_any,
                                                 dst_any, strides, dilation, pad_l, pad_r),
        own_scratchpad, engine, convolution->forward_pd);
    size_t scratchpad_bytes = 0;
    for (const memory::desc& d : {convolution->forward_pd.scratchpad_desc(),
                                  convolution->backward_data_pd.scratchpad_desc(),
                                  convolution->backward_weights_pd.scratchpad_desc()})
      scratchpad_bytes = std::max(scratchpad_bytes, d.get_size());
    // One buffer serves all three (they never run at once), as bytes.
    convolution->scratchpad = memory(memory::desc({static_cast<int64_t>(std::max<size_t>(scratchpad_bytes, 1))},
                                                  memory::data_type::u8, Tag::x),
                                     engine);
    convolution->forward = dnnl::convolution_forward(convolution->forward_pd);
    convolution->backward_data = dnnl::convolution_backward_data(convolution->backward_data_pd);
    convolution->backward_weights = dnnl::convolution_backward_weights(convolution->backward_weights_pd);
  } catch (const dnnl::error&) {
    convolution.reset();  // not offered for this shape: remembered as such
  }
  return (cache[key] = std::move(convolution)).get();
}

// The convolution's own buffer for role `name` in layout `desc`.
memory buffer(Convolution& c, const char* name, const memory::desc& desc) {
  const auto [begin, end] = c.blocked.equal_range(name);
  for (auto it = begin; it != end; ++it)
    if (it->second.get_desc() == desc) return it->second;
  return c.blocked.emplace(name, memory(desc, onednn_engine()))->second;
}

// `user` (plain) as the primitive wants it: itself when the layouts agree,
// else the buffer `name` in that layout, filled by a reorder when `fill`.
memory as_layout(Convolution& c, const char* name, const memory::desc& wanted, const memory& user, bool fill,
                 dnnl::stream& stream) {
  if (wanted == user.get_desc()) return user;
  memory blocked = buffer(c, name, wanted);
  if (fill) dnnl::reorder(user, blocked).execute(stream, const_cast<memory&>(user), blocked);
  return blocked;
}

// Copies `result` into the plain `user` memory (adding to it when accumulate).
void store(const memory& result, const memory& user, bool accumulate, dnnl::stream& stream) {
  if (!accumulate && result.get_data_handle() == user.get_data_handle()) return;
  dnnl::primitive_attr attr;
  if (accumulate) {
    dnnl::post_ops sum;
    sum.append_sum(1.0f);
    attr.set_post_ops(sum);
  }
  dnnl::reorder::primitive_desc pd(onednn_engine(), result.get_desc(), onednn_engine(), user.get_desc(), attr);
  dnnl::reorder(pd).execute(stream, const_cast<memory&>(result), const_cast<memory&>(user));
}

// The convolution's scratchpad as the primitive `pd` describes its own.
memory scratchpad(Convolution& c, const dnnl::primitive_desc_base& pd) {
  return memory(pd.scratchpad_desc(), onednn_engine(), c.scratchpad.get_data_handle());
}

memory wrap(const memory::desc& desc, const void* data) { return memory(desc, onednn_engine(), const_cast<void*>(data)); }

// The f32 copy for role `name` of n elements, filled from bf16 `from` if given.
float* widened(Backend& backend, Convolution& c, const char* name, size_t n, const void* from) {
  std::vector<float>& copy = c.widened[name];
  copy.resize(n);
  if (from) as_cpu(backend).convert(DType::kBF16, DType::kF32, static_cast<int64_t>(n), from, copy.data());
  return copy.data();
}

// Elements of an f32 desc (the widened path's convolutions are f32 ones).
size_t elements(const memory::desc& desc) { return desc.get_size() / sizeof(float); }

// In the convolution's own dtype: x, weight and y as its plain descs say.
void forward_onednn(Backend& backend, Convolution* c, const void* x, const void* weight, void* y) {
  with_threads(backend, [&] {
    dnnl::stream stream(onednn_engine());
    const memory user_y = wrap(c->dst, y);
    const memory src = as_layout(*c, "input", c->forward_pd.src_desc(), wrap(c->src, x), true, stream);
    const memory weights =
        as_layout(*c, "weights", c->forward_pd.weights_desc(), wrap(c->weights, weight), true, stream);
    const memory dst = as_layout(*c, "output", c->forward_pd.dst_desc(), user_y, false, stream);
    c->forward.execute(stream, {{DNNL_ARG_SRC, src},
                                {DNNL_ARG_WEIGHTS, weights},
                                {DNNL_ARG_DST, dst},
                                {DNNL_ARG_SCRATCHPAD, scratchpad(*c, c->forward_pd)}});
    store(dst, user_y, false, stream);
    stream.wait();
  });
}

// dweight is always f32; x, weight, dy and dx are in the convolution's dtype.
void backward_onednn(Backend& backend, Convolution* c, const void* x, const void* weight, const void* dy, void* dweight,
                  void* dx, bool accumulate_dx) {
  with_threads(backend, [&] {
    dnnl::stream stream(onednn_engine());
    const memory diff_dst =
        as_layout(*c, "output", c->backward_weights_pd.diff_dst_desc(), wrap(c->dst, dy), true, stream);
    const memory src = as_layout(*c, "input", c->backward_weights_pd.src_desc(), wrap(c->src, x), true, stream);
    const memory user_dweight = wrap(c->diff_weights, dweight);
    const memory diff_weights =
        as_layout(*c, "diff_weights", c->backward_weights_pd.diff_weights_desc(), user_dweight, false, stream);
    c->backward_weights.execute(stream, {{DNNL_ARG_SRC, src},
                                         {DNNL_ARG_DIFF_DST, diff_dst},
                                         {DNNL_ARG_DIFF_WEIGHTS, diff_weights},
                                         {DNNL_ARG_SCRATCHPAD, scratchpad(*c, c->backward_weights_pd)}});
    store(diff_weights, user_dweight, false, stream);
    if (dx) {
      // dy as the weights' gradient had it, unless the data gradient wants another layout.
      const memory diff_dst_data = c->backward_data_pd.diff_dst_desc() == diff_dst.get_desc()
                                       ? diff_dst
                                       : as_layout(*c, "output_for_data", c->backward_data_pd.diff_dst_desc(),
                                                   wrap(c->dst, dy), true, stream);
      const memory weights =
          as_layout(*c, "weights", c->backward_data_pd.weights_desc(), wrap(c->weights, weight), true, stream);
      const memory user_dx = wrap(c->src, dx);
      // Accumulating needs the result apart from dx, then added in.
      const memory::desc& diff_src_desc = c->backward_data_pd.diff_src_desc();
      const memory diff_src = accumulate_dx ? buffer(*c, "input_gradient", diff_src_desc)
                                            : as_layout(*c, "input_gradient", diff_src_desc, user_dx, false, stream);
      c->backward_data.execute(stream, {{DNNL_ARG_DIFF_DST, diff_dst_data},
                                        {DNNL_ARG_WEIGHTS, weights},
                                        {DNNL_ARG_DIFF_SRC, diff_src},
                                        {DNNL_ARG_SCRATCHPAD, scratchpad(*c, c->backward_data_pd)}});
      store(diff_src, user_dx, accumulate_dx, stream);
    }
    stream.wait();
  });
}

// The convolution `dt` storage runs on: its own dtype where oneDNN has native
// kernels for it, else f32 on widened copies.
memory::data_type onednn_dtype(DType dt) {
  return dt == DType::kBF16 && native_bf16() ? memory::data_type::bf16 : memory::data_type::f32;
}

bool conv2d_forward(Backend& backend, DType dt, const Conv2dShape& shape, const void* x, const void* weight, void* y) {
  if (dt != DType::kF32 && dt != DType::kBF16) return false;
  const memory::data_type runs_in = onednn_dtype(dt);
  Convolution* c = convolution_for(backend, shape, runs_in);
  if (!c) return false;
  if (dt == DType::kF32 || runs_in == memory::data_type::bf16) {
    forward_onednn(backend, c, x, weight, y);
    return true;
  }
  float* y32 = widened(backend, *c, "y", elements(c->dst), nullptr);
  forward_onednn(backend, c, widened(backend, *c, "x", elements(c->src), x),
                 widened(backend, *c, "weight", elements(c->weights), weight), y32);
  as_cpu(backend).convert(DType::kF32, DType::kBF16, static_cast<int64_t>(elements(c->dst)), y32, y);
  return true;
}

bool conv2d_backward(Backend& backend, DType dt, DType dw_dt, const Conv2dShape& shape, const void* x,
                     const void* weight, const void* dy, void* dweight, void* dx, bool accumulate_dx) {
  if ((dt != DType::kF32 && dt != DType::kBF16) || dw_dt != DType::kF32) return false;
  const memory::data_type runs_in = onednn_dtype(dt);
  Convolution* c = convolution_for(backend, shape, runs_in);
  if (!c) return false;
  if (dt == DType::kF32 || runs_in == memory::data_type::bf16) {
    backward_onednn(backend, c, x, weight, dy, dweight, dx, accumulate_dx);
    return true;
  }
  const int64_t dx_n = static_cast<int64_t>(elements(c->src));
  float* dx32 = dx ? widened(backend, *c, "dx", elements(c->src), accumulate_dx ? dx : nullptr) : nullptr;
  backward_onednn(backend, c, widened(backend, *c, "x", elements(c->src), x),
                  widened(backend, *c, "weight", elements(c->weights), weight),
                  widened(backend, *c, "dy", elements(c->dst), dy), dweight, dx32, accumulate_dx);
  if (dx) as_cpu(backend).convert(DType::kF32, DType::kBF16, dx_n, dx32, dx);
  return true;
}

}  // namespace

const KernelRegistration kOneDnnRegistrations[] = {
    {kernels::conv2d_forward, DeviceKind::kCpu, conv2d_forward},
    {kernels::conv2d_backward, DeviceKind::kCpu, conv2d_backward},
};

}  // namespace tk::cpu
