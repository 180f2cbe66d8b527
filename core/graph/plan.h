// A compiled model: graph + loss + compute dtype on one backend. It fixes the
// execution order, the flat layout of parameters, and one activation arena
// whose buffers are shared by liveness. After reserve(), running a batch of
// that size or smaller allocates nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/amp/precision.h"
#include "core/base/input_views.h"
#include "core/backend/buffer.h"
#include "core/dist/replica_sums.h"
#include "core/graph/graph.h"
#include "core/ops/loss/loss.h"

namespace tk {

struct ParamTensor {
  std::string name;  // "<node>.<param>", e.g. "linear_1.weight"
  int node;
  ParamSpec spec;
  int64_t offset;  // in elements into the flat buffer
  int64_t count;
  // Parameters: in elements into the flat gradients, which leave frozen
  // tensors out; -1 while frozen.
  int64_t grad_offset = -1;
};

// Which tensors get gradients, where each lies in the flat gradients, and
// which nodes run backward: what freezing changes. Built aside and swapped
// into a plan, so a change either happens whole or not at all.
struct GradientLayout {
  std::vector<int64_t> grad_offsets;  // per tensor, -1 when frozen
  int64_t flat_grad_count = 0;
  // Per node: whether backward runs it (it has a trainable parameter, or an
  // input whose gradient is needed).
  std::vector<bool> requires_grad;
  // Per node, per parameter: where in `scratch` its backward writes that
  // gradient instead of the flat gradients (-1: not there). A frozen tensor's
  // lands there to be discarded (ops that cannot skip one); a shared tensor's
  // from every use but the first backward reaches, to be added to it. Each
  // parameter of a node has its own place, since ops may combine their
  // parameters' gradients.
  std::vector<std::vector<int64_t>> scratch_offsets;
  Buffer scratch;
};

class Plan {
 public:
  Plan(const Graph& graph, LossKind loss, Reduction reduction, Backend* backend, const PrecisionPolicy& policy);
  // Single precision throughout (f32, or f64 for gradient checks).
  Plan(const Graph& graph, LossKind loss, Reduction reduction, Backend* backend, DType dtype)
      : Plan(graph, loss, reduction, backend, PrecisionPolicy{dtype, dtype}) {}

  Backend* backend() const { return backend_; }
  DType dtype() const { return policy_.master; }  // parameters, gradients, losses
  DType activation_dtype() const { return policy_.activation; }
  const PrecisionPolicy& policy() const { return policy_; }
  // The model as built (what checkpoints describe); the plan runs it fused.
  const Graph& graph() const { return model_; }
  const Loss& loss() const { return *loss_; }
  // The model's input nodes (the fused graph's), in the order batches give them.
  const std::vector<int>& inputs() const { return inputs_; }
  const Node& input(size_t i) const { return graph_.node(inputs_.at(i)); }
  const Shape& output_shape() const { return graph_.node(graph_.output()).shape; }
  // Outputs: 0 is the loss's, then the model's other named outputs in order.
  size_t output_count() const { return graph_.output_count(); }
  const Shape& output_shape(size_t index) const { return graph_.node(graph_.output_at(index).node).shape; }
  Shape target_shape() const { return loss_->target_shape(output_shape()); }

  // Flat parameter layout (elements; each tensor 64-byte aligned). Under mixed
  // precision a half copy with the same layout feeds the half-precision ops.
  const std::vector<ParamTensor>& params() const { return params_; }
  int64_t flat_param_count() const { return flat_param_count_; }
  // Tensor `index`, or kInvalidArgument naming the range.
  const ParamTensor& param(int64_t index) const;
  // Offset in the flat gradients of node's first trainable parameter of its
  // own (not shared from an earlier node), or -1 for a node without any. Later nodes' gradients lie above it. Node
  // indices here and in value(), grad() and backward's after_op are the model's.
  int64_t first_grad_offset(int node) const;
  // Scalar parameters without the alignment padding.
  int64_t param_elements() const;

  // Freezing: `frozen[i]` for params()[i]. Frozen tensors get no gradient:
  // the flat gradients (flat_grad_count() elements) hold the others alone,
  // in the same order, backward computes none for them, and ops that need
  // no input gradient below them are not run backward at all. The arena is
  // laid out again at the next reserve(). With every tensor frozen there is
  // no backward: forward and evaluation only.
  void set_frozen(const std::vector<bool>& frozen) { swap_gradient_layout(gradient_layout(frozen)); }
  // The layout for `frozen`, built without changing the plan (throws
  // kOutOfMemory for its scratch); swapping it in cannot fail and hands back
  // the layout it replaces, which swapped back undoes the change.
  GradientLayout gradient_layout(const std::vector<bool>& frozen) const;
  GradientLayout swap_gradient_layout(GradientLayout next) noexcept;
  bool frozen(int64_t index) const { return param(index).grad_offset < 0; }
  int64_t flat_grad_count() const { return flat_grad_count_; }
  // Seeded He/Xavier/zeros init of the whole flat buffer (device memory).
  void init_params(void* flat_params, uint64_t seed) const;

