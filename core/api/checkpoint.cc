#include "core/api/checkpoint.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "core/base/error.h"
#include "core/base/host_view.h"
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

// Counters beyond 2^53 are not ones a run reaches (nor does a double hold them).
constexpr int64_t kMaxCount = int64_t{1} << 53;

// Reads a field of the saved state, or fails naming it. The JSON type must be
// the field's own: 1.5 is not a step count, "3" is not a number.
template <typename T>
T field(const Json& state, const char* name, const std::string& path) {
  if (!state.contains(name)) fail(ErrorCode::kCorruptData, "'", path, "': the saved state lacks '", name, "'");
  const Json& value = state[name];
  bool fits;
  if constexpr (std::is_same_v<T, bool>) {
    fits = value.is_boolean();
  } else if constexpr (std::is_same_v<T, std::string>) {
    fits = value.is_string();
  } else if constexpr (std::is_unsigned_v<T>) {
    fits = value.is_number_unsigned();
  } else if constexpr (std::is_integral_v<T>) {
    fits = value.is_number_integer() && value.get<int64_t>() >= std::numeric_limits<T>::min() &&
           value.get<int64_t>() <= std::numeric_limits<T>::max();
  } else {
    fits = value.is_number();
  }
  if (!fits) fail(ErrorCode::kCorruptData, "'", path, "': the saved state's '", name, "' has the wrong type");
  return value.get<T>();
}

// An integer field in [low, high].
int64_t count_field(const Json& state, const char* name, const std::string& path, int64_t low = 0,
                    int64_t high = kMaxCount) {
  const int64_t value = field<int64_t>(state, name, path);
  if (value < low || value > high)
    fail(ErrorCode::kCorruptData, "'", path, "': the saved state's '", name, "' is ", value, ", not in [", low, ", ",
         high, "]");
  return value;
}

const char* loss_name(LossKind loss) {
  switch (loss) {
    case LossKind::kSoftmaxCrossEntropy: return "softmax_cross_entropy";
    case LossKind::kMse: return "mse";
    case LossKind::kBceWithLogits: return "bce_with_logits";
  }
  return "unknown";
}

// "crc32:" and 8 hex digits of zlib's CRC-32 of a tensor's bytes. Stored in
// the metadata (which other safetensors readers ignore) and checked on load.
std::string checksum(const std::vector<uint8_t>& bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (size_t done = 0; done < bytes.size();) {
    const uInt n = static_cast<uInt>(std::min<size_t>(bytes.size() - done, 1u << 30));
    crc = crc32(crc, bytes.data() + done, n);
    done += n;
  }
  char text[16];
  std::snprintf(text, sizeof text, "crc32:%08lx", static_cast<unsigned long>(crc));
  return text;
}

std::string checksums_json(const std::vector<StoredTensor>& tensors) {
  Json sums = Json::object();
  for (const StoredTensor& t : tensors) sums[t.name] = checksum(t.bytes);
  return sums.dump();
}

// Verifies the checksums a file carries; files written before checksums
// existed carry none and load as they did.
void verify_checksums(const SafetensorsFile& file, const std::string& path) {
  auto it = file.metadata.find("checksums");
  if (it == file.metadata.end()) return;
  const Json sums = Json::parse(it->second, nullptr, false);
  if (sums.is_discarded() || !sums.is_object())
    fail(ErrorCode::kCorruptData, "'", path, "': metadata 'checksums' is not a JSON object");
  for (const StoredTensor& t : file.tensors) {
    if (!sums.contains(t.name) || !sums[t.name].is_string())
      fail(ErrorCode::kCorruptData, "'", path, "': tensor '", t.name, "' has no checksum");
    if (sums[t.name].get<std::string>() != checksum(t.bytes))
      fail(ErrorCode::kCorruptData, "'", path, "': tensor '", t.name,
           "' does not match its checksum (the file is damaged)");
  }
}

