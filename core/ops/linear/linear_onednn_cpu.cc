// Linear with constant weights (a predictor's) on the CPU through oneDNN's
// matmul: the weights are reordered once into the layout oneDNN picks and
// kept in the node's constant slot, and the bias and ReLU run fused in the
// product. bench/matmul_bench measured this at 1.2x to 3.3x sgemm plus a
// bias pass, most at small batches. f32 and two rows or more only; other
// dtypes, one row, and weights that change (training) take the plain products.
#include <dnnl.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/base/error.h"
#include "core/ops/linear/linear_kernels.h"
#include "core/ops/onednn_cpu.h"

namespace tk::cpu {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;

// A node's weights packed, and a prepared product per batch size.
struct PackedLinear : ConstantSlot::Entry {
  struct Product {
    dnnl::matmul::primitive_desc pd;
    dnnl::matmul matmul;
    memory weights;  // packed in the layout this product wants
  };
  const void* source = nullptr;  // the weights it was made from
  int64_t n = 0, k = 0;
  bool relu = false, has_bias = false;
  std::map<int64_t, Product> by_rows;
  size_t packed_bytes = 0;
  size_t bytes() const override { return packed_bytes; }
};

// Batches of many sizes would each keep a product: past a bound, only the
// weights' packed copies that are still in use remain.
constexpr size_t kMaxBatchSizes = 16;

const PackedLinear::Product& product_for(PackedLinear& packed, int64_t m, const void* w, const void* bias) {
  auto found = packed.by_rows.find(m);
  if (found != packed.by_rows.end()) return found->second;
  if (packed.by_rows.size() >= kMaxBatchSizes) {
    packed.by_rows.clear();
    packed.packed_bytes = 0;
  }
  using dt = memory::data_type;
  dnnl::engine& engine = onednn_engine();
  const memory::desc x_desc({m, packed.k}, dt::f32, Tag::ab), y_desc({m, packed.n}, dt::f32, Tag::ab);
  // W is stored n x k row-major: oneDNN's k x n weights in column-major.
  const memory::desc w_stored({packed.k, packed.n}, dt::f32, Tag::ba), w_any({packed.k, packed.n}, dt::f32, Tag::any);
  const memory::desc b_desc = bias ? memory::desc({1, packed.n}, dt::f32, Tag::ab) : memory::desc();
  dnnl::primitive_attr attr;
  // Its own scratchpad per call: oneDNN's shared one is not safe for
  // predictor calls on several threads at once.
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (packed.relu) {
    dnnl::post_ops relu;
    relu.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(relu);
  }
  PackedLinear::Product p;
  p.pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(x_desc, w_any, b_desc, y_desc), attr, engine);
  p.matmul = dnnl::matmul(p.pd);
  // Reuse a packed copy another batch size chose alike.
  for (const auto& [rows, other] : packed.by_rows)
    if (other.weights.get_desc() == p.pd.weights_desc()) p.weights = other.weights;
  if (!p.weights) {
    p.weights = memory(p.pd.weights_desc(), engine);
    memory stored(w_stored, engine, const_cast<void*>(w));
    dnnl::stream stream(engine);
    dnnl::reorder(stored, p.weights).execute(stream, stored, p.weights);
    stream.wait();
    packed.packed_bytes += p.pd.weights_desc().get_size();
  }
  return packed.by_rows.emplace(m, std::move(p)).first->second;
}

void linear_constant(Backend& backend, DType x_dt, DType w_dt, DType y_dt, int64_t m, int64_t n, int64_t k,
                     const void* x, const void* w, void* y, DType bias_dt, const void* bias, bool relu,
                     ConstantSlot* slot) {
  const bool f32 = x_dt == DType::kF32 && w_dt == DType::kF32 && y_dt == DType::kF32 && (!bias || bias_dt == DType::kF32);
  // One row runs faster as BLAS's matrix-vector product (the per-call cost
  // of a oneDNN execution is most of a one-row product's time).
  if (!slot || !f32 || m <= 1) {
    kernels::linear_constant_composed(backend, x_dt, w_dt, y_dt, m, n, k, x, w, y, bias_dt, bias, relu, slot);
    return;
  }
  const OnednnThreads threads(backend);
  try {
    dnnl::matmul matmul;
    memory weights;
    size_t scratch_bytes = 0;
    memory::desc x_desc, y_desc, b_desc;
    {
      std::lock_guard<std::mutex> lock(slot->mutex);
      auto* packed = dynamic_cast<PackedLinear*>(slot->entry.get());
      // A slot is a node's: the same weights, shapes and epilogue every call.
      if (packed && (packed->source != w || packed->n != n || packed->k != k || packed->relu != relu ||
                     packed->has_bias != (bias != nullptr)))
        fail(ErrorCode::kInternal, "a constant slot was used for other weights");
      if (!packed) {
        auto made = std::make_unique<PackedLinear>();
        made->source = w;
        made->n = n;
        made->k = k;
        made->relu = relu;
        made->has_bias = bias != nullptr;
        packed = made.get();
        slot->entry = std::move(made);
      }
      const PackedLinear::Product& p = product_for(*packed, m, w, bias);
      matmul = p.matmul;
      weights = p.weights;
      scratch_bytes = p.pd.scratchpad_desc().get_size();
      x_desc = p.pd.src_desc();
      y_desc = p.pd.dst_desc();
      if (bias) b_desc = p.pd.bias_desc();
    }
    // Executing one primitive from several threads at once is safe with
    // each call's own memory and scratchpad.
    thread_local std::vector<uint8_t> scratch;
    if (scratch.size() < scratch_bytes) scratch.resize(scratch_bytes);
    dnnl::engine& engine = onednn_engine();
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, memory(x_desc, engine, const_cast<void*>(x))},
        {DNNL_ARG_WEIGHTS, weights},
        {DNNL_ARG_DST, memory(y_desc, engine, y)},
        {DNNL_ARG_SCRATCHPAD, memory(memory::desc({static_cast<int64_t>(scratch_bytes)}, memory::data_type::u8, Tag::a),
                                     engine, scratch.data())}};
    if (bias) args.emplace(DNNL_ARG_BIAS, memory(b_desc, engine, const_cast<void*>(bias)));
    // A stream per thread: making one costs more than a one-row product.
    thread_local dnnl::stream stream(engine);
    matmul.execute(stream, args);
    stream.wait();
  } catch (const dnnl::error& e) {
    fail(ErrorCode::kInternal, "oneDNN matmul failed: ", e.what());
  }
}

}  // namespace

const KernelRegistration kOneDnnRegistrations[] = {
    {kernels::linear_constant, DeviceKind::kCpu, linear_constant},
};

}  // namespace tk::cpu
