// What the C API's opaque handles hold, and the one wrapper that turns C++
// exceptions into a tk_status plus the thread-local message.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>

#include "capi/trainkit.h"
#include "core/base/input_views.h"
#include "core/api/data.h"
#include "core/api/distributed_options.h"
#include "core/api/fit.h"
#include "core/api/model.h"
#include "core/api/predictor.h"
#include "core/api/trainer.h"
#include "core/api/training_group.h"
#include "core/base/error.h"

struct tk_model {
  tk::Model model;
};

struct tk_trainer_options {
  tk::TrainerConfig config;
  tk::DistributedOptions distributed;
};

struct tk_trainer {
  std::unique_ptr<tk::TrainingGroup> session;
  tk::ReplicatedTrainer* group = nullptr;  // session's replicas
  tk::Trainer* trainer = nullptr;          // replica 0: answers every read
  // Set by tk_trainer_cancel from any thread; cleared by the call it ends.
  std::atomic<bool> cancel{false};
  std::string import_report = "{}";  // of the last tk_trainer_import_weights_mapped
};

// Shared: a batcher keeps its dataset alive even after tk_dataset_destroy.
struct tk_dataset {
  std::shared_ptr<tk::Dataset> dataset;
};

// Over a dataset (`batcher` set) or fed by a producer (`stream` set);
// `source` is whichever it is. Destroying a stream joins its fill thread.
struct tk_batcher {
  std::shared_ptr<const tk::Dataset> dataset;
  std::unique_ptr<tk::BatchSource> source;
  tk::Batcher* batcher = nullptr;
  tk::StreamBatcher* stream = nullptr;
};

struct tk_predictor {
  std::unique_ptr<tk::Predictor> predictor;
};

struct tk_fit_options {
  tk::FitConfig config;
  std::shared_ptr<const tk::Dataset> validation;  // config.validation points into it
  tk_fit_callback callback = nullptr;
  void* user_data = nullptr;
};

struct tk_fit {
  tk_trainer* trainer = nullptr;
  std::shared_ptr<const tk::Dataset> validation;
  std::unique_ptr<tk::FitLoop> loop;
};

namespace tk::capi {

// The integer a host passed for a C enum parameter. C lets any int through,
// but in C++ reading an enum-typed value outside the enum's range is
// undefined, so parameters are read as their bytes, and checked as ints.
template <typename Enum>
int32_t enum_value(const Enum& value) {
  static_assert(sizeof(Enum) == sizeof(int32_t), "C enums are int-sized here");
  int32_t raw;
  std::memcpy(&raw, &value, sizeof raw);
  return raw;
}

// The core's loss for a C tk_loss; kInvalidArgument for a value tk_loss lacks.
inline LossKind loss_kind(const tk_loss& loss) {
  const int32_t value = enum_value(loss);
  if (value < TK_LOSS_SOFTMAX_CROSS_ENTROPY || value > TK_LOSS_BCE_WITH_LOGITS)
    fail(ErrorCode::kInvalidArgument, "unknown loss ", value);
  return static_cast<LossKind>(value);
}

// Records the message (prefix + detail); never throws, even out of memory.
void set_last_error(const char* prefix, const char* detail) noexcept;

// Runs body; any exception becomes a status and message. Never throws.
template <typename Body>
tk_status guarded(const Body& body) noexcept {
  try {
    body();
    return TK_OK;
  } catch (const Error& e) {
    set_last_error("", e.what());
    return static_cast<tk_status>(e.code());
  } catch (const std::bad_alloc&) {
    set_last_error("out of memory", "");
    return TK_ERROR_OUT_OF_MEMORY;
  } catch (const std::length_error& e) {
    set_last_error("a size is too large: ", e.what());
    return TK_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    set_last_error("internal error: ", e.what());
    return TK_ERROR_INTERNAL;
  } catch (...) {
    set_last_error("internal error: unknown exception", "");
    return TK_ERROR_INTERNAL;
  }
}

// Throws kNullArgument naming the argument.
inline void require(const void* pointer, const char* name) {
  if (!pointer) fail(ErrorCode::kNullArgument, "'", name, "' must not be NULL");
}

// Throws kInvalidArgument unless an int32 flag is 0 or 1.
inline void check_flag(int32_t value, const char* name) {
  if (value != 0 && value != 1) fail(ErrorCode::kInvalidArgument, name, " must be 0 or 1, got ", value);
}

// Runs a call that tk_trainer_cancel may end; the request it honoured is
// withdrawn, so the trainer's next call runs.
template <typename Body>
void cancellable(tk_trainer* trainer, const Body& body) {
  try {
    body();
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kCancelled) trainer->cancel.store(false);
    throw;
  }
}

// Copies into a caller's size-versioned struct the fields its struct_size
// covers (a host built against an older header passes a smaller struct).
template <typename Struct>
void write_sized(const Struct& full, Struct* out) {
  const uint32_t size = static_cast<uint32_t>(std::min<size_t>(out->struct_size, sizeof(Struct)));
  Struct copy = full;
  copy.struct_size = size;
  std::memcpy(out, &copy, size);
}

// Checks a C view (dtype, rank, extents, strides) and converts it.
HostView to_host_view(const tk_tensor_view* view, const char* name);
tk_tensor_view to_c_view(const HostView& view);
// The caller's array of `count` views, one per model input in order.
InputViews to_input_views(int32_t count, const tk_tensor_view* inputs);
// Writes a per-sample shape into C out-params.
void write_shape(const Shape& shape, int32_t* out_rank, int64_t* out_shape);
void copy_name(const std::string& name, char* buffer, size_t capacity);
// tk_*_input_info: the model graph's input `index` (in the order added),
// checked before any out-param is written.
void write_input_info(const Graph& graph, int32_t index, char* name, size_t capacity, int32_t* out_indices,
                      int32_t* out_rank, int64_t* out_shape);

// tk_*_output_info: output `index`'s name and per-sample shape, checked
// before any out-param is written.
void write_output_info(const Graph& graph, int32_t index, char* name, size_t capacity, int32_t* out_rank,
                       int64_t* out_shape);
// The caller's array of `count` output views (1 to 1024; the model checks its own count).
std::vector<HostView> to_output_views(int32_t count, const tk_tensor_view* outputs);

}  // namespace tk::capi
