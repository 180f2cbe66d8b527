#include "core/data/idx.h"

#include <zlib.h>

#include <sys/stat.h>

#include <algorithm>
#include <memory>

#include "core/base/error.h"
#include "core/base/file_read.h"

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
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) fail(ErrorCode::kIo, "cannot open '", path, "': ", system_message());
  if (S_ISDIR(info.st_mode)) fail(ErrorCode::kIo, "cannot read '", path, "': it is a directory");
  // gzread reads gzip and plain files alike.
  std::unique_ptr<gzFile_s, int (*)(gzFile)> file(gzopen(path.c_str(), "rb"), gzclose);
  if (!file) fail(ErrorCode::kIo, "cannot open '", path, "': ", system_message());
  auto corrupt = [&] {
    int code = 0;
    fail(ErrorCode::kCorruptData, "cannot read '", path, "': ", gzerror(file.get(), &code));
  };
  // Reads exactly `size` more bytes (fewer only at the end of the stream),
  // growing the buffer as data arrives: a header's claim alone allocates
  // nothing.
  std::vector<uint8_t> bytes;
  auto read = [&](size_t size) {
    size_t done = 0;
    while (done < size) {
      const size_t want = std::min<size_t>(size - done, size_t{64} << 20);
      const size_t start = bytes.size();
      bytes.resize(start + want);
      const int got = gzread(file.get(), bytes.data() + start, static_cast<unsigned>(want));
      if (got < 0) corrupt();
      bytes.resize(start + static_cast<size_t>(got));
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    return done == size;
  };
  // The header says how long the payload is: read that much and no more, so
  // a stream longer than its header (a decompression bomb) stops here.
  if (read(4) && bytes[0] == 0 && bytes[1] == 0 && bytes[3] >= 1 && bytes[3] <= kMaxRank &&
      read(4 * static_cast<size_t>(bytes[3]))) {
    const size_t element_size = bytes[2] == 0x08 ? 1 : bytes[2] == 0x0E ? 8 : 4;
    size_t count = 1;
    bool fits = true;
    for (int d = 0; d < bytes[3]; ++d) {
      const uint32_t extent = read_be32(bytes.data() + 4 + 4 * d);
      fits = fits && (extent == 0 || count <= kMaxFileBytes / extent);
      if (fits) count *= extent;
    }
    if (fits && count <= kMaxFileBytes / element_size && read(count * element_size)) {
      // Reading on to the end also checks the gzip trailer (its CRC).
      uint8_t extra;
      const int got = gzread(file.get(), &extra, 1);
      if (got < 0) corrupt();
      if (got > 0)
        fail(ErrorCode::kCorruptData, "'", path, "' holds more data than its IDX header says (",
             bytes.size(), " bytes)");
    }
  }
  return parse_idx("'" + path + "'", bytes.data(), bytes.size());
}

}  // namespace tk