  // Non-trainable state (batch norm running statistics): its own flat buffer
  // of the master dtype, laid out like the parameters. Empty for most models.
  const std::vector<ParamTensor>& states() const { return states_; }
  int64_t flat_state_count() const { return flat_state_count_; }
  // State tensor `index`, or kInvalidArgument naming the range.
  const ParamTensor& state(int64_t index) const;
  void init_state(void* flat_state) const;

  // Grows the arena to hold `batch` rows; the only call that allocates.
  void reserve(int64_t batch);
  // Plans inference alone: no gradient buffers or backward scratch, values
  // freed as soon as the forward has read them (backward() then refuses).
  void set_forward_only();
  // The parameters will never change while `cache` lives (a predictor's):
  // ops may keep derived forms of them there (packed weights), shared by
  // every plan given the same cache. Laid out again at the next reserve().
  void set_constant_cache(ConstantCache* cache);
  bool forward_only() const { return forward_only_; }
  size_t arena_bytes() const { return arena_.bytes(); }

  // Throws (kShapeMismatch, kDtypeMismatch, kInvalidArgument) if the views do
  // not fit the model; touches nothing. targets may be null.
  void check_batch(const InputViews& inputs, const HostView* targets) const;
  // Copies a checked batch into the arena (reserve() first). The copy may
  // still be reading the caller's memory until the backend next waits for
  // the device (the loss read by forward(), or read_queued()).
  void load_batch(const InputViews& inputs, const HostView* targets);
  int64_t batch() const { return batch_; }

  // Forward over the loaded batch. With targets loaded it returns the reduced
  // loss (NaN without); with loss_grad_scale != 0 it also writes d(loss * scale)/d(output).
  // half_params is the half copy of flat_params (needed when the policy is mixed).
  // flat_state is read (required when flat_state_count() > 0); in training,
  // ops write the updated state into next_state if it is non-null.
  double forward(const void* flat_params, bool training, uint64_t seed, uint64_t stream,
                 double loss_grad_scale, const void* half_params = nullptr, const void* flat_state = nullptr,
                 void* next_state = nullptr);
  // The same forward (with targets loaded) without waiting for the loss: it
  // queues the loss's sum on the backend and returns the ticket; loss_from()
  // turns the queued sum into the loss that forward() would have returned.
  int forward_queued(const void* flat_params, bool training, uint64_t seed, uint64_t stream,
                     double loss_grad_scale, const void* half_params, const void* flat_state, void* next_state);
  double loss_from(double queued_sum) const;
  // The training forward of a step decided on the device: the loss gradient's
  // factor may include a device value (the loss scale), and the rows' loss
  // sum is written to `device_loss_sum` (backend memory); nothing waits.
  void forward_into(const void* flat_params, uint64_t seed, uint64_t stream, GradScale loss_grad_scale,
                    double* device_loss_sum, const void* half_params, const void* flat_state, void* next_state);
  // Whether an op draws random numbers per step (dropout).
  bool draws_per_step() const;
  // From now on, training forwards and backwards normalize batch norm over
  // the rows of every replica behind `communicator` (sync batch norm), which
  // all run the same steps; null: over this plan's rows alone.
  void share_batch_statistics(Communicator* communicator);
  bool shares_batch_statistics() const { return replica_sums_ != nullptr; }
  // Rows the arena is laid out for; the arena's addresses change only when this grows.
  int64_t reserved() const { return reserved_; }
  // Backward after a forward with a loss gradient; overwrites flat_grads. It
  // reuses the loaded batch's memory: load_batch() again before the next forward.
  // after_op, if given, is called with each op's node index as soon as its
  // backward has run (data-parallel bucket all-reduce, profiling).
  void backward(const void* flat_params, void* flat_grads, uint64_t seed, uint64_t stream,
                const void* half_params = nullptr, const std::function<void(int node)>* after_op = nullptr);

  // After forward with targets: correct predictions and how many were judged.
  int64_t count_correct() const;
  int64_t predictions_per_batch() const;
  // After forward: output `index` (or, for the loss's output, softmax/sigmoid
  // probabilities) into caller memory.
  void store_output(bool probabilities, const HostView& out, size_t index = 0);
  // Outputs 0 .. outs.size() - 1 into `outs`; probabilities of output 0 only.
  void store_outputs(bool probabilities, const std::vector<HostView>& outs);
  // Throws unless `out` can take output `index` for `rows` samples (shape,
  // dtype f32/f64), and probabilities are something this loss has (of its
  // own output only).
  void check_predictions(int64_t rows, bool probabilities, const HostView& out, size_t index = 0) const;
  // The same for views of outputs 0 .. outs.size() - 1 (1 to output_count()).
  void check_outputs(int64_t rows, bool probabilities, const std::vector<HostView>& outs) const;

