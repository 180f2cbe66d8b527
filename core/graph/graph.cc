#include "core/graph/graph.h"

#include "core/base/error.h"

namespace tk {

void Graph::check_node(int id, const char* what) const {
  if (id < 0 || id >= static_cast<int>(nodes_.size()))
    fail(ErrorCode::kInvalidArgument, what, " ", id, " is not a node of this model (it has ",
         nodes_.size(), " nodes)");
}

void Graph::check_name_free(const std::string& name) const {
  if (name.empty()) fail(ErrorCode::kInvalidArgument, "a node name must not be empty");
  for (const Node& node : nodes_)
    if (node.name == name) fail(ErrorCode::kInvalidArgument, "a node named '", name, "' already exists");
}

const Node& Graph::node(int id) const {
  check_node(id, "node");
  return nodes_[id];
}

int Graph::find(const std::string& name) const {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].name == name) return static_cast<int>(i);
  return -1;
}

int Graph::add_input(const std::string& name, const Shape& shape, bool indices) {
  if (shape.empty() || static_cast<int>(shape.size()) > kMaxRank - 1)
    fail(ErrorCode::kInvalidArgument, "input '", name, "' needs a per-sample rank from 1 to ", kMaxRank - 1,
         ", got ", shape.size());
  for (int64_t extent : shape)
    if (extent <= 0) fail(ErrorCode::kInvalidArgument, "input '", name, "' has a non-positive extent in ", shape_to_string(shape));
  check_name_free(name);
  shape_numel(shape);  // rejects overflow
  nodes_.push_back(Node{name, nullptr, {}, shape, {}, {}, {}, indices});
  return static_cast<int>(nodes_.size()) - 1;
}

int Graph::add(OpPtr op, const std::vector<int>& inputs, const std::string& name) {
  if (static_cast<int>(inputs.size()) != op->num_inputs())
    fail(ErrorCode::kInvalidArgument, op->type(), " takes ", op->num_inputs(), " inputs, got ", inputs.size());
  std::vector<Shape> shapes;
  for (size_t i = 0; i < inputs.size(); ++i) {
    check_node(inputs[i], "input");
    const Node& in = nodes_[inputs[i]];
    const bool takes = op->takes_indices(static_cast<int>(i));
    if (takes && !in.indices)
      fail(ErrorCode::kDtypeMismatch, op->type(), " takes int32 indices as its input ", i, ", but '", in.name,
           "' holds activations; make it an indices input");
    if (!takes && in.indices)
      fail(ErrorCode::kDtypeMismatch, "'", in.name, "' holds int32 indices, which only ops such as embedding take; ",
           op->type(), " takes activations as its input ", i);
    shapes.push_back(in.shape);
  }
  Shape shape;
  try {
    shape = op->infer_shape(shapes);
  } catch (const Error& e) {
    fail(e.code(), "cannot add ", op->type(), " to node '", nodes_[inputs[0]].name, "': ", e.what());
  }
  std::string node_name = name.empty() ? op->type() + "_" + std::to_string(nodes_.size()) : name;
  check_name_free(node_name);
  shape_numel(shape);
  std::vector<ParamSpec> params = op->param_specs(shapes);
  for (const ParamSpec& spec : params) checked_size(shape_numel(spec.shape), 8, "a parameter");
  std::vector<ParamSpec> states = op->state_specs(shapes);
  for (const ParamSpec& spec : states) checked_size(shape_numel(spec.shape), 8, "a state tensor");
  std::vector<ParamSource> sources(params.size());
  nodes_.push_back(Node{node_name, op, inputs, shape, params, std::move(sources), states});
  return static_cast<int>(nodes_.size()) - 1;
}

void Graph::set_output(int node, const std::string& name) {
  check_node(node, "output");
  if (nodes_[node].is_input()) fail(ErrorCode::kInvalidArgument, "the output must be computed by an op, not be the input '", nodes_[node].name, "'");
  check_output_name_free(name, false);
  output_ = node;
  output_name_ = name;
}

