#include "core/data/idx.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <memory>

#include "core/base/error.h"

namespace tk {
namespace {

constexpr size_t kMaxFileBytes = size_t{1} << 34;  // 16 GiB: beyond this, a corrupt stream

uint32_t read_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace

IdxArray parse_idx(const std::string& what, const uint8_t* data, size_t size) {
  if (size < 4) fail(ErrorCode::kCorruptData, what, ": too short for an IDX header (", size, " bytes)");
  if (data[0] != 0 || data[1] != 0) fail(ErrorCode::kCorruptData, what, ": not an IDX file (bad magic)");
  IdxArray array;
  size_t element_size = 0;
  switch (data[2]) {
    case 0x08: array.dtype = DType::kU8; element_size = 1; break;
    case 0x0C: array.dtype = DType::kI32; element_size = 4; break;
    case 0x0D: array.dtype = DType::kF32; element_size = 4; break;
    case 0x0E: array.dtype = DType::kF64; element_size = 8; break;
    default: fail(ErrorCode::kCorruptData, what, ": unsupported IDX element type 0x", std::hex, int{data[2]});
  }
  const int rank = data[3];
  if (rank < 1 || rank > kMaxRank) fail(ErrorCode::kCorruptData, what, ": IDX rank ", rank, " is not in [1, ", kMaxRank, "]");
  const size_t header = 4 + 4 * static_cast<size_t>(rank);
  if (size < header) fail(ErrorCode::kCorruptData, what, ": truncated IDX header");
  size_t count = 1;
  for (int d = 0; d < rank; ++d) {
    uint32_t extent = read_be32(data + 4 + 4 * d);
    array.shape.push_back(extent);
    if (extent != 0 && count > kMaxFileBytes / extent) fail(ErrorCode::kCorruptData, what, ": IDX extents are too large");
    count *= extent;
  }
  if (count > kMaxFileBytes / element_size) fail(ErrorCode::kCorruptData, what, ": IDX extents are too large");
  const size_t expected = header + count * element_size;
  if (size != expected)
    fail(ErrorCode::kCorruptData, what, ": IDX header ", shape_to_string(array.shape), " needs ", expected,
         " bytes, the file has ", size);
  array.bytes.resize(count * element_size);
  // IDX is big-endian; swap multi-byte elements to host (little-endian) order.
  const uint8_t* payload = data + header;
  for (size_t i = 0; i < count; ++i)
    for (size_t b = 0; b < element_size; ++b)
      array.bytes[i * element_size + b] = payload[i * element_size + (element_size - 1 - b)];
  return array;
}

IdxArray read_idx(const std::string& path) {
  // gzread reads gzip and plain files alike.
  std::unique_ptr<gzFile_s, int (*)(gzFile)> file(gzopen(path.c_str(), "rb"), gzclose);
  if (!file) fail(ErrorCode::kIo, "cannot open '", path, "': ", std::generic_category().message(errno));
  std::vector<uint8_t> bytes;
  uint8_t chunk[1 << 16];
  for (;;) {
    int got = gzread(file.get(), chunk, sizeof(chunk));
    if (got < 0) {
      int code = 0;
      fail(ErrorCode::kCorruptData, "cannot read '", path, "': ", gzerror(file.get(), &code));
    }
    if (got == 0) break;
    if (bytes.size() + got > kMaxFileBytes) fail(ErrorCode::kCorruptData, "'", path, "' decompresses to more than 16 GiB");
    bytes.insert(bytes.end(), chunk, chunk + got);
  }
  return parse_idx("'" + path + "'", bytes.data(), bytes.size());
}

}  // namespace tk
