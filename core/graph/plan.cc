#include "core/graph/plan.h"

#include <algorithm>
#include <limits>
#include <cmath>
#include <utility>
#include <vector>

#include "core/base/error.h"
#include "core/base/host_view.h"
#include "core/base/rng.h"
#include "core/graph/fusion.h"
#include "core/graph/memory_planner.h"
#include "core/kernels/elementwise_kernels.h"
#include "core/kernels/reduce_kernels.h"
#include "core/ops/activation/activation_kernels.h"
#include "core/ops/loss/loss_kernels.h"

namespace tk {
namespace {

// An int32 view's values (token ids, class-index targets), in row-major
// order from any strides.
std::vector<int32_t> int32_values(const HostView& view) {
  std::vector<int32_t> values(static_cast<size_t>(shape_numel(view.shape)));
  copy_from_view(view, DType::kI32, values.data());
  return values;
}

constexpr int64_t kParamAlignElements = 16;

double init_value(const ParamSpec& spec, Rng& rng) {
  const double fan_in = static_cast<double>(spec.fan_in);
  const double fan_sum = static_cast<double>(spec.fan_in + spec.fan_out);
  switch (spec.init) {
    case Init::kZeros:
      return 0.0;
    case Init::kOnes:
      return 1.0;
    case Init::kHeUniform:
      return (2 * rng.uniform() - 1) * std::sqrt(6.0 / fan_in);
    case Init::kHeNormal:
      return rng.normal() * std::sqrt(2.0 / fan_in);
    case Init::kXavierUniform:
      return (2 * rng.uniform() - 1) * std::sqrt(6.0 / fan_sum);
    case Init::kXavierNormal:
      return rng.normal() * std::sqrt(2.0 / fan_sum);
  }
  return 0.0;
}

}  // namespace

Plan::Plan(const Graph& graph, LossKind loss, Reduction reduction, Backend* backend, const PrecisionPolicy& policy)
    : model_(graph), loss_(make_loss(loss)), reduction_(reduction), backend_(backend), policy_(policy) {
  if (policy.master != DType::kF32 && policy.master != DType::kF64)
    fail(ErrorCode::kUnsupported, "master weights are f32 or f64, not ", dtype_name(policy.master));
  if (!dtype_is_float(policy.activation))
    fail(ErrorCode::kUnsupported, "activations are stored as floating point, not ", dtype_name(policy.activation));
  if (model_.output() < 0) fail(ErrorCode::kInvalidArgument, "the model has no output; call tk_model_output first");
  // The plan runs the model with its fusable pairs fused; its node indices
  // outside (value(), after_op, parameters' nodes) stay the model's.
  FusedGraph fused = fuse_activations(model_);
  graph_ = std::move(fused.graph);
  model_of_ = std::move(fused.model_of);
  node_of_ = std::move(fused.node_of);
  inputs_ = graph_.input_nodes();
  if (inputs_.empty()) fail(ErrorCode::kInvalidArgument, "the model has no input; call tk_model_input first");
  loss_->target_shape(output_shape());  // rejects outputs the loss cannot take

  // Live nodes: ancestors of the output. Others are never computed.
  const int n = static_cast<int>(graph_.nodes().size());
  std::vector<bool> live(n, false);
  live[graph_.output()] = true;
  for (const Graph::NamedNode& extra : graph_.extra_outputs()) live[extra.node] = true;
  for (int i = n - 1; i >= 0; --i)
    if (live[i])
      for (int in : graph_.node(i).inputs) live[in] = true;
  for (int input : inputs_)
    if (!live[input])
      fail(ErrorCode::kInvalidArgument, "the output does not depend on the input '", graph_.node(input).name, "'");
  index_limits_.assign(inputs_.size(), std::numeric_limits<int64_t>::max());
  for (size_t i = 0; i < inputs_.size(); ++i)
    for (int node = 0; node < n; ++node)
      if (live[node] && !graph_.node(node).is_input())
        for (size_t k = 0; k < graph_.node(node).inputs.size(); ++k)
          if (graph_.node(node).inputs[k] == inputs_[i])
            index_limits_[i] = std::min(index_limits_[i], graph_.node(node).op->index_limit(static_cast<int>(k)));

  // Flat parameter layout, in node order (with the owners of tensors live
  // nodes share); non-trainable state beside it.
  std::vector<bool> keeps_params = live;
  for (int i = 0; i < n; ++i)
    if (live[i])
      for (const ParamSource& source : graph_.node(i).param_sources)
        if (!source.own()) keeps_params[source.node] = true;
  flat_param_count_ = lay_out(keeps_params, &Node::params, &params_, &node_params_, "parameters");
  flat_state_count_ = lay_out(live, &Node::states, &states_, &node_states_, "state");

  // Backward runs nodes in reverse; the first gradient written into an input
  // overwrites, later ones add. The loss writes the output's gradient first.
  std::vector<bool> grad_written(n, false);
  grad_written[graph_.output()] = true;
  for (int i = n - 1; i >= 0; --i) {
    if (!live[i] || graph_.node(i).is_input()) continue;
    Step step{i, {}};
    for (int in : graph_.node(i).inputs) {
      if (graph_.node(in).is_input()) {
        step.dinput_accumulate.push_back(-1);
      } else {
        step.dinput_accumulate.push_back(grad_written[in] ? 1 : 0);
        grad_written[in] = true;
      }
    }
    schedule_.push_back(step);
  }
  std::reverse(schedule_.begin(), schedule_.end());
  set_frozen(std::vector<bool>(params_.size(), false));

  int64_t workspace = 0;
  saved_elements_.assign(n, 0);
  saved_per_sample_.assign(n, 0);
  backward_scratch_elements_.assign(n, 0);
  for (const Step& step : schedule_) {
    std::vector<Shape> shapes;
    for (int in : graph_.node(step.node).inputs) shapes.push_back(graph_.node(in).shape);
    workspace = std::max(workspace, graph_.node(step.node).op->workspace_elements(shapes));
    saved_elements_[step.node] = graph_.node(step.node).op->saved_elements(shapes);
    saved_per_sample_[step.node] = graph_.node(step.node).op->saved_elements_per_sample(shapes);
    backward_scratch_elements_[step.node] = graph_.node(step.node).op->backward_scratch_elements(shapes);
  }
  workspace_ = Buffer(backend_, checked_size(workspace, dtype_size(policy_.activation), "op workspace"));
}

int64_t Plan::lay_out(const std::vector<bool>& kept, std::vector<ParamSpec> Node::*specs,
                      std::vector<ParamTensor>* tensors, std::vector<std::vector<int>>* node_tensors,
                      const char* what) const {
  int64_t total = 0;
  node_tensors->assign(kept.size(), {});
  for (size_t i = 0; i < kept.size(); ++i) {
    if (!kept[i]) continue;
    const Node& node = graph_.node(static_cast<int>(i));
    for (size_t j = 0; j < (node.*specs).size(); ++j) {
      const ParamSpec& spec = (node.*specs)[j];
      // Owners come first, so a shared tensor is laid out already.
      if (specs == &Node::params && !node.param_sources[j].own()) {
        const ParamSource& source = node.param_sources[j];
        (*node_tensors)[i].push_back((*node_tensors)[source.node].at(source.param));
        continue;
      }
      const int64_t count = shape_numel(spec.shape);
      (*node_tensors)[i].push_back(static_cast<int>(tensors->size()));
      tensors->push_back({node.name + "." + spec.name, model_of_[i], spec, total, count});
      const int64_t padded = (count + kParamAlignElements - 1) / kParamAlignElements * kParamAlignElements;
      if (padded > kMaxBytes / 8 - total)
        fail(ErrorCode::kOutOfMemory, "the model's ", what, " need more than 2^56 bytes");
      total += padded;
    }
  }
  return total;
}

GradientLayout Plan::gradient_layout(const std::vector<bool>& frozen) const {
  if (frozen.size() != params_.size())
    fail(ErrorCode::kInternal, "freezing names ", frozen.size(), " tensors, the model has ", params_.size());
  auto padded = [](int64_t count) { return (count + kParamAlignElements - 1) / kParamAlignElements * kParamAlignElements; };
  GradientLayout layout;
  // Gradients keep the parameters' order and alignment, without the frozen.
  layout.grad_offsets.assign(params_.size(), -1);
  for (size_t i = 0; i < params_.size(); ++i) {
    if (frozen[i]) continue;
    layout.grad_offsets[i] = layout.flat_grad_count;
    layout.flat_grad_count += padded(params_[i].count);
  }
  // Nodes in topological order: a node's gradient is needed when it trains
  // a tensor of its own or one of its inputs' gradients is needed.
  const size_t n = graph_.nodes().size();
  layout.requires_grad.assign(n, false);
  for (size_t node = 0; node < n; ++node) {
    bool needed = false;
    for (int t : node_params_[node]) needed = needed || !frozen[t];
    for (int in : graph_.node(static_cast<int>(node)).inputs) needed = needed || layout.requires_grad[in];
    layout.requires_grad[node] = needed;
  }
  // Gradients written elsewhere: a frozen tensor's where the op cannot skip
  // it, and a shared tensor's from every use after the first that backward
  // reaches (the last in node order), which overwrites it. One node's
  // backward runs at a time, so nodes share the scratch.
  layout.scratch_offsets.assign(n, {});
  std::vector<bool> written(params_.size(), false);
  int64_t scratch = 0;
  for (size_t node = n; node-- > 0;) {
    const std::vector<int>& tensors = node_params_[node];
    layout.scratch_offsets[node].assign(tensors.size(), -1);
    if (!layout.requires_grad[node]) continue;
    const bool skips_frozen = graph_.node(static_cast<int>(node)).op->accepts_null_param_gradients();
    int64_t used = 0;
    for (size_t j = 0; j < tensors.size(); ++j) {
      const int t = tensors[j];
      const bool elsewhere = frozen[t] ? !skips_frozen : written[t];
      written[t] = true;
      if (!elsewhere) continue;
      layout.scratch_offsets[node][j] = used;
      used += padded(params_[t].count);
    }
    scratch = std::max(scratch, used);
  }
  layout.scratch = Buffer(backend_, checked_size(scratch, dtype_size(policy_.master), "gradient scratch"));
  return layout;
}

GradientLayout Plan::swap_gradient_layout(GradientLayout next) noexcept {
  GradientLayout previous;
  previous.grad_offsets.swap(next.grad_offsets);
  for (size_t i = 0; i < params_.size() && i < previous.grad_offsets.size(); ++i)
    std::swap(params_[i].grad_offset, previous.grad_offsets[i]);
  previous.flat_grad_count = flat_grad_count_;
  flat_grad_count_ = next.flat_grad_count;
  previous.requires_grad.swap(requires_grad_);
  requires_grad_.swap(next.requires_grad);
  previous.scratch_offsets.swap(scratch_offsets_);
  scratch_offsets_.swap(next.scratch_offsets);
  previous.scratch = std::move(scratch_grads_);
  scratch_grads_ = std::move(next.scratch);
  reserved_ = 0;  // the arena is laid out again for the gradients now needed
  return previous;
}

int64_t Plan::first_grad_offset(int node) const {
  // A shared tensor lies with its owner's, below; its gradient is whole once the owner's backward has run.
  for (int t : node_params_[node_of_[node]])
    if (params_[t].grad_offset >= 0 && params_[t].node == node) return params_[t].grad_offset;
  return -1;
}

namespace {

const ParamTensor& tensor_at(const std::vector<ParamTensor>& tensors, int64_t index, const char* what) {
  if (index < 0 || index >= static_cast<int64_t>(tensors.size()))
    fail(ErrorCode::kInvalidArgument, what, " index ", index, " is out of range (", tensors.size(), " tensors)");
  return tensors[index];
}

}  // namespace

const ParamTensor& Plan::param(int64_t index) const { return tensor_at(params_, index, "parameter"); }

const ParamTensor& Plan::state(int64_t index) const { return tensor_at(states_, index, "state"); }

int64_t Plan::param_elements() const {
  int64_t total = 0;
  for (const ParamTensor& p : params_) total += p.count;
  return total;
}

void Plan::init_flat(const std::vector<ParamTensor>& tensors, int64_t count, uint64_t seed, void* flat) const {
  if (count == 0) return;
  std::vector<double> values(count, 0.0);
  Rng rng(seed);
  for (const ParamTensor& p : tensors)
    for (int64_t i = 0; i < p.count; ++i) values[p.offset + i] = init_value(p.spec, rng);
  HostView view{values.data(), DType::kF64, {count}, {}};
  backend_->load_host(view, policy_.master, flat);
}

void Plan::init_params(void* flat_params, uint64_t seed) const {
  init_flat(params_, flat_param_count_, seed, flat_params);
}

void Plan::init_state(void* flat_state) const { init_flat(states_, flat_state_count_, 0, flat_state); }

void* Plan::value(int node) const { return value_at(node_of_.at(static_cast<size_t>(node))); }
void* Plan::grad(int node) const { return grad_at(node_of_.at(static_cast<size_t>(node))); }

void Plan::set_forward_only() {
  forward_only_ = true;
  scratch_grads_ = Buffer();  // no backward will write there
  reserved_ = 0;  // the next reserve() lays the arena out again, without gradients
}

void Plan::set_constant_cache(ConstantCache* cache) {
  constants_ = cache;
  reserved_ = 0;  // the contexts are made again, with the slots
}

void Plan::reserve(int64_t batch) {
  if (batch <= reserved_) return;
  // Times: node i runs forward at i, the loss at n, node i backward at 2n - i.
  const int n = static_cast<int>(graph_.nodes().size());
  const int64_t elem = dtype_size(policy_.activation), value_elem = dtype_size(policy_.master);
  std::vector<int> value_last(n, -1), grad_first(n, 2 * n + 1);
  for (const Step& step : schedule_) {
    const Node& node = graph_.node(step.node);
    const bool runs_backward = !forward_only_ && requires_grad_[step.node];
    value_last[step.node] = std::max(value_last[step.node], step.node);
    if (node.op->backward_needs_output() && runs_backward)
      value_last[step.node] = std::max(value_last[step.node], 2 * n - step.node);
    for (int in : node.inputs) {
      const bool kept_for_backward = node.op->backward_needs_inputs() && runs_backward;
      value_last[in] = std::max(value_last[in], kept_for_backward ? 2 * n - step.node : step.node);
      grad_first[in] = std::min(grad_first[in], 2 * n - step.node);
    }
  }
  value_last[graph_.output()] = std::max(value_last[graph_.output()], n);
  for (const Graph::NamedNode& extra : graph_.extra_outputs()) value_last[extra.node] = std::max(value_last[extra.node], n);
  grad_first[graph_.output()] = n;
  std::vector<int> grad_last(n);
  for (int i = 0; i < n; ++i) grad_last[i] = 2 * n - i;

  std::vector<BufferLifetime> buffers;
  enum class Holds { kValue, kGrad, kSaved, kScratch };
  std::vector<std::pair<int, Holds>> owner;  // (node, what), or (-1..-3) for extras
  // Every size is a checked product: a huge batch is refused, never wrapped.
  auto add_bytes = [&](int64_t bytes, int first, int last, int node, Holds holds) {
    buffers.push_back({static_cast<size_t>(bytes), first, last});
    owner.push_back({node, holds});
  };
  auto add = [&](int64_t per_sample_elements, int64_t element_bytes, int first, int last, int node, bool is_grad) {
    add_bytes(checked_size(checked_size(batch, per_sample_elements, "the activation arena"), element_bytes,
                           "the activation arena"),
              first, last, node, is_grad ? Holds::kGrad : Holds::kValue);
  };
  for (int input : inputs_)
    add(shape_numel(graph_.node(input).shape), graph_.node(input).indices ? sizeof(int32_t) : elem, 0,
        std::max(value_last[input], 0), input, false);
  for (const Step& step : schedule_) {
    const int64_t numel = shape_numel(graph_.node(step.node).shape);
    add(numel, elem, step.node, value_last[step.node], step.node, false);
    const bool runs_backward = !forward_only_ && requires_grad_[step.node];
    if (runs_backward) add(numel, elem, grad_first[step.node], grad_last[step.node], step.node, true);
    // What the op's forward keeps for its backward (forward only: written, never read).
    const int64_t saved = saved_elements_[step.node] +
                          static_cast<int64_t>(checked_size(batch, saved_per_sample_[step.node], "an op's saved values"));
    if (saved > 0)
      add_bytes(checked_size(saved, value_elem, "an op's saved values"), step.node,
                runs_backward ? 2 * n - step.node : step.node, step.node, Holds::kSaved);
    // What its backward needs for itself, during that call alone.
    const int64_t scratch = backward_scratch_elements_[step.node];
    if (scratch > 0 && runs_backward)
      add_bytes(checked_size(checked_size(batch, scratch, "an op's backward scratch"), elem, "an op's backward scratch"),
                2 * n - step.node, 2 * n - step.node, step.node, Holds::kScratch);
  }
  const int64_t target_elem = loss_->targets_are_class_indices() ? sizeof(int32_t) : value_elem;
  add(std::max<int64_t>(shape_numel(target_shape()), 1), target_elem, 0, n, -1, false);
  add(loss_->rows_per_sample(output_shape()), value_elem, n, n, -2, false);
  add(shape_numel(output_shape()), elem, n, n, -3, false);

  // Build the new layout aside; the plan changes only once all of it exists.
  MemoryLayout layout = plan_memory(buffers);
  if (layout.arena_bytes > static_cast<size_t>(kMaxBytes))
    fail(ErrorCode::kOutOfMemory, "the activation arena for batch ", batch, " needs more than 2^56 bytes");
  Buffer arena(backend_, layout.arena_bytes);  // throws kOutOfMemory, leaving the plan as it was
  std::vector<int64_t> value_offset(n, -1), grad_offset(n, -1), saved_offset(n, -1), scratch_offset(n, -1);
  int64_t target_offset = 0, row_loss_offset = 0, probs_offset = 0;
  for (size_t b = 0; b < buffers.size(); ++b) {
    auto [node, holds] = owner[b];
    int64_t offset = static_cast<int64_t>(layout.offsets[b]);
    if (node == -1)
      target_offset = offset;
    else if (node == -2)
      row_loss_offset = offset;
    else if (node == -3)
      probs_offset = offset;
    else
      (holds == Holds::kGrad     ? grad_offset
       : holds == Holds::kSaved  ? saved_offset
       : holds == Holds::kScratch ? scratch_offset
                                  : value_offset)[node] = offset;
  }
  std::vector<OpContext> contexts =
      build_contexts(static_cast<char*>(arena.data()), value_offset, grad_offset, saved_offset, scratch_offset);
  arena_ = std::move(arena);
  value_offset_.swap(value_offset);
  grad_offset_.swap(grad_offset);
  contexts_.swap(contexts);
  target_offset_ = target_offset;
  row_loss_offset_ = row_loss_offset;
  probs_offset_ = probs_offset;
  reserved_ = batch;
}

std::vector<OpContext> Plan::build_contexts(char* arena, const std::vector<int64_t>& value_offset,
                                            const std::vector<int64_t>& grad_offset,
                                            const std::vector<int64_t>& saved_offset,
                                            const std::vector<int64_t>& scratch_offset) const {
  std::vector<OpContext> contexts(schedule_.size());
  for (size_t s = 0; s < schedule_.size(); ++s) {
    const Step& step = schedule_[s];
    const Node& node = graph_.node(step.node);
    OpContext& ctx = contexts[s];
    ctx.backend = backend_;
    ctx.dtype = policy_.activation;
    ctx.param_dtype = policy_.param_dtype(node.op->computes_in_half());
    ctx.grad_dtype = policy_.master;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const int in = node.inputs[i];
      const int mode = step.dinput_accumulate[i];
      ctx.input_shapes.push_back(graph_.node(in).shape);
      ctx.inputs.push_back(arena + value_offset[in]);
      ctx.dinputs.push_back(mode < 0 || grad_offset[in] < 0 ? nullptr : arena + grad_offset[in]);
      ctx.accumulate.push_back(mode == 1);
    }
    ctx.output_shape = node.shape;
    ctx.output = arena + value_offset[step.node];
    ctx.doutput = grad_offset[step.node] >= 0 ? arena + grad_offset[step.node] : nullptr;
    ctx.saved = saved_offset[step.node] >= 0 ? arena + saved_offset[step.node] : nullptr;
    ctx.backward_scratch = scratch_offset[step.node] >= 0 ? arena + scratch_offset[step.node] : nullptr;
    ctx.params.assign(node_params_[step.node].size(), nullptr);
    ctx.dparams.assign(node_params_[step.node].size(), nullptr);
    ctx.state.assign(node_states_[step.node].size(), nullptr);
    ctx.next_state.assign(node_states_[step.node].size(), nullptr);
    ctx.workspace = workspace_.data();
    ctx.constants = constants_ ? constants_->slot(step.node) : nullptr;
    ctx.replica_sums = replica_sums_.get();
  }
  return contexts;
}

