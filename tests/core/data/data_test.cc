// IDX parsing (plain and gzip, and every kind of malformed file), datasets and
// seeded batching.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "core/data/batcher.h"
#include "core/data/dataset.h"
#include "core/data/idx.h"

namespace tk {
namespace {

// A 2x3 u8 IDX file: magic 0 0 8 2, extents 2 and 3 (big-endian), 6 bytes.
std::vector<uint8_t> small_idx() {
  return {0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6};
}

ErrorCode parse_error(const std::vector<uint8_t>& bytes) {
  try {
    parse_idx("test", bytes.data(), bytes.size());
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::kInternal;  // no error: the caller's expectation fails
}

std::string temp_path(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

void write_gzip(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  gzclose(f);
}

TEST(IdxTest, ParsesU8) {
  auto bytes = small_idx();
  IdxArray a = parse_idx("test", bytes.data(), bytes.size());
  EXPECT_EQ(a.dtype, DType::kU8);
  EXPECT_EQ(a.shape, (Shape{2, 3}));
  EXPECT_EQ(a.bytes, (std::vector<uint8_t>{1, 2, 3, 4, 5, 6}));
}

TEST(IdxTest, SwapsBigEndianI32) {
  std::vector<uint8_t> bytes = {0, 0, 0x0C, 1, 0, 0, 0, 1, 0x01, 0x02, 0x03, 0x04};
  IdxArray a = parse_idx("test", bytes.data(), bytes.size());
  int32_t value;
  std::memcpy(&value, a.bytes.data(), 4);
  EXPECT_EQ(value, 0x01020304);
}

TEST(IdxTest, RejectsMalformedFiles) {
  auto bad_magic = small_idx();
  bad_magic[0] = 1;
  EXPECT_EQ(parse_error(bad_magic), ErrorCode::kCorruptData);
  auto bad_type = small_idx();
  bad_type[2] = 0x42;
  EXPECT_EQ(parse_error(bad_type), ErrorCode::kCorruptData);
  auto zero_rank = small_idx();
  zero_rank[3] = 0;
  EXPECT_EQ(parse_error(zero_rank), ErrorCode::kCorruptData);
  auto trailing = small_idx();
  trailing.push_back(7);
  EXPECT_EQ(parse_error(trailing), ErrorCode::kCorruptData);
  auto huge = small_idx();
  huge[4] = huge[8] = 0xFF;  // extents 4278190082 x 4278190083
  EXPECT_EQ(parse_error(huge), ErrorCode::kCorruptData);
  // Every truncation of a valid file is rejected.
  auto full = small_idx();
  for (size_t n = 0; n < full.size(); ++n)
    EXPECT_EQ(parse_error(std::vector<uint8_t>(full.begin(), full.begin() + n)), ErrorCode::kCorruptData) << n;
}

TEST(IdxTest, ReadsGzipAndPlainFilesAndReportsMissingOnes) {
  write_gzip(temp_path("a.idx.gz"), small_idx());
  EXPECT_EQ(read_idx(temp_path("a.idx.gz")).shape, (Shape{2, 3}));
  try {
    read_idx(temp_path("missing.idx"));
    FAIL() << "a missing file was read";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find("missing.idx"), std::string::npos);
  }
}

TEST(DatasetTest, FromIdxChecksThatCountsMatch) {
  write_gzip(temp_path("images.gz"), small_idx());
  write_gzip(temp_path("labels.gz"), {0, 0, 0x08, 1, 0, 0, 0, 2, 7, 9});
  write_gzip(temp_path("labels3.gz"), {0, 0, 0x08, 1, 0, 0, 0, 3, 7, 9, 1});
  Dataset ds = Dataset::from_idx(temp_path("images.gz"), temp_path("labels.gz"));
  EXPECT_EQ(ds.size(), 2);
  EXPECT_EQ(ds.sample_shape(), (Shape{3}));
  EXPECT_EQ(ds.class_targets(), (std::vector<int32_t>{7, 9}));
  EXPECT_THROW(Dataset::from_idx(temp_path("images.gz"), temp_path("labels3.gz")), Error);
}

TEST(DatasetTest, NormalizesToUnitRangeAndStandardScore) {
  std::vector<float> x = {0, 5, 10, 15};
  std::vector<int32_t> y = {0, 1, 0, 1};
  Dataset ds = Dataset::from_views({x.data(), DType::kF32, {4, 1}, {}}, {y.data(), DType::kI32, {4}, {}});
  ds.normalize_unit_range();
  EXPECT_EQ(ds.features(), (std::vector<float>{0, 1.0f / 3, 2.0f / 3, 1}));
  ds.normalize_mean_std(true, 0, 0);
  double mean, std;
  ds.stats(&mean, &std);
  EXPECT_NEAR(mean, 0, 1e-6);
  EXPECT_NEAR(std, 1, 1e-6);
  EXPECT_THROW(ds.normalize_mean_std(false, 0, 0), Error);
}

TEST(BatcherTest, EachEpochVisitsEverySampleOnceInASeededOrder) {
  std::vector<float> x(10);
  std::vector<int32_t> y(10);
  for (int i = 0; i < 10; ++i) x[i] = static_cast<float>(y[i] = i);
  Dataset ds = Dataset::from_views({x.data(), DType::kF32, {10, 1}, {}}, {y.data(), DType::kI32, {10}, {}});
  auto epoch_order = [&](uint64_t seed, int64_t epoch, bool drop_last) {
    Batcher b(ds, 4, true, seed, drop_last);
    b.reset(epoch);
    std::vector<int> order;
    HostView f, t;
    while (b.next(&f, &t)) {
      for (int64_t r = 0; r < f.shape[0]; ++r) {
        EXPECT_EQ(static_cast<float*>(f.data)[r], static_cast<int32_t*>(t.data)[r]);  // rows stay paired
        order.push_back(static_cast<int32_t*>(t.data)[r]);
      }
    }
    return order;
  };
  auto order = epoch_order(1, 0, false);
  EXPECT_EQ(std::set<int>(order.begin(), order.end()).size(), 10u);
  EXPECT_EQ(order.size(), 10u);
  EXPECT_EQ(order, epoch_order(1, 0, false));
  EXPECT_NE(order, epoch_order(1, 1, false));
  EXPECT_NE(order, epoch_order(2, 0, false));
  EXPECT_EQ(epoch_order(1, 0, true).size(), 8u);
}

// 10 samples over 3 ranks in batches of 3: unequal shares (4, 3, 3) would
// give rank 0 a second batch its partners never take. Padded, every rank
// gets 4 samples (2 batches) and the epoch is covered; dropped, 3 (1 batch).
TEST(BatcherTest, ShardsAreEqualSoEveryRankTakesTheSameSteps) {
  std::vector<float> x(10);
  std::vector<int32_t> y(10);
  for (int i = 0; i < 10; ++i) x[i] = static_cast<float>(y[i] = i);
  Dataset ds = Dataset::from_views({x.data(), DType::kF32, {10, 1}, {}}, {y.data(), DType::kI32, {10}, {}});
  for (Batcher::Remainder remainder : {Batcher::Remainder::kPad, Batcher::Remainder::kDrop}) {
    const bool pad = remainder == Batcher::Remainder::kPad;
    std::multiset<int> seen;
    for (int rank = 0; rank < 3; ++rank) {
      Batcher b(ds, 3, true, 7, false);
      b.shard(rank, 3, remainder);
      b.reset(2);
      int batches = 0;
      HostView f, t;
      while (b.next(&f, &t)) {
        ++batches;
        for (int64_t r = 0; r < t.shape[0]; ++r) seen.insert(static_cast<int32_t*>(t.data)[r]);
      }
      EXPECT_EQ(batches, pad ? 2 : 1) << "rank " << rank;
    }
    EXPECT_EQ(seen.size(), pad ? 12u : 9u);
    EXPECT_EQ(std::set<int>(seen.begin(), seen.end()).size(), pad ? 10u : 9u);
  }
  Batcher b(ds, 3, true, 7, false);
  EXPECT_THROW(b.shard(0, 11, Batcher::Remainder::kDrop), Error);
}

}  // namespace
}  // namespace tk
