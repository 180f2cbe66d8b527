// Model specs, checkpoints, weight files and user properties.
#include <cstring>
#include <string>

#include "capi/handles.h"
#include "core/api/checkpoint.h"
#include "core/api/replica_fanout.h"
#include "core/api/weight_map.h"

using tk::capi::enum_value;
using tk::capi::guarded;
using tk::capi::require;

namespace {

// Text out-params: `text` and its NUL into buffer when it fits whole (else
// nothing is written); returns the bytes it needs, NUL included.
size_t copy_if_fits(const std::string& text, char* buffer, size_t capacity) {
  if (buffer && capacity > text.size()) std::memcpy(buffer, text.c_str(), text.size() + 1);
  return text.size() + 1;
}

}  // namespace

extern "C" {

TK_API tk_status tk_model_from_spec(const char* json, tk_model** out_model) {
  return guarded([&] {
    require(json, "json");
    require(out_model, "out_model");
    auto model = std::make_unique<tk_model>();
    model->model = tk::Model::from_spec(json);
    *out_model = model.release();
  });
}

TK_API tk_status tk_model_load_spec(const char* path, tk_model** out_model) {
  return guarded([&] {
    require(path, "path");
    require(out_model, "out_model");
    auto model = std::make_unique<tk_model>();
    model->model = tk::Model::load_spec(path);
    *out_model = model.release();
  });
}

TK_API tk_status tk_model_save_spec(const tk_model* model, const char* path) {
  return guarded([&] {
    require(model, "model");
    require(path, "path");
    model->model.save_spec(path);
  });
}

TK_API tk_status tk_model_spec_length(const tk_model* model, size_t* out_length) {
  return guarded([&] {
    require(model, "model");
    require(out_length, "out_length");
    *out_length = model->model.spec().size() + 1;
  });
}

TK_API tk_status tk_model_spec(const tk_model* model, char* buffer, size_t capacity) {
  return guarded([&] {
    require(model, "model");
    require(buffer, "buffer");
    const std::string text = model->model.spec();
    if (capacity < text.size() + 1)
      tk::fail(tk::ErrorCode::kInvalidArgument, "the spec needs ", text.size() + 1, " bytes, the buffer has ", capacity);
    std::memcpy(buffer, text.c_str(), text.size() + 1);
  });
}

TK_API tk_status tk_trainer_save(tk_trainer* trainer, const char* path, const tk_batcher* cursor) {
  return guarded([&] {
    require(trainer, "trainer");
    require(path, "path");
    tk::save_checkpoint(*trainer->trainer, path, cursor ? cursor->source.get() : nullptr);
  });
}

TK_API tk_status tk_trainer_save_keep_last(tk_trainer* trainer, const char* prefix, int32_t keep,
                                           const tk_batcher* cursor, char* out_path, size_t capacity) {
  return guarded([&] {
    require(trainer, "trainer");
    require(prefix, "prefix");
    const std::string path =
        tk::save_checkpoint_keep_last(*trainer->trainer, prefix, keep, cursor ? cursor->source.get() : nullptr);
    copy_if_fits(path, out_path, capacity);
  });
}

TK_API tk_status tk_trainer_load(tk_trainer* trainer, const char* path, tk_batcher* cursor) {
  return guarded([&] {
    require(trainer, "trainer");
    require(path, "path");
    tk::load_checkpoint_on_all(*trainer->group, path, cursor ? cursor->source.get() : nullptr);
  });
}

TK_API tk_status tk_trainer_export_weights(tk_trainer* trainer, const char* path, tk_dtype dtype) {
  return guarded([&] {
    require(trainer, "trainer");
    require(path, "path");
    if (!tk::dtype_is_valid(enum_value(dtype))) tk::fail(tk::ErrorCode::kInvalidArgument, "unknown dtype ", enum_value(dtype));
    tk::export_weights(*trainer->trainer, path, static_cast<tk::DType>(enum_value(dtype)));
  });
}

TK_API tk_status tk_trainer_import_weights(tk_trainer* trainer, const char* path) {
  return guarded([&] {
    require(trainer, "trainer");
    require(path, "path");
    tk::import_weights_on_all(*trainer->group, path);
  });
}

TK_API tk_status tk_trainer_import_weights_mapped(tk_trainer* trainer, const char* path, const char* map_json,
                                                  int32_t strict) {
  return guarded([&] {
    require(trainer, "trainer");
    require(path, "path");
    if (strict != 0 && strict != 1) tk::fail(tk::ErrorCode::kInvalidArgument, "strict is 0 or 1, not ", strict);
    const tk::WeightMap map = map_json ? tk::parse_weight_map(map_json) : tk::WeightMap{};
    const tk::WeightImport import(trainer->trainer->plan(), path, map, strict == 1);
    trainer->group->for_each([&](tk::Trainer& replica) { import.apply(replica); });
    trainer->import_report = import.report().to_json();
  });
}

TK_API tk_status tk_trainer_import_report(const tk_trainer* trainer, char* buffer, size_t capacity,
                                          size_t* out_length) {
  return guarded([&] {
    require(trainer, "trainer");
    require(out_length, "out_length");
    const std::string& report = trainer->import_report;
    *out_length = copy_if_fits(report, buffer, capacity);
  });
}

TK_API tk_status tk_trainer_set_property(tk_trainer* trainer, const char* key, const char* value) {
  return guarded([&] {
    require(trainer, "trainer");
    require(key, "key");
    require(value, "value");
    if (!*key) tk::fail(tk::ErrorCode::kInvalidArgument, "a property key must not be empty");
    trainer->trainer->properties()[key] = value;
  });
}

TK_API tk_status tk_trainer_get_property(const tk_trainer* trainer, const char* key, char* buffer, size_t capacity,
                                         size_t* out_length) {
  return guarded([&] {
    require(trainer, "trainer");
    require(key, "key");
    require(out_length, "out_length");
    const auto& properties = trainer->trainer->properties();
    auto it = properties.find(key);
    if (it == properties.end()) tk::fail(tk::ErrorCode::kInvalidArgument, "no property '", key, "'");
    *out_length = copy_if_fits(it->second, buffer, capacity);
  });
}

}  // extern "C"
