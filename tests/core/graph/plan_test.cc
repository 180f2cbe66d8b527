// The compiled plan: whole-model gradients against finite differences, memory
// reuse by liveness, and no allocation in steady-state steps.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/backend/cpu/cpu_backend.h"
#include "core/base/error.h"
#include "core/base/rng.h"
#include "core/graph/memory_planner.h"
#include "core/graph/plan.h"
#include "core/ops/activation/activation_kernels.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

// x -> linear -> gelu -> add(x) -> tanh -> dropout -> linear -> (+ sigmoid(x) branch) -> linear
// x feeds three consumers, so its gradient is written once and added twice.
Graph residual_graph() {
  Graph g;
  int x = g.add_input("x", {6});
  int h = g.add(make_linear(6, true, Init::kHeNormal), {x});
  h = g.add(make_activation(Activation::kGelu), {h});
  h = g.add(make_add(), {x, h});
  h = g.add(make_activation(Activation::kTanh), {h});
  h = g.add(make_dropout(0.25), {h});
  h = g.add(make_linear(6, true, Init::kXavierUniform), {h});
  int side = g.add(make_activation(Activation::kSigmoid), {x});
  h = g.add(make_add(), {h, side});
  int out = g.add(make_linear(4, true, Init::kHeUniform), {h});
  g.set_output(out, "logits");
  return g;
}

// Checks every parameter's gradient of a 6-feature, 4-class model against
// central differences in f64; returns how many it checked.
int check_gradients(const Graph& graph) {
  cpu::CpuBackend backend(1);
  Plan plan(graph, LossKind::kSoftmaxCrossEntropy, Reduction::kMean, &backend, DType::kF64);
  const int64_t batch = 5;
  std::vector<double> params(plan.flat_param_count()), grads(plan.flat_param_count());
  plan.init_params(params.data(), 3);
  // Running statistics, if any: read in training only to be updated (not here).
  std::vector<double> state(static_cast<size_t>(std::max<int64_t>(plan.flat_state_count(), 1)));
  plan.init_state(state.data());
  Rng rng(9);
  std::vector<double> x(batch * 6);
  for (double& v : x) v = 2 * rng.uniform() - 1;
  std::vector<int32_t> labels = {0, 1, 2, 3, 1};
  HostView inputs{x.data(), DType::kF64, {batch, 6}, {}};
  HostView targets{labels.data(), DType::kI32, {batch}, {}};
  plan.check_batch(inputs, &targets);
  plan.reserve(batch);
  plan.load_batch(inputs, &targets);
  plan.forward(params.data(), true, 1, 2, 1.0, nullptr, state.data());
  plan.backward(params.data(), grads.data(), 1, 2);

  int checked = 0;
  for (const ParamTensor& p : plan.params()) {
    for (int64_t i = 0; i < p.count; ++i) {
      double& w = params[p.offset + i];
      const double saved = w, h = 1e-6;
      // Backward reuses the batch's memory, so each forward loads it again.
      w = saved + h;
      plan.load_batch(inputs, &targets);
      const double plus = plan.forward(params.data(), true, 1, 2, 0.0, nullptr, state.data());
      w = saved - h;
      plan.load_batch(inputs, &targets);
      const double minus = plan.forward(params.data(), true, 1, 2, 0.0, nullptr, state.data());
      w = saved;
      const double numeric = (plus - minus) / (2 * h), analytic = grads[p.offset + i];
      const double error = std::abs(analytic - numeric) / std::max({std::abs(analytic), std::abs(numeric), 1e-2});
      EXPECT_LT(error, 1e-6) << p.name << "[" << i << "]: analytic " << analytic << " numeric " << numeric;
      ++checked;
    }
  }
  return checked;
}

TEST(PlanGradientTest, WholeModelGradientMatchesFiniteDifferences) {
  EXPECT_EQ(check_gradients(residual_graph()), 6 * 6 + 6 + 6 * 6 + 6 + 4 * 6 + 4);
}

// x -> linear -> relu -> linear -> relu -> linear: both ReLUs fused into their Linears.
Graph relu_mlp(bool bias) {
  Graph g;
  int h = g.add_input("x", {6});
  for (int i = 0; i < 2; ++i) {
    h = g.add(make_linear(7, bias, Init::kHeNormal), {h});
    h = g.add(make_activation(Activation::kRelu), {h});
  }
  g.set_output(g.add(make_linear(4, true, Init::kHeUniform), {h}), "logits");
  return g;
}

