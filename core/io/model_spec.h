// Model specs: a Graph as JSON and back. The same spec rebuilds the same
// model (names, shapes, op attributes, output), so a spec plus a weights file
// is a complete model.
//
// {"format": "trainkit-model", "version": 1,
//  "nodes": [{"name": "image", "op": "input", "shape": [28, 28]},
//            {"name": "linear_1", "op": "linear", "inputs": ["image"], "units": 10}],
//  "output": {"node": "linear_1", "name": "logits"}}
#pragma once

#include <string>

#include "core/graph/graph.h"

namespace tk {

std::string model_spec_to_json(const Graph& graph);
// Throws kInvalidArgument naming the node and the problem.
Graph model_spec_from_json(const std::string& text);

}  // namespace tk
