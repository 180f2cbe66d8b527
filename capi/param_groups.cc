// Freezing and parameter groups by name pattern, and the trainer's memory.
#include <cmath>
#include <optional>

#include "capi/handles.h"

using tk::capi::guarded;
using tk::capi::require;

namespace {

// Every replica alike; the first answers how many tensors matched (the
// same on all: they share the model).
template <typename Change>
tk_status change_all(tk_trainer* trainer, const char* pattern, int64_t* out_matched, const Change& change) {
  return guarded([&] {
    require(trainer, "trainer");
    require(pattern, "pattern");
    int64_t matched = -1;
    trainer->group->for_each([&](tk::Trainer& t) {
      const int64_t n = change(t);
      if (matched < 0) matched = n;
    });
    if (out_matched) *out_matched = matched;
  });
}

}  // namespace

extern "C" {

TK_API tk_status tk_trainer_freeze(tk_trainer* trainer, const char* pattern, int64_t* out_matched) {
  return change_all(trainer, pattern, out_matched, [&](tk::Trainer& t) { return t.set_frozen(pattern, true); });
}

TK_API tk_status tk_trainer_unfreeze(tk_trainer* trainer, const char* pattern, int64_t* out_matched) {
  return change_all(trainer, pattern, out_matched, [&](tk::Trainer& t) { return t.set_frozen(pattern, false); });
}

TK_API tk_status tk_trainer_set_param_group(tk_trainer* trainer, const char* pattern, double lr_scale,
                                            double weight_decay, int64_t* out_matched) {
  const std::optional<double> decay = std::isnan(weight_decay) ? std::nullopt : std::optional<double>(weight_decay);
  return change_all(trainer, pattern, out_matched,
                    [&](tk::Trainer& t) { return t.set_param_group(pattern, lr_scale, decay); });
}

TK_API tk_status tk_trainer_parameter_settings(const tk_trainer* trainer, int32_t index, int32_t* out_frozen,
                                               double* out_lr_scale, double* out_weight_decay) {
  return guarded([&] {
    require(trainer, "trainer");
    require(out_frozen, "out_frozen");
    require(out_lr_scale, "out_lr_scale");
    require(out_weight_decay, "out_weight_decay");
    if (index < 0) tk::fail(tk::ErrorCode::kInvalidArgument, "parameter index ", index, " is negative");
    const tk::TensorSettings& settings = trainer->trainer->tensor_settings(static_cast<size_t>(index));
    const double decay = trainer->trainer->weight_decay_of(static_cast<size_t>(index));
    *out_frozen = settings.frozen ? 1 : 0;
    *out_lr_scale = settings.lr_scale;
    *out_weight_decay = decay;
  });
}

TK_API tk_status tk_trainer_memory(const tk_trainer* trainer, int64_t* out_bytes) {
  return guarded([&] {
    require(trainer, "trainer");
    require(out_bytes, "out_bytes");
    int64_t bytes = 0;
    trainer->group->for_each([&](tk::Trainer& t) { bytes += static_cast<int64_t>(t.memory_bytes()); });
    *out_bytes = bytes;
  });
}

}  // extern "C"
