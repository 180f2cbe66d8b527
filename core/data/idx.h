// IDX files (the MNIST format), plain or gzip-compressed: a big-endian header
// (0, 0, element type, rank), the extents as big-endian u32, then the data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/dtype.h"
#include "core/base/shape.h"

namespace tk {

struct IdxArray {
  DType dtype = DType::kU8;  // u8, i32, f32 or f64, stored little-endian here
  Shape shape;
  std::vector<uint8_t> bytes;
};

// Throws kIo if the file cannot be read, kCorruptData (naming the file and the
// problem) for a bad header, a size mismatch or trailing bytes.
IdxArray read_idx(const std::string& path);
// The same checks over bytes already in memory (decompressed).
IdxArray parse_idx(const std::string& what, const uint8_t* data, size_t size);

}  // namespace tk