TEST(PlanGradientTest, ReluFusedIntoLinearMatchesFiniteDifferences) {
  EXPECT_EQ(check_gradients(relu_mlp(true)), (6 * 7 + 7) + (7 * 7 + 7) + (7 * 4 + 4));
}

// x -> linear -> batch_norm -> relu -> linear: the ReLU fused into the batch
// norm, forward and backward.
Graph norm_relu_mlp() {
  Graph g;
  int h = g.add_input("x", {6});
  h = g.add(make_linear(7, true, Init::kHeNormal), {h});
  h = g.add(make_batch_norm(1e-5, 0.1), {h});
  h = g.add(make_activation(Activation::kRelu), {h});
  g.set_output(g.add(make_linear(4, true, Init::kHeUniform), {h}), "logits");
  return g;
}

TEST(PlanGradientTest, ReluFusedIntoBatchNormMatchesFiniteDifferences) {
  EXPECT_EQ(check_gradients(norm_relu_mlp()), (6 * 7 + 7) + (7 + 7) + (7 * 4 + 4));
  cpu::CpuBackend backend(1);
  Plan plan(norm_relu_mlp(), LossKind::kSoftmaxCrossEntropy, Reduction::kMean, &backend, DType::kF64);
  plan.reserve(5);
  // Nodes: 0 input, 1 linear, 2 batch_norm, 3 relu, 4 linear: the norm and its ReLU share one buffer.
  EXPECT_EQ(plan.value(2), plan.value(3));
}

// Counts the activation passes a plan launches: while one exists, the CPU's
// activation kernels are wrapped by counting ones.
class CountingKernels {
 public:
  CountingKernels() {
    forward_ = swap(kernels::activation_forward, &count_forward);
    backward_ = swap(kernels::activation_backward, &count_backward);
    forwards = backwards = 0;
  }
  ~CountingKernels() {
    swap(kernels::activation_forward, forward_);
    swap(kernels::activation_backward, backward_);
  }
  static inline int forwards = 0, backwards = 0;

 private:
  using Forward = decltype(kernels::activation_forward)::Fn;
  using Backward = decltype(kernels::activation_backward)::Fn;
  template <typename K>
  static typename K::Fn swap(const K& kernel, typename K::Fn fn) {
    return reinterpret_cast<typename K::Fn>(
        KernelTable::global().replace(kernel.name(), DeviceKind::kCpu, reinterpret_cast<ErasedKernel>(fn)));
  }
  static void count_forward(Backend& b, DType dt, Activation act, int64_t n, const void* x, void* y) {
    ++forwards;
    forward_(b, dt, act, n, x, y);
  }
  static void count_backward(Backend& b, DType dt, Activation act, int64_t n, const void* x, const void* y,
                             const void* dy, void* dx, bool accumulate) {
    ++backwards;
    backward_(b, dt, act, n, x, y, dy, dx, accumulate);
  }
  static inline Forward forward_ = nullptr;
  static inline Backward backward_ = nullptr;
};

// Forward and backward of one batch of 5 on `graph`; the activation passes counted.
// A plan over a 6-feature model with parameters, state and a loaded batch of 5.
struct LoadedPlan {
  LoadedPlan(const Graph& graph, Backend* backend)
      : plan(graph, LossKind::kSoftmaxCrossEntropy, Reduction::kMean, backend, DType::kF32),
        params(plan.flat_param_count()),
        grads(plan.flat_param_count()),
        state(static_cast<size_t>(std::max<int64_t>(plan.flat_state_count(), 1))) {
    plan.init_params(params.data(), 1);
    plan.init_state(state.data());
    HostView targets{labels.data(), DType::kI32, {5}, {}};
    plan.reserve(5);
    plan.load_batch(HostView{x.data(), DType::kF32, {5, 6}, {}}, &targets);
  }
  void forward(bool training) { plan.forward(params.data(), training, 1, 2, 1.0, nullptr, state.data()); }
  void backward() { plan.backward(params.data(), grads.data(), 1, 2); }

  Plan plan;
  std::vector<float> params, grads, state, x = std::vector<float>(5 * 6, 0.5f);
  std::vector<int32_t> labels = std::vector<int32_t>(5, 1);
};