void Plan::share_batch_statistics(Communicator* communicator) {
  if (replica_sums_) retired_replica_sums_.push_back(std::move(replica_sums_));
  replica_sums_ = communicator ? std::make_unique<ReplicaSums>(communicator) : nullptr;
  for (OpContext& ctx : contexts_) ctx.replica_sums = replica_sums_.get();
}

void Plan::check_batch(const InputViews& inputs, const HostView* targets) const {
  auto describe = [](const Shape& per_sample) {
    Shape full = {-1};
    full.insert(full.end(), per_sample.begin(), per_sample.end());
    std::string text = shape_to_string(full);
    return "[batch" + text.substr(3);
  };
  if (inputs.size() != inputs_.size())
    fail(ErrorCode::kInvalidArgument, "the model takes ", inputs_.size(), " input", inputs_.size() == 1 ? "" : "s",
         ", got ", inputs.size(), " views");
  const int64_t batch = inputs.rows();
  for (size_t i = 0; i < inputs.size(); ++i) {
    const HostView& view = inputs[i];
    const Node& node = input(i);
    // One input keeps the plain wording; several name the one at fault.
    const std::string which = inputs.size() == 1 ? "inputs" : "input '" + node.name + "'";
    if (!view.data) fail(ErrorCode::kNullArgument, "the ", which, " view has no data pointer");
    if (node.indices) {
      if (view.dtype != DType::kI32)
        fail(ErrorCode::kDtypeMismatch, which, " must be i32 indices, got ", dtype_name(view.dtype));
    } else if (view.dtype != DType::kF32 && view.dtype != DType::kF64 && view.dtype != DType::kU8) {
      fail(ErrorCode::kDtypeMismatch, which, " must be f32, f64 or u8, got ", dtype_name(view.dtype));
    }
    const Shape& expected = node.shape;
    if (view.shape.size() != expected.size() + 1 ||
        !std::equal(expected.begin(), expected.end(), view.shape.begin() + 1))
      fail(ErrorCode::kShapeMismatch, which, " have shape ", shape_to_string(view.shape), ", the model expects ",
           describe(expected));
    if (view.shape[0] != batch)
      fail(ErrorCode::kShapeMismatch, which, " have ", view.shape[0], " rows, the first input ", batch);
    if (node.indices) {
      const std::vector<int32_t> ids = int32_values(view);
      for (size_t k = 0; k < ids.size(); ++k)
        if (ids[k] < 0 || ids[k] >= index_limits_[i])
          fail(ErrorCode::kInvalidArgument, which, " element ", k, " is ", ids[k], ", outside [0, ", index_limits_[i],
               ")");
    }
  }
  if (batch <= 0) fail(ErrorCode::kShapeMismatch, "a batch needs at least one sample, got ", batch);
  if (!targets) return;
  if (!targets->data) fail(ErrorCode::kNullArgument, "the target view has no data pointer");
  Shape target = target_shape();
  if (targets->shape.size() != target.size() + 1 || targets->shape[0] != batch ||
      !std::equal(target.begin(), target.end(), targets->shape.begin() + 1))
    fail(ErrorCode::kShapeMismatch, "targets have shape ", shape_to_string(targets->shape), ", the ", loss_->name(),
         " loss expects ", describe(target), " with batch ", batch);
  if (loss_->targets_are_class_indices()) {
    if (targets->dtype != DType::kI32)
      fail(ErrorCode::kDtypeMismatch, loss_->name(), " takes i32 class indices as targets, got ",
           dtype_name(targets->dtype));
    const int64_t classes = output_shape().back();
    const std::vector<int32_t> labels = int32_values(*targets);
    for (size_t i = 0; i < labels.size(); ++i)
      if ((labels[i] < 0 || labels[i] >= classes) && labels[i] != kIgnoreIndex)
        fail(ErrorCode::kInvalidArgument, "target ", i, " is class ", labels[i], ", outside [0, ", classes,
             ") (", kIgnoreIndex, " leaves a target out)");
  } else if (targets->dtype != DType::kF32 && targets->dtype != DType::kF64) {
    fail(ErrorCode::kDtypeMismatch, loss_->name(), " takes f32 or f64 targets, got ", dtype_name(targets->dtype));
  } else if (loss_->targets_are_probabilities()) {
    std::vector<double> values(static_cast<size_t>(shape_numel(targets->shape)));
    copy_from_view(*targets, DType::kF64, values.data());
    for (size_t i = 0; i < values.size(); ++i)
      if (!(values[i] >= 0 && values[i] <= 1))
        fail(ErrorCode::kInvalidArgument, loss_->name(), " targets are probabilities in [0, 1]; element ", i, " is ",
             values[i]);
  }
}

