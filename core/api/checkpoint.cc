#include "core/api/checkpoint.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/io/model_spec.h"
#include "core/io/safetensors.h"

namespace tk {
namespace {

using Json = nlohmann::json;

constexpr const char* kCheckpointFormat = "trainkit-checkpoint";
constexpr const char* kWeightsFormat = "trainkit-weights";
constexpr const char* kUserPrefix = "user.";

const char* optimizer_name(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kSgd: return "sgd";
    case OptimizerKind::kAdam: return "adam";
    case OptimizerKind::kAdamW: return "adamw";
  }
  return "unknown";
}

// Reads a field of the saved state, or fails naming it.
template <typename T>
T field(const Json& state, const char* name, const std::string& path) {
  if (!state.contains(name)) fail(ErrorCode::kCorruptData, "'", path, "': the saved state lacks '", name, "'");
  try {
    return state[name].get<T>();
  } catch (const std::exception&) {
    fail(ErrorCode::kCorruptData, "'", path, "': the saved state's '", name, "' has the wrong type");
  }
}

Json parse_metadata_json(const SafetensorsFile& file, const char* key, const std::string& path) {
  auto it = file.metadata.find(key);
  if (it == file.metadata.end()) fail(ErrorCode::kCorruptData, "'", path, "' has no '", key, "' metadata");
  Json value = Json::parse(it->second, nullptr, false);
  if (value.is_discarded() || !value.is_object())
    fail(ErrorCode::kCorruptData, "'", path, "': metadata '", key, "' is not a JSON object");
  return value;
}

const StoredTensor& require_tensor(const SafetensorsFile& file, const std::string& name, const ParamTensor& p,
                                   const std::string& path) {
  const StoredTensor* t = file.find(name);
  if (!t) fail(ErrorCode::kInvalidArgument, "'", path, "' has no tensor '", name, "' that the model needs");
  if (t->shape != p.spec.shape)
    fail(ErrorCode::kShapeMismatch, "'", path, "': tensor '", name, "' has shape ", shape_to_string(t->shape),
         ", the model's '", p.name, "' has ", shape_to_string(p.spec.shape));
  return *t;
}

}  // namespace

void save_checkpoint(Trainer& trainer, const std::string& path, const Batcher* cursor) {
  const TrainerSnapshot s = trainer.snapshot();
  const Plan& plan = trainer.plan();
  const DType dtype = trainer.config().compute_dtype;
  std::vector<StoredTensor> tensors;
  for (size_t i = 0; i < plan.params().size(); ++i)
    tensors.push_back({plan.params()[i].name, dtype, plan.params()[i].spec.shape, s.params[i]});
  for (size_t i = 0; i < plan.states().size(); ++i)
    tensors.push_back({plan.states()[i].name, dtype, plan.states()[i].spec.shape, s.state[i]});
  for (const auto& [state, buffers] : s.optimizer_state)
    for (size_t i = 0; i < plan.params().size(); ++i)
      tensors.push_back({"optimizer." + state + "." + plan.params()[i].name, dtype, plan.params()[i].spec.shape,
                         buffers[i]});
  for (size_t i = 0; i < s.accumulated.size(); ++i)
    tensors.push_back({"accumulation." + plan.params()[i].name, dtype, plan.params()[i].spec.shape, s.accumulated[i]});

  const TrainerConfig& config = trainer.config();
  Json state = {{"optimizer", optimizer_name(config.optimizer.kind)},
                {"precision", precision_name(config.precision)},
                {"accumulation_steps", config.accumulation_steps},
                {"optimizer_steps", s.optimizer_steps},
                {"micro_steps", s.micro_steps},
                {"skipped_steps", s.skipped_steps},
                {"accumulated_count", s.accumulated_count},
                {"loss_scale", s.loss_scale},
                {"growth_tracker", s.growth_tracker},
                {"seed", s.seed},
                {"last_grad_norm", s.last_grad_norm}};
  std::map<std::string, std::string> metadata = {{"format", kCheckpointFormat},
                                                 {"format_version", "1"},
                                                 {"model_spec", model_spec_to_json(plan.graph())},
                                                 {"state", state.dump()}};
  if (cursor) {
    const BatcherCursor c = cursor->cursor();
    metadata["data_cursor"] = Json{{"epoch", c.epoch},       {"position", c.position},   {"seed", c.seed},
                                   {"batch_size", c.batch_size}, {"shuffle", c.shuffle}, {"drop_last", c.drop_last},
                                   {"dataset_size", c.dataset_size}}
                                  .dump();
  }
  for (const auto& [key, value] : s.properties) metadata[kUserPrefix + key] = value;
  write_file_atomically(path, serialize_safetensors(tensors, metadata));
}

