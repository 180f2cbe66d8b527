// A borrowed view of caller memory, and the copies in and out of it with
// dtype conversion: what the CPU backend's transfers and the datasets share.
#pragma once

#include "core/base/dtype.h"
#include "core/base/shape.h"

namespace tk {

// Strides in elements; empty means contiguous.
struct HostView {
  void* data = nullptr;
  DType dtype = DType::kF32;
  Shape shape;
  Shape strides;
};

// Every element of src, in row-major order, converted into dst (contiguous,
// of dst_dtype; narrowing to f16/bf16 rounds to nearest-even).
void copy_from_view(const HostView& src, DType dst_dtype, void* dst);
// The contiguous src (of src_dtype) into the view dst, converted.
void copy_to_view(DType src_dtype, const void* src, const HostView& dst);

}  // namespace tk
