#include "core/api/op_catalog.h"

#include <nlohmann/json.hpp>

#include "core/ops/op_schema.h"

namespace tk {

std::string op_catalog_json() {
  using Json = nlohmann::json;
  Json ops = Json::array();
  for (const OpSchema* schema : registered_ops()) {
    Json attributes = Json::array();
    for (const AttributeSchema& a : schema->attributes) {
      Json entry = {{"name", a.name}, {"type", attribute_type_name(a.type)}, {"required", a.required()}};
      if (a.default_value) entry["default"] = std::visit([](const auto& v) { return Json(v); }, *a.default_value);
      if (!a.default_from.empty()) entry["default_from"] = a.default_from;
      attributes.push_back(entry);
    }
    ops.push_back({{"name", schema->type}, {"inputs", schema->inputs}, {"attributes", attributes}});
  }
  return Json{{"ops", ops}}.dump();
}

}  // namespace tk
