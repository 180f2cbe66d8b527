// Times one training step of a model op by op on one device and writes the
// profile bench/dp_projection.py projects data-parallel scaling from: forward,
// each op's backward (in execution order, with the gradient bytes it
// finishes and where they sit in the flat buffer), and the optimizer pass.
//
//   backward_profile [--model wide|mlp|cnn] [--batch N] [--device cpu|N]
//                    [--precision fp32|fp16|bf16] [--reps N] [--out FILE]
//
// Times are the median over --reps steps, with the device synchronized
// around each op (which slows a GPU step a little: the profile errs long).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/backend/device.h"
#include "core/backend/tensor.h"
#include "core/base/error.h"
#include "core/base/rng.h"
#include "core/graph/plan.h"
#include "core/kernels/elementwise_kernels.h"
#include "core/ops/ops.h"
#include "core/optim/optimizer.h"

namespace tk {
namespace {

using Clock = std::chrono::steady_clock;

Graph build(const std::string& name, Shape* sample, int64_t* classes) {
  Graph g;
  int h;
  if (name == "wide") {  // the CUDA issue's wide MLP: 4 x Linear 4096
    *sample = {4096};
    *classes = 4096;
    h = g.add_input("x", *sample);
    for (int l = 0; l < 4; ++l) {
      if (l > 0) h = g.add(make_activation(Activation::kRelu), {h});
      h = g.add(make_linear(4096, true, Init::kHeUniform), {h});
    }
  } else if (name == "quickstart") {  // the quickstart MLP 10-1000-100-10
    *sample = {10};
    *classes = 10;
    h = g.add_input("x", *sample);
    h = g.add(make_linear(1000, true, Init::kHeUniform), {h});
    h = g.add(make_activation(Activation::kRelu), {h});
    h = g.add(make_linear(100, true, Init::kHeUniform), {h});
    h = g.add(make_activation(Activation::kRelu), {h});
    h = g.add(make_linear(10, true, Init::kHeUniform), {h});
  } else if (name == "mlp") {  // the Fashion-MNIST MLP
    *sample = {784};
    *classes = 10;
    h = g.add_input("x", *sample);
    h = g.add(make_linear(256, true, Init::kHeUniform), {h});
    h = g.add(make_activation(Activation::kRelu), {h});
    h = g.add(make_linear(128, true, Init::kHeUniform), {h});
    h = g.add(make_activation(Activation::kRelu), {h});
    h = g.add(make_linear(10, true, Init::kHeUniform), {h});
  } else if (name == "cnn") {  // samples/c/fashion_mnist_cnn.c
    *sample = {1, 28, 28};
    *classes = 10;
    h = g.add_input("x", *sample);
    for (int64_t channels : {32, 64}) {
      h = g.add(make_conv2d(channels, 3, 1, 1, 1, 1, false, Init::kHeUniform), {h});
      h = g.add(make_batch_norm(1e-5, 0.1), {h});
      h = g.add(make_activation(Activation::kRelu), {h});
      h = g.add(make_max_pool2d(2, 2, 0), {h});
    }
    h = g.add(make_flatten(), {h});
    h = g.add(make_linear(128, true, Init::kHeUniform), {h});
    h = g.add(make_activation(Activation::kRelu), {h});
    h = g.add(make_linear(10, true, Init::kHeUniform), {h});
  } else {
    fail(ErrorCode::kInvalidArgument, "unknown model '", name, "' (wide, quickstart, mlp, cnn)");
  }
  g.set_output(h, "logits");
  return g;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int run(int argc, char** argv) {
  std::string model = "wide", device_name = "cpu", precision_name = "fp32", out = "profile.json";
  int64_t batch = 64;
  int reps = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--model") model = value;
    else if (flag == "--batch") batch = std::atoll(value.c_str());
    else if (flag == "--device") device_name = value;
    else if (flag == "--precision") precision_name = value;
    else if (flag == "--reps") reps = std::atoi(value.c_str());
    else if (flag == "--out") out = value;
    else fail(ErrorCode::kInvalidArgument, "unknown flag ", flag);
  }
  const Precision precision = precision_name == "fp16" ? Precision::kFp16
                              : precision_name == "bf16" ? Precision::kBf16
                                                         : Precision::kFp32;
  Shape sample;
  int64_t classes = 0;
  const Graph graph = build(model, &sample, &classes);
  std::unique_ptr<Backend> backend = make_backend(device_name == "cpu" ? kDeviceCpu : std::atoi(device_name.c_str()), 0);
  const PrecisionPolicy policy = make_precision_policy(precision, DType::kF32);
  Plan plan(graph, LossKind::kSoftmaxCrossEntropy, Reduction::kMean, backend.get(), policy);
  const Shape flat = {plan.flat_param_count()};
  Tensor params(backend.get(), DType::kF32, flat), grads(backend.get(), DType::kF32, flat), half;
  if (policy.mixed()) half = Tensor(backend.get(), policy.activation, flat);
  Tensor state, next_state;
  if (plan.flat_state_count() > 0) {
    state = Tensor(backend.get(), DType::kF32, {plan.flat_state_count()});
    next_state = Tensor(backend.get(), DType::kF32, {plan.flat_state_count()});
    plan.init_state(state.data());
  }
  plan.init_params(params.data(), 1);
  if (policy.mixed()) kernels::convert(*backend, DType::kF32, policy.activation, flat[0], params.data(), half.data());
  OptimizerConfig adam;
  adam.kind = OptimizerKind::kAdam;
  std::unique_ptr<Optimizer> optimizer = make_optimizer(adam, backend.get(), DType::kF32, flat[0]);
  plan.reserve(batch);
  std::vector<float> x(batch * shape_numel(sample));
  std::vector<int32_t> y(batch);
  Rng rng(2);
  for (float& v : x) v = static_cast<float>(rng.normal());
  for (int32_t& v : y) v = static_cast<int32_t>(rng.next_u64() % classes);
  Shape x_shape = {batch};
  x_shape.insert(x_shape.end(), sample.begin(), sample.end());
  const HostView inputs{x.data(), DType::kF32, x_shape, {}}, targets{y.data(), DType::kI32, {batch}, {}};

  // Per node: where its gradients sit in the flat buffer.
  std::map<int, std::pair<int64_t, int64_t>> node_bytes;  // node -> (offset, bytes)
  for (const ParamTensor& p : plan.params()) {
    auto [it, fresh] = node_bytes.try_emplace(p.node, p.offset * 4, 0);
    it->second.first = std::min(it->second.first, p.offset * 4);
    it->second.second += p.count * 4;
  }
  const void* half_params = policy.mixed() ? half.data() : nullptr;
  std::vector<double> forward_times, optimizer_times;
  std::map<int, std::vector<double>> backward_times;
  std::vector<int> order;
  for (int rep = 0; rep < reps + 1; ++rep) {  // the first is a warm-up
    plan.load_batch(inputs, &targets);
    backend->synchronize();
    auto start = Clock::now();
    plan.forward(params.data(), true, 1, rep, 1.0, half_params, state.data(), next_state.data());
    backend->synchronize();
    if (rep > 0) forward_times.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    auto last = Clock::now();
    order.clear();
    const std::function<void(int)> after_op = [&](int node) {
      backend->synchronize();
      const auto now = Clock::now();
      if (rep > 0) backward_times[node].push_back(std::chrono::duration<double>(now - last).count());
      order.push_back(node);
      last = now;
    };
    plan.backward(params.data(), grads.data(), 1, rep, half_params, &after_op);
    start = Clock::now();
    optimizer->step(params.data(), grads.data(), 1.0, 1e-4);
    backend->synchronize();
    if (rep > 0) optimizer_times.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }

  FILE* f = std::fopen(out.c_str(), "w");
  if (!f) fail(ErrorCode::kIo, "cannot write ", out);
  std::fprintf(f, "{\n \"model\": \"%s\", \"device\": \"%s\", \"precision\": \"%s\", \"batch\": %lld,\n", model.c_str(),
               backend->name(), precision_name.c_str(), static_cast<long long>(batch));
  std::fprintf(f, " \"gradient_bytes\": %lld, \"forward_seconds\": %.9f, \"optimizer_seconds\": %.9f,\n",
               static_cast<long long>(plan.flat_param_count() * 4), median(forward_times), median(optimizer_times));
  std::fprintf(f, " \"backward\": [\n");
  for (size_t i = 0; i < order.size(); ++i) {
    const int node = order[i];
    const auto it = node_bytes.find(node);
    std::fprintf(f, "  {\"node\": \"%s\", \"seconds\": %.9f, \"param_offset_bytes\": %lld, \"param_bytes\": %lld}%s\n",
                 graph.node(node).name.c_str(), median(backward_times[node]),
                 static_cast<long long>(it == node_bytes.end() ? 0 : it->second.first),
                 static_cast<long long>(it == node_bytes.end() ? 0 : it->second.second), i + 1 < order.size() ? "," : "");
  }
  std::fprintf(f, " ]\n}\n");
  std::fclose(f);
  std::printf("wrote %s: %s on %s, batch %lld, forward %.3f ms, optimizer %.3f ms\n", out.c_str(), model.c_str(),
              backend->name(), static_cast<long long>(batch), 1e3 * median(forward_times),
              1e3 * median(optimizer_times));
  return 0;
}

}  // namespace
}  // namespace tk

int main(int argc, char** argv) {
  try {
    return tk::run(argc, argv);
  } catch (const tk::Error& e) {
    std::fprintf(stderr, "backward_profile: %s\n", e.what());
    return 1;
  }
}
