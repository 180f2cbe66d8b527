// Owning device memory: frees in its destructor, moves but never copies (a copy
// would be a silent performance and ownership accident).
#pragma once

#include <cstddef>
#include <utility>

#include "core/backend/backend.h"

namespace tk {

class Buffer {
 public:
  Buffer() = default;
  Buffer(Backend* backend, size_t bytes)
      : backend_(backend), bytes_(bytes), data_(bytes ? backend->allocate(bytes) : nullptr) {
    if (bytes) backend_->fill_zero(data_, bytes);
  }
  ~Buffer() { reset(); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& other) noexcept { *this = std::move(other); }
  Buffer& operator=(Buffer&& other) noexcept {
    if (this != &other) {
      reset();
      backend_ = std::exchange(other.backend_, nullptr);
      bytes_ = std::exchange(other.bytes_, 0);
      data_ = std::exchange(other.data_, nullptr);
    }
    return *this;
  }

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  template <typename T>
  T* as() const { return static_cast<T*>(data_); }

 private:
  void reset() {
    if (data_) backend_->deallocate(data_, bytes_);
    data_ = nullptr;
    bytes_ = 0;
  }

  Backend* backend_ = nullptr;
  size_t bytes_ = 0;
  void* data_ = nullptr;
};

}  // namespace tk
