// Op types by name: each built-in op's schema (its attributes stated once),
// the registry that model specs, tk_model_op and the op catalog read, and
// make_op(), which checks attributes against a schema and builds the op.
#include <algorithm>
#include <map>
#include <mutex>

#include "core/base/error.h"
#include "core/ops/op_schema.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

AttributeSchema required(std::string name, AttributeType type) { return {std::move(name), type, std::nullopt, ""}; }
AttributeSchema optional(std::string name, AttributeType type, AttributeValue value) {
  return {std::move(name), type, std::move(value), ""};
}
AttributeSchema same_as(std::string name, AttributeType type, std::string other) {
  return {std::move(name), type, std::nullopt, std::move(other)};
}

constexpr AttributeType kInt = AttributeType::kInt, kReal = AttributeType::kReal, kBool = AttributeType::kBool,
                        kString = AttributeType::kString;

// "2,3,4" -> {2, 3, 4}; make_reshape then judges the extents.
Shape parse_extents(const std::string& text) {
  Shape shape;
  size_t at = 0;
  while (at <= text.size()) {
    const size_t comma = std::min(text.find(',', at), text.size());
    const std::string part = text.substr(at, comma - at);
    const size_t digits = part.size() > 0 && part[0] == '-' ? 1 : 0;
    if (part.size() == digits || part.find_first_not_of("0123456789", digits) != std::string::npos ||
        part.size() - digits > 18)
      fail(ErrorCode::kInvalidArgument, "reshape shape '", text, "' is not a list of extents");
    shape.push_back(std::stoll(part));
    at = comma + 1;
  }
  return shape;
}

// An "init" attribute's value; the message names the op and the attribute.
Init init_attribute(const char* type, const AttributeValues& a) {
  try {
    return init_from_name(a.text("init"));
  } catch (const Error& e) {
    fail(e.code(), type, " attribute 'init': ", e.what());
  }
}

std::vector<OpSchema> built_in_ops() {
  return {
      {"linear", 1,
       {required("units", kInt), optional("bias", kBool, true), optional("init", kString, std::string("he_uniform"))},
       [](const AttributeValues& a) {
         return make_linear(a.integer("units"), a.boolean("bias"), init_attribute("linear", a));
       }},
      {"dropout", 1, {required("p", kReal)}, [](const AttributeValues& a) { return make_dropout(a.real("p")); }},
      {"dropout2d", 1, {required("p", kReal)}, [](const AttributeValues& a) { return make_dropout2d(a.real("p")); }},
      {"batch_norm", 1, {optional("eps", kReal, 1e-5), optional("momentum", kReal, 0.1)},
       [](const AttributeValues& a) { return make_batch_norm(a.real("eps"), a.real("momentum")); }},
      {"layer_norm", 1, {optional("axes", kInt, int64_t{1}), optional("eps", kReal, 1e-5)},
       [](const AttributeValues& a) { return make_layer_norm(a.integer("axes"), a.real("eps")); }},
      {"flatten", 1, {}, [](const AttributeValues&) { return make_flatten(); }},
      {"add", 2, {}, [](const AttributeValues&) { return make_add(); }},
      {"reshape", 1, {required("shape", kString)},
       [](const AttributeValues& a) { return make_reshape(parse_extents(a.text("shape"))); }},
      {"conv2d", 1,
       {required("out_channels", kInt), required("kernel", kInt), optional("stride", kInt, int64_t{1}),
        optional("padding", kInt, int64_t{0}), optional("dilation", kInt, int64_t{1}),
        optional("groups", kInt, int64_t{1}), optional("bias", kBool, true),
        optional("init", kString, std::string("he_uniform")), optional("images_per_product", kInt, int64_t{0})},
       [](const AttributeValues& a) {
         return make_conv2d(a.integer("out_channels"), a.integer("kernel"), a.integer("stride"), a.integer("padding"),
                            a.integer("dilation"), a.integer("groups"), a.boolean("bias"),
                            init_attribute("conv2d", a), a.integer("images_per_product"));
       }},
      {"max_pool2d", 1,
       {required("kernel", kInt), same_as("stride", kInt, "kernel"), optional("padding", kInt, int64_t{0})},
       [](const AttributeValues& a) {
         return make_max_pool2d(a.integer("kernel"), a.integer("stride"), a.integer("padding"));
       }},
      {"avg_pool2d", 1,
       {required("kernel", kInt), same_as("stride", kInt, "kernel"), optional("padding", kInt, int64_t{0})},
       [](const AttributeValues& a) {
         return make_avg_pool2d(a.integer("kernel"), a.integer("stride"), a.integer("padding"));
       }},
      {"global_avg_pool", 1, {}, [](const AttributeValues&) { return make_global_avg_pool(); }},
  };
}

AttributeType type_of(const AttributeValue& value) {
  switch (value.index()) {
    case 0: return AttributeType::kInt;
    case 1: return AttributeType::kReal;
    case 2: return AttributeType::kBool;
    default: return AttributeType::kString;
  }
}

