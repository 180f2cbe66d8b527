// The model as a DAG of named nodes. A node may only take earlier nodes as
// inputs, so insertion order is a topological order. Shapes are inferred as
// nodes are added, so a bad model fails at the call that makes it bad.
#pragma once

#include <string>
#include <vector>

#include "core/base/shape.h"
#include "core/ops/op.h"

namespace tk {

// Where a node's parameter is kept: in a tensor of its own, or in an earlier
// node's (weight tying: a language model's output projection reading its
// token embedding). A shared tensor is one tensor to optimizers, checkpoints
// and imports, named after its owner; its gradient sums every use.
struct ParamSource {
  int node = -1;   // the owner, or -1 for the node's own tensor
  int param = -1;  // the owner's parameter index
  bool own() const { return node < 0; }
};

struct Node {
  std::string name;
  OpPtr op;  // null for an input node
  std::vector<int> inputs;
  Shape shape;  // per sample
  std::vector<ParamSpec> params;
  std::vector<ParamSource> param_sources;  // one per params entry
  std::vector<ParamSpec> states;  // non-trainable (Op::state_specs)
  // An input of int32 indices (token ids, categories) rather than
  // activations: stored as given, fed only to ops that take indices.
  bool indices = false;
  bool is_input() const { return op == nullptr; }
};

class Graph {
 public:
  int add_input(const std::string& name, const Shape& shape, bool indices = false);
  // Adds op over the given inputs; an empty name becomes "<type>_<id>".
  int add(OpPtr op, const std::vector<int>& inputs, const std::string& name = "");
  void set_output(int node, const std::string& name);
  // Another named output: predictions read it beside the loss's output (a
  // sentence embedding beside a classifier's logits). Names are unique
  // among outputs; inputs cannot be outputs.
  void add_output(int node, const std::string& name);
  // Makes node's parameter `param` the earlier node source's `source_param`
  // (of the same shape; a tensor shared already is followed to its owner).
  // Throws kInvalidArgument naming the node, the parameter and the problem.
  void share_param(int node, const std::string& param, int source, const std::string& source_param);
  void rename(int node, const std::string& name);

  const std::vector<Node>& nodes() const { return nodes_; }
  const Node& node(int id) const;
  int find(const std::string& name) const;  // -1 if no node has that name
  int output() const { return output_; }  // -1 until set
  const std::string& output_name() const { return output_name_; }
  struct NamedNode {
    int node;
    std::string name;
  };
  const std::vector<NamedNode>& extra_outputs() const { return extra_outputs_; }
  // Every output: 0 is the loss's (set_output), then the others in the order added.
  size_t output_count() const { return 1 + extra_outputs_.size(); }
  // Output `index`; kInvalidArgument past the outputs.
  NamedNode output_at(size_t index) const;
  bool is_output(int node) const;
  std::vector<int> input_nodes() const;  // in the order they were added: the order batches give them
  int64_t num_parameters() const;  // shared tensors once

 private:
  void check_node(int id, const char* what) const;
  void check_name_free(const std::string& name) const;
  // Refuses an output name another output has, the loss's output aside when `besides_loss_output`.
  void check_output_name_free(const std::string& name, bool besides_loss_output) const;

  std::vector<Node> nodes_;
  int output_ = -1;
  std::string output_name_;
  std::vector<NamedNode> extra_outputs_;
};

}  // namespace tk
