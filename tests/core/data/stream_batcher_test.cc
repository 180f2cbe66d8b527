// Streaming batches: a fill thread or a host producer supplies (epoch,
// batch) in order; epochs end on an empty batch and the next one is
// prefetched; reset and restore seek, dropping stale supplies; the producer
// never runs more than the prefetch depth ahead; a failed producer, a closed
// stream and a cancel end training's wait with clear errors.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/base/error.h"
#include "core/data/stream_batcher.h"
#include "tests/core/error_code.h"

namespace tk {
namespace {

constexpr int64_t kBatch = 4, kFeatures = 3, kBatchesPerEpoch = 3;

StreamShape shape(int prefetch = 2) {
  StreamShape s;
  s.sample = {kFeatures};
  s.class_targets = true;
  s.batch_size = kBatch;
  s.prefetch = prefetch;
  s.batches_per_epoch = kBatchesPerEpoch;
  return s;
}

// Batch b of epoch e: rows whose features encode (e, b, row); the last batch is short.
int64_t fill(const StreamRequest& r) {
  if (r.batch == kBatchesPerEpoch) return 0;
  const int64_t rows = r.batch == kBatchesPerEpoch - 1 ? kBatch - 1 : kBatch;
  float* x = static_cast<float*>(r.features.data);
  int32_t* y = static_cast<int32_t*>(r.targets.data);
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t f = 0; f < kFeatures; ++f) x[i * kFeatures + f] = static_cast<float>(100 * r.epoch + 10 * r.batch + i);
    y[i] = static_cast<int32_t>(r.batch);
  }
  return rows;
}

// (epoch, batch) of a served batch, read back from its first feature.
std::pair<int64_t, int64_t> served(const HostView& features) {
  const int value = static_cast<int>(static_cast<const float*>(features.data)[0]);
  return {value / 100, value % 100 / 10};
}

TEST(StreamBatcher, ServesEpochsInOrderAndPrefetchesTheNext) {
  StreamBatcher stream(shape());
  stream.start_fill_thread(fill);
  HostView x, y;
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    for (int64_t b = 0; b < kBatchesPerEpoch; ++b) {
      ASSERT_TRUE(stream.next(&x, &y));
      EXPECT_EQ(served(x), std::make_pair(epoch, b));
      EXPECT_EQ(x.shape, (Shape{b == kBatchesPerEpoch - 1 ? kBatch - 1 : kBatch, kFeatures}));
      EXPECT_EQ(y.shape, Shape{x.shape[0]});
      EXPECT_EQ(static_cast<int32_t*>(y.data)[0], b);
      EXPECT_EQ(stream.cursor().batch, b + 1);
    }
    EXPECT_FALSE(stream.next(&x, &y));
    EXPECT_FALSE(stream.next(&x, &y));  // stays at the end until reset
    EXPECT_EQ(stream.cursor().position, 3 * kBatch - 1);
    stream.reset(epoch + 1);
    EXPECT_EQ(stream.epoch(), epoch + 1);
  }
}

TEST(StreamBatcher, RestoreAndResetSeekAndStaleSuppliesAreDropped) {
  StreamBatcher stream(shape());
  HostView x, y;
  StreamRequest r = stream.request();
  EXPECT_EQ(r.epoch, 0);
  EXPECT_EQ(r.batch, 0);
  BatcherCursor c;
  c.epoch = 2;
  c.batch = 1;
  c.position = kBatch;
  c.batch_size = kBatch;
  c.dataset_size = -1;
  stream.restore(c);
  stream.supply(fill(r));  // asked for before the restore: dropped
  r = stream.request();
  EXPECT_EQ(r.epoch, 2);
  EXPECT_EQ(r.batch, 1);
  stream.supply(fill(r));
  ASSERT_TRUE(stream.next(&x, &y));
  EXPECT_EQ(served(x), std::make_pair(int64_t{2}, int64_t{1}));
  EXPECT_EQ(stream.cursor().batch, 2);
  EXPECT_EQ(stream.cursor().position, 2 * kBatch);
  // A reset to anything but the next epoch discards what was produced.
  r = stream.request();
  stream.supply(fill(r));
  stream.reset(0);
  r = stream.request();
  EXPECT_EQ(r.epoch, 0);
  EXPECT_EQ(r.batch, 0);
  // A cursor for a dataset, another batch size or an impossible place is refused.
  BatcherCursor bad = c;
  bad.dataset_size = 40;
  EXPECT_EQ(code_of([&] { stream.restore(bad); }), ErrorCode::kInvalidArgument);
  bad = c;
  bad.batch_size = 8;
  EXPECT_EQ(code_of([&] { stream.check_cursor(bad); }), ErrorCode::kInvalidArgument);
  bad = c;
  bad.position = 5 * kBatch;
  EXPECT_EQ(code_of([&] { stream.check_cursor(bad); }), ErrorCode::kInvalidArgument);
}

// The producer runs at most `prefetch` batches ahead of the one training holds.
TEST(StreamBatcher, ProducerStaysWithinThePrefetchDepth) {
  for (int prefetch : {1, 3}) {
    StreamBatcher stream(shape(prefetch));
    std::atomic<int64_t> produced{0};
    stream.start_fill_thread([&](const StreamRequest& r) {
      ++produced;
      return fill(r);
    });
    HostView x, y;
    int64_t taken = 0, most_ahead = 0;
    for (int i = 0; i < 6; ++i) {
      if (!stream.next(&x, &y)) {
        stream.reset(stream.epoch() + 1);
        continue;
      }
      ++taken;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // a step
      most_ahead = std::max(most_ahead, produced.load() - taken);
    }
    EXPECT_LE(most_ahead, prefetch + 1) << "prefetch " << prefetch;  // the epoch-end marker takes a slot too
  }
}

