#include "core/io/model_spec.h"

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

using Json = nlohmann::json;

constexpr const char* kFormat = "trainkit-model";
constexpr int kVersion = 1;
// An op node's parameters kept in an earlier node's tensors: {"weight": "words.weight"}.
constexpr const char* kSharedKey = "shared";

// "node.param" of a shared tensor, split at its last dot (node names may hold dots).
std::pair<int, std::string> shared_tensor(const Graph& graph, const std::string& node, const Json& value) {
  const std::string text = value.is_string() ? value.get<std::string>() : "";
  const size_t dot = text.rfind('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == text.size())
    fail(ErrorCode::kInvalidArgument, "model spec node '", node, "': a shared parameter names \"node.parameter\"");
  const int source = graph.find(text.substr(0, dot));
  if (source < 0)
    fail(ErrorCode::kInvalidArgument, "model spec node '", node, "' shares '", text, "' of no earlier node");
  return {source, text.substr(dot + 1)};
}

Json attribute_to_json(const AttributeValue& value) {
  return std::visit([](const auto& v) { return Json(v); }, value);
}

AttributeValue attribute_from_json(const std::string& node, const std::string& name, const Json& value) {
  if (value.is_boolean()) return value.get<bool>();
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_number_float()) return value.get<double>();
  if (value.is_string()) return value.get<std::string>();
  fail(ErrorCode::kInvalidArgument, "model spec node '", node, "': attribute '", name,
       "' must be a number, a boolean or a string");
}

}  // namespace

std::string model_spec_to_json(const Graph& graph) {
  Json nodes = Json::array();
  for (const Node& node : graph.nodes()) {
    Json entry = {{"name", node.name}};
    if (node.is_input()) {
      entry["op"] = "input";
      entry["shape"] = node.shape;
      if (node.indices) entry["dtype"] = "i32";
    } else {
      entry["op"] = node.op->type();
      Json inputs = Json::array();
      for (int in : node.inputs) inputs.push_back(graph.node(in).name);
      entry["inputs"] = inputs;
      for (const Attribute& a : node.op->attributes()) entry[a.name] = attribute_to_json(a.value);
      Json shared = Json::object();
      for (size_t j = 0; j < node.params.size(); ++j) {
        const ParamSource& source = node.param_sources[j];
        if (!source.own())
          shared[node.params[j].name] =
              graph.node(source.node).name + "." + graph.node(source.node).params[source.param].name;
      }
      if (!shared.empty()) entry[kSharedKey] = shared;
    }
    nodes.push_back(entry);
  }
  Json spec = {{"format", kFormat}, {"version", kVersion}, {"nodes", nodes}};
  if (graph.output() >= 0) spec["output"] = {{"node", graph.node(graph.output()).name}, {"name", graph.output_name()}};
  if (!graph.extra_outputs().empty()) {
    Json extras = Json::array();
    for (const Graph::NamedNode& extra : graph.extra_outputs())
      extras.push_back({{"node", graph.node(extra.node).name}, {"name", extra.name}});
    spec["outputs"] = extras;
  }
  return spec.dump(1);
}

