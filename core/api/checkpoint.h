// Checkpoints and weight files, in the safetensors layout so that PyTorch,
// numpy and others can read them.
//
// A checkpoint holds the weights (named "<node>.<param>", master dtype), the
// optimizer state ("optimizer.<state>.<param>"), a partial accumulation
// ("accumulation.<param>"), and in its metadata the model spec, the counters,
// loss-scaler state, seed, user properties and an optional data cursor.
// Loading validates the whole file against the trainer before changing it.
#pragma once

#include <string>

#include "core/api/trainer.h"
#include "core/data/batch_source.h"

namespace tk {

// Atomic: a crash during the save leaves the previous file as it was.
void save_checkpoint(Trainer& trainer, const std::string& path, const BatchSource* cursor);
// Saves "<prefix>-<optimizer step, 10 digits>.safetensors" and deletes the
// oldest such files beyond `keep`; returns the path written.
std::string save_checkpoint_keep_last(Trainer& trainer, const std::string& prefix, int keep, const BatchSource* cursor);
// All-or-nothing: on any error (unreadable, corrupt, another model or
// optimizer) the trainer and the cursor are unchanged.
void load_checkpoint(Trainer& trainer, const std::string& path, BatchSource* cursor);

// Weights only, as f32, f16 or bf16, with the model spec in the metadata.
void export_weights(Trainer& trainer, const std::string& path, DType dtype);
// Loads weights by name (any float dtype, converted); optimizer state and
// counters are kept. All-or-nothing.
void import_weights(Trainer& trainer, const std::string& path);

}  // namespace tk
