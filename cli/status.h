// The CLI reaches trainkit through its C API only; a failed call becomes a
// CliError carrying the call's message, which main() prints.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "capi/trainkit.h"

namespace tkcli {

struct CliError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws CliError("<what>: <status>: <message>") unless status is TK_OK.
void check(tk_status status, const std::string& what);

// Owning handles.
struct ModelFree { void operator()(tk_model* m) const { tk_model_destroy(m); } };
struct TrainerFree { void operator()(tk_trainer* t) const { tk_trainer_destroy(t); } };
struct DatasetFree { void operator()(tk_dataset* d) const { tk_dataset_destroy(d); } };
struct BatcherFree { void operator()(tk_batcher* b) const { tk_batcher_destroy(b); } };
struct OptionsFree { void operator()(tk_trainer_options* o) const { tk_trainer_options_destroy(o); } };
struct FitOptionsFree { void operator()(tk_fit_options* o) const { tk_fit_options_destroy(o); } };
using Model = std::unique_ptr<tk_model, ModelFree>;
using Trainer = std::unique_ptr<tk_trainer, TrainerFree>;
using Dataset = std::unique_ptr<tk_dataset, DatasetFree>;
using Batcher = std::unique_ptr<tk_batcher, BatcherFree>;
using TrainerOptions = std::unique_ptr<tk_trainer_options, OptionsFree>;
using FitOptions = std::unique_ptr<tk_fit_options, FitOptionsFree>;

}  // namespace tkcli
