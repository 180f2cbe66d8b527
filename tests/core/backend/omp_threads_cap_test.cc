// threads = 0 honours OMP_NUM_THREADS (set to 1 for this test in BUILD): a
// host's cap on a shared machine is kept, not overridden by the core count.
#include <gtest/gtest.h>

#include <omp.h>

#include <cstdlib>
#include <string>

#include <vector>

#include "core/backend/cpu/cpu_backend.h"
#include "core/base/dtype.h"

namespace tk {
namespace {

TEST(OmpThreadsCapTest, ZeroThreadsMeansOpenMpsCap) {
  ASSERT_STREQ(std::getenv("OMP_NUM_THREADS"), "1");
  EXPECT_EQ(cpu::CpuBackend(0).threads(), 1);
  EXPECT_EQ(cpu::CpuBackend(3).threads(), 3);
}

// A product on a one-thread backend (f64 goes through OpenBLAS, whose thread
// setter also sets OpenMP's) leaves the host thread's OpenMP cap as it was.
TEST(OmpThreadsCapTest, AOneThreadProductLeavesTheHostsCapAlone) {
  const int env_cap = omp_get_max_threads();
  omp_set_num_threads(2);
  cpu::CpuBackend one(1);
  std::vector<double> a(8 * 8, 1.0), b(8 * 8, 1.0), c(8 * 8);
  one.gemm(DType::kF64, DType::kF64, DType::kF64, false, false, 8, 8, 8, 1.0, a.data(), b.data(), 0.0, c.data());
  EXPECT_EQ(c[0], 8.0);
  EXPECT_EQ(omp_get_max_threads(), 2);
  EXPECT_EQ(cpu::CpuBackend(0).threads(), 2);
  omp_set_num_threads(env_cap);  // the other test reads the environment's cap
}

}  // namespace
}  // namespace tk
