#include "core/backend/caching_allocator.h"

#include "core/base/error.h"

namespace tk {

size_t CachingAllocator::size_class(size_t bytes) {
  constexpr size_t kSmallStep = 512, kLargeStep = size_t{2} << 20, kSmallLimit = size_t{1} << 20;
  if (bytes == 0) bytes = 1;
  const size_t step = bytes <= kSmallLimit ? kSmallStep : kLargeStep;
  if (bytes > SIZE_MAX - step) fail(ErrorCode::kOutOfMemory, "cannot allocate ", bytes, " bytes");
  return (bytes + step - 1) / step * step;
}

void* CachingAllocator::allocate(size_t bytes) {
  const size_t size = size_class(bytes);
  if (limit_ && in_use_ + size > limit_)
    fail(ErrorCode::kOutOfMemory, "allocating ", bytes, " bytes would exceed the memory limit of ", limit_,
         " bytes (", in_use_, " in use)");
  void* ptr = nullptr;
  auto cached = free_.find(size);
  if (cached != free_.end()) {
    ptr = cached->second;
    free_.erase(cached);
    cached_ -= size;
  } else {
    ptr = raw_->allocate(size);
    if (!ptr && cached_ > 0) {
      release_cache();  // blocks of other sizes may make room
      ptr = raw_->allocate(size);
    }
    if (!ptr)
      fail(ErrorCode::kOutOfMemory, "the device has no room for ", bytes, " more bytes (", in_use_, " in use)");
    ++raw_allocations_;
  }
  blocks_[ptr] = size;
  in_use_ += size;
  return ptr;
}

void CachingAllocator::deallocate(void* ptr) noexcept {
  auto it = blocks_.find(ptr);
  if (it == blocks_.end()) return;
  free_.emplace(it->second, ptr);
  cached_ += it->second;
  in_use_ -= it->second;
  blocks_.erase(it);
}

void CachingAllocator::release_cache() noexcept {
  for (auto& [size, ptr] : free_) raw_->free(ptr);
  free_.clear();
  cached_ = 0;
}

CachingAllocator::~CachingAllocator() {
  release_cache();
  for (auto& [ptr, size] : blocks_) raw_->free(ptr);
}

}  // namespace tk