void Plan::load_batch(const InputViews& inputs, const HostView* targets) {
  batch_ = inputs.rows();
  if (batch_ > reserved_) fail(ErrorCode::kInternal, "batch ", batch_, " exceeds the reserved ", reserved_);
  for (size_t i = 0; i < inputs.size(); ++i)
    backend_->load_host_async(inputs[i], input(i).indices ? DType::kI32 : policy_.activation, value_at(inputs_[i]));
  has_targets_ = targets != nullptr;
  if (targets) {
    DType target_dtype = loss_->targets_are_class_indices() ? DType::kI32 : policy_.master;
    backend_->load_host_async(*targets, target_dtype, arena_at(target_offset_));
    counted_targets_ = batch_ * loss_->rows_per_sample(output_shape());
    if (loss_->targets_are_class_indices())
      for (int32_t label : int32_values(*targets)) counted_targets_ -= label == kIgnoreIndex;
  }
}

OpContext& Plan::context(size_t step, const void* flat_params, const void* half_params, void* flat_grads, bool training,
                         uint64_t seed, uint64_t stream, const void* flat_state, void* next_state) {
  OpContext& ctx = contexts_[step];
  const int node = schedule_[step].node;
  ctx.batch = batch_;
  ctx.training = training;
  ctx.seed = seed;
  ctx.stream = mix64(stream) + static_cast<uint64_t>(model_of_[node]);
  // Half-precision ops read the half copy, the rest the master weights.
  const bool reads_half = ctx.param_dtype != policy_.master;
  if (reads_half && !half_params) fail(ErrorCode::kInternal, "a mixed-precision plan ran without half weights");
  const char* weights = static_cast<const char*>(reads_half ? half_params : flat_params);
  for (size_t j = 0; j < node_params_[node].size(); ++j) {
    const int64_t element = params_[node_params_[node][j]].offset;
    ctx.params[j] = const_cast<char*>(weights) + element * dtype_size(ctx.param_dtype);
    // Into the flat gradients, or scratch (see GradientLayout), or nowhere (a frozen tensor the op skips).
    const int64_t grad_element = params_[node_params_[node][j]].grad_offset;
    const int64_t scratch_element = scratch_offsets_[node][j];
    if (!flat_grads)
      ctx.dparams[j] = nullptr;
    else if (scratch_element >= 0)
      ctx.dparams[j] = static_cast<char*>(scratch_grads_.data()) + scratch_element * dtype_size(policy_.master);
    else if (grad_element >= 0)
      ctx.dparams[j] = static_cast<char*>(flat_grads) + grad_element * dtype_size(policy_.master);
    else
      ctx.dparams[j] = nullptr;
  }
  for (size_t j = 0; j < node_states_[node].size(); ++j) {
    const int64_t bytes = states_[node_states_[node][j]].offset * static_cast<int64_t>(dtype_size(policy_.master));
    ctx.state[j] = flat_state ? static_cast<const char*>(flat_state) + bytes : nullptr;
    ctx.next_state[j] = next_state && training ? static_cast<char*>(next_state) + bytes : nullptr;
  }
  return ctx;
}