struct Passes {
  int forwards, backwards;
};
Passes count_activation_passes(const Graph& graph) {
  cpu::CpuBackend backend(1);
  CountingKernels counting;
  LoadedPlan loaded(graph, &backend);
  loaded.forward(true);
  loaded.backward();
  return {CountingKernels::forwards, CountingKernels::backwards};
}

TEST(PlanTest, FusedReluPassesAreNotLaunched) {
  // Linear + ReLU: the ReLU's forward is in the product's pass; its backward runs.
  const Passes linear = count_activation_passes(relu_mlp(true));
  EXPECT_EQ(linear.forwards, 0);
  EXPECT_EQ(linear.backwards, 2);
  // Batch norm + ReLU: both directions are in the norm's passes.
  const Passes norm = count_activation_passes(norm_relu_mlp());
  EXPECT_EQ(norm.forwards, 0);
  EXPECT_EQ(norm.backwards, 0);
  // Without bias, a Linear applies no ReLU: both passes run.
  const Passes plain = count_activation_passes(relu_mlp(false));
  EXPECT_EQ(plain.forwards, 2);
  EXPECT_EQ(plain.backwards, 2);
}

TEST(PlanTest, BackwardNeedsATrainingForward) {
  cpu::CpuBackend backend(1);
  LoadedPlan loaded(norm_relu_mlp(), &backend);
  loaded.forward(false);
  // Batch norm's saved statistics were not written: backward refuses.
  try {
    loaded.backward();
    FAIL() << "backward ran after an evaluation forward";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInternal) << e.what();
  }
}

TEST(PlanTest, ALinearWhoseReluItAppliesStoresNoOutputOfItsOwn) {
  cpu::CpuBackend backend(1);
  for (bool bias : {true, false}) {
    Plan plan(relu_mlp(bias), LossKind::kSoftmaxCrossEntropy, Reduction::kMean, &backend, DType::kF32);
    plan.reserve(8);
    // Nodes: 0 input, 1 linear, 2 relu, 3 linear, 4 relu, 5 linear. Only a
    // Linear with bias applies its ReLU (the epilogue adds the bias).
    EXPECT_EQ(plan.value(1) == plan.value(2), bias);
    EXPECT_EQ(plan.value(3) == plan.value(4), bias);
    EXPECT_NE(plan.value(2), plan.value(4));
  }
}

TEST(PlanTest, ParametersAreNamedAndAligned) {
  cpu::CpuBackend backend(1);
  Plan plan(residual_graph(), LossKind::kSoftmaxCrossEntropy, Reduction::kMean, &backend, DType::kF32);
  ASSERT_EQ(plan.params().size(), 6u);
  EXPECT_EQ(plan.params()[0].name, "linear_1.weight");
  EXPECT_EQ(plan.params()[1].name, "linear_1.bias");
  for (const ParamTensor& p : plan.params()) EXPECT_EQ(p.offset % 16, 0) << p.name;
}

TEST(PlanTest, ArenaReusesMemoryAcrossLifetimes) {
  Graph g;
  int h = g.add_input("x", {256});
  for (int i = 0; i < 8; ++i) {
    h = g.add(make_linear(256, true, Init::kHeUniform), {h});
    h = g.add(make_activation(Activation::kRelu), {h});
  }
  h = g.add(make_linear(10, true, Init::kHeUniform), {h});
  g.set_output(h, "logits");
  cpu::CpuBackend backend(1);
  Plan plan(g, LossKind::kSoftmaxCrossEntropy, Reduction::kMean, &backend, DType::kF32);
  plan.reserve(32);
  // Without reuse: a value and a gradient per node plus the input.
  const size_t one = 32 * 256 * 4, naive = one * (1 + 2 * 16);
  EXPECT_LT(plan.arena_bytes(), naive) << "arena " << plan.arena_bytes() << " naive " << naive;
}

TEST(PlanTest, StepsAfterReserveAllocateNothing) {
  cpu::CpuBackend backend(2);
  Plan plan(residual_graph(), LossKind::kSoftmaxCrossEntropy, Reduction::kMean, &backend, DType::kF32);
  std::vector<float> params(plan.flat_param_count()), grads(plan.flat_param_count()), x(8 * 6, 0.5f);
  plan.init_params(params.data(), 1);
  std::vector<int32_t> labels(8, 1);
  plan.reserve(8);
  const uint64_t before = backend.allocation_count();
  for (int64_t batch : {8, 3, 8}) {
    HostView inputs{x.data(), DType::kF32, {batch, 6}, {}};
    HostView targets{labels.data(), DType::kI32, {batch}, {}};
    plan.load_batch(inputs, &targets);
    plan.forward(params.data(), true, 1, 2, 1.0);
    plan.backward(params.data(), grads.data(), 1, 2);
  }
  EXPECT_EQ(backend.allocation_count(), before);
}