Graph model_spec_from_json(const std::string& text) {
  // Specs are shallow; refuse deep nesting while parsing rather than storing it.
  bool too_deep = false;
  Json::parser_callback_t check = [&](int depth, Json::parse_event_t, Json&) {
    if (depth > 5) too_deep = true;
    return depth <= 5;
  };
  Json spec = Json::parse(text, check, false);
  if (spec.is_discarded()) fail(ErrorCode::kInvalidArgument, "the model spec is not well-formed JSON");
  if (too_deep) fail(ErrorCode::kInvalidArgument, "the model spec nests too deeply");
  if (!spec.is_object() || !spec.contains("format") || spec["format"] != kFormat)
    fail(ErrorCode::kInvalidArgument, "not a trainkit model spec (\"format\": \"", kFormat, "\" is missing)");
  if (!spec.contains("version") || !spec["version"].is_number_integer() || spec["version"].get<int64_t>() != kVersion)
    fail(ErrorCode::kInvalidArgument, "unsupported model spec version (this build reads version ", kVersion, ")");
  if (!spec.contains("nodes") || !spec["nodes"].is_array())
    fail(ErrorCode::kInvalidArgument, "the model spec has no \"nodes\" array");

  Graph graph;
  for (const Json& entry : spec["nodes"]) {
    if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string() || !entry.contains("op") ||
        !entry["op"].is_string())
      fail(ErrorCode::kInvalidArgument, "every model spec node needs a string \"name\" and \"op\"");
    const std::string name = entry["name"].get<std::string>();
    const std::string type = entry["op"].get<std::string>();
    try {
      if (type == "input") {
        // "dtype": "i32" makes an input of indices (token ids); absent or "f32": activations.
        const bool has_dtype = entry.contains("dtype");
        if (!entry.contains("shape") || !entry["shape"].is_array() || entry.size() != (has_dtype ? 4u : 3u))
          fail(ErrorCode::kInvalidArgument,
               "an input needs exactly \"name\", \"op\" and \"shape\", and optionally \"dtype\"");
        if (has_dtype && (!entry["dtype"].is_string() || (entry["dtype"] != "i32" && entry["dtype"] != "f32")))
          fail(ErrorCode::kInvalidArgument, "an input's \"dtype\" is \"f32\" or \"i32\"");
        Shape shape;
        for (const Json& extent : entry["shape"]) {
          if (!extent.is_number_integer()) fail(ErrorCode::kInvalidArgument, "shape extents must be integers");
          shape.push_back(extent.get<int64_t>());
        }
        graph.add_input(name, shape, has_dtype && entry["dtype"] == "i32");
        continue;
      }
      if (!entry.contains("inputs") || !entry["inputs"].is_array())
        fail(ErrorCode::kInvalidArgument, "an op needs an \"inputs\" array of node names");
      std::vector<int> inputs;
      for (const Json& input : entry["inputs"]) {
        if (!input.is_string()) fail(ErrorCode::kInvalidArgument, "inputs are node names");
        const int found = graph.find(input.get<std::string>());
        if (found < 0)
          fail(ErrorCode::kInvalidArgument, "input '", input.get<std::string>(), "' is not an earlier node");
        inputs.push_back(found);
      }
      std::vector<Attribute> attributes;
      for (auto it = entry.begin(); it != entry.end(); ++it)
        if (it.key() != "name" && it.key() != "op" && it.key() != "inputs" && it.key() != kSharedKey)
          attributes.push_back({it.key(), attribute_from_json(name, it.key(), it.value())});
      const int added = graph.add(make_op(type, attributes), inputs, name);
      if (entry.contains(kSharedKey)) {
        if (!entry[kSharedKey].is_object())
          fail(ErrorCode::kInvalidArgument, "\"", kSharedKey, "\" maps parameter names to \"node.parameter\"");
        for (auto it = entry[kSharedKey].begin(); it != entry[kSharedKey].end(); ++it) {
          auto [source, source_param] = shared_tensor(graph, name, it.value());
          graph.share_param(added, it.key(), source, source_param);
        }
      }
    } catch (const Error& e) {
      fail(ErrorCode::kInvalidArgument, "model spec node '", name, "': ", e.what());
    }
  }
  // A spec describes a model to train: without an output it would be
  // accepted here and refused only when a trainer is made of it.
  if (!spec.contains("output"))
    fail(ErrorCode::kInvalidArgument, "the spec names no \"output\" (a node and a name, as tk_model_output sets)");
  {
    const Json& output = spec["output"];
    if (!output.is_object() || !output.contains("node") || !output["node"].is_string() || !output.contains("name") ||
        !output["name"].is_string())
      fail(ErrorCode::kInvalidArgument, "the spec's \"output\" needs string \"node\" and \"name\"");
    const int found = graph.find(output["node"].get<std::string>());
    if (found < 0) fail(ErrorCode::kInvalidArgument, "the output node '", output["node"].get<std::string>(), "' does not exist");
    graph.set_output(found, output["name"].get<std::string>());
  }
  // The model's other named outputs (tk_model_add_output), optional.
  if (spec.contains("outputs")) {
    if (!spec["outputs"].is_array()) fail(ErrorCode::kInvalidArgument, "the spec's \"outputs\" is an array");
    for (const Json& output : spec["outputs"]) {
      if (!output.is_object() || !output.contains("node") || !output["node"].is_string() || !output.contains("name") ||
          !output["name"].is_string())
        fail(ErrorCode::kInvalidArgument, "each of the spec's \"outputs\" needs string \"node\" and \"name\"");
      const int found = graph.find(output["node"].get<std::string>());
      if (found < 0)
        fail(ErrorCode::kInvalidArgument, "the output node '", output["node"].get<std::string>(), "' does not exist");
      graph.add_output(found, output["name"].get<std::string>());
    }
  }
  return graph;
}

}  // namespace tk
