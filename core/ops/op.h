// The op interface. An op is an immutable description (its attributes) plus
// rules: output shape from input shapes, parameter specs, forward, backward.
// Shapes here are per sample; the batch size arrives in OpContext at run time.
// Ops call Backend primitives only, so they run unchanged on every backend.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/backend/backend.h"
#include "core/kernels/constant_slot.h"
#include "core/base/shape.h"
#include "core/ops/activation/activation_kernels.h"

namespace tk {

class ReplicaSums;

enum class Init { kZeros, kHeUniform, kHeNormal, kXavierUniform, kXavierNormal, kOnes };

struct ParamSpec {
  std::string name;  // "weight", "bias"
  Shape shape;
  Init init;
  int64_t fan_in;
  int64_t fan_out;
  // Whether weight decay applies by default: not to biases and normalization
  // parameters (the convention of BERT, GPT-2 and timm's training recipes).
  bool decays = true;
};

// Everything one forward or backward call sees. Pointers are device memory;
// a null entry in dinputs means that gradient is not needed. The precision
// policy picks the three dtypes; ops pass them through to the backend.
struct OpContext {
  Backend* backend = nullptr;
  DType dtype = DType::kF32;        // activations and their gradients
  DType param_dtype = DType::kF32;  // the weights this op reads
  DType grad_dtype = DType::kF32;   // parameter gradients (master precision)
  int64_t batch = 0;
  bool training = false;
  uint64_t seed = 0;    // for ops with randomness (dropout)
  uint64_t stream = 0;  // distinct per step and node
  std::vector<Shape> input_shapes;
  std::vector<const void*> inputs;
  Shape output_shape;
  void* output = nullptr;
  std::vector<void*> params;
  // Non-trainable state (batch norm's running statistics), master dtype.
  // Forward in training writes the updated values into next_state when it is
  // non-null; the trainer adopts them only when the step commits.
  std::vector<const void*> state;
  std::vector<void*> next_state;
  // Backward only.
  const void* doutput = nullptr;
  std::vector<void*> dinputs;
  std::vector<bool> accumulate;  // add into dinputs[i] instead of overwriting
  std::vector<void*> dparams;    // always overwritten
  void* workspace = nullptr;     // workspace_elements() of dtype, shared by all ops
  // Backward only: backward_scratch_elements() per sample of dtype, this op's alone.
  void* backward_scratch = nullptr;
  // This op's own saved_elements() of the master dtype: what a training
  // forward writes and the backward after it reads.
  void* saved = nullptr;
  // Set when the replicas of a group share their batch statistics (sync
  // batch norm): sums across them, called by every replica alike.
  ReplicaSums* replica_sums = nullptr;
  // Set when the parameters never change for the plan's life (a
  // predictor's): kernels may keep derived forms of them here.
  ConstantSlot* constants = nullptr;
};

// An op's configuration as name/value pairs: what a model spec stores and
// make_op() (registry.cc) rebuilds the op from.
using AttributeValue = std::variant<int64_t, double, bool, std::string>;
struct Attribute {
  std::string name;
  AttributeValue value;
};

class Op;
using OpPtr = std::shared_ptr<const Op>;

class Op {
 public:
  virtual ~Op() = default;
  virtual std::string type() const = 0;
  virtual std::vector<Attribute> attributes() const { return {}; }
  virtual int num_inputs() const { return 1; }
  // Whether input `i` is int32 indices (an embedding's token ids) rather than
  // activations; the graph checks that the node feeding it is of that kind.
  // Indices get no gradient.
  virtual bool takes_indices(int input) const {
    (void)input;
    return false;
  }
  // For an indices input: they must lie in [0, limit) (the vocabulary), which
  // the plan checks on the host before a batch is loaded.
  virtual int64_t index_limit(int input) const {
    (void)input;
    return 0;
  }
  // Throws Error(kShapeMismatch) with a message naming the problem.
  virtual Shape infer_shape(const std::vector<Shape>& inputs) const = 0;
  virtual std::vector<ParamSpec> param_specs(const std::vector<Shape>& inputs) const {
    (void)inputs;
    return {};
  }
  // Non-trainable state the op keeps across steps (not touched by optimizers,
  // saved in checkpoints), laid out like parameters; kZeros or kOnes init.
  virtual std::vector<ParamSpec> state_specs(const std::vector<Shape>& inputs) const {
    (void)inputs;
    return {};
  }
  virtual void forward(const OpContext& ctx) const = 0;
  virtual void backward(const OpContext& ctx) const = 0;
  // Master-dtype elements a training forward keeps for the backward that
  // follows (batch norm's batch statistics); the plan gives each op its own.
  virtual int64_t saved_elements(const std::vector<Shape>& inputs) const {
    (void)inputs;
    return 0;
  }
  // The same, per sample of the batch (attention's row statistics), laid
  // out after saved_elements() in the same block.
  virtual int64_t saved_elements_per_sample(const std::vector<Shape>& inputs) const {
    (void)inputs;
    return 0;
  }
  // Scratch (in elements of the activation dtype) the op needs during one
  // forward or backward call, whatever the batch size.
  virtual int64_t workspace_elements(const std::vector<Shape>& inputs) const {
    (void)inputs;
    return 0;
  }
  // What backward reads, so the memory planner knows how long values live.
  virtual bool backward_needs_inputs() const { return true; }
  virtual bool backward_needs_output() const { return false; }
  // Whether backward skips a parameter's gradient whose dparams entry is null
  // (a frozen tensor); ops that do not get scratch to write it into instead.
  virtual bool accepts_null_param_gradients() const { return false; }
  // Whether forward draws random numbers from the context's per-step stream
  // (dropout), so that a step cannot be recorded once and replayed.
  virtual bool draws_per_step() const { return false; }
  // Its precision class under AMP: true for ops whose matrix products run in
  // half precision (they read the half copy of their weights; PyTorch
  // autocast's "lower precision" list); the others compute in f32.
  virtual bool computes_in_half() const { return false; }
  // The pointwise activation this op is, if it is one (what the ReLU fusion looks for).
  virtual std::optional<Activation> activation() const { return std::nullopt; }
  // The op that also applies `activation` to its result, in the same pass (a
  // Linear's cuBLASLt epilogue, batch norm's pass), or null. The fusion
  // rewrite (core/graph/fusion.h) puts it in place of the pair.
  virtual OpPtr fused_with(Activation activation) const {
    (void)activation;
    return nullptr;
  }
  // Scratch of the activation dtype, per sample, that one backward call needs
  // for itself (a fused op's gradient before its activation); the plan lends
  // it to that call alone.
  virtual int64_t backward_scratch_elements(const std::vector<Shape>& inputs) const {
    (void)inputs;
    return 0;
  }
};

}  // namespace tk
