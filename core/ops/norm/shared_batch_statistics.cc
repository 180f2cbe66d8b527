#include "core/ops/norm/shared_batch_statistics.h"

#include <cstring>
#include <vector>

#include "core/base/host_view.h"
#include "core/dist/replica_sums.h"

namespace tk {
namespace {

// n values of the master dtype in backend memory, as doubles, and back:
// the backend's own host transfers convert.
std::vector<double> read_values(const OpContext& ctx, const void* src, int64_t n) {
  std::vector<double> out(static_cast<size_t>(n));
  ctx.backend->store_host(ctx.grad_dtype, src, HostView{out.data(), DType::kF64, {n}, {}});
  return out;
}

void write_values(const OpContext& ctx, const double* values, int64_t n, void* dst) {
  ctx.backend->load_host(HostView{const_cast<double*>(values), DType::kF64, {n}, {}}, ctx.grad_dtype, dst);
}

}  // namespace

int64_t share_batch_statistics(const OpContext& ctx, int64_t channels, int64_t count, void* mean, void* var) {
  ReplicaSums& sums = *ctx.replica_sums;
  const size_t c = static_cast<size_t>(channels);
  const std::vector<double> local_mean = read_values(ctx, mean, channels), local_var = read_values(ctx, var, channels);
  const double n = static_cast<double>(count);
  // Pass 1: every replica's value sums and counts give the global mean.
  double* values = sums.values(c + 1);
  for (size_t i = 0; i < c; ++i) values[i] = count > 0 ? n * local_mean[i] : 0.0;
  values[c] = n;
  sums.sum(c + 1);
  const double total = values[c];
  std::vector<double> global_mean(values, values + c);
  for (double& m : global_mean) m /= total;
  // Pass 2: squares around that mean, from each replica's own statistics.
  values = sums.values(c);
  for (size_t i = 0; i < c; ++i) {
    const double d = local_mean[i] - global_mean[i];
    values[i] = count > 0 ? n * (local_var[i] + d * d) : 0.0;
  }
  sums.sum(c);
  std::vector<double> global_var(values, values + c);
  for (double& v : global_var) v /= total;
  write_values(ctx, global_mean.data(), channels, mean);
  write_values(ctx, global_var.data(), channels, var);
  return static_cast<int64_t>(total);
}

int64_t share_gradient_sums(const OpContext& ctx, int64_t channels, int64_t count, const void* sum_dz,
                            const void* sum_dz_xhat, void* total_dz, void* total_dz_xhat) {
  ReplicaSums& sums = *ctx.replica_sums;
  const size_t c = static_cast<size_t>(channels);
  const std::vector<double> dz = read_values(ctx, sum_dz, channels), dz_xhat = read_values(ctx, sum_dz_xhat, channels);
  double* values = sums.values(2 * c + 1);
  std::memcpy(values, dz.data(), c * sizeof(double));
  std::memcpy(values + c, dz_xhat.data(), c * sizeof(double));
  values[2 * c] = static_cast<double>(count);
  sums.sum(2 * c + 1);
  write_values(ctx, values, channels, total_dz);
  write_values(ctx, values + c, channels, total_dz_xhat);
  return static_cast<int64_t>(values[2 * c]);
}

}  // namespace tk
