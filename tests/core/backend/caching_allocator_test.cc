// The caching allocator over a fake device: blocks are reused by size class,
// the raw allocator is reached only for new sizes, a full device first gets
// the cache back, and the limit and bad pointers are handled.
#include "core/backend/caching_allocator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "core/base/error.h"

namespace tk {
namespace {

// Host memory with a capacity, counting what is live.
class FakeDevice final : public RawDeviceMemory {
 public:
  explicit FakeDevice(size_t capacity) : capacity_(capacity) {}
  void* allocate(size_t bytes) override {
    if (used_ + bytes > capacity_) return nullptr;
    void* p = std::malloc(bytes);
    used_ += bytes;
    sizes_[p] = bytes;
    ++calls_;
    return p;
  }
  void free(void* ptr) noexcept override {
    used_ -= sizes_.at(ptr);
    sizes_.erase(ptr);
    std::free(ptr);
  }
  size_t used() const { return used_; }
  int calls() const { return calls_; }

 private:
  size_t capacity_, used_ = 0;
  int calls_ = 0;
  std::map<void*, size_t> sizes_;
};

TEST(CachingAllocatorTest, SizeClassesRoundUpWithBoundedWaste) {
  EXPECT_EQ(CachingAllocator::size_class(0), 512u);
  EXPECT_EQ(CachingAllocator::size_class(1), 512u);
  EXPECT_EQ(CachingAllocator::size_class(512), 512u);
  EXPECT_EQ(CachingAllocator::size_class(513), 1024u);
  EXPECT_EQ(CachingAllocator::size_class(1u << 20), 1u << 20);
  EXPECT_EQ(CachingAllocator::size_class((1u << 20) + 1), 2u << 20);
  EXPECT_EQ(CachingAllocator::size_class((5u << 20) + 7), 6u << 20);
}

TEST(CachingAllocatorTest, FreedBlocksAreReusedWithoutTheRawAllocator) {
  FakeDevice device(1 << 30);
  {
    CachingAllocator allocator(&device);
    // A "training step": the same sizes every time.
    auto step = [&] {
      void* a = allocator.allocate(1000);
      void* b = allocator.allocate(3 << 20);
      void* c = allocator.allocate(1000);
      EXPECT_NE(a, c);
      allocator.deallocate(b);
      allocator.deallocate(a);
      allocator.deallocate(c);
    };
    step();
    const int after_first = device.calls();
    EXPECT_EQ(after_first, 3);
    for (int i = 0; i < 10; ++i) step();
    EXPECT_EQ(device.calls(), after_first);
    EXPECT_EQ(allocator.raw_allocations(), 3u);
    EXPECT_EQ(allocator.bytes_in_use(), 0u);
    EXPECT_EQ(allocator.bytes_cached(), 2 * 1024u + (4u << 20));
  }
  EXPECT_EQ(device.used(), 0u);  // the destructor returned everything
}

TEST(CachingAllocatorTest, AFullDeviceGetsTheCacheBackBeforeFailing) {
  FakeDevice device(8 << 20);
  CachingAllocator allocator(&device);
  void* a = allocator.allocate(6 << 20);
  allocator.deallocate(a);  // cached: 6 MiB of 8 held
  void* b = allocator.allocate(4 << 20);  // needs the cache released
  EXPECT_NE(b, nullptr);
  EXPECT_EQ(allocator.bytes_cached(), 0u);
  try {
    allocator.allocate(6 << 20);
    FAIL() << "a full device allocated";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kOutOfMemory);
  }
  EXPECT_EQ(allocator.bytes_in_use(), 4u << 20);  // the failure changed nothing
  allocator.deallocate(b);
}

TEST(CachingAllocatorTest, TheLimitIsEnforcedAndForeignPointersIgnored) {
  FakeDevice device(1 << 30);
  CachingAllocator allocator(&device);
  allocator.set_limit(4096);
  void* a = allocator.allocate(4000);
  EXPECT_THROW(allocator.allocate(1), Error);
  int local = 0;
  allocator.deallocate(&local);  // not ours: ignored
  allocator.deallocate(nullptr);
  allocator.deallocate(a);
  EXPECT_NO_THROW(allocator.deallocate(allocator.allocate(4000)));
}

}  // namespace
}  // namespace tk
