// Conv2d over [channels, height, width] (NCHW): weight [out, in / groups, k, k]
// and bias [out] as in PyTorch. Per group, the columns of several images
// (im2col) sit side by side in one matrix, so each group of images is one
// large matrix product instead of one small product per image; the result is
// copied back into each image's planes. Backward recomputes the columns
// instead of storing them. A backend with its own convolutions (cuDNN) takes
// the whole batch in one call instead.
#include <algorithm>

#include "core/kernels/elementwise_kernels.h"
#include "core/kernels/reduce_kernels.h"
#include "core/base/window2d.h"
#include "core/ops/conv/conv_kernels.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

class Conv2d final : public Op {
 public:
  Conv2d(int64_t out_channels, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation, int64_t groups,
         bool bias, Init init, int64_t images_per_product)
      : out_(out_channels),
        kernel_(kernel),
        stride_(stride),
        padding_(padding),
        dilation_(dilation),
        groups_(groups),
        bias_(bias),
        init_(init),
        images_per_product_(images_per_product) {}

  std::string type() const override { return "conv2d"; }
  std::vector<Attribute> attributes() const override {
    return {{"out_channels", out_},
            {"kernel", kernel_},
            {"stride", stride_},
            {"padding", padding_},
            {"dilation", dilation_},
            {"groups", groups_},
            {"bias", bias_},
            {"init", std::string(init_name(init_))},
            {"images_per_product", images_per_product_}};
  }

  Shape infer_shape(const std::vector<Shape>& inputs) const override {
    const Window2d w = window(inputs[0]);
    if (inputs[0][0] % groups_ != 0)
      fail(ErrorCode::kShapeMismatch, "conv2d: ", inputs[0][0], " input channels do not split into ", groups_,
           " groups");
    return {out_, w.out_h, w.out_w};
  }

  std::vector<ParamSpec> param_specs(const std::vector<Shape>& inputs) const override {
    const int64_t per_group = inputs[0][0] / groups_, taps = per_group * kernel_ * kernel_;
    std::vector<ParamSpec> specs = {
        {"weight", {out_, per_group, kernel_, kernel_}, init_, taps, out_ / groups_ * kernel_ * kernel_}};
    if (bias_) specs.push_back({"bias", {out_}, Init::kZeros, taps, out_, false});
    return specs;
  }

  // For one group and a chunk of images: their columns, the columns'
  // gradient, and the product (or the gathered output gradient).
  bool computes_in_half() const override { return true; }

  int64_t workspace_elements(const std::vector<Shape>& inputs) const override {
    const Layout l = layout(inputs[0]);
    return (2 * l.taps + l.out_group) * l.chunk * l.spatial;
  }

  void forward(const OpContext& ctx) const override {
    const Layout l = layout(ctx.input_shapes[0]);
    // A device library's whole convolution where one is offered, else lowered to products.
    if (ctx.dtype == ctx.param_dtype && kernels::conv2d_forward.offered(*ctx.backend) &&
        kernels::conv2d_forward(*ctx.backend, ctx.dtype, whole(ctx), ctx.inputs[0], ctx.params[0], ctx.output)) {
      if (bias_)
        kernels::channel_bias_add(*ctx.backend, ctx.dtype, ctx.param_dtype, ctx.batch, out_, l.spatial, ctx.params[1],
                                  ctx.output);
      return;
    }
    const Scratch w = scratch(ctx, l);
    for (int64_t n0 = 0; n0 < ctx.batch; n0 += l.chunk) {
      const int64_t images = std::min(l.chunk, ctx.batch - n0), width = images * l.spatial;
      for (int64_t g = 0; g < groups_; ++g) {
        image_columns(ctx, l, n0, images, g, w.columns);
        // One image writes its planes directly; several go through the matrix.
        void* y = images == 1 ? plane(ctx, ctx.output, n0, g, l) : w.matrix;
        ctx.backend->gemm(ctx.param_dtype, ctx.dtype, ctx.dtype, false, false, l.out_group, width, l.taps, 1.0,
                          weight(ctx, g, l), w.columns, 0.0, y);
        if (images > 1) copy_planes(ctx, l, n0, images, g, ctx.output, w.matrix, false);
      }
    }
    if (bias_)
      kernels::channel_bias_add(*ctx.backend, ctx.dtype, ctx.param_dtype, ctx.batch, out_, l.spatial, ctx.params[1],
                                ctx.output);
  }

