// The safetensors reader and writer: round trips, and every kind of damage
// refused with kCorruptData (never a crash or an out-of-bounds read; the fuzz
// test runs the same inputs under AddressSanitizer).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "core/base/rng.h"
#include "core/io/model_spec.h"
#include "core/io/safetensors.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

std::vector<uint8_t> sample_file() {
  std::vector<StoredTensor> tensors = {
      {"a.weight", DType::kF32, {2, 3}, std::vector<uint8_t>(24, 1)},
      {"a.bias", DType::kF16, {3}, std::vector<uint8_t>(6, 2)},
      {"scalar", DType::kF64, {}, std::vector<uint8_t>(8, 3)},
  };
  return serialize_safetensors(tensors, {{"format", "test"}, {"note", "hello"}});
}

// A file with a hand-written header and `data` bytes of payload.
std::vector<uint8_t> with_header(const std::string& json, size_t data) {
  std::vector<uint8_t> out(8 + json.size() + data, 0);
  const uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(n >> (8 * i));
  std::memcpy(out.data() + 8, json.data(), json.size());
  return out;
}

ErrorCode error_of(const std::vector<uint8_t>& bytes) {
  try {
    parse_safetensors("test", bytes.data(), bytes.size());
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::kInternal;  // parsed: every caller expects an error
}

TEST(SafetensorsTest, RoundTripKeepsNamesShapesBytesAndMetadata) {
  auto bytes = sample_file();
  EXPECT_EQ((bytes[0] | bytes[1] << 8) % 8, 0);  // header padded to 8 bytes
  SafetensorsFile file = parse_safetensors("test", bytes.data(), bytes.size());
  ASSERT_EQ(file.tensors.size(), 3u);
  EXPECT_EQ(file.tensors[0].name, "a.weight");
  EXPECT_EQ(file.tensors[0].shape, (Shape{2, 3}));
  EXPECT_EQ(file.find("a.bias")->dtype, DType::kF16);
  EXPECT_EQ(file.find("a.bias")->bytes, std::vector<uint8_t>(6, 2));
  EXPECT_EQ(file.find("scalar")->shape, Shape{});
  EXPECT_EQ(file.metadata.at("note"), "hello");
}

TEST(SafetensorsTest, EveryTruncationIsRejected) {
  auto bytes = sample_file();
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_EQ(error_of(std::vector<uint8_t>(bytes.begin(), bytes.begin() + n)), ErrorCode::kCorruptData) << n;
}

TEST(SafetensorsTest, HeaderBitFlipsNeverCrash) {
  auto bytes = sample_file();
  const size_t header_end = 8 + (bytes[0] | bytes[1] << 8);
  Rng rng(1);
  int rejected = 0;
  for (int i = 0; i < 2000; ++i) {
    auto copy = bytes;
    const size_t at = rng.next_u64() % header_end;
    copy[at] ^= static_cast<uint8_t>(1u << (rng.next_u64() % 8));
    try {
      parse_safetensors("test", copy.data(), copy.size());
    } catch (const Error& e) {
      ++rejected;
      EXPECT_TRUE(e.code() == ErrorCode::kCorruptData || e.code() == ErrorCode::kUnsupported) << e.what();
    }
  }
  EXPECT_GT(rejected, 1000);  // some flips land in a name or padding and stay valid
}

TEST(SafetensorsTest, RejectsEachKindOfMalformedHeader) {
  std::vector<uint8_t> huge_length(16, 0xFF);
  EXPECT_EQ(error_of(huge_length), ErrorCode::kCorruptData);  // 2^64 - 1
  const char* t = R"("t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  EXPECT_EQ(error_of(with_header(std::string("{") + t + "}", 8)), ErrorCode::kInternal);  // the valid baseline
  EXPECT_EQ(error_of(with_header(std::string("{") + t + "}", 9)), ErrorCode::kCorruptData);  // trailing byte
  EXPECT_EQ(error_of(with_header(std::string("{") + t + "}", 7)), ErrorCode::kCorruptData);  // truncated data
  EXPECT_EQ(error_of(with_header("{not json", 0)), ErrorCode::kCorruptData);
  EXPECT_EQ(error_of(with_header("[1, 2]", 0)), ErrorCode::kCorruptData);
  EXPECT_EQ(error_of(with_header(R"({"t":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})", 8)),
            ErrorCode::kCorruptData);  // unknown dtype
  EXPECT_EQ(error_of(with_header(R"({"t":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", 8)),
            ErrorCode::kUnsupported);  // known, not held by trainkit
  EXPECT_EQ(error_of(with_header(R"({"t":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})", 8)),
            ErrorCode::kCorruptData);  // shape x dtype overflows
  EXPECT_EQ(error_of(with_header(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8)),
            ErrorCode::kCorruptData);
  EXPECT_EQ(error_of(with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,12]}})", 12)),
            ErrorCode::kCorruptData);  // offsets disagree with the shape
  EXPECT_EQ(error_of(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                 R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12)),
            ErrorCode::kCorruptData);  // overlap
  EXPECT_EQ(error_of(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                 R"("b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})", 20)),
            ErrorCode::kCorruptData);  // gap
  EXPECT_EQ(error_of(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                 R"("a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 16)),
            ErrorCode::kCorruptData);  // a name twice
  EXPECT_EQ(error_of(with_header(R"({"__metadata__":{"k":5}})", 0)), ErrorCode::kCorruptData);
  EXPECT_EQ(error_of(with_header(R"({"t":{"dtype":"F32","shape":[[[[[[2]]]]]],"data_offsets":[0,8]}})", 8)),
            ErrorCode::kCorruptData);  // nesting
  EXPECT_EQ(error_of(with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", 8)),
            ErrorCode::kCorruptData);  // unknown field
}