// A reset to the epoch about to begin, or a restore to where the stream
// stands, keeps what was prefetched: a producer that cannot seek (it serves
// batches in its own order) loses none.
TEST(StreamBatcher, SeekingToWhereTheStreamStandsKeepsThePrefetch) {
  StreamBatcher stream(shape(3));
  std::atomic<int64_t> next{0};
  stream.start_fill_thread([&](const StreamRequest& r) {
    const int64_t n = next++;
    static_cast<float*>(r.features.data)[0] = static_cast<float>(n);
    return int64_t{1};
  });
  while (next.load() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  stream.reset(0);
  BatcherCursor here = stream.cursor();
  stream.restore(here);
  HostView x, y;
  for (int64_t expected = 0; expected < 5; ++expected) {
    ASSERT_TRUE(stream.next(&x, &y));
    EXPECT_EQ(static_cast<float*>(x.data)[0], static_cast<float>(expected));
  }
  here = stream.cursor();
  stream.restore(here);  // mid-epoch, where it stands
  ASSERT_TRUE(stream.next(&x, &y));
  EXPECT_EQ(static_cast<float*>(x.data)[0], 5.0f);
}

TEST(StreamBatcher, SupplyCopyChecksShapesAndConvertsDtypes) {
  StreamShape values = shape();
  values.class_targets = false;
  values.target = {2};
  StreamBatcher stream(values);
  StreamRequest r = stream.request();
  std::vector<double> x(2 * kFeatures, 1.5), y(2 * 2, -2.0);
  EXPECT_EQ(code_of([&] { stream.supply_copy({x.data(), DType::kF64, {2, kFeatures + 1}, {}}, {y.data(), DType::kF64, {2, 2}, {}}); }),
            ErrorCode::kShapeMismatch);
  EXPECT_EQ(code_of([&] { stream.supply_copy({x.data(), DType::kF64, {2, kFeatures}, {}}, {y.data(), DType::kI32, {2, 2}, {}}); }),
            ErrorCode::kDtypeMismatch);
  EXPECT_EQ(code_of([&] { stream.supply(kBatch + 1); }), ErrorCode::kInvalidArgument);
  stream.supply_copy({x.data(), DType::kF64, {2, kFeatures}, {}}, {y.data(), DType::kF64, {2, 2}, {}});
  HostView fx, fy;
  ASSERT_TRUE(stream.next(&fx, &fy));
  EXPECT_EQ(fx.shape, (Shape{2, kFeatures}));
  EXPECT_EQ(fy.shape, (Shape{2, 2}));
  EXPECT_EQ(fx.dtype, DType::kF32);
  EXPECT_EQ(static_cast<float*>(fx.data)[5], 1.5f);
  EXPECT_EQ(static_cast<float*>(fy.data)[3], -2.0f);
  EXPECT_EQ(code_of([&] { stream.supply(1); }), ErrorCode::kInvalidArgument);  // no request open
}

TEST(StreamBatcher, AFailedProducerAClosedStreamAndACancelEndTheWait) {
  {
    StreamBatcher stream(shape());
    stream.start_fill_thread([](const StreamRequest& r) -> int64_t {
      if (r.batch == 1) fail(ErrorCode::kIo, "disk read failed at batch 1");
      return fill(r);
    });
    HostView x, y;
    ASSERT_TRUE(stream.next(&x, &y));
    try {
      while (stream.next(&x, &y)) {
      }
      FAIL() << "a failed producer was not reported";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kIo);
      EXPECT_NE(std::string(e.what()).find("disk read failed at batch 1"), std::string::npos) << e.what();
    }
  }
  {
    StreamBatcher stream(shape());
    std::thread closer([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      stream.close();
    });
    HostView x, y;
    EXPECT_EQ(code_of([&] { stream.next(&x, &y); }), ErrorCode::kIo);
    closer.join();
    EXPECT_FALSE(stream.request().open);
  }
  {
    StreamBatcher stream(shape());  // no producer at all
    std::atomic<bool> cancel{false};
    std::thread canceller([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      cancel = true;
    });
    HostView x, y;
    EXPECT_EQ(code_of([&] { stream.next(&x, &y, &cancel); }), ErrorCode::kCancelled);
    canceller.join();
  }
  // A producer blocked on a full stream is woken by the destructor's close.
  {
    auto stream = std::make_unique<StreamBatcher>(shape(1));
    stream->start_fill_thread(fill);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    stream.reset();
  }
}

TEST(StreamBatcher, BadShapesAreRefused) {
  StreamShape s = shape();
  s.batch_size = 0;
  EXPECT_EQ(code_of([&] { StreamBatcher b(s); }), ErrorCode::kInvalidArgument);
  s = shape(0);
  EXPECT_EQ(code_of([&] { StreamBatcher b(s); }), ErrorCode::kInvalidArgument);
  s = shape();
  s.sample = {};
  EXPECT_EQ(code_of([&] { StreamBatcher b(s); }), ErrorCode::kInvalidArgument);
  s = shape();
  s.target = {2};  // class indices take no shape
  EXPECT_EQ(code_of([&] { StreamBatcher b(s); }), ErrorCode::kInvalidArgument);
  s = shape();
  s.sample = {3, -1};
  EXPECT_EQ(code_of([&] { StreamBatcher b(s); }), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace tk