double Plan::forward(const void* flat_params, bool training, uint64_t seed, uint64_t stream, double loss_grad_scale,
                     const void* half_params, const void* flat_state, void* next_state) {
  if (!has_targets_) {
    run_forward(flat_params, training, seed, stream, 0, half_params, flat_state, next_state);
    return std::nan("");
  }
  backend_->clear_queued();
  const int ticket =
      forward_queued(flat_params, training, seed, stream, loss_grad_scale, half_params, flat_state, next_state);
  return loss_from(backend_->read_queued().at(static_cast<size_t>(ticket)));
}

int Plan::forward_queued(const void* flat_params, bool training, uint64_t seed, uint64_t stream, double loss_grad_scale,
                         const void* half_params, const void* flat_state, void* next_state) {
  if (!has_targets_) fail(ErrorCode::kInternal, "a loss needs targets: load_batch() with targets first");
  run_forward(flat_params, training, seed, stream, loss_grad_scale, half_params, flat_state, next_state);
  return kernels::queue_sum(*backend_, policy_.master, batch_ * loss_->rows_per_sample(output_shape()),
                            arena_at(row_loss_offset_));
}

void Plan::forward_into(const void* flat_params, uint64_t seed, uint64_t stream, GradScale loss_grad_scale,
                        double* device_loss_sum, const void* half_params, const void* flat_state, void* next_state) {
  if (!has_targets_) fail(ErrorCode::kInternal, "a loss needs targets: load_batch() with targets first");
  run_forward(flat_params, true, seed, stream, loss_grad_scale, half_params, flat_state, next_state);
  kernels::sum_into(*backend_, policy_.master, batch_ * loss_->rows_per_sample(output_shape()),
                    arena_at(row_loss_offset_), false, device_loss_sum);
}


