// Writes that change a trainer's state go to every replica of a group, so the
// replicas stay identical (reads go to replica 0 alone).
#pragma once

#include <string>

#include "core/api/replicated_trainer.h"
#include "core/data/batch_source.h"

namespace tk {

void set_parameter_on_all(ReplicatedTrainer& group, int index, const HostView& values);
void import_weights_on_all(ReplicatedTrainer& group, const std::string& path);
// Replica 0 reads, validates and loads the file (with the cursor); the others
// take its state, so the file is read once and every replica ends up equal.
void load_checkpoint_on_all(ReplicatedTrainer& group, const std::string& path, BatchSource* cursor);

}  // namespace tk
