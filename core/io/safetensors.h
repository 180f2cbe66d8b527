// The safetensors file layout: an 8-byte little-endian header length, a JSON
// header (name -> dtype, shape, data_offsets; "__metadata__" -> string map),
// then the raw little-endian tensor bytes, contiguous and in offset order.
// The reader validates everything before returning; the writer is atomic.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/base/dtype.h"
#include "core/base/shape.h"

namespace tk {

struct StoredTensor {
  std::string name;
  DType dtype;
  Shape shape;
  std::vector<uint8_t> bytes;
};

// A tensor of a dtype trainkit does not hold (I64, BOOL, ...): its name, the
// file's dtype name and its shape, without the bytes.
struct ForeignTensor {
  std::string name;
  std::string dtype;
  Shape shape;
};

struct SafetensorsFile {
  std::vector<StoredTensor> tensors;  // in file (offset) order
  std::vector<ForeignTensor> foreign;  // only with keep_foreign
  std::map<std::string, std::string> metadata;
  const StoredTensor* find(const std::string& name) const;
};

// The largest header accepted (as the safetensors reference implementation).
constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

// Throws kCorruptData naming the problem (and the tensor, where there is one):
// short file, header length out of range, malformed JSON, unknown dtype,
// shapes whose size overflows, offsets that overlap, leave gaps, run past the
// data or leave trailing bytes. `what` names the source in messages. A
// known dtype trainkit does not hold is kUnsupported, or with keep_foreign
// (files of other tools: an I64 position table beside the weights) listed
// in `foreign`.
SafetensorsFile parse_safetensors(const std::string& what, const uint8_t* data, size_t size,
                                  bool keep_foreign = false);
// Reads and parses a file (kIo if it cannot be read).
SafetensorsFile read_safetensors(const std::string& path, bool keep_foreign = false);
// Serializes tensors in the given order.
std::vector<uint8_t> serialize_safetensors(const std::vector<StoredTensor>& tensors,
                                           const std::map<std::string, std::string>& metadata);
// Writes a temporary file in the same folder, fsyncs it, renames it over
// `path` and fsyncs the folder: a crash at any moment leaves either the old
// file or the new one, never a torn one.
void write_file_atomically(const std::string& path, const std::vector<uint8_t>& bytes);

const char* safetensors_dtype_name(DType dtype);

}  // namespace tk