std::string save_checkpoint_keep_last(Trainer& trainer, const std::string& prefix, int keep, const Batcher* cursor) {
  if (keep < 1) fail(ErrorCode::kInvalidArgument, "keep must be >= 1, got ", keep);
  char step[32];
  std::snprintf(step, sizeof step, "-%010lld.safetensors", static_cast<long long>(trainer.optimizer_steps()));
  const std::string path = prefix + step;
  save_checkpoint(trainer, path, cursor);
  // Older checkpoints of the same prefix sort before newer ones by name.
  const size_t slash = prefix.find_last_of('/');
  const std::string folder = slash == std::string::npos ? "." : prefix.substr(0, slash + 1);
  const std::string stem = slash == std::string::npos ? prefix : prefix.substr(slash + 1);
  // The other files of this prefix, oldest write first; the one just written
  // always stays (a run restarted at a lower step must not delete it).
  std::vector<std::pair<int64_t, std::string>> found;
  const std::string written = path.substr(slash == std::string::npos ? 0 : slash + 1);
  if (DIR* dir = ::opendir(folder.c_str())) {
    while (dirent* entry = ::readdir(dir)) {
      const std::string name = entry->d_name;
      if (name != written && name.size() == stem.size() + 1 + 10 + 12 &&
          name.compare(0, stem.size() + 1, stem + "-") == 0 && name.compare(name.size() - 12, 12, ".safetensors") == 0 &&
          std::all_of(name.begin() + stem.size() + 1, name.end() - 12, ::isdigit)) {
        struct stat info;
        const std::string full = slash == std::string::npos ? name : folder + name;
        if (::stat(full.c_str(), &info) == 0)
          found.push_back({static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec, full});
      }
    }
    ::closedir(dir);
  }
  std::sort(found.begin(), found.end());
  for (size_t i = 0; i + (keep - 1) < found.size(); ++i) ::unlink(found[i].second.c_str());
  return path;
}

void load_checkpoint(Trainer& trainer, const std::string& path, Batcher* cursor) {
  const SafetensorsFile file = read_safetensors(path);
  auto format = file.metadata.find("format");
  if (format == file.metadata.end() || format->second != kCheckpointFormat)
    fail(ErrorCode::kInvalidArgument, "'", path, "' is not a trainkit checkpoint (", kWeightsFormat,
         " files load with tk_trainer_import_weights)");
  auto version = file.metadata.find("format_version");
  if (version == file.metadata.end() || version->second != "1")
    fail(ErrorCode::kUnsupported, "'", path, "' has a checkpoint version this build does not read");
  const Json state = parse_metadata_json(file, "state", path);
  const TrainerConfig& config = trainer.config();
  auto expect_same = [&](const char* what, const std::string& saved, const std::string& ours) {
    if (saved != ours)
      fail(ErrorCode::kInvalidArgument, "'", path, "' was written by a trainer with ", what, " ", saved,
           "; this one has ", ours);
  };
  expect_same("optimizer", field<std::string>(state, "optimizer", path), optimizer_name(config.optimizer.kind));
  expect_same("precision", field<std::string>(state, "precision", path), precision_name(config.precision));
  expect_same("accumulation steps", std::to_string(field<int64_t>(state, "accumulation_steps", path)),
              std::to_string(config.accumulation_steps));

  // Every tensor must be one this trainer needs, and every one it needs must be there.
  const Plan& plan = trainer.plan();
  TrainerSnapshot s;
  s.optimizer_steps = field<int64_t>(state, "optimizer_steps", path);
  s.micro_steps = field<int64_t>(state, "micro_steps", path);
  s.skipped_steps = field<int64_t>(state, "skipped_steps", path);
  s.accumulated_count = field<int>(state, "accumulated_count", path);
  s.loss_scale = field<float>(state, "loss_scale", path);
  s.growth_tracker = field<int64_t>(state, "growth_tracker", path);
  s.seed = field<uint64_t>(state, "seed", path);
  s.last_grad_norm = field<double>(state, "last_grad_norm", path);
  const DType dtype = config.compute_dtype;
  size_t expected_tensors = 0;
  auto take = [&](const std::string& name, const ParamTensor& p) {
    const StoredTensor& t = require_tensor(file, name, p, path);
    if (t.dtype != dtype)
      fail(ErrorCode::kDtypeMismatch, "'", path, "': tensor '", name, "' is ", dtype_name(t.dtype),
           ", the trainer keeps ", dtype_name(dtype));
    ++expected_tensors;
    return t.bytes;
  };
  for (const ParamTensor& p : plan.params()) s.params.push_back(take(p.name, p));
  for (const ParamTensor& p : plan.states()) s.state.push_back(take(p.name, p));
  for (const OptimizerState& o : trainer.optimizer().state())
    for (const ParamTensor& p : plan.params()) s.optimizer_state[o.name].push_back(take("optimizer." + o.name + "." + p.name, p));
  if (s.accumulated_count > 0)
    for (const ParamTensor& p : plan.params()) s.accumulated.push_back(take("accumulation." + p.name, p));
  if (file.tensors.size() != expected_tensors)
    for (const StoredTensor& t : file.tensors) {
      bool used = false;
      for (const ParamTensor& p : plan.params())
        used = used || t.name == p.name || t.name == "accumulation." + p.name || t.name.rfind("optimizer.", 0) == 0;
      for (const ParamTensor& p : plan.states()) used = used || t.name == p.name;
      if (!used) fail(ErrorCode::kInvalidArgument, "'", path, "' has a tensor '", t.name, "' this model does not have");
      fail(ErrorCode::kInvalidArgument, "'", path, "' holds ", file.tensors.size(), " tensors, this trainer expects ",
           expected_tensors);
    }
  for (const auto& [key, value] : file.metadata)
    if (key.rfind(kUserPrefix, 0) == 0) s.properties[key.substr(std::string(kUserPrefix).size())] = value;

  BatcherCursor saved_cursor;
  if (cursor) {
    if (!file.metadata.count("data_cursor"))
      fail(ErrorCode::kInvalidArgument, "'", path, "' has no data cursor to restore the batcher from");
    const Json c = parse_metadata_json(file, "data_cursor", path);
    saved_cursor = {field<int64_t>(c, "epoch", path),      field<int64_t>(c, "position", path),
                    field<uint64_t>(c, "seed", path),      field<int64_t>(c, "batch_size", path),
                    field<bool>(c, "shuffle", path),       field<bool>(c, "drop_last", path),
                    field<int64_t>(c, "dataset_size", path)};
    // Check the cursor on a copy first, so a bad one changes nothing.
    Batcher probe = *cursor;
    probe.restore(saved_cursor);
  }
  trainer.restore(s);
  if (cursor) cursor->restore(saved_cursor);
}