// Files of other tools carry tensors trainkit does not hold (an I64 position
// table): kept by name, dtype and shape on request, their offsets checked.
TEST(SafetensorsTest, ForeignDtypesAreListedOnRequest) {
  const std::vector<uint8_t> bytes = with_header(
      R"({"ids":{"dtype":"I64","shape":[1,2],"data_offsets":[0,16]},"w":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}})",
      24);
  const SafetensorsFile file = parse_safetensors("test", bytes.data(), bytes.size(), /*keep_foreign=*/true);
  ASSERT_EQ(file.tensors.size(), 1u);
  EXPECT_EQ(file.tensors[0].name, "w");
  ASSERT_EQ(file.foreign.size(), 1u);
  EXPECT_EQ(file.foreign[0].name, "ids");
  EXPECT_EQ(file.foreign[0].dtype, "I64");
  EXPECT_EQ(file.foreign[0].shape, (Shape{1, 2}));
  EXPECT_EQ(error_of(bytes), ErrorCode::kUnsupported);  // not on request
  // A foreign tensor's offsets must fit its element size all the same.
  const std::vector<uint8_t> short_ids = with_header(R"({"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,8]}})", 8);
  try {
    parse_safetensors("test", short_ids.data(), short_ids.size(), true);
    ADD_FAILURE() << "an I64 tensor of 8 bytes for 2 elements was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCorruptData);
  }
}

TEST(SafetensorsTest, SavingTwoTensorsOfOneNameIsRefused) {
  std::vector<StoredTensor> tensors = {{"a", DType::kF32, {1}, std::vector<uint8_t>(4)},
                                       {"a", DType::kF32, {1}, std::vector<uint8_t>(4)}};
  EXPECT_THROW(serialize_safetensors(tensors, {}), Error);
}

TEST(SafetensorsTest, AtomicWriteReplacesTheFileAndLeavesNoTemporaries) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir ? dir : "/tmp") + "/atomic.safetensors";
  write_file_atomically(path, sample_file());
  write_file_atomically(path, sample_file());
  EXPECT_EQ(read_safetensors(path).tensors.size(), 3u);
  EXPECT_THROW(write_file_atomically("/nonexistent-folder/x.safetensors", sample_file()), Error);
  EXPECT_THROW(read_safetensors("/nonexistent-folder/x.safetensors"), Error);
}

