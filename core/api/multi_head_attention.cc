// Multi-head attention as a composite: the four projections and the fused
// attention op added as ordinary nodes (so specs, imports and freezing see
// them by name), built on a copy of the graph so that a failure changes
// nothing.
#include "core/api/model.h"

#include "core/base/error.h"
#include "core/ops/ops.h"

namespace tk {

int Model::add_multi_head_attention(int query, int context, int mask, int64_t heads, bool causal, bool keep_mask,
                                    const std::string& name) {
  Graph graph = graph_;
  graph.node(context);  // refuses a node that does not exist
  const Shape shape = graph.node(query).shape;
  if (shape.size() != 2)
    fail(ErrorCode::kShapeMismatch, "multi-head attention takes a sequence [seq, width] per sample, got ",
         shape_to_string(shape));
  const int64_t width = shape[1];
  const std::string prefix = name.empty() ? "attention_" + std::to_string(graph.nodes().size()) : name;
  auto project = [&](int input, const char* part) {
    return graph.add(make_linear(width, true, Init::kXavierUniform), {input}, prefix + "." + part);
  };
  const int q = project(query, "query"), k = project(context, "key"), v = project(context, "value");
  const bool masked = mask != -1;
  std::vector<int> inputs = {q, k, v};
  if (masked) inputs.push_back(mask);
  const int attended = graph.add(make_attention(heads, causal, 0, masked, keep_mask), inputs, prefix + ".heads");
  const int out = project(attended, "out");
  graph_ = std::move(graph);
  return out;
}

}  // namespace tk
