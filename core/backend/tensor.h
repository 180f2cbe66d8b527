// A typed, shaped block of backend memory. The trainer's flat parameter,
// gradient and optimizer-state buffers are Tensors; ops see raw views into
// them through OpContext, so they never own memory.
#pragma once

#include <cstdint>

#include "core/backend/buffer.h"
#include "core/base/shape.h"

namespace tk {

class Tensor {
 public:
  Tensor() = default;
  Tensor(Backend* backend, DType dtype, const Shape& shape)
      : dtype_(dtype), shape_(shape), buffer_(backend, shape_numel(shape) * dtype_size(dtype)) {}

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t numel() const { return shape_numel(shape_); }
  size_t bytes() const { return buffer_.bytes(); }
  void* data() const { return buffer_.data(); }
  template <typename T>
  T* as() const { return buffer_.as<T>(); }
  // Address of element `index` (for views into a flat buffer).
  void* element(int64_t index) const { return buffer_.as<char>() + index * dtype_size(dtype_); }

 private:
  DType dtype_ = DType::kF32;
  Shape shape_;
  Buffer buffer_;
};

}  // namespace tk
