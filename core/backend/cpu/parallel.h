// Helpers for CPU kernels: an OpenMP loop with static chunks (deterministic
// work split) and dispatch from a runtime dtype to a C++ element type.
#pragma once

#include <cstdint>

#include "core/base/dtype.h"
#include "core/base/error.h"
#include "core/base/half.h"

// Shipped code targets a baseline x86-64 (x86-64-v2: SSE4.2, no AVX), so it
// runs on any machine of a fleet. Loop bodies marked TK_CPU_CLONES are also
// compiled for x86-64-v3 (AVX2, FMA, F16C), and the loader picks the clone the
// CPU supports (an ifunc, resolved once). Callees inlined into a clone take its
// instruction set. Other compilers and architectures build the body once.
// ThreadSanitizer's instrumented ifunc resolvers run before its runtime is
// up (a crash at load), so its builds take the baseline body alone.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define TK_CPU_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define TK_CPU_CLONES
#endif

// For the helpers such a body calls: inlined always, so they are compiled
// with the clone's instruction set rather than once for the baseline.
#if defined(__GNUC__)
#define TK_CPU_INLINE inline __attribute__((always_inline))
#else
#define TK_CPU_INLINE inline
#endif

namespace tk::cpu {

// Calls body(begin, end) over [0, n) in contiguous chunks of at least `grain`.
template <typename Body>
void parallel_for(int threads, int64_t n, int64_t grain, const Body& body) {
  if (n <= 0) return;
  int64_t chunks = (n + grain - 1) / grain;
  if (threads <= 1 || chunks <= 1) {
    body(int64_t{0}, n);
    return;
  }
  if (chunks > threads) chunks = threads;
  int64_t per_chunk = (n + chunks - 1) / chunks;
  // Never ask OpenMP for more threads than there are chunks of work.
#pragma omp parallel for num_threads(static_cast<int>(chunks)) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t begin = c * per_chunk;
    int64_t end = begin + per_chunk < n ? begin + per_chunk : n;
    if (begin < end) body(begin, end);
  }
}

// Calls fn(S{}) with S = float or double for a compute dtype.
template <typename Fn>
void dispatch_float(DType dt, const Fn& fn) {
  switch (dt) {
    case DType::kF32: fn(float{}); return;
    case DType::kF64: fn(double{}); return;
    default: fail(ErrorCode::kUnsupported, "this CPU kernel computes in f32 or f64, not ", dtype_name(dt));
  }
}

// Calls fn(S{}) with S the storage type of any floating dtype (float, double,
// Half, BFloat16); kernels compute in compute_t<S>.
template <typename Fn>
void dispatch_storage(DType dt, const Fn& fn) {
  switch (dt) {
    case DType::kF32: fn(float{}); return;
    case DType::kF64: fn(double{}); return;
    case DType::kF16: fn(Half{}); return;
    case DType::kBF16: fn(BFloat16{}); return;
    default: fail(ErrorCode::kUnsupported, "CPU kernels take floating-point data, not ", dtype_name(dt));
  }
}

}  // namespace tk::cpu
