// The threads a replica group keeps: every run gives each replica its job
// once, on a thread of its own that stays the same from run to run, and an
// exception of any replica comes back to the caller.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/api/replica_workers.h"

namespace tk {
namespace {

TEST(ReplicaWorkersTest, EveryReplicaRunsOncePerRunOnItsOwnThread) {
  ReplicaWorkers workers(3);
  std::vector<std::atomic<int>> runs(3);
  std::vector<std::thread::id> first(3), later(3);
  workers.run([&](int r) {
    first[r] = std::this_thread::get_id();
    ++runs[r];
  });
  for (int i = 0; i < 200; ++i)
    workers.run([&](int r) {
      later[r] = std::this_thread::get_id();
      ++runs[r];
    });
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(runs[r], 201) << "replica " << r;
    EXPECT_EQ(first[r], later[r]) << "replica " << r << " changed threads";
  }
  EXPECT_EQ(first[0], std::this_thread::get_id());
  EXPECT_NE(first[1], first[2]);
  EXPECT_NE(first[1], first[0]);
}

TEST(ReplicaWorkersTest, AReplicasExceptionReachesTheCallerAndTheWorkersCarryOn) {
  ReplicaWorkers workers(2);
  EXPECT_THROW(workers.run([](int r) {
    if (r == 1) throw std::runtime_error("replica 1 failed");
  }),
               std::runtime_error);
  std::atomic<int> done{0};
  workers.run([&](int) { ++done; });
  EXPECT_EQ(done, 2);
}

}  // namespace
}  // namespace tk
