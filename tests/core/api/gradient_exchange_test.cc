// The data-parallel exchange on in-process replicas (threads, a LocalGroup):
// gradient buckets summed as backward finishes them, the accumulation
// window's sum joining each bucket, agreement on the loss, on finiteness and
// on batch sizes, and a replica without gradients making every one skip.
#include <gtest/gtest.h>

#include <cmath>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/api/gradient_exchange.h"
#include "core/backend/buffer.h"
#include "core/backend/cpu/cpu_backend.h"
#include "core/base/error.h"
#include "core/dist/local_group.h"

namespace tk {
namespace {

constexpr int kReplicas = 3;
constexpr int64_t kCount = 10;

// One replica: its backend, its gradients (replica r holds r + 1 + i / 2,
// exact in f32) and its exchange, joined to the group.
struct Replica {
  cpu::CpuBackend backend{1};
  Buffer grads{&backend, kCount * sizeof(float)};
  Buffer window{&backend, kCount * sizeof(float)};
  // Buckets of 3 values: [7, 10), [4, 7), [1, 4), [0, 1).
  GradientExchange exchange{&backend, DType::kF32, kCount, 3 * sizeof(float)};
  Replica(int rank, Communicator* communicator) {
    for (int64_t i = 0; i < kCount; ++i) {
      grads.as<float>()[i] = static_cast<float>(rank + 1) + 0.5f * static_cast<float>(i);
      window.as<float>()[i] = 100.0f * static_cast<float>(rank + 1);
    }
    exchange.join(communicator);
  }
  std::vector<float> gradients() const { return {grads.as<float>(), grads.as<float>() + kCount}; }
};

class GradientExchangeTest : public ::testing::Test {
 protected:
  GradientExchangeTest() : group_(kReplicas, std::chrono::seconds(20)) {
    for (int r = 0; r < kReplicas; ++r) replicas_.push_back(std::make_unique<Replica>(r, group_.communicator(r)));
  }

  // Runs fn on every replica at once, one thread each; the errors by rank.
  std::vector<std::exception_ptr> on_every_replica(const std::function<void(int, Replica&)>& fn) {
    std::vector<std::exception_ptr> errors(kReplicas);
    std::vector<std::thread> threads;
    for (int r = 0; r < kReplicas; ++r)
      threads.emplace_back([&, r] {
        try {
          fn(r, *replicas_[r]);
        } catch (...) {
          errors[r] = std::current_exception();
          group_.communicator(r)->abort();
        }
      });
    for (std::thread& t : threads) t.join();
    return errors;
  }