bool Plan::draws_per_step() const {
  for (const Step& step : schedule_)
    if (graph_.node(step.node).op->draws_per_step()) return true;
  return false;
}

double Plan::loss_from(double queued_sum) const { return queued_sum / static_cast<double>(loss_divisor()); }

int64_t Plan::loss_divisor() const {
  return reduction_ == Reduction::kMean ? loss_->mean_divisor(batch_, output_shape(), counted_targets_) : 1;
}

void Plan::run_forward(const void* flat_params, bool training, uint64_t seed, uint64_t stream,
                       GradScale loss_grad_scale, const void* half_params, const void* flat_state, void* next_state) {
  if (flat_state_count_ > 0 && !flat_state)
    fail(ErrorCode::kInternal, "a plan with non-trainable state ran without it");
  for (size_t s = 0; s < schedule_.size(); ++s) {
    graph_.node(schedule_[s].node)
        .op->forward(context(s, flat_params, half_params, nullptr, training, seed, stream, flat_state, next_state));
  }
  last_loss_grad_scale_ = 0;
  last_forward_training_ = training;
  if (!has_targets_) return;
  const int64_t divisor = loss_divisor();
  last_loss_grad_scale_ = loss_grad_scale.value;
  const bool with_gradient = loss_grad_scale.value != 0;
  // With every tensor frozen the output has no gradient buffer.
  if (with_gradient && (forward_only_ || !requires_grad_[graph_.output()]))
    fail(ErrorCode::kInvalidArgument, "a loss gradient was asked of a plan that trains no tensor (all are frozen)");
  loss_->compute(backend_, policy_.activation, policy_.master, batch_, output_shape(), value_at(graph_.output()),
                 arena_at(target_offset_), arena_at(row_loss_offset_), with_gradient ? grad_at(graph_.output()) : nullptr,
                 GradScale(loss_grad_scale.value, loss_grad_scale.device, static_cast<double>(divisor)));
}

