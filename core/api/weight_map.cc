#include "core/api/weight_map.h"

#include <cmath>
#include <set>
#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/base/host_view.h"
#include "core/io/safetensors.h"

namespace tk {

using Json = nlohmann::json;

WeightMap parse_weight_map(const std::string& text) {
  const Json json = Json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.is_object())
    fail(ErrorCode::kInvalidArgument, "a weight map is a JSON object of trainkit name -> file name");
  WeightMap map;
  for (auto it = json.begin(); it != json.end(); ++it) {
    WeightSource source;
    if (it.value().is_string()) {
      source.file_name = it.value().get<std::string>();
    } else if (it.value().is_object() && it.value().contains("name") && it.value()["name"].is_string()) {
      source.file_name = it.value()["name"].get<std::string>();
      for (auto field = it.value().begin(); field != it.value().end(); ++field) {
        if (field.key() == "transpose") {
          if (!field.value().is_boolean())
            fail(ErrorCode::kInvalidArgument, "weight map entry '", it.key(), "': transpose is true or false");
          source.transpose = field.value().get<bool>();
        } else if (field.key() != "name") {
          fail(ErrorCode::kInvalidArgument, "weight map entry '", it.key(), "' has an unknown field '", field.key(),
               "' (name, transpose)");
        }
      }
    } else {
      fail(ErrorCode::kInvalidArgument, "weight map entry '", it.key(),
           "' is a file tensor name or {\"name\": ..., \"transpose\": ...}");
    }
    if (source.file_name.empty()) fail(ErrorCode::kInvalidArgument, "weight map entry '", it.key(), "' names no tensor");
    map[it.key()] = source;
  }
  return map;
}

std::string WeightImportReport::to_json() const {
  Json json = {{"loaded", loaded}, {"missing", missing}, {"unexpected", unexpected}, {"mismatched", Json::array()}};
  for (const WeightMismatch& m : mismatched)
    json["mismatched"].push_back({{"name", m.name}, {"file_name", m.file_name}, {"expected", m.expected},
                                  {"found", m.found}});
  return json.dump();
}

WeightImport::WeightImport(const Plan& plan, const std::string& path, const WeightMap& map, bool strict) {
  const SafetensorsFile file = read_safetensors(path, /*keep_foreign=*/true);
  std::set<std::string> used;
  std::set<std::string> known;
  auto take = [&](const ParamTensor& p, bool state, size_t index) {
    known.insert(p.name);
    auto entry = map.find(p.name);
    const WeightSource source = entry == map.end() ? WeightSource{p.name, false} : entry->second;
    const StoredTensor* t = file.find(source.file_name);
    if (!t) {
      for (const ForeignTensor& f : file.foreign)
        if (f.name == source.file_name)
          fail(ErrorCode::kDtypeMismatch, "'", path, "': tensor '", f.name, "' for '", p.name, "' is ", f.dtype,
               ", not a float dtype");
      if (entry != map.end())
        fail(ErrorCode::kInvalidArgument, "'", path, "' has no tensor '", source.file_name, "' (mapped to '", p.name,
             "')");
      report_.missing.push_back(p.name);
      return;
    }
    used.insert(t->name);
    if (!dtype_is_float(t->dtype))
      fail(ErrorCode::kDtypeMismatch, "'", path, "': tensor '", t->name, "' is ", dtype_name(t->dtype),
           ", not a float dtype");
    if (source.transpose && t->shape.size() != 2)
      fail(ErrorCode::kShapeMismatch, "'", path, "': tensor '", t->name, "' is ", shape_to_string(t->shape),
           ", and only a 2-D tensor can be transposed (for '", p.name, "')");
    const Shape stored = source.transpose ? Shape{t->shape[1], t->shape[0]} : t->shape;
    if (stored != p.spec.shape) {
      if (entry != map.end() || strict)
        fail(ErrorCode::kShapeMismatch, "'", path, "': tensor '", t->name, "' is ", shape_to_string(t->shape),
             source.transpose ? " (transposed " + shape_to_string(stored) + ")" : std::string(), ", but '", p.name,
             "' is ", shape_to_string(p.spec.shape));
      report_.mismatched.push_back({p.name, t->name, p.spec.shape, t->shape});
      return;
    }
    Found found{state, index, stored, std::vector<float>(shape_numel(stored))};
    HostView view{const_cast<uint8_t*>(t->bytes.data()), t->dtype, stored, {}};
    if (source.transpose) view.strides = {1, t->shape[1]};
    copy_from_view(view, DType::kF32, found.values.data());
    for (size_t i = 0; i < found.values.size(); ++i)
      if (!std::isfinite(found.values[i]))
        fail(ErrorCode::kCorruptData, "'", path, "': tensor '", t->name, "' holds a non-finite value at element ", i);
    report_.loaded.push_back(p.name);
    found_.push_back(std::move(found));
  };
  for (size_t i = 0; i < plan.params().size(); ++i) take(plan.params()[i], false, i);
  for (size_t i = 0; i < plan.states().size(); ++i) take(plan.states()[i], true, i);
  for (const auto& [name, source] : map)
    if (!known.count(name)) fail(ErrorCode::kInvalidArgument, "the weight map names '", name, "', which the model lacks");
  for (const StoredTensor& t : file.tensors)
    if (!used.count(t.name)) report_.unexpected.push_back(t.name);
  for (const ForeignTensor& f : file.foreign) report_.unexpected.push_back(f.name);
  if (strict && !report_.missing.empty())
    fail(ErrorCode::kInvalidArgument, "'", path, "' has no tensor for '", report_.missing.front(), "' (",
         report_.missing.size(), " missing; import non-strictly to keep the trainer's values)");
  if (strict && !report_.unexpected.empty())
    fail(ErrorCode::kInvalidArgument, "'", path, "' holds '", report_.unexpected.front(), "', which nothing takes (",
         report_.unexpected.size(), " unexpected; import non-strictly to leave them)");
}

void WeightImport::apply(Trainer& trainer) const {
  for (const Found& f : found_) {
    const HostView view{const_cast<float*>(f.values.data()), DType::kF32, f.shape, {}};
    if (f.state)
      trainer.set_state(f.index, view);
    else
      trainer.set_parameter(f.index, view);
  }
}

}  // namespace tk
