// A caching allocator over a device's raw allocator. Freed blocks stay cached
// by size class and are handed out again, so a training step after the first
// reaches the raw allocator (cudaMalloc) never. Blocks are reused in stream
// order: the backend runs all work on one stream, so later work that reuses a
// block is ordered after earlier work that freed it.
// Plain C++ over an abstract raw allocator, so the CPU tests cover it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <unordered_map>

namespace tk {

class RawDeviceMemory {
 public:
  virtual ~RawDeviceMemory() = default;
  // Null when the device is full; throws Error for any other failure.
  virtual void* allocate(size_t bytes) = 0;
  virtual void free(void* ptr) noexcept = 0;
};

class CachingAllocator {
 public:
  explicit CachingAllocator(RawDeviceMemory* raw) : raw_(raw) {}
  ~CachingAllocator();  // returns every block to the raw allocator
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // Throws Error(kOutOfMemory) past the limit, or when the device is full
  // even after the cache went back to it.
  void* allocate(size_t bytes);
  void deallocate(void* ptr) noexcept;  // ignores null and pointers it did not hand out
  void set_limit(size_t bytes) { limit_ = bytes; }  // 0: none
  size_t bytes_in_use() const { return in_use_; }     // handed out, by size class
  size_t bytes_cached() const { return cached_; }     // free, kept for reuse
  uint64_t raw_allocations() const { return raw_allocations_; }
  void release_cache() noexcept;

  // The size class a request is served from: 512-byte steps up to 1 MiB,
  // then 2 MiB steps (bounded waste, few distinct classes).
  static size_t size_class(size_t bytes);

 private:
  RawDeviceMemory* raw_;
  std::multimap<size_t, void*> free_;         // size class -> cached block
  std::unordered_map<void*, size_t> blocks_;  // live block -> size class
  size_t limit_ = 0, in_use_ = 0, cached_ = 0;
  uint64_t raw_allocations_ = 0;
};

}  // namespace tk