  // What the summed row losses of the loaded batch are divided by: the mean's count, or 1.
  int64_t loss_divisor() const;

  // Where a live node's output and its gradient live in the arena (after
  // reserve()). A fused pair's two nodes have one output buffer.
  void* value(int node) const;
  void* grad(int node) const;

 private:
  // Every op's forward, then (with targets) the per-row loss and its gradient.
  void run_forward(const void* flat_params, bool training, uint64_t seed, uint64_t stream, GradScale loss_grad_scale,
                   const void* half_params, const void* flat_state, void* next_state);
  struct Step {
    int node;
    std::vector<int> dinput_accumulate;  // per input: -1 none, 0 overwrite, 1 add
  };
  // One context per schedule step, pointing into `arena` at the given offsets.
  std::vector<OpContext> build_contexts(char* arena, const std::vector<int64_t>& value_offset,
                                        const std::vector<int64_t>& grad_offset,
                                        const std::vector<int64_t>& saved_offset,
                                        const std::vector<int64_t>& scratch_offset) const;
  // The same for a node of the fused graph.
  void* value_at(int node) const { return arena_at(value_offset_[node]); }
  void* grad_at(int node) const { return arena_at(grad_offset_[node]); }
  void* arena_at(int64_t offset) const { return static_cast<char*>(arena_.data()) + offset; }
  // Sets what changes per call in a context built by reserve(); allocates nothing.
  OpContext& context(size_t step, const void* flat_params, const void* half_params, void* flat_grads,
                     bool training, uint64_t seed, uint64_t stream, const void* flat_state, void* next_state);
  // Lays out the `specs` of the nodes marked in `kept` in one flat buffer (a
  // shared parameter takes its owner's tensor); returns its element count.
  int64_t lay_out(const std::vector<bool>& kept, std::vector<ParamSpec> Node::*specs,
                  std::vector<ParamTensor>* tensors, std::vector<std::vector<int>>* node_tensors,
                  const char* what) const;
  // After node's backward: adds the gradients it wrote to scratch for
  // shared tensors into theirs.
  void add_shared_gradients(int node, void* flat_grads) const;
  void init_flat(const std::vector<ParamTensor>& tensors, int64_t count, uint64_t seed, void* flat) const;

  Graph model_;
  Graph graph_;                // the model fused (core/graph/fusion.h): what runs
  std::vector<int> model_of_;  // graph_ node -> model node
  std::vector<int> node_of_;   // model node -> graph_ node
  std::unique_ptr<Loss> loss_;
  Reduction reduction_;
  Backend* backend_;
  PrecisionPolicy policy_;
  std::vector<int> inputs_;
  // Per input of indices: the smallest index_limit() of the ops reading it.
  std::vector<int64_t> index_limits_;
  std::vector<Step> schedule_;  // live op nodes in topological order
  bool last_forward_training_ = false;  // the last forward ran in training mode
  std::vector<int64_t> saved_per_sample_;  // per node: Op::saved_elements_per_sample()
  std::vector<int64_t> saved_elements_;  // per node: Op::saved_elements() (master dtype)
  std::vector<int64_t> backward_scratch_elements_;  // per node, per sample (activation dtype)
  std::vector<ParamTensor> params_;
  std::vector<std::vector<int>> node_params_;  // node -> indices into params_
  int64_t flat_param_count_ = 0;
  int64_t flat_grad_count_ = 0;
  std::vector<bool> requires_grad_;  // see GradientLayout
  std::vector<std::vector<int64_t>> scratch_offsets_;
  Buffer scratch_grads_;
  std::vector<ParamTensor> states_;
  std::vector<std::vector<int>> node_states_;
  int64_t flat_state_count_ = 0;

  // Arena layout for reserved_ rows; offsets per node value/grad, -1 if absent.
  int64_t reserved_ = 0;
  bool forward_only_ = false;
  ConstantCache* constants_ = nullptr;  // see set_constant_cache
  int64_t batch_ = 0;
  Buffer arena_;
  std::vector<int64_t> value_offset_, grad_offset_;
  std::vector<OpContext> contexts_;  // one per schedule_ entry, pointers into the arena
  std::unique_ptr<ReplicaSums> replica_sums_;  // sync batch norm's, when sharing
  // Earlier groups' sums, kept: a peer of a failed group may still write into them.
  std::vector<std::unique_ptr<ReplicaSums>> retired_replica_sums_;
  Buffer workspace_;                 // ops' scratch (the largest any op asks for)
  int64_t target_offset_ = 0, row_loss_offset_ = 0, probs_offset_ = 0;
  double last_loss_grad_scale_ = 0;
  bool has_targets_ = false;
  // Targets of the loaded batch that take part (not kIgnoreIndex).
  int64_t counted_targets_ = 0;
};

}  // namespace tk
