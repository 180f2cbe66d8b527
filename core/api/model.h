// Model: the graph a host builds node by node (or reads from a model spec),
// which a Trainer is then made from. Every op goes through the op registry
// (core/ops/op_schema.h), so any registered op can be added by name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/shape.h"
#include "core/graph/graph.h"

namespace tk {

class Model {
 public:
  // Model specs (core/io/model_spec.h); throw kInvalidArgument or kIo.
  static Model from_spec(const std::string& json);
  static Model load_spec(const std::string& path);
  std::string spec() const;
  void save_spec(const std::string& path) const;  // atomic

  // indices: int32 indices (token ids) fed to ops such as embedding.
  int add_input(const std::string& name, const Shape& shape, bool indices = false);
  // Adds a registered op over the given nodes. Throws kInvalidArgument naming
  // the op (and the attribute) for an unknown op, a wrong input count, or a
  // missing, unknown or wrong-typed attribute.
  int add_op(const std::string& type, const std::vector<int>& inputs, const std::vector<Attribute>& attributes);
  // The same with the attributes as the text of a JSON object of numbers,
  // booleans and strings ("" for none).
  int add_op(const std::string& type, const std::vector<int>& inputs, const std::string& attributes_json);

  // Multi-head attention over `query` [seq, width]: Linear projections
  // "<name>.query", ".key", ".value" (of `context`: query itself for
  // self-attention), the attention op "<name>.heads" (masked by `mask`
  // unless it is -1; keep_mask: 1 attends, 0 hides) and the output projection
  // "<name>.out", which it returns. An empty name becomes "attention_<id>".
  int add_multi_head_attention(int query, int context, int mask, int64_t heads, bool causal, bool keep_mask,
                               const std::string& name);

  void set_output(int node, const std::string& name) { graph_.set_output(node, name); }
  void add_output(int node, const std::string& name) { graph_.add_output(node, name); }
  void rename(int node, const std::string& name) { graph_.rename(node, name); }
  void share_param(int node, const std::string& param, int source, const std::string& source_param) {
    graph_.share_param(node, param, source, source_param);
  }
  const std::string& node_name(int node) const { return graph_.node(node).name; }
  const Shape& node_shape(int node) const { return graph_.node(node).shape; }
  int64_t num_parameters() const { return graph_.num_parameters(); }

  const Graph& graph() const { return graph_; }

 private:
  Graph graph_;
};

}  // namespace tk