TEST(PlanTest, RejectsBatchesThatDoNotFit) {
  cpu::CpuBackend backend(1);
  Plan plan(residual_graph(), LossKind::kSoftmaxCrossEntropy, Reduction::kMean, &backend, DType::kF32);
  std::vector<float> x(4 * 7);
  std::vector<int32_t> labels = {0, 1, 2, 9};
  std::vector<float> float_labels(4);
  try {
    HostView wrong{x.data(), DType::kF32, {4, 7}, {}};
    plan.check_batch(wrong, nullptr);
    FAIL() << "a [4, 7] batch was accepted for a [batch, 6] input";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kShapeMismatch);
    EXPECT_NE(std::string(e.what()).find("[batch, 6]"), std::string::npos) << e.what();
  }
  HostView inputs{x.data(), DType::kF32, {4, 6}, {}};
  HostView bad_label{labels.data(), DType::kI32, {4}, {}};
  EXPECT_THROW(plan.check_batch(inputs, &bad_label), Error);  // class 9 of 4
  HostView float_targets{float_labels.data(), DType::kF32, {4}, {}};
  EXPECT_THROW(plan.check_batch(inputs, &float_targets), Error);
  HostView short_targets{labels.data(), DType::kI32, {3}, {}};
  EXPECT_THROW(plan.check_batch(inputs, &short_targets), Error);
}

// Weight tying: x -> a (linear, relu fused) -> b (linear, no bias, a's
// weight) -> tanh -> c (linear, b's weight: a's again) -> linear. The shared
// weight's gradient is the sum over its three uses, one of them fused.
Graph tied_graph() {
  Graph g;
  int h = g.add_input("x", {6});
  const int a = g.add(make_linear(6, true, Init::kHeNormal), {h}, "a");
  h = g.add(make_activation(Activation::kRelu), {a});
  const int b = g.add(make_linear(6, false, Init::kHeNormal), {h}, "b");
  g.share_param(b, "weight", a, "weight");
  h = g.add(make_activation(Activation::kTanh), {b});
  const int c = g.add(make_linear(6, true, Init::kHeNormal), {h}, "c");
  g.share_param(c, "weight", b, "weight");
  g.set_output(g.add(make_linear(4, true, Init::kHeUniform), {c}, "out"), "logits");
  return g;
}

TEST(PlanGradientTest, SharedWeightGradientSumsEveryUse) {
  EXPECT_EQ(check_gradients(tied_graph()), (6 * 6 + 6) + 6 + (6 * 4 + 4));
}

TEST(PlanTest, ASharedWeightIsOneTensorNamedAfterItsOwner) {
  const Graph g = tied_graph();
  EXPECT_EQ(g.num_parameters(), (6 * 6 + 6) + 6 + (6 * 4 + 4));
  cpu::CpuBackend backend(1);
  Plan plan(g, LossKind::kSoftmaxCrossEntropy, Reduction::kMean, &backend, DType::kF32);
  std::vector<std::string> names;
  for (const ParamTensor& p : plan.params()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"a.weight", "a.bias", "c.bias", "out.weight", "out.bias"}));
  // The gradient of c's own tensors lies above b's and a's: a's weight is whole only after a's backward.
  EXPECT_EQ(plan.first_grad_offset(g.find("c")), plan.params()[2].grad_offset);
  EXPECT_EQ(plan.first_grad_offset(g.find("b")), -1);
  EXPECT_EQ(plan.first_grad_offset(g.find("a")), 0);
}

