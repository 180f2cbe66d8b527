#include "core/base/host_view.h"

#include <cstring>

#include "core/base/error.h"
#include "core/base/half.h"

namespace tk {
namespace {

double read_element(DType dtype, const char* ptr) {
  switch (dtype) {
    case DType::kF32: {
      float v;
      std::memcpy(&v, ptr, 4);
      return v;
    }
    case DType::kF64: {
      double v;
      std::memcpy(&v, ptr, 8);
      return v;
    }
    case DType::kI32: {
      int32_t v;
      std::memcpy(&v, ptr, 4);
      return v;
    }
    case DType::kU8:
      return static_cast<unsigned char>(*ptr);
    case DType::kF16: {
      Half v;
      std::memcpy(&v, ptr, 2);
      return half_to_float(v);
    }
    case DType::kBF16: {
      BFloat16 v;
      std::memcpy(&v, ptr, 2);
      return bfloat16_to_float(v);
    }
  }
  fail(ErrorCode::kUnsupported, "host data of dtype ", dtype_name(dtype), " is not supported");
}

void write_element(DType dtype, char* ptr, double value) {
  switch (dtype) {
    case DType::kF32: {
      float v = static_cast<float>(value);
      std::memcpy(ptr, &v, 4);
      return;
    }
    case DType::kF64:
      std::memcpy(ptr, &value, 8);
      return;
    case DType::kI32: {
      int32_t v = static_cast<int32_t>(value);
      std::memcpy(ptr, &v, 4);
      return;
    }
    case DType::kU8:
      *ptr = static_cast<char>(static_cast<unsigned char>(value));
      return;
    case DType::kF16: {
      Half v = float_to_half(static_cast<float>(value));
      std::memcpy(ptr, &v, 2);
      return;
    }
    case DType::kBF16: {
      BFloat16 v = float_to_bfloat16(static_cast<float>(value));
      std::memcpy(ptr, &v, 2);
      return;
    }
  }
  fail(ErrorCode::kUnsupported, "host data of dtype ", dtype_name(dtype), " is not supported");
}

bool is_contiguous(const HostView& view) {
  if (view.strides.empty()) return true;
  int64_t expected = 1;
  for (size_t d = view.shape.size(); d-- > 0;) {
    if (view.shape[d] != 1 && view.strides[d] != expected) return false;
    expected *= view.shape[d];
  }
  return true;
}

// Visits elements in row-major order, passing each one's element offset.
template <typename Visit>
void for_each_offset(const HostView& view, const Visit& visit) {
  int64_t count = shape_numel(view.shape);
  if (is_contiguous(view)) {
    for (int64_t i = 0; i < count; ++i) visit(i, i);
    return;
  }
  Shape index(view.shape.size(), 0);
  for (int64_t i = 0; i < count; ++i) {
    int64_t offset = 0;
    for (size_t d = 0; d < index.size(); ++d) offset += index[d] * view.strides[d];
    visit(i, offset);
    for (size_t d = index.size(); d-- > 0;) {
      if (++index[d] < view.shape[d]) break;
      index[d] = 0;
    }
  }
}

}  // namespace

void copy_from_view(const HostView& src, DType dst_dtype, void* dst) {
  if (src.dtype == dst_dtype && is_contiguous(src)) {
    std::memcpy(dst, src.data, shape_numel(src.shape) * dtype_size(src.dtype));
    return;
  }
  const char* in = static_cast<const char*>(src.data);
  char* out = static_cast<char*>(dst);
  size_t in_size = dtype_size(src.dtype), out_size = dtype_size(dst_dtype);
  for_each_offset(src, [&](int64_t i, int64_t offset) {
    write_element(dst_dtype, out + i * out_size, read_element(src.dtype, in + offset * in_size));
  });
}

void copy_to_view(DType src_dtype, const void* src, const HostView& dst) {
  if (src_dtype == dst.dtype && is_contiguous(dst)) {
    std::memcpy(dst.data, src, shape_numel(dst.shape) * dtype_size(dst.dtype));
    return;
  }
  const char* in = static_cast<const char*>(src);
  char* out = static_cast<char*>(dst.data);
  size_t in_size = dtype_size(src_dtype), out_size = dtype_size(dst.dtype);
  for_each_offset(dst, [&](int64_t i, int64_t offset) {
    write_element(dst.dtype, out + offset * out_size, read_element(src_dtype, in + i * in_size));
  });
}

}  // namespace tk