  void backward(const OpContext& ctx) const override {
    const Layout l = layout(ctx.input_shapes[0]);
    Backend& b = *ctx.backend;
    if (ctx.dtype == ctx.param_dtype && kernels::conv2d_backward.offered(b) &&
        kernels::conv2d_backward(b, ctx.dtype, ctx.grad_dtype, whole(ctx), ctx.inputs[0], ctx.params[0], ctx.doutput,
                                 ctx.dparams[0], ctx.dinputs[0], ctx.accumulate[0])) {
      if (bias_)
        kernels::channel_sum(b, ctx.dtype, ctx.grad_dtype, ctx.batch, out_, l.spatial, ctx.doutput, ctx.dparams[1],
                             false);
      return;
    }
    const Scratch w = scratch(ctx, l);
    void* doutput = const_cast<void*>(ctx.doutput);
    for (int64_t n0 = 0; n0 < ctx.batch; n0 += l.chunk) {
      const int64_t images = std::min(l.chunk, ctx.batch - n0), width = images * l.spatial;
      for (int64_t g = 0; g < groups_; ++g) {
        image_columns(ctx, l, n0, images, g, w.columns);
        // The images' output gradients side by side, as their columns are.
        const void* dy = plane(ctx, doutput, n0, g, l);
        if (images > 1) {
          copy_planes(ctx, l, n0, images, g, doutput, w.matrix, true);
          dy = w.matrix;
        }
        // dW_g (+)= dY columns^T; dcolumns = W_g^T dY, folded back into each image.
        void* dweight = at(ctx.dparams[0], ctx.grad_dtype, g * l.out_group * l.taps);
        b.gemm(ctx.dtype, ctx.dtype, ctx.grad_dtype, false, true, l.out_group, l.taps, width, 1.0, dy, w.columns,
               n0 == 0 ? 0.0 : 1.0, dweight);
        if (!ctx.dinputs[0]) continue;
        b.gemm(ctx.param_dtype, ctx.dtype, ctx.dtype, true, false, l.taps, width, l.out_group, 1.0, weight(ctx, g, l),
               dy, 0.0, w.column_grads);
        for (int64_t j = 0; j < images; ++j)
          kernels::col2im(b, ctx.dtype, l.group_window, at(w.column_grads, ctx, j * l.spatial), width,
                          at(ctx.dinputs[0], ctx, ((n0 + j) * groups_ + g) * l.in_group), ctx.accumulate[0]);
      }
    }
    if (bias_)
      kernels::channel_sum(b, ctx.dtype, ctx.grad_dtype, ctx.batch, out_, l.spatial, ctx.doutput, ctx.dparams[1],
                           false);
  }

 private:
  // When the chunk size is automatic: columns of at most this many elements
  // (16 MiB in f32) and at most kMaxChunk images per product, large enough
  // for BLAS to run near its peak, small enough to keep the workspace modest.
  static constexpr int64_t kColumnBudget = int64_t{1} << 22;
  static constexpr int64_t kMaxChunk = 64;

  struct Layout {
    Window2d group_window;  // over one group's channels
    int64_t in_group;       // elements of one group's input channels
    int64_t out_group;      // output channels per group
    int64_t taps;           // rows of the columns matrix
    int64_t spatial;        // out_h * out_w
    int64_t chunk;          // images per matrix product
  };

  // The whole batch, for a backend that convolves it in one call.
  Conv2dShape whole(const OpContext& ctx) const { return {ctx.batch, out_, groups_, window(ctx.input_shapes[0])}; }

  Window2d window(const Shape& input) const {
    return make_window("conv2d", input, kernel_, stride_, padding_, dilation_);
  }