TEST(PlanTest, AFrozenSharedWeightGetsNoGradientFromAnyUse) {
  cpu::CpuBackend backend(1);
  Plan plan(tied_graph(), LossKind::kSoftmaxCrossEntropy, Reduction::kMean, &backend, DType::kF64);
  plan.set_frozen({true, false, false, false, false});
  const int64_t batch = 3;
  std::vector<double> params(plan.flat_param_count()), grads(plan.flat_grad_count(), 7.0);
  plan.init_params(params.data(), 3);
  std::vector<double> x(batch * 6, 0.5);
  std::vector<int32_t> labels = {0, 1, 2};
  HostView inputs{x.data(), DType::kF64, {batch, 6}, {}};
  HostView targets{labels.data(), DType::kI32, {batch}, {}};
  plan.reserve(batch);
  plan.load_batch(inputs, &targets);
  plan.forward(params.data(), true, 1, 2, 1.0);
  plan.backward(params.data(), grads.data(), 1, 2);
  // The frozen weight has no place in the gradients; a's bias still gets one (through b and c).
  EXPECT_EQ(plan.flat_grad_count(), plan.flat_param_count() - 48);
  for (const ParamTensor& p : plan.params()) {
    if (p.grad_offset < 0) continue;
    for (int64_t i = 0; i < p.count; ++i) EXPECT_NE(grads[p.grad_offset + i], 7.0) << p.name << "[" << i << "]";
  }
}

TEST(GraphTest, SharingRefusesWhatCannotBeOneTensor) {
  Graph g;
  int x = g.add_input("x", {6});
  const int a = g.add(make_linear(6, true, Init::kHeNormal), {x}, "a");
  const int narrow = g.add(make_linear(3, false, Init::kHeNormal), {a}, "narrow");
  const int b = g.add(make_linear(6, false, Init::kHeNormal), {a}, "b");
  auto refused = [](auto&& call, ErrorCode code, const std::string& words) {
    try {
      call();
      ADD_FAILURE() << "accepted; expected: " << words;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), code) << e.what();
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  refused([&] { g.share_param(narrow, "weight", a, "weight"); }, ErrorCode::kShapeMismatch, "[3, 6]");
  refused([&] { g.share_param(a, "weight", b, "weight"); }, ErrorCode::kInvalidArgument, "earlier node");
  refused([&] { g.share_param(b, "weight", b, "weight"); }, ErrorCode::kInvalidArgument, "earlier node");
  refused([&] { g.share_param(b, "gamma", a, "weight"); }, ErrorCode::kInvalidArgument, "no parameter 'gamma'");
  refused([&] { g.share_param(b, "weight", x, "weight"); }, ErrorCode::kInvalidArgument, "has no parameter");
  refused([&] { g.share_param(b, "weight", a, "bias"); }, ErrorCode::kShapeMismatch, "one shape");
  g.share_param(b, "weight", a, "weight");
  refused([&] { g.share_param(b, "weight", a, "weight"); }, ErrorCode::kInvalidArgument, "shared already");
}

TEST(GraphTest, ShapeErrorsNameTheProblem) {
  Graph g;
  int a = g.add_input("a", {3});
  int b = g.add(make_linear(4, true, Init::kHeUniform), {a});
  try {
    g.add(make_add(), {a, b});
    FAIL() << "add of [3] and [4] was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kShapeMismatch);
    EXPECT_NE(std::string(e.what()).find("[3] and [4]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(g.add(make_activation(Activation::kRelu), {99}), Error);
  EXPECT_THROW(g.add_input("a", {2}), Error);  // duplicate name
}

TEST(MemoryPlannerTest, OverlappingLifetimesNeverShareBytes) {
  Rng rng(4);
  std::vector<BufferLifetime> buffers;
  for (int i = 0; i < 200; ++i) {
    int first = static_cast<int>(rng.next_u64() % 50);
    buffers.push_back({1 + rng.next_u64() % 5000, first, first + static_cast<int>(rng.next_u64() % 10)});
  }
  MemoryLayout layout = plan_memory(buffers);
  size_t total = 0;
  for (size_t i = 0; i < buffers.size(); ++i) {
    total += buffers[i].bytes;
    EXPECT_EQ(layout.offsets[i] % 64, 0u);
    EXPECT_LE(layout.offsets[i] + buffers[i].bytes, layout.arena_bytes);
    for (size_t j = 0; j < i; ++j) {
      bool live_together = buffers[i].first <= buffers[j].last && buffers[j].first <= buffers[i].last;
      bool share = layout.offsets[i] < layout.offsets[j] + buffers[j].bytes &&
                   layout.offsets[j] < layout.offsets[i] + buffers[i].bytes;
      EXPECT_FALSE(live_together && share) << "buffers " << i << " and " << j;
    }
  }
  EXPECT_LT(layout.arena_bytes, total);
}

}  // namespace
}  // namespace tk