void export_weights(Trainer& trainer, const std::string& path, DType dtype) {
  if (dtype != DType::kF32 && dtype != DType::kF16 && dtype != DType::kBF16)
    fail(ErrorCode::kInvalidArgument, "weights are exported as f32, f16 or bf16, not ", dtype_name(dtype));
  const Plan& plan = trainer.plan();
  std::vector<StoredTensor> tensors;
  for (size_t i = 0; i < plan.params().size(); ++i) {
    const ParamTensor& p = plan.params()[i];
    StoredTensor t{p.name, dtype, p.spec.shape, std::vector<uint8_t>(p.count * dtype_size(dtype))};
    trainer.get_parameter(i, {t.bytes.data(), dtype, p.spec.shape, {}});
    tensors.push_back(std::move(t));
  }
  // Running statistics belong with the weights: inference needs them.
  for (size_t i = 0; i < plan.states().size(); ++i) {
    const ParamTensor& p = plan.states()[i];
    StoredTensor t{p.name, dtype, p.spec.shape, std::vector<uint8_t>(p.count * dtype_size(dtype))};
    trainer.get_state(i, {t.bytes.data(), dtype, p.spec.shape, {}});
    tensors.push_back(std::move(t));
  }
  write_file_atomically(path, serialize_safetensors(tensors, {{"format", kWeightsFormat},
                                                               {"model_spec", model_spec_to_json(plan.graph())}}));
}

void import_weights(Trainer& trainer, const std::string& path) {
  const SafetensorsFile file = read_safetensors(path);
  const Plan& plan = trainer.plan();
  // Find and check every tensor before the first write.
  auto find_all = [&](const std::vector<ParamTensor>& wanted) {
    std::vector<const StoredTensor*> found;
    for (const ParamTensor& p : wanted) {
      const StoredTensor& t = require_tensor(file, p.name, p, path);
      if (!dtype_is_float(t.dtype))
        fail(ErrorCode::kDtypeMismatch, "'", path, "': tensor '", p.name, "' is ", dtype_name(t.dtype), ", not a float dtype");
      found.push_back(&t);
    }
    return found;
  };
  const std::vector<const StoredTensor*> params = find_all(plan.params());
  const std::vector<const StoredTensor*> states = find_all(plan.states());
  auto view = [](const StoredTensor* t, const ParamTensor& p) {
    return HostView{const_cast<uint8_t*>(t->bytes.data()), t->dtype, p.spec.shape, {}};
  };
  for (size_t i = 0; i < params.size(); ++i) trainer.set_parameter(i, view(params[i], plan.params()[i]));
  for (size_t i = 0; i < states.size(); ++i) trainer.set_state(i, view(states[i], plan.states()[i]));
}

}  // namespace tk
