#include "core/data/host_gather.h"

#include <cstring>

#include "core/base/error.h"

namespace tk {
namespace {

double read_element(DType dtype, const char* ptr) {
  switch (dtype) {
    case DType::kF32: { float v; std::memcpy(&v, ptr, 4); return v; }
    case DType::kF64: { double v; std::memcpy(&v, ptr, 8); return v; }
    case DType::kI32: { int32_t v; std::memcpy(&v, ptr, 4); return v; }
    case DType::kU8: return static_cast<unsigned char>(*ptr);
    default: break;
  }
  fail(ErrorCode::kUnsupported, "dataset data of dtype ", dtype_name(dtype), " is not supported");
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

template <typename T>
void gather(const HostView& src, DType out_dtype, T* out) {
  const int64_t count = shape_numel(src.shape);
  const bool contiguous = is_contiguous(src);
  if (src.dtype == out_dtype && contiguous) {
    std::memcpy(out, src.data, count * sizeof(T));
    return;
  }
  const char* in = static_cast<const char*>(src.data);
  const size_t in_size = dtype_size(src.dtype);
  Shape index(src.shape.size(), 0);
  for (int64_t i = 0; i < count; ++i) {
    int64_t offset = i;
    if (!contiguous) {
      offset = 0;
      for (size_t d = 0; d < index.size(); ++d) offset += index[d] * src.strides[d];
      for (size_t d = index.size(); d-- > 0;) {
        if (++index[d] < src.shape[d]) break;
        index[d] = 0;
      }
    }
    out[i] = static_cast<T>(read_element(src.dtype, in + offset * in_size));
  }
}

}  // namespace

void gather_host(const HostView& src, float* out) { gather(src, DType::kF32, out); }
void gather_host(const HostView& src, int32_t* out) { gather(src, DType::kI32, out); }

}  // namespace tk
