// threads = 0 honours OMP_NUM_THREADS (set to 1 for this test in BUILD): a
// host's cap on a shared machine is kept, not overridden by the core count.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "core/backend/cpu/cpu_backend.h"

namespace tk {
namespace {

TEST(OmpThreadsCapTest, ZeroThreadsMeansOpenMpsCap) {
  ASSERT_STREQ(std::getenv("OMP_NUM_THREADS"), "1");
  EXPECT_EQ(cpu::CpuBackend(0).threads(), 1);
  EXPECT_EQ(cpu::CpuBackend(3).threads(), 3);
}

}  // namespace
}  // namespace tk
