// A product of two activations per sample: a [..., m, k] times b [..., k, n]
// (or b^T when b is [..., n, k], as in q k^T), over equal leading axes: a
// matrix product per (sample, leading index), through the backend's gemm,
// so it runs on every backend. Backward is two more products per matrix.
#include "core/backend/backend.h"
#include "core/base/error.h"
#include "core/ops/op_schema.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

class Matmul final : public Op {
 public:
  explicit Matmul(bool transpose_b) : transpose_b_(transpose_b) {}
  std::string type() const override { return "matmul"; }
  std::vector<Attribute> attributes() const override { return {{"transpose_b", transpose_b_}}; }
  int num_inputs() const override { return 2; }
  bool computes_in_half() const override { return true; }

  Shape infer_shape(const std::vector<Shape>& in) const override {
    const Shape& a = in[0];
    const Shape& b = in[1];
    if (a.size() < 2 || a.size() != b.size())
      fail(ErrorCode::kShapeMismatch, "matmul takes a [..., m, k] and b [..., k, n] of one rank (2 or more) per sample, got ",
           shape_to_string(a), " and ", shape_to_string(b));
    for (size_t d = 0; d + 2 < a.size(); ++d)
      if (a[d] != b[d])
        fail(ErrorCode::kShapeMismatch, "matmul needs equal leading axes: ", shape_to_string(a), " and ",
             shape_to_string(b));
    const size_t r = a.size();
    const int64_t b_inner = transpose_b_ ? b[r - 1] : b[r - 2];
    if (a[r - 1] != b_inner)
      fail(ErrorCode::kShapeMismatch, "matmul of ", shape_to_string(a), " and ", shape_to_string(b),
           transpose_b_ ? " (b transposed)" : "", ": a's last axis ", a[r - 1], " is not b's ", b_inner);
    Shape out = a;
    out[r - 1] = transpose_b_ ? b[r - 2] : b[r - 1];
    return out;
  }

  void forward(const OpContext& ctx) const override {
    const Dims d = dims(ctx);
    for (int64_t i = 0; i < d.count; ++i)
      ctx.backend->gemm(ctx.dtype, ctx.dtype, ctx.dtype, false, transpose_b_, d.m, d.n, d.k, 1.0, at(ctx.inputs[0], i, d.m * d.k, ctx),
                        at(ctx.inputs[1], i, d.k * d.n, ctx), 0.0, at(ctx.output, i, d.m * d.n, ctx));
  }

  // dA = dC op(B)^T; dB = A^T dC, or dC^T A when b is transposed.
  void backward(const OpContext& ctx) const override {
    const Dims d = dims(ctx);
    for (int64_t i = 0; i < d.count; ++i) {
      const void* a = at(ctx.inputs[0], i, d.m * d.k, ctx);
      const void* b = at(ctx.inputs[1], i, d.k * d.n, ctx);
      const void* dc = at(ctx.doutput, i, d.m * d.n, ctx);
      if (ctx.dinputs[0])
        ctx.backend->gemm(ctx.dtype, ctx.dtype, ctx.dtype, false, !transpose_b_, d.m, d.k, d.n, 1.0, dc, b,
                          ctx.accumulate[0] ? 1.0 : 0.0, at(ctx.dinputs[0], i, d.m * d.k, ctx));
      if (!ctx.dinputs[1]) continue;
      void* db = at(ctx.dinputs[1], i, d.k * d.n, ctx);
      const double beta = ctx.accumulate[1] ? 1.0 : 0.0;
      if (transpose_b_)
        ctx.backend->gemm(ctx.dtype, ctx.dtype, ctx.dtype, true, false, d.n, d.k, d.m, 1.0, dc, a, beta, db);
      else
        ctx.backend->gemm(ctx.dtype, ctx.dtype, ctx.dtype, true, false, d.k, d.n, d.m, 1.0, a, dc, beta, db);
    }
  }

 private:
  struct Dims {
    int64_t count, m, k, n;  // count: matrices in the batch
  };
  Dims dims(const OpContext& ctx) const {
    const Shape& a = ctx.input_shapes[0];
    const size_t r = a.size();
    Dims d{ctx.batch, a[r - 2], a[r - 1], ctx.output_shape[r - 1]};
    for (size_t i = 0; i + 2 < r; ++i) d.count *= a[i];
    return d;
  }
  template <typename P>
  static P at(P base, int64_t index, int64_t elements, const OpContext& ctx) {
    using Byte = std::conditional_t<std::is_const_v<std::remove_pointer_t<P>>, const char, char>;
    return static_cast<P>(static_cast<Byte*>(base) + index * elements * static_cast<int64_t>(dtype_size(ctx.dtype)));
  }
  bool transpose_b_;
};

}  // namespace

OpPtr make_matmul(bool transpose_b) { return std::make_shared<Matmul>(transpose_b); }

namespace {

const bool kRegistered = [] {
  register_op({"matmul", 2, {{"transpose_b", AttributeType::kBool, false, ""}},
               [](const AttributeValues& a) { return make_matmul(a.boolean("transpose_b")); }});
  return true;
}();

}  // namespace
}  // namespace tk
