#include "core/api/model.h"

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/base/file_read.h"
#include "core/io/model_spec.h"
#include "core/io/safetensors.h"
#include "core/ops/op_schema.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

// A spec names nodes and attributes only; 64 MiB is far beyond any real one.
constexpr size_t kMaxSpecBytes = size_t{64} << 20;

using Json = nlohmann::json;

std::vector<Attribute> attributes_from_json(const std::string& type, const std::string& text) {
  std::vector<Attribute> attributes;
  if (text.empty()) return attributes;
  // One level: an object of scalars. Deeper input is refused while parsing.
  bool too_deep = false;
  Json::parser_callback_t check = [&](int depth, Json::parse_event_t, Json&) {
    if (depth > 1) too_deep = true;
    return depth <= 1;
  };
  const Json object = Json::parse(text, check, false);
  if (object.is_discarded()) fail(ErrorCode::kInvalidArgument, type, ": the attributes are not well-formed JSON");
  if (!object.is_object())
    fail(ErrorCode::kInvalidArgument, type, ": the attributes must be a JSON object, got ", object.type_name());
  if (too_deep) fail(ErrorCode::kInvalidArgument, type, ": attribute values must be numbers, booleans or strings");
  for (auto it = object.begin(); it != object.end(); ++it) {
    const Json& value = it.value();
    if (value.is_boolean()) {
      attributes.push_back({it.key(), value.get<bool>()});
    } else if (value.is_number_integer()) {
      if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
        fail(ErrorCode::kInvalidArgument, type, " attribute '", it.key(), "' is out of range");
      attributes.push_back({it.key(), value.get<int64_t>()});
    } else if (value.is_number_float()) {
      attributes.push_back({it.key(), value.get<double>()});
    } else if (value.is_string()) {
      attributes.push_back({it.key(), value.get<std::string>()});
    } else {
      fail(ErrorCode::kInvalidArgument, type, " attribute '", it.key(),
           "' must be a number, a boolean or a string, got ", value.type_name());
    }
  }
  return attributes;
}

}  // namespace

Model Model::from_spec(const std::string& json) {
  Model model;
  model.graph_ = model_spec_from_json(json);
  return model;
}

Model Model::load_spec(const std::string& path) {
  const std::vector<uint8_t> text = read_file_bounded(path, kMaxSpecBytes, "model spec");
  return from_spec(std::string(text.begin(), text.end()));
}

std::string Model::spec() const { return model_spec_to_json(graph_); }

void Model::save_spec(const std::string& path) const {
  const std::string text = spec() + "\n";
  write_file_atomically(path, std::vector<uint8_t>(text.begin(), text.end()));
}

int Model::add_input(const std::string& name, const Shape& shape, bool indices) {
  return graph_.add_input(name, shape, indices);
}

int Model::add_op(const std::string& type, const std::vector<int>& inputs, const std::vector<Attribute>& attributes) {
  const OpSchema* schema = find_op(type);
  if (!schema) fail(ErrorCode::kInvalidArgument, "unknown op type '", type, "'");
  if (static_cast<int>(inputs.size()) != schema->inputs)
    fail(ErrorCode::kInvalidArgument, type, " takes ", schema->inputs, " input", schema->inputs == 1 ? "" : "s",
         ", got ", inputs.size());
  return graph_.add(make_op(type, attributes), inputs);
}

int Model::add_op(const std::string& type, const std::vector<int>& inputs, const std::string& attributes_json) {
  if (!find_op(type)) fail(ErrorCode::kInvalidArgument, "unknown op type '", type, "'");
  return add_op(type, inputs, attributes_from_json(type, attributes_json));
}

}  // namespace tk