  LocalGroup group_;
  std::vector<std::unique_ptr<Replica>> replicas_;
};

float sum_over_replicas(int64_t i, bool with_window) {
  float sum = 0;
  for (int r = 0; r < kReplicas; ++r)
    sum += static_cast<float>(r + 1) + 0.5f * static_cast<float>(i) + (with_window ? 100.0f * (r + 1) : 0.0f);
  return sum;
}

TEST_F(GradientExchangeTest, BucketsAreSummedAsBackwardFinishesThem) {
  std::vector<double> losses(kReplicas);
  std::vector<int> agreed(kReplicas);
  const auto errors = on_every_replica([&](int r, Replica& replica) {
    GradientExchange& x = replica.exchange;
    x.begin_sum(replica.grads.data(), nullptr, /*has_gradients=*/true);
    x.backward_reached(8);  // no whole bucket finished yet
    x.backward_reached(7);  // [7, 10)
    x.backward_reached(2);  // [4, 7)
    x.backward_done();      // [1, 4), [0, 1)
    EXPECT_FALSE(x.gradients_readable_while_summing()) << "a CPU backend's gradients are summed where they are";
    losses[r] = 1.0 + r;
    agreed[r] = x.agree_on_loss(&losses[r], /*share=*/0.5, /*finite=*/true);
    x.end_sum(/*keep=*/true);
  });
  for (int r = 0; r < kReplicas; ++r) {
    ASSERT_FALSE(errors[r]) << "replica " << r;
    EXPECT_TRUE(agreed[r]);
    EXPECT_EQ(losses[r], 0.5 * (1 + 2 + 3)) << "the global loss: every replica's times its share";
    const std::vector<float> got = replicas_[r]->gradients();
    for (int64_t i = 0; i < kCount; ++i) EXPECT_EQ(got[i], sum_over_replicas(i, false)) << r << " at " << i;
    EXPECT_EQ(replicas_[r]->exchange.overlapped_buckets(), 2) << "two buckets started while backward ran";
  }
}

TEST_F(GradientExchangeTest, TheWindowsSumJoinsEveryBucket) {
  const auto errors = on_every_replica([&](int, Replica& replica) {
    GradientExchange& x = replica.exchange;
    x.begin_sum(replica.grads.data(), replica.window.data(), true);
    x.backward_done();
    double loss = 1;
    x.agree_on_loss(&loss, 1.0, true);
    x.end_sum(true);
  });
  for (int r = 0; r < kReplicas; ++r) {
    ASSERT_FALSE(errors[r]) << "replica " << r;
    const std::vector<float> got = replicas_[r]->gradients();
    for (int64_t i = 0; i < kCount; ++i) EXPECT_EQ(got[i], sum_over_replicas(i, true)) << r << " at " << i;
    EXPECT_EQ(replicas_[r]->exchange.overlapped_buckets(), 0);
  }
}

TEST_F(GradientExchangeTest, AReplicaWithoutGradientsMakesEveryReplicaSkip) {
  std::vector<double> losses(kReplicas, 2.0);
  std::vector<int> agreed(kReplicas, 1);
  const auto errors = on_every_replica([&](int r, Replica& replica) {
    GradientExchange& x = replica.exchange;
    const bool finite = r != 1;  // replica 1's loss is not finite: it has no backward
    x.begin_sum(replica.grads.data(), nullptr, finite);
    x.backward_done();
    agreed[r] = x.agree_on_loss(&losses[r], 1.0, finite);
    x.end_sum(/*keep=*/agreed[r]);
  });
  for (int r = 0; r < kReplicas; ++r) {
    ASSERT_FALSE(errors[r]) << "replica " << r;
    EXPECT_FALSE(agreed[r]) << "replica " << r << " went on with a step replica 1 could not take";
    EXPECT_EQ(losses[r], 2.0) << "the local loss stays, for the error message";
    // Summed in place, then cleared: no NaN stays behind (in the gaps
    // between tensors no backward writes, it would poison every later sum).
    for (float g : replicas_[r]->gradients()) EXPECT_EQ(g, 0.0f) << "replica " << r;
  }
}

TEST_F(GradientExchangeTest, ReplicasAgreeOnTheirSharesOfTheBatch) {
  const int64_t rows[kReplicas] = {2, 3, 5};
  std::vector<double> mean(kReplicas), sum(kReplicas);
  const auto errors = on_every_replica([&](int r, Replica& replica) {
    mean[r] = replica.exchange.agree_on_batch(rows[r], nullptr, /*mean=*/true);
    sum[r] = replica.exchange.agree_on_batch(rows[r], nullptr, /*mean=*/false);
  });
  for (int r = 0; r < kReplicas; ++r) {
    ASSERT_FALSE(errors[r]) << "replica " << r;
    EXPECT_EQ(mean[r], rows[r] / 10.0);
    EXPECT_EQ(sum[r], 1.0);
  }
}

TEST_F(GradientExchangeTest, ABatchThatFailsOnOneReplicaFailsTheStepOnAll) {
  const auto errors = on_every_replica([&](int r, Replica& replica) {
    std::exception_ptr local;
    if (r == 2) {
      try {
        fail(ErrorCode::kShapeMismatch, "replica 2's batch");
      } catch (...) {
        local = std::current_exception();
      }
    }
    replica.exchange.agree_on_batch(4, local, true);
  });
  for (int r = 0; r < kReplicas; ++r) {
    ASSERT_TRUE(errors[r]) << "replica " << r << " went on alone";
    try {
      std::rethrow_exception(errors[r]);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), r == 2 ? ErrorCode::kShapeMismatch : ErrorCode::kCommunication) << e.what();
    }
  }
}

TEST_F(GradientExchangeTest, EveryReplicaStartsFromTheFirstOnesBytes) {
  const auto errors = on_every_replica([&](int, Replica& replica) {
    replica.exchange.broadcast_from_first(replica.grads.data(), replica.grads.bytes());
  });
  for (int r = 0; r < kReplicas; ++r) {
    ASSERT_FALSE(errors[r]) << "replica " << r;
    EXPECT_EQ(replicas_[r]->gradients(), replicas_[0]->gradients());
    EXPECT_EQ(replicas_[r]->gradients()[0], 1.0f);
  }
}

TEST(GradientExchangeAloneTest, AnExchangeNotJoinedHasNoPeers) {
  cpu::CpuBackend backend(1);
  GradientExchange alone(&backend, DType::kF32, kCount, 1024);
  EXPECT_FALSE(alone.joined());
  EXPECT_EQ(alone.communicator(), nullptr);
  EXPECT_EQ(alone.rank(), 0);
  EXPECT_EQ(alone.overlapped_buckets(), 0);
}

}  // namespace
}  // namespace tk