void Plan::backward(const void* flat_params, void* flat_grads, uint64_t seed, uint64_t stream, const void* half_params,
                    const std::function<void(int node)>* after_op) {
  if (forward_only_) fail(ErrorCode::kInternal, "a forward-only plan has no backward");
  if (last_loss_grad_scale_ == 0) fail(ErrorCode::kInternal, "backward needs a forward with a loss gradient");
  // Ops read what a training forward saved for them (batch norm's statistics).
  if (!last_forward_training_) fail(ErrorCode::kInternal, "backward needs a training forward");
  for (size_t s = schedule_.size(); s-- > 0;) {
    // Below the last trainable tensor nothing needs a gradient.
    if (!requires_grad_[schedule_[s].node]) continue;
    graph_.node(schedule_[s].node)
        .op->backward(context(s, flat_params, half_params, flat_grads, true, seed, stream, nullptr, nullptr));
    add_shared_gradients(schedule_[s].node, flat_grads);
    if (after_op) (*after_op)(model_of_[schedule_[s].node]);
  }
}

void Plan::add_shared_gradients(int node, void* flat_grads) const {
  const size_t bytes = dtype_size(policy_.master);
  for (size_t j = 0; j < node_params_[node].size(); ++j) {
    const ParamTensor& tensor = params_[node_params_[node][j]];
    if (scratch_offsets_[node][j] < 0 || tensor.grad_offset < 0) continue;  // in place, or frozen: discarded
    kernels::axpy(*backend_, policy_.master, tensor.count, 1.0,
                  static_cast<const char*>(scratch_grads_.data()) + scratch_offsets_[node][j] * bytes,
                  static_cast<char*>(flat_grads) + tensor.grad_offset * bytes, true);
  }
}