// Refuses a tensor with a NaN or infinite element, or, where the values are
// variances, a negative one.
void require_valid_values(const StoredTensor& t, bool non_negative, const std::string& path) {
  if (!dtype_is_float(t.dtype)) return;
  std::vector<double> values(shape_numel(t.shape));
  copy_from_view(HostView{const_cast<uint8_t*>(t.bytes.data()), t.dtype, t.shape, {}}, DType::kF64, values.data());
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i]))
      fail(ErrorCode::kCorruptData, "'", path, "': tensor '", t.name, "' holds a non-finite value (", values[i],
           ") at element ", i);
    if (non_negative && values[i] < 0)
      fail(ErrorCode::kCorruptData, "'", path, "': tensor '", t.name, "' holds a negative variance (", values[i],
           ") at element ", i);
  }
}

bool is_variance(const std::string& name) {
  auto ends_with = [&](const char* tail) {
    const size_t n = std::strlen(tail);
    return name.size() >= n && name.compare(name.size() - n, n, tail) == 0;
  };
  return name.rfind("optimizer.exp_avg_sq.", 0) == 0 || ends_with(".running_var");
}

// The saved model spec must describe this trainer's model.
void require_same_model(const SafetensorsFile& file, const Plan& plan, const std::string& path) {
  auto it = file.metadata.find("model_spec");
  if (it == file.metadata.end()) return;
  const Json saved = Json::parse(it->second, nullptr, false);
  if (saved.is_discarded() || !saved.is_object())
    fail(ErrorCode::kCorruptData, "'", path, "': metadata 'model_spec' is not a JSON object");
  if (saved != Json::parse(model_spec_to_json(plan.graph())))
    fail(ErrorCode::kInvalidArgument, "'", path, "' was written for a different model than this trainer's (its "
         "model_spec differs)");
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

void save_checkpoint(Trainer& trainer, const std::string& path, const BatchSource* cursor) {
  const TrainerSnapshot s = trainer.snapshot();
  const Plan& plan = trainer.plan();
  const DType dtype = trainer.config().compute_dtype;
  std::vector<StoredTensor> tensors;
  for (size_t i = 0; i < plan.params().size(); ++i)
    tensors.push_back({plan.params()[i].name, dtype, plan.params()[i].spec.shape, s.params[i]});
  for (size_t i = 0; i < plan.states().size(); ++i)
    tensors.push_back({plan.states()[i].name, dtype, plan.states()[i].spec.shape, s.state[i]});
  // Frozen tensors have no moments or accumulated gradients to save.
  for (const auto& [state, buffers] : s.optimizer_state)
    for (size_t i = 0; i < plan.params().size(); ++i)
      if (!buffers[i].empty())
        tensors.push_back({"optimizer." + state + "." + plan.params()[i].name, dtype, plan.params()[i].spec.shape,
                           buffers[i]});
  for (size_t i = 0; i < s.accumulated.size(); ++i)
    if (!s.accumulated[i].empty())
      tensors.push_back({"accumulation." + plan.params()[i].name, dtype, plan.params()[i].spec.shape, s.accumulated[i]});
  Json frozen = Json::array(), moments_since = Json::object();
  for (size_t i = 0; i < plan.params().size(); ++i) {
    if (plan.params()[i].grad_offset < 0) frozen.push_back(plan.params()[i].name);
    if (i < s.moments_since.size() && s.moments_since[i] != 0) moments_since[plan.params()[i].name] = s.moments_since[i];
  }

  const TrainerConfig& config = trainer.config();
  Json state = {{"optimizer", optimizer_name(config.optimizer.kind)},
                {"loss", loss_name(config.loss)},
                {"precision", precision_name(config.precision)},
                {"accumulation_steps", config.accumulation_steps},
                {"optimizer_steps", s.optimizer_steps},
                {"micro_steps", s.micro_steps},
                {"skipped_steps", s.skipped_steps},
                {"accumulated_count", s.accumulated_count},
                {"loss_scale", s.loss_scale},
                {"growth_tracker", s.growth_tracker},
                {"seed", s.seed},
                {"last_grad_norm", s.last_grad_norm},
                {"learning_rate", s.learning_rate},
                {"frozen", frozen},
                {"moments_since", moments_since}};
  std::map<std::string, std::string> metadata = {{"format", kCheckpointFormat},
                                                 // 2: some moments are left out (frozen tensors)
                                                 {"format_version", frozen.empty() ? "1" : "2"},
                                                 {"model_spec", model_spec_to_json(plan.graph())},
                                                 {"state", state.dump()},
                                                 {"checksums", checksums_json(tensors)}};
  if (cursor) {
    const BatcherCursor c = cursor->cursor();
    metadata["data_cursor"] = Json{{"epoch", c.epoch},       {"position", c.position},   {"seed", c.seed},
                                   {"batch_size", c.batch_size}, {"shuffle", c.shuffle}, {"drop_last", c.drop_last},
                                   {"dataset_size", c.dataset_size}, {"batch", c.batch}}
                                  .dump();
  }
  for (const auto& [key, value] : s.properties) metadata[kUserPrefix + key] = value;
  write_file_atomically(path, serialize_safetensors(tensors, metadata));
}

std::string save_checkpoint_keep_last(Trainer& trainer, const std::string& prefix, int keep, const BatchSource* cursor) {
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

void load_checkpoint(Trainer& trainer, const std::string& path, BatchSource* cursor) {
  const SafetensorsFile file = read_safetensors(path);
  auto format = file.metadata.find("format");
  if (format == file.metadata.end() || format->second != kCheckpointFormat)
    fail(ErrorCode::kInvalidArgument, "'", path, "' is not a trainkit checkpoint (", kWeightsFormat,
         " files load with tk_trainer_import_weights)");
  auto version = file.metadata.find("format_version");
  if (version == file.metadata.end() || (version->second != "1" && version->second != "2"))
    fail(ErrorCode::kUnsupported, "'", path, "' has a checkpoint version this build does not read");
  verify_checksums(file, path);
  const Json state = parse_metadata_json(file, "state", path);
  const TrainerConfig& config = trainer.config();
  auto expect_same = [&](const char* what, const std::string& saved, const std::string& ours) {
    if (saved != ours)
      fail(ErrorCode::kInvalidArgument, "'", path, "' was written by a trainer with ", what, " ", saved,
           "; this one has ", ours);
  };
  expect_same("optimizer", field<std::string>(state, "optimizer", path), optimizer_name(config.optimizer.kind));
  // Checkpoints written before the loss was recorded load under any loss.
  if (state.contains("loss")) expect_same("loss", field<std::string>(state, "loss", path), loss_name(config.loss));
  expect_same("precision", field<std::string>(state, "precision", path), precision_name(config.precision));
  expect_same("accumulation steps", std::to_string(field<int64_t>(state, "accumulation_steps", path)),
              std::to_string(config.accumulation_steps));

  // Every tensor must be one this trainer needs, and every one it needs must be there.
  const Plan& plan = trainer.plan();
  TrainerSnapshot s;
  s.optimizer_steps = count_field(state, "optimizer_steps", path);
  s.micro_steps = count_field(state, "micro_steps", path);
  s.skipped_steps = count_field(state, "skipped_steps", path);
  s.accumulated_count = static_cast<int>(count_field(state, "accumulated_count", path, 0, config.accumulation_steps - 1));
  s.growth_tracker = count_field(state, "growth_tracker", path);
  const double loss_scale = field<double>(state, "loss_scale", path);
  // The scaler never goes below the smallest normal float (1 / scale must
  // stay finite) nor above the largest.
  if (!(loss_scale >= FLT_MIN && loss_scale <= FLT_MAX))
    fail(ErrorCode::kCorruptData, "'", path, "': the saved loss scale ", loss_scale, " is not in [FLT_MIN, FLT_MAX]");
  s.loss_scale = static_cast<float>(loss_scale);
  s.seed = field<uint64_t>(state, "seed", path);
  s.last_grad_norm = field<double>(state, "last_grad_norm", path);
  // Checkpoints from before the base rate was kept restore the trainer's own.
  s.learning_rate = state.contains("learning_rate") ? field<double>(state, "learning_rate", path) : std::nan("");
  const DType dtype = config.compute_dtype;
  size_t expected_tensors = 0;
  auto take = [&](const std::string& name, const ParamTensor& p) {
    const StoredTensor& t = require_tensor(file, name, p, path);
    if (t.dtype != dtype)
      fail(ErrorCode::kDtypeMismatch, "'", path, "': tensor '", name, "' is ", dtype_name(t.dtype),
           ", the trainer keeps ", dtype_name(dtype));
    require_valid_values(t, is_variance(name), path);
    ++expected_tensors;
    return t.bytes;
  };
  for (const ParamTensor& p : plan.params()) s.params.push_back(take(p.name, p));
  for (const ParamTensor& p : plan.states()) s.state.push_back(take(p.name, p));
  // Tensors the writer had frozen have no moments in the file (they start
  // fresh if this trainer trains them); any other missing tensor is an error.
  std::set<std::string> saved_frozen;
  if (state.contains("frozen")) {
    if (!state["frozen"].is_array()) fail(ErrorCode::kCorruptData, "'", path, "': 'frozen' is not a list of names");
    for (const Json& name : state["frozen"]) {
      if (!name.is_string()) fail(ErrorCode::kCorruptData, "'", path, "': 'frozen' holds a non-name");
      saved_frozen.insert(name.get<std::string>());
    }
  }
  auto take_trained = [&](const std::string& name, const ParamTensor& p) {
    return saved_frozen.count(p.name) && !file.find(name) ? std::vector<uint8_t>{} : take(name, p);
  };
  for (const OptimizerState& o : trainer.optimizer().state())
    for (const ParamTensor& p : plan.params())
      s.optimizer_state[o.name].push_back(take_trained("optimizer." + o.name + "." + p.name, p));
  if (s.accumulated_count > 0)
    for (const ParamTensor& p : plan.params()) s.accumulated.push_back(take_trained("accumulation." + p.name, p));
  if (state.contains("moments_since")) {
    const Json& since = state["moments_since"];
    if (!since.is_object()) fail(ErrorCode::kCorruptData, "'", path, "': 'moments_since' is not an object");
    for (const ParamTensor& p : plan.params())
      s.moments_since.push_back(since.contains(p.name) ? count_field(since, p.name.c_str(), path) : 0);
  }
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
  // After the tensors, whose mismatches name the tensor: a model of the same
  // shapes but other ops is refused here.
  require_same_model(file, plan, path);
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
    // Cursors written before streams count their batches from the position.
    saved_cursor.batch = c.contains("batch") ? field<int64_t>(c, "batch", path)
                         : saved_cursor.batch_size > 0
                             ? (saved_cursor.position + saved_cursor.batch_size - 1) / saved_cursor.batch_size
                             : 0;
    // Checked first, so a bad one changes nothing.
    cursor->check_cursor(saved_cursor);
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
                                                               {"model_spec", model_spec_to_json(plan.graph())},
                                                               {"checksums", checksums_json(tensors)}}));
}

void import_weights(Trainer& trainer, const std::string& path) {
  const SafetensorsFile file = read_safetensors(path);
  verify_checksums(file, path);
  const Plan& plan = trainer.plan();
  // Find and check every tensor before the first write.
  auto find_all = [&](const std::vector<ParamTensor>& wanted) {
    std::vector<const StoredTensor*> found;
    for (const ParamTensor& p : wanted) {
      const StoredTensor& t = require_tensor(file, p.name, p, path);
      if (!dtype_is_float(t.dtype))
        fail(ErrorCode::kDtypeMismatch, "'", path, "': tensor '", p.name, "' is ", dtype_name(t.dtype), ", not a float dtype");
      require_valid_values(t, is_variance(p.name), path);
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