void Graph::add_output(int node, const std::string& name) {
  check_node(node, "output");
  if (nodes_[node].is_input())
    fail(ErrorCode::kInvalidArgument, "an output must be computed by an op, not be the input '", nodes_[node].name, "'");
  if (name.empty()) fail(ErrorCode::kInvalidArgument, "an output needs a name");
  check_output_name_free(name, true);
  extra_outputs_.push_back({node, name});
}

void Graph::check_output_name_free(const std::string& name, bool besides_loss_output) const {
  bool taken = besides_loss_output && output_ >= 0 && output_name_ == name;
  for (const NamedNode& extra : extra_outputs_) taken = taken || extra.name == name;
  if (taken) fail(ErrorCode::kInvalidArgument, "an output named '", name, "' already exists");
}

Graph::NamedNode Graph::output_at(size_t index) const {
  if (index >= output_count())
    fail(ErrorCode::kInvalidArgument, "output ", index, " is out of range (the model has ", output_count(), ")");
  return index == 0 ? NamedNode{output_, output_name_} : extra_outputs_[index - 1];
}

bool Graph::is_output(int node) const {
  if (node == output_) return true;
  for (const NamedNode& extra : extra_outputs_)
    if (extra.node == node) return true;
  return false;
}

namespace {

int param_index(const Node& node, const std::string& param) {
  for (size_t j = 0; j < node.params.size(); ++j)
    if (node.params[j].name == param) return static_cast<int>(j);
  std::string names;
  for (const ParamSpec& spec : node.params) names += (names.empty() ? "" : ", ") + spec.name;
  fail(ErrorCode::kInvalidArgument, "node '", node.name, "' has no parameter '", param, "' (it has ",
       names.empty() ? std::string("none") : names, ")");
}

}  // namespace

void Graph::share_param(int node, const std::string& param, int source, const std::string& source_param) {
  check_node(node, "node");
  check_node(source, "source node");
  Node& user = nodes_[node];
  if (source >= node)
    fail(ErrorCode::kInvalidArgument, "node '", user.name, "' can share a parameter of an earlier node only; '",
         nodes_[source].name, "' comes ", source == node ? "nowhere else (it is the node itself)" : "after it");
  const int j = param_index(user, param);
  ParamSource owner{source, param_index(nodes_[source], source_param)};
  if (!user.param_sources[j].own())
    fail(ErrorCode::kInvalidArgument, "'", user.name, ".", param, "' is shared already");
  const ParamSource& further = nodes_[owner.node].param_sources[owner.param];
  if (!further.own()) owner = further;
  const ParamSpec& kept = nodes_[owner.node].params[owner.param];
  if (kept.shape != user.params[j].shape)
    fail(ErrorCode::kShapeMismatch, "'", user.name, ".", param, "' is ", shape_to_string(user.params[j].shape),
         ", '", nodes_[source].name, ".", source_param, "' ", shape_to_string(kept.shape), ": shared tensors have one shape");
  user.param_sources[j] = owner;
}

void Graph::rename(int node, const std::string& name) {
  check_node(node, "node");
  if (nodes_[node].name == name) return;
  check_name_free(name);
  nodes_[node].name = name;
}

std::vector<int> Graph::input_nodes() const {
  std::vector<int> ids;
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].is_input()) ids.push_back(static_cast<int>(i));
  return ids;
}

int64_t Graph::num_parameters() const {
  int64_t total = 0;
  for (const Node& node : nodes_)
    for (size_t j = 0; j < node.params.size(); ++j) {
      if (!node.param_sources[j].own()) continue;
      total += shape_numel(node.params[j].shape);
      if (total > kMaxBytes) fail(ErrorCode::kOutOfMemory, "the model has more than 2^56 parameters");
    }
  return total;
}

}  // namespace tk