void check_schema(const OpSchema& schema) {
  if (schema.type.empty() || !schema.make || schema.inputs < 1)
    fail(ErrorCode::kInvalidArgument, "op schema '", schema.type, "' needs a name, a factory and an input count");
  for (size_t i = 0; i < schema.attributes.size(); ++i) {
    const AttributeSchema& a = schema.attributes[i];
    if (a.default_value && type_of(*a.default_value) != a.type)
      fail(ErrorCode::kInvalidArgument, "op schema '", schema.type, "': the default of '", a.name, "' is not ",
           attribute_type_name(a.type));
    auto earlier = std::find_if(schema.attributes.begin(), schema.attributes.begin() + i,
                                [&](const AttributeSchema& e) { return e.name == a.default_from; });
    if (!a.default_from.empty() && (earlier == schema.attributes.begin() + i || earlier->type != a.type))
      fail(ErrorCode::kInvalidArgument, "op schema '", schema.type, "': '", a.name, "' takes its default from '",
           a.default_from, "', which is no earlier attribute of its type");
  }
}

// Built-in ops first; families add theirs through register_op. Entries are
// never removed, so the pointers find_op hands out stay valid.
class Registry {
 public:
  static Registry& instance() {
    static Registry* registry = new Registry;  // never destroyed: ops may be built during exit
    return *registry;
  }

  void add(OpSchema schema) {
    check_schema(schema);
    std::lock_guard<std::mutex> lock(mutex_);
    if (schemas_.count(schema.type))
      fail(ErrorCode::kInvalidArgument, "op type '", schema.type, "' is already registered");
    std::string type = schema.type;
    schemas_.emplace(std::move(type), std::move(schema));
  }

  const OpSchema* find(const std::string& type) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = schemas_.find(type);
    return it == schemas_.end() ? nullptr : &it->second;
  }

  std::vector<const OpSchema*> all() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<const OpSchema*> list;
    for (const auto& entry : schemas_) list.push_back(&entry.second);
    return list;
  }

 private:
  Registry() {
    for (OpSchema& schema : built_in_ops()) add(std::move(schema));
  }
  std::mutex mutex_;
  std::map<std::string, OpSchema> schemas_;
};

// The given attributes checked against the schema, defaults filled in.
AttributeValues resolve(const OpSchema& schema, const std::vector<Attribute>& given) {
  for (const Attribute& a : given) {
    auto known = std::find_if(schema.attributes.begin(), schema.attributes.end(),
                              [&](const AttributeSchema& s) { return s.name == a.name; });
    if (known == schema.attributes.end())
      fail(ErrorCode::kInvalidArgument, schema.type, " has no attribute '", a.name, "'");
  }
  std::vector<Attribute> values;
  for (const AttributeSchema& s : schema.attributes) {
    auto found = std::find_if(given.begin(), given.end(), [&](const Attribute& a) { return a.name == s.name; });
    if (found == given.end()) {
      if (s.required()) fail(ErrorCode::kInvalidArgument, schema.type, " needs the attribute '", s.name, "'");
      if (s.default_value) {
        values.push_back({s.name, *s.default_value});
      } else {
        auto from =
            std::find_if(values.begin(), values.end(), [&](const Attribute& v) { return v.name == s.default_from; });
        values.push_back({s.name, from->value});
      }
      continue;
    }
    AttributeValue value = found->value;
    // Integers are accepted where a real number is expected.
    if (s.type == AttributeType::kReal && type_of(value) == AttributeType::kInt)
      value = static_cast<double>(std::get<int64_t>(value));
    if (type_of(value) != s.type)
      fail(ErrorCode::kInvalidArgument, schema.type, " attribute '", s.name, "' has the wrong type: it is ",
           attribute_type_name(s.type), ", got ", attribute_type_name(type_of(value)));
    values.push_back({s.name, std::move(value)});
  }
  return AttributeValues(schema.type, std::move(values));
}

}  // namespace

const char* attribute_type_name(AttributeType type) {
  switch (type) {
    case AttributeType::kInt: return "int";
    case AttributeType::kReal: return "real";
    case AttributeType::kBool: return "bool";
    case AttributeType::kString: return "string";
  }
  return "unknown";
}

const AttributeValue& AttributeValues::find(const std::string& name) const {
  for (const Attribute& a : values_)
    if (a.name == name) return a.value;
  fail(ErrorCode::kInternal, type_, "'s factory reads '", name, "', which its schema lacks");
}

void register_op(OpSchema schema) { Registry::instance().add(std::move(schema)); }

const OpSchema* find_op(const std::string& type) { return Registry::instance().find(type); }

std::vector<const OpSchema*> registered_ops() { return Registry::instance().all(); }

OpPtr make_op(const std::string& type, const std::vector<Attribute>& attributes) {
  const OpSchema* schema = find_op(type);
  if (!schema) fail(ErrorCode::kInvalidArgument, "unknown op type '", type, "'");
  return schema->make(resolve(*schema, attributes));
}

const char* init_name(Init init) {
  switch (init) {
    case Init::kZeros: return "zeros";
    case Init::kHeUniform: return "he_uniform";
    case Init::kHeNormal: return "he_normal";
    case Init::kXavierUniform: return "xavier_uniform";
    case Init::kXavierNormal: return "xavier_normal";
    case Init::kOnes: return "ones";
  }
  return "unknown";
}

Init init_from_name(const std::string& name) {
  for (Init init : {Init::kZeros, Init::kHeUniform, Init::kHeNormal, Init::kXavierUniform, Init::kXavierNormal, Init::kOnes})
    if (name == init_name(init)) return init;
  fail(ErrorCode::kInvalidArgument, "unknown init '", name, "'");
}

}  // namespace tk
