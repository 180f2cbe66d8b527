// The fusion rewrite: before planning, every (op, ReLU) pair where the ReLU
// alone reads the op's output and the op has a fused form (Op::fused_with:
// a Linear with bias, whose product applies it in cuBLASLt's epilogue or one
// pass on the CPU; batch norm) becomes one explicit fused node. The plan then
// runs that graph as it runs any other: one activation pass and buffer fewer.
#pragma once

#include <vector>

#include "core/graph/graph.h"

namespace tk {

struct FusedGraph {
  Graph graph;                // what the plan runs
  std::vector<int> model_of;  // its node -> the model's node it stands for (a fused pair: the op)
  std::vector<int> node_of;   // the model's node -> its node here (a fused ReLU: its pair's node)
};

// Only the model's live nodes (ancestors of its output) are fused; a fused
// node keeps its op's name, so parameters keep their names and layout.
FusedGraph fuse_activations(const Graph& model);

}  // namespace tk