TEST(ModelSpecTest, RoundTripRebuildsTheSameModel) {
  Graph g;
  int x = g.add_input("image", {4, 4});
  int h = g.add(make_flatten(), {x});
  h = g.add(make_linear(8, false, Init::kXavierNormal), {h}, "hidden");
  h = g.add(make_activation(Activation::kGelu), {h});
  h = g.add(make_dropout(0.25), {h});
  int skip = g.add(make_linear(8, true, Init::kHeUniform), {g.find("flatten_1")});
  h = g.add(make_add(), {h, skip});
  h = g.add(make_linear(3, true, Init::kZeros), {h});
  g.set_output(h, "logits");
  const std::string spec = model_spec_to_json(g);
  Graph rebuilt = model_spec_from_json(spec);
  EXPECT_EQ(model_spec_to_json(rebuilt), spec);
  ASSERT_EQ(rebuilt.nodes().size(), g.nodes().size());
  EXPECT_EQ(rebuilt.node(rebuilt.output()).shape, (Shape{3}));
  EXPECT_EQ(rebuilt.num_parameters(), g.num_parameters());
}

TEST(ModelSpecTest, TheCnnSampleSpecBuildsTheSampleCnn) {
  std::ifstream file("samples/c/fashion_mnist_cnn.json");
  ASSERT_TRUE(file.good());
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  Graph g = model_spec_from_json(text);
  EXPECT_EQ(g.node(g.output()).shape, (Shape{10}));
  EXPECT_EQ(g.node(g.find("pool2")).shape, (Shape{64, 7, 7}));
  // conv1 32x1x3x3, bn1 2x32, conv2 64x32x3x3, bn2 2x64, fc1 3136x128+128, fc2 128x10+10
  EXPECT_EQ(g.num_parameters(), 288 + 64 + 18432 + 128 + 401536 + 1290);
  // The running statistics are state, not parameters.
  EXPECT_EQ(g.node(g.find("bn2")).states.size(), 2u);
  EXPECT_EQ(model_spec_from_json(model_spec_to_json(g)).num_parameters(), g.num_parameters());
}

TEST(ModelSpecTest, BadSpecsNameTheProblem) {
  auto error_text = [](const std::string& spec) -> std::string {
    try {
      model_spec_from_json(spec);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      return e.what();
    }
    return "no error";
  };
  const std::string head = R"({"format":"trainkit-model","version":1,"nodes":[{"name":"x","op":"input","shape":[3]},)";
  EXPECT_NE(error_text("{").find("not well-formed"), std::string::npos);
  EXPECT_NE(error_text(R"({"format":"other"})").find("not a trainkit model spec"), std::string::npos);
  EXPECT_NE(error_text(head + R"({"name":"l","op":"conv9","inputs":["x"]}]})").find("unknown op type 'conv9'"),
            std::string::npos);
  EXPECT_NE(error_text(head + R"({"name":"l","op":"linear","inputs":["y"],"units":2}]})").find("'y'"),
            std::string::npos);
  EXPECT_NE(error_text(head + R"({"name":"l","op":"linear","inputs":["x"]}]})").find("units"), std::string::npos);
  EXPECT_NE(error_text(head + R"({"name":"l","op":"linear","inputs":["x"],"units":2,"colour":1}]})").find("colour"),
            std::string::npos);
  EXPECT_NE(error_text(head + R"({"name":"l","op":"linear","inputs":["x"],"units":"2"}]})").find("wrong type"),
            std::string::npos);
  EXPECT_NE(error_text(head + R"({"name":"a","op":"add","inputs":["x","x","x"]}]})").find("takes 2 inputs"),
            std::string::npos);
  // Well-formed nodes, but no output: refused here, not later by the trainer.
  EXPECT_NE(error_text(head + R"({"name":"l","op":"linear","inputs":["x"],"units":2}]})").find("names no \"output\""),
            std::string::npos);
}

}  // namespace
}  // namespace tk