int64_t Plan::count_correct() const {
  return loss_->count_correct(backend_, policy_.activation, policy_.master, batch_, output_shape(),
                              value_at(graph_.output()), arena_at(target_offset_));
}

int64_t Plan::predictions_per_batch() const {
  return loss_->predictions_per_batch(batch_, output_shape(), counted_targets_);
}

void Plan::check_predictions(int64_t rows, bool probabilities, const HostView& out, size_t index) const {
  if (probabilities && loss_->probabilities() == Loss::Probabilities::kIdentity)
    fail(ErrorCode::kInvalidArgument, "probabilities need a classification loss (softmax cross-entropy or BCE); "
         "an MSE model's outputs are values: predict them with probabilities = 0");
  const Shape& shape = output_shape(index);
  Shape expected = {rows};
  expected.insert(expected.end(), shape.begin(), shape.end());
  // One output keeps the plain wording; several name the one at fault.
  const std::string which =
      output_count() == 1 ? "the output view" : "the view of output '" + graph_.output_at(index).name + "'";
  if (!out.data) fail(ErrorCode::kNullArgument, which, " has no data pointer");
  if (out.shape != expected)
    fail(ErrorCode::kShapeMismatch, which, " has shape ", shape_to_string(out.shape), ", predictions have shape ",
         shape_to_string(expected));
  if (out.dtype != DType::kF32 && out.dtype != DType::kF64)
    fail(ErrorCode::kDtypeMismatch, "predictions are written as f32 or f64, not ", dtype_name(out.dtype));
}

