// What an op type is to the outside: its name, input count, attributes
// (name, type, default or required) and the factory that builds it from them.
// One schema per op type is the single source that model specs, the C API's
// tk_model_op and the op catalog all read (registry.cc).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/ops/op.h"

namespace tk {

enum class AttributeType { kInt, kReal, kBool, kString };
const char* attribute_type_name(AttributeType type);  // "int", "real", "bool", "string"

struct AttributeSchema {
  std::string name;
  AttributeType type;
  // Absent: the attribute is required, unless default_from names another
  // attribute whose value it takes (a pool's stride is its kernel).
  std::optional<AttributeValue> default_value;
  std::string default_from;
  bool required() const { return !default_value && default_from.empty(); }
};

// Every attribute of a schema with a value of its type (defaults filled in);
// what a factory reads. Asking for a name or type the schema lacks is a bug.
class AttributeValues {
 public:
  AttributeValues(std::string type, std::vector<Attribute> values)
      : type_(std::move(type)), values_(std::move(values)) {}
  int64_t integer(const std::string& name) const { return std::get<int64_t>(find(name)); }
  double real(const std::string& name) const { return std::get<double>(find(name)); }
  bool boolean(const std::string& name) const { return std::get<bool>(find(name)); }
  const std::string& text(const std::string& name) const { return std::get<std::string>(find(name)); }

 private:
  const AttributeValue& find(const std::string& name) const;
  std::string type_;
  std::vector<Attribute> values_;
};

struct OpSchema {
  std::string type;
  int inputs = 1;
  std::vector<AttributeSchema> attributes;
  std::function<OpPtr(const AttributeValues&)> make;
};

// Adds an op type; throws kInvalidArgument if the name is taken or the
// schema is malformed (a default of the wrong type, default_from naming no
// earlier attribute).
void register_op(OpSchema schema);
// The schema of an op type, or null.
const OpSchema* find_op(const std::string& type);
// Every registered op type, by name.
std::vector<const OpSchema*> registered_ops();

}  // namespace tk
