// Op types by name: rebuilding ops from model specs.
#include <algorithm>
#include <functional>
#include <map>

#include "core/base/error.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

// Reads attributes by name and type; complains about missing and unknown ones.
class AttributeReader {
 public:
  AttributeReader(const std::string& type, const std::vector<Attribute>& attributes)
      : type_(type), attributes_(attributes), used_(attributes.size(), false) {}

  template <typename T>
  T get(const std::string& name, const T* fallback = nullptr) {
    for (size_t i = 0; i < attributes_.size(); ++i) {
      if (attributes_[i].name != name) continue;
      used_[i] = true;
      if (const T* value = std::get_if<T>(&attributes_[i].value)) return *value;
      // Integers are accepted where a real number is expected.
      if constexpr (std::is_same_v<T, double>)
        if (const int64_t* value = std::get_if<int64_t>(&attributes_[i].value)) return static_cast<double>(*value);
      fail(ErrorCode::kInvalidArgument, type_, " attribute '", name, "' has the wrong type");
    }
    if (fallback) return *fallback;
    fail(ErrorCode::kInvalidArgument, type_, " needs the attribute '", name, "'");
  }

  void check_all_used() const {
    for (size_t i = 0; i < attributes_.size(); ++i)
      if (!used_[i]) fail(ErrorCode::kInvalidArgument, type_, " has no attribute '", attributes_[i].name, "'");
  }

 private:
  std::string type_;
  const std::vector<Attribute>& attributes_;
  std::vector<bool> used_;
};

using Factory = std::function<OpPtr(AttributeReader&)>;

const std::map<std::string, Factory>& factories() {
  static const std::map<std::string, Factory> table = {
      {"linear",
       [](AttributeReader& a) {
         const bool default_bias = true;
         const std::string default_init = "he_uniform";
         return make_linear(a.get<int64_t>("units"), a.get<bool>("bias", &default_bias),
                            init_from_name(a.get<std::string>("init", &default_init)));
       }},
      {"relu", [](AttributeReader&) { return make_activation(Activation::kRelu); }},
      {"gelu", [](AttributeReader&) { return make_activation(Activation::kGelu); }},
      {"tanh", [](AttributeReader&) { return make_activation(Activation::kTanh); }},
      {"sigmoid", [](AttributeReader&) { return make_activation(Activation::kSigmoid); }},
      {"dropout", [](AttributeReader& a) { return make_dropout(a.get<double>("p")); }},
      {"dropout2d", [](AttributeReader& a) { return make_dropout2d(a.get<double>("p")); }},
      {"batch_norm",
       [](AttributeReader& a) {
         const double eps = 1e-5, momentum = 0.1;
         return make_batch_norm(a.get<double>("eps", &eps), a.get<double>("momentum", &momentum));
       }},
      {"layer_norm",
       [](AttributeReader& a) {
         const int64_t axes = 1;
         const double eps = 1e-5;
         return make_layer_norm(a.get<int64_t>("axes", &axes), a.get<double>("eps", &eps));
       }},
      {"flatten", [](AttributeReader&) { return make_flatten(); }},
      {"add", [](AttributeReader&) { return make_add(); }},
      {"reshape",
       [](AttributeReader& a) {
         Shape shape;
         const std::string text = a.get<std::string>("shape");
         size_t at = 0;
         while (at <= text.size()) {
           const size_t comma = std::min(text.find(',', at), text.size());
           const std::string part = text.substr(at, comma - at);
           if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos || part.size() > 12)
             fail(ErrorCode::kInvalidArgument, "reshape shape '", text, "' is not a list of extents");
           shape.push_back(std::stoll(part));
           at = comma + 1;
         }
         return make_reshape(shape);
       }},
      {"conv2d",
       [](AttributeReader& a) {
         const int64_t one = 1, zero = 0;
         const bool default_bias = true;
         const std::string default_init = "he_uniform";
         return make_conv2d(a.get<int64_t>("out_channels"), a.get<int64_t>("kernel"), a.get<int64_t>("stride", &one),
                            a.get<int64_t>("padding", &zero), a.get<int64_t>("dilation", &one),
                            a.get<int64_t>("groups", &one), a.get<bool>("bias", &default_bias),
                            init_from_name(a.get<std::string>("init", &default_init)),
                            a.get<int64_t>("images_per_product", &zero));
       }},
      {"max_pool2d",
       [](AttributeReader& a) {
         const int64_t zero = 0;
         const int64_t kernel = a.get<int64_t>("kernel");
         return make_max_pool2d(kernel, a.get<int64_t>("stride", &kernel), a.get<int64_t>("padding", &zero));
       }},
      {"avg_pool2d",
       [](AttributeReader& a) {
         const int64_t zero = 0;
         const int64_t kernel = a.get<int64_t>("kernel");
         return make_avg_pool2d(kernel, a.get<int64_t>("stride", &kernel), a.get<int64_t>("padding", &zero));
       }},
      {"global_avg_pool", [](AttributeReader&) { return make_global_avg_pool(); }},
  };
  return table;
}

}  // namespace

OpPtr make_op(const std::string& type, const std::vector<Attribute>& attributes) {
  auto it = factories().find(type);
  if (it == factories().end()) fail(ErrorCode::kInvalidArgument, "unknown op type '", type, "'");
  AttributeReader reader(type, attributes);
  OpPtr op = it->second(reader);
  reader.check_all_used();
  return op;
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