void Plan::check_outputs(int64_t rows, bool probabilities, const std::vector<HostView>& outs) const {
  if (outs.empty() || outs.size() > output_count())
    fail(ErrorCode::kInvalidArgument, "the model has ", output_count(), " output", output_count() == 1 ? "" : "s",
         "; got ", outs.size(), " views (1 to ", output_count(), ")");
  for (size_t i = 0; i < outs.size(); ++i) check_predictions(rows, probabilities && i == 0, outs[i], i);
}

void Plan::store_outputs(bool probabilities, const std::vector<HostView>& outs) {
  for (size_t i = 0; i < outs.size(); ++i) store_output(probabilities && i == 0, outs[i], i);
}

void Plan::store_output(bool probabilities, const HostView& out, size_t index) {
  const DType dt = policy_.activation;
  const void* source = value_at(graph_.output_at(index).node);
  // Probabilities are the loss's: its output's alone; other outputs are values.
  if (index == 0 && probabilities && loss_->probabilities() != Loss::Probabilities::kIdentity) {
    const int64_t count = batch_ * shape_numel(output_shape());
    void* probs = arena_at(probs_offset_);
    if (loss_->probabilities() == Loss::Probabilities::kSoftmax) {
      // Over the classes of each sample, or of each token.
      kernels::softmax(*backend_, dt, batch_ * loss_->rows_per_sample(output_shape()), output_shape().back(), source,
                       probs);
    } else {
      kernels::activation_forward(*backend_, dt, Activation::kSigmoid, count, source, probs);
    }
    source = probs;
  }
  backend_->store_host(dt, source, out);
}

}  // namespace tk
