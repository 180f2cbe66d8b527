// The CPU backend: host memory, OpenBLAS for matrix products. Its op kernels
// (OpenMP loops) live with their op families and use threads().
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/backend/backend.h"

namespace tk::cpu {

class CpuBackend final : public Backend {
 public:
  // threads <= 0 picks the machine's core count.
  explicit CpuBackend(int threads = 0);
  ~CpuBackend() override;
  CpuBackend(const CpuBackend&) = delete;
  CpuBackend& operator=(const CpuBackend&) = delete;
  const char* name() const override { return "cpu"; }
  DeviceKind kind() const override { return DeviceKind::kCpu; }
  int threads() const { return threads_; }

  void* allocate(size_t bytes) override;
  void deallocate(void* ptr, size_t bytes) noexcept override;
  void set_memory_limit(size_t bytes) override { memory_limit_ = bytes; }
  size_t bytes_in_use() const override { return bytes_in_use_; }
  uint64_t allocation_count() const override { return allocation_count_; }
  void fill_zero(void* dst, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void copy_to_host(void* host_dst, const void* src, size_t bytes) override;
  void copy_from_host(void* dst, const void* host_src, size_t bytes) override;
  void load_host(const HostView& src, DType dst_dtype, void* dst) override;
  void store_host(DType src_dtype, const void* src, const HostView& dst) override;

  void gemm(DType a_dt, DType b_dt, DType c_dt, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
            double alpha, const void* a, const void* b, double beta, void* c) override;
  // dst = src converted (round to nearest-even when narrowing), on this
  // backend's threads; the gemm's staging and the convert kernel use it.
  void convert(DType src_dt, DType dst_dt, int64_t n, const void* src, void* dst);

  // What a kernel keeps between calls on this backend (oneDNN's primitives
  // and buffers): made on first use, freed with the backend. A backend runs
  // one call at a time, so the state needs no lock of its own.
  template <typename State>
  State& kernel_state(const std::string& name) {
    std::lock_guard<std::mutex> lock(kernel_state_mutex_);
    std::shared_ptr<void>& slot = kernel_state_[name];
    if (!slot) slot = std::make_shared<State>();
    return *static_cast<State*>(slot.get());
  }

 private:
  // f32 staging for matrix products over half operands; grows to the largest
  // product seen, then stays (so steady-state steps allocate nothing).
  float* gemm_scratch(size_t floats);

  int threads_;
  std::mutex kernel_state_mutex_;
  std::map<std::string, std::shared_ptr<void>> kernel_state_;
  void* scratch_ = nullptr;
  size_t scratch_bytes_ = 0;
  size_t memory_limit_ = 0;
  std::atomic<size_t> bytes_in_use_{0};
  std::atomic<uint64_t> allocation_count_{0};
};

// The CPU backend a CPU kernel was called with (the kernel table calls CPU
// kernels with CPU backends only).
inline CpuBackend& as_cpu(Backend& backend) { return static_cast<CpuBackend&>(backend); }

}  // namespace tk::cpu
