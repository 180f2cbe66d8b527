#include "core/graph/fusion.h"

namespace tk {

FusedGraph fuse_activations(const Graph& model) {
  const int n = static_cast<int>(model.nodes().size());
  std::vector<bool> live(n, false);
  if (model.output() >= 0) live[model.output()] = true;
  for (const Graph::NamedNode& extra : model.extra_outputs()) live[extra.node] = true;
  for (int i = n - 1; i >= 0; --i)
    if (live[i])
      for (int in : model.node(i).inputs) live[in] = true;
  std::vector<int> readers(n, 0);
  for (int i = 0; i < n; ++i)
    if (live[i])
      for (int in : model.node(i).inputs) ++readers[in];

  // fused_into[relu] = its producer, and the producer's fused op.
  std::vector<int> fused_into(n, -1);
  std::vector<OpPtr> fused_op(n);
  for (int i = 0; i < n; ++i) {
    const Node& node = model.node(i);
    if (!live[i] || node.is_input() || node.op->activation() != Activation::kRelu || node.inputs.size() != 1) continue;
    const int producer = node.inputs[0];
    const Node& source = model.node(producer);
    // An output's value is read as it is: its activation cannot be folded in.
    if (source.is_input() || readers[producer] != 1 || model.is_output(producer)) continue;
    if (OpPtr fused = source.op->fused_with(Activation::kRelu)) {
      fused_into[i] = producer;
      fused_op[producer] = std::move(fused);
    }
  }

  FusedGraph out;
  out.node_of.assign(n, -1);
  for (int i = 0; i < n; ++i) {
    const Node& node = model.node(i);
    if (fused_into[i] >= 0) {  // the ReLU: its pair's node stands for it
      out.node_of[i] = out.node_of[fused_into[i]];
      continue;
    }
    std::vector<int> inputs;
    for (int in : node.inputs) inputs.push_back(out.node_of[in]);
    out.node_of[i] = node.is_input() ? out.graph.add_input(node.name, node.shape, node.indices)
                                     : out.graph.add(fused_op[i] ? fused_op[i] : node.op, inputs, node.name);
    for (size_t j = 0; j < node.param_sources.size(); ++j) {
      const ParamSource& source = node.param_sources[j];
      if (!source.own())
        out.graph.share_param(out.node_of[i], node.params[j].name, out.node_of[source.node],
                              model.node(source.node).params[source.param].name);
    }
    out.model_of.push_back(i);
  }
  if (model.output() >= 0) out.graph.set_output(out.node_of[model.output()], model.output_name());
  for (const Graph::NamedNode& extra : model.extra_outputs()) out.graph.add_output(out.node_of[extra.node], extra.name);
  return out;
}

}  // namespace tk
