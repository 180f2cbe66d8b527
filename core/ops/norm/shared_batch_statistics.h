// Sync batch norm: what each replica of a group computes over its own rows,
// combined over every replica's (OpContext::replica_sums), so that N
// replicas normalize a batch as one replica on all of it. Values are of the
// master dtype in backend memory, `channels` of each; the sums run in f64.
#pragma once

#include <cstdint>

#include "core/ops/op.h"

namespace tk {

// Replaces this replica's per-channel mean and biased variance over `count`
// values by those over every replica's values; returns their total count.
// Merged around the global mean (no cancellation): sum_r n_r (var_r + (mean_r - mean)^2).
int64_t share_batch_statistics(const OpContext& ctx, int64_t channels, int64_t count, void* mean, void* var);

// Sums this replica's sum(dz) and sum(dz * x_hat) over every replica into
// total_dz and total_dz_xhat; returns the total count of values per
// channel (this replica's is `count`).
int64_t share_gradient_sums(const OpContext& ctx, int64_t channels, int64_t count, const void* sum_dz,
                            const void* sum_dz_xhat, void* total_dz, void* total_dz_xhat);

}  // namespace tk