  Layout layout(const Shape& in) const {
    Window2d w = window(in);
    w.channels = in[0] / groups_;
    const int64_t taps = w.channels * kernel_ * kernel_, spatial = w.out_h * w.out_w;
    const int64_t chunk = images_per_product_ > 0 ? images_per_product_
                                                  : std::clamp<int64_t>(kColumnBudget / (taps * spatial), 1, kMaxChunk);
    return {w, w.channels * in[1] * in[2], out_ / groups_, taps, spatial, chunk};
  }

  // The workspace_elements() split: a chunk's columns, their gradient, and
  // one [out_group, chunk * spatial] matrix (products, or gathered gradients).
  struct Scratch {
    void* columns;
    void* column_grads;
    void* matrix;
  };
  static Scratch scratch(const OpContext& ctx, const Layout& l) {
    const int64_t columns = l.taps * l.chunk * l.spatial;
    return {ctx.workspace, at(ctx.workspace, ctx, columns), at(ctx.workspace, ctx, 2 * columns)};
  }

  // im2col of images [n0, n0 + images) of group g, side by side in `columns`.
  void image_columns(const OpContext& ctx, const Layout& l, int64_t n0, int64_t images, int64_t g,
                     void* columns) const {
    for (int64_t j = 0; j < images; ++j)
      kernels::im2col(*ctx.backend, ctx.dtype, l.group_window,
                      at(ctx.inputs[0], ctx, ((n0 + j) * groups_ + g) * l.in_group), at(columns, ctx, j * l.spatial),
                      images * l.spatial);
  }

  // Between the images' [out_group, spatial] planes of group g in `planes`
  // (NCHW) and `matrix`, where they sit side by side: into the matrix, or back.
  void copy_planes(const OpContext& ctx, const Layout& l, int64_t n0, int64_t images, int64_t g, void* planes,
                   void* matrix, bool into_matrix) const {
    const int64_t width = images * l.spatial;
    for (int64_t j = 0; j < images; ++j) {
      void* image = plane(ctx, planes, n0 + j, g, l);
      void* block = at(matrix, ctx, j * l.spatial);
      if (into_matrix)
        kernels::copy_2d(*ctx.backend, ctx.dtype, l.out_group, l.spatial, image, l.spatial, block, width);
      else
        kernels::copy_2d(*ctx.backend, ctx.dtype, l.out_group, l.spatial, block, width, image, l.spatial);
    }
  }

  // Image n's planes of group g in an [batch, out, spatial] tensor.
  void* plane(const OpContext& ctx, void* base, int64_t n, int64_t g, const Layout& l) const {
    return at(base, ctx, (n * groups_ + g) * l.out_group * l.spatial);
  }
  const void* weight(const OpContext& ctx, int64_t g, const Layout& l) const {
    return at(ctx.params[0], ctx.param_dtype, g * l.out_group * l.taps);
  }

  static void* at(const void* base, DType dtype, int64_t element) {
    return const_cast<char*>(static_cast<const char*>(base)) + element * static_cast<int64_t>(dtype_size(dtype));
  }
  static void* at(const void* base, const OpContext& ctx, int64_t element) { return at(base, ctx.dtype, element); }

  int64_t out_, kernel_, stride_, padding_, dilation_, groups_;
  bool bias_;
  Init init_;
  int64_t images_per_product_;  // 0: from kColumnBudget
};

}  // namespace

OpPtr make_conv2d(int64_t out_channels, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation,
                  int64_t groups, bool bias, Init weight_init, int64_t images_per_product) {
  check_window_arguments("conv2d", kernel, stride, padding, dilation);
  if (out_channels < 1 || groups < 1 || out_channels % groups != 0)
    fail(ErrorCode::kInvalidArgument, "conv2d needs out_channels >= 1 divisible by groups >= 1; got ", out_channels,
         " and ", groups);
  if (images_per_product < 0 || images_per_product > (int64_t{1} << 20))
    fail(ErrorCode::kInvalidArgument, "conv2d images_per_product must be in [0, 2^20] (0: automatic), got ",
         images_per_product);
  return std::make_shared<Conv2d>(out_channels, kernel, stride, padding, dilation, groups, bias, weight_init,
                                  images_per_product);
}

}  // namespace tk
