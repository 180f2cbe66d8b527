// Readers stop at what their input may hold, file problems are TK_ERROR_IO
// with the path and the reason, and out-params stay untouched on failure.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <zlib.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "capi/trainkit.h"

namespace {

std::string temp_path(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

long peak_resident_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

void put_be32(std::vector<uint8_t>* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<uint8_t>(v >> shift));
}

// An IDX header of `count` u8 images of 28x28, its payload, then `extra`
// zero bytes, gzip-compressed (zeros compress about a thousandfold).
void write_idx_gz(const std::string& path, uint32_t count, size_t extra) {
  std::vector<uint8_t> header = {0, 0, 0x08, 3};
  put_be32(&header, count);
  put_be32(&header, 28);
  put_be32(&header, 28);
  gzFile file = gzopen(path.c_str(), "wb1");
  ASSERT_NE(file, nullptr);
  gzwrite(file, header.data(), static_cast<unsigned>(header.size()));
  std::vector<uint8_t> zeros(1 << 20, 0);
  for (size_t left = count * 28 * 28 + extra; left > 0;) {
    const size_t n = std::min(left, zeros.size());
    gzwrite(file, zeros.data(), static_cast<unsigned>(n));
    left -= n;
  }
  gzclose(file);
}

void write_labels(const std::string& path, uint32_t count) {
  std::vector<uint8_t> bytes = {0, 0, 0x08, 1};
  put_be32(&bytes, count);
  bytes.resize(bytes.size() + count, 1);
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

TEST(InputBounds, AnIdxStreamLongerThanItsHeaderStopsAtTheHeader) {
  const std::string images = temp_path("bomb-images.gz"), labels = temp_path("bomb-labels");
  write_idx_gz(images, 10, size_t{512} << 20);  // 512 MiB of zeros after 10 images
  write_labels(labels, 10);
  const long before = peak_resident_kb();
  const auto start = std::chrono::steady_clock::now();
  tk_dataset* dataset = nullptr;
  EXPECT_EQ(tk_dataset_load_idx(images.c_str(), labels.c_str(), &dataset), TK_ERROR_CORRUPT_DATA);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(dataset, nullptr);
  EXPECT_NE(std::string(tk_last_error_message()).find("more data than its IDX header"), std::string::npos)
      << tk_last_error_message();
  EXPECT_LT(peak_resident_kb() - before, 32 * 1024) << "the reader held the excess in memory";
  EXPECT_LT(seconds, 5.0);
}

// A 16-byte file whose header claims 2^32 x 28 x 28 images: the reader grows
// its buffer as data arrives, so the claim alone allocates nothing.
TEST(InputBounds, AHeaderThatClaimsGigabytesAllocatesNothing) {
  const std::string images = temp_path("claims-images"), labels = temp_path("claims-labels");
  std::vector<uint8_t> header = {0, 0, 0x08, 3};
  put_be32(&header, 0xFFFFFFFFu);
  put_be32(&header, 28);
  put_be32(&header, 28);
  FILE* f = std::fopen(images.c_str(), "wb");
  std::fwrite(header.data(), 1, header.size(), f);
  std::fclose(f);
  write_labels(labels, 10);
  const long before = peak_resident_kb();
  tk_dataset* dataset = nullptr;
  EXPECT_EQ(tk_dataset_load_idx(images.c_str(), labels.c_str(), &dataset), TK_ERROR_CORRUPT_DATA);
  EXPECT_LT(peak_resident_kb() - before, 96 * 1024);
}

// A gzip stream whose CRC does not match its data is damaged, even when the
// data itself parses.
TEST(InputBounds, AGzipStreamWithABadChecksumIsCorrupt) {
  const std::string images = temp_path("crc-images.gz"), labels = temp_path("crc-labels");
  write_idx_gz(images, 2, 0);
  write_labels(labels, 2);
  FILE* f = std::fopen(images.c_str(), "r+b");
  std::fseek(f, -8, SEEK_END);  // the trailer: CRC-32, then the length
  const int byte = std::fgetc(f);
  std::fseek(f, -8, SEEK_END);
  std::fputc(byte ^ 0xFF, f);
  std::fclose(f);
  tk_dataset* dataset = nullptr;
  EXPECT_EQ(tk_dataset_load_idx(images.c_str(), labels.c_str(), &dataset), TK_ERROR_CORRUPT_DATA)
      << tk_last_error_message();
  EXPECT_EQ(dataset, nullptr);
}

TEST(InputBounds, AnEndlessSpecStopsAtItsCap) {
  const long before = peak_resident_kb();
  tk_model* model = nullptr;
  EXPECT_EQ(tk_model_load_spec("/dev/zero", &model), TK_ERROR_CORRUPT_DATA);
  EXPECT_EQ(model, nullptr);
  EXPECT_NE(std::string(tk_last_error_message()).find("longer than a model spec may be"), std::string::npos)
      << tk_last_error_message();
  EXPECT_LT(peak_resident_kb() - before, 160 * 1024);
}

TEST(InputBounds, DirectoriesAndMissingFilesAreIoErrorsThatNameThePath) {
  const std::string dir = temp_path("a-directory");
  ::mkdir(dir.c_str(), 0755);
  tk_model* model = nullptr;
  EXPECT_EQ(tk_model_load_spec(dir.c_str(), &model), TK_ERROR_IO);
  EXPECT_NE(std::string(tk_last_error_message()).find("it is a directory"), std::string::npos);
  EXPECT_NE(std::string(tk_last_error_message()).find(dir), std::string::npos);
  tk_dataset* dataset = nullptr;
  EXPECT_EQ(tk_dataset_load_idx(dir.c_str(), dir.c_str(), &dataset), TK_ERROR_IO);
  EXPECT_NE(std::string(tk_last_error_message()).find("it is a directory"), std::string::npos);
  EXPECT_EQ(tk_dataset_load_idx("/nonexistent/images", "/nonexistent/labels", &dataset), TK_ERROR_IO);
  EXPECT_NE(std::string(tk_last_error_message()).find("No such file"), std::string::npos) << tk_last_error_message();

  tk_node x, y;
  int64_t shape[1] = {4};
  ASSERT_EQ(tk_model_create(&model), TK_OK);
  ASSERT_EQ(tk_model_input(model, "x", 1, shape, &x), TK_OK);
  ASSERT_EQ(tk_model_linear(model, x, 2, &y), TK_OK);
  ASSERT_EQ(tk_model_output(model, y, "y"), TK_OK);
  tk_trainer* trainer = nullptr;
  ASSERT_EQ(tk_trainer_create(model, TK_LOSS_SOFTMAX_CROSS_ENTROPY, nullptr, &trainer), TK_OK);
  EXPECT_EQ(tk_trainer_load(trainer, dir.c_str(), nullptr), TK_ERROR_IO);
  EXPECT_EQ(tk_trainer_import_weights(trainer, dir.c_str()), TK_ERROR_IO);
  tk_trainer_destroy(trainer);
  tk_model_destroy(model);
}

TEST(InputBounds, AnEmptyIdxPairSaysItIsEmpty) {
  const std::string images = temp_path("empty-images.gz"), labels = temp_path("empty-labels");
  write_idx_gz(images, 0, 0);
  write_labels(labels, 0);
  tk_dataset* dataset = nullptr;
  EXPECT_EQ(tk_dataset_load_idx(images.c_str(), labels.c_str(), &dataset), TK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tk_last_error_message()).find("at least one sample"), std::string::npos)
      << tk_last_error_message();
}

TEST(InputBounds, AFailedHostAllocLeavesItsOutParamAlone) {
  void* sentinel = reinterpret_cast<void*>(0x1234);
  void* block = sentinel;
  EXPECT_NE(tk_host_alloc(SIZE_MAX, &block), TK_OK);
  EXPECT_EQ(block, sentinel);
}

}  // namespace
