#include "core/api/replica_fanout.h"

#include "core/api/checkpoint.h"

namespace tk {

void set_parameter_on_all(ReplicatedTrainer& group, int index, const HostView& values) {
  group.primary().plan().param(index);  // an index out of range fails before any replica changes
  group.for_each([&](Trainer& replica) { replica.set_parameter(index, values); });
}

void import_weights_on_all(ReplicatedTrainer& group, const std::string& path) {
  group.for_each([&](Trainer& replica) { import_weights(replica, path); });
}

void load_checkpoint_on_all(ReplicatedTrainer& group, const std::string& path, BatchSource* cursor) {
  Trainer& primary = group.primary();
  load_checkpoint(primary, path, cursor);
  if (group.replicas() > 1) {
    const TrainerSnapshot state = primary.snapshot();
    group.for_each([&](Trainer& replica) {
      if (&replica != &primary) replica.restore(state);
    });
  }
}

}  // namespace tk
