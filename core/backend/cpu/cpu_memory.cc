// CPU memory: 64-byte aligned host allocations with an optional byte limit.
#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "core/backend/cpu/cpu_backend.h"
#include "core/base/error.h"

namespace tk::cpu {

// 0 threads: OpenMP's own choice, which honours OMP_NUM_THREADS (a host's cap
// on a shared machine) and is every core otherwise.
CpuBackend::CpuBackend(int threads) : threads_(threads > 0 ? threads : omp_get_max_threads()) {}

CpuBackend::~CpuBackend() { deallocate(scratch_, scratch_bytes_); }

void* CpuBackend::allocate(size_t bytes) {
  if (memory_limit_ && bytes_in_use_ + bytes > memory_limit_)
    fail(ErrorCode::kOutOfMemory, "allocating ", bytes, " bytes would exceed the memory limit of ",
         memory_limit_, " bytes (", bytes_in_use_.load(), " in use)");
  size_t rounded = (bytes + 63) / 64 * 64;
  void* ptr = std::aligned_alloc(64, rounded ? rounded : 64);
  if (!ptr) fail(ErrorCode::kOutOfMemory, "out of host memory allocating ", bytes, " bytes");
  bytes_in_use_ += bytes;
  ++allocation_count_;
  return ptr;
}

void CpuBackend::deallocate(void* ptr, size_t bytes) noexcept {
  if (!ptr) return;
  std::free(ptr);
  bytes_in_use_ -= bytes;
}

void CpuBackend::fill_zero(void* dst, size_t bytes) { std::memset(dst, 0, bytes); }
void CpuBackend::copy(void* dst, const void* src, size_t bytes) { std::memmove(dst, src, bytes); }
void CpuBackend::copy_to_host(void* host_dst, const void* src, size_t bytes) {
  std::memcpy(host_dst, src, bytes);
}
void CpuBackend::copy_from_host(void* dst, const void* host_src, size_t bytes) {
  std::memcpy(dst, host_src, bytes);
}

}  // namespace tk::cpu
