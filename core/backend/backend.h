// The device interface: the services every device offers (memory, host
// transfers, matrix products, queued reads, recording). Op kernels are not
// here: they live with their op family and are reached through the kernel
// table (core/kernels/kernel_table.h) by this backend's kind().
// Every pointer is device memory from allocate(), except HostView data, which
// is caller memory. Each operand's dtype is passed with it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <deque>
#include <vector>

#include "core/base/dtype.h"
#include "core/base/host_view.h"
#include "core/base/shape.h"

namespace tk {

// The kinds of device a kernel can be registered for (core/kernels/kernel_table.h).
enum class DeviceKind { kCpu = 0, kCuda = 1 };
constexpr int kDeviceKinds = 2;

// Work recorded once and replayed at the cost of one launch (CUDA graphs).
class Recording {
 public:
  virtual ~Recording() = default;
  virtual void replay() = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  virtual DeviceKind kind() const = 0;

  // Memory. allocate() throws Error(kOutOfMemory) and never returns null.
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* ptr, size_t bytes) noexcept = 0;
  virtual void set_memory_limit(size_t bytes) = 0;  // 0: no limit
  virtual size_t bytes_in_use() const = 0;
  virtual uint64_t allocation_count() const = 0;
  virtual void fill_zero(void* dst, size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;
  virtual void copy_to_host(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void copy_from_host(void* dst, const void* host_src, size_t bytes) = 0;
  // Waits for all work issued so far (a no-op where calls complete in order, as on the CPU).
  virtual void synchronize() {}

  // Caller memory in (any strides, converted to dst_dtype) and out (contiguous).
  virtual void load_host(const HostView& src, DType dst_dtype, void* dst) = 0;
  // load_host that may return before the copy is done: `src` must stay
  // unchanged until the backend next waits for the device (synchronize, a
  // copy or read to the host). A training step ends with such a read.
  virtual void load_host_async(const HostView& src, DType dst_dtype, void* dst) { load_host(src, dst_dtype, dst); }
  virtual void store_host(DType src_dtype, const void* src, const HostView& dst) = 0;

  // Row-major C = alpha * op(A) * op(B) + beta * C, op(A) is m x k, op(B) is
  // k x n. Each operand has its own dtype; products accumulate in at least f32.
  virtual void gemm(DType a_dt, DType b_dt, DType c_dt, bool trans_a, bool trans_b, int64_t m, int64_t n,
                    int64_t k, double alpha, const void* a, const void* b, double beta, void* c) = 0;

  // Results read back together, so that a training step waits for the device
  // once: queue_result() hands out a slot of backend memory for one double
  // (a kernel writes it) and its ticket; read_queued() returns every slot's
  // value (indexed by ticket) and empties the queue. Slots are valid until then.
  virtual int queue_result(double** slot) {
    queued_.push_back(0.0);
    *slot = &queued_.back();
    return static_cast<int>(queued_.size()) - 1;
  }
  virtual std::vector<double> read_queued() {
    std::vector<double> values(queued_.begin(), queued_.end());
    queued_.clear();
    return values;
  }
  // Drops what a failed step left queued.
  virtual void clear_queued() { queued_.clear(); }

  // Recording: between begin_recording() (false: not offered) and
  // end_recording(), calls are recorded instead of run. end_recording()
  // returns null if the work could not be recorded (then none of it ran).
  // A recording holds the addresses it was made with: it may be replayed
  // while memory_generation() is unchanged (scratch the backend replaced
  // since then may be gone) and the buffers it used are alive.
  virtual bool offers_recording() const { return false; }
  virtual bool begin_recording() { return false; }
  virtual std::unique_ptr<Recording> end_recording() { return nullptr; }
  virtual uint64_t memory_generation() const { return 0; }

 private:
  std::deque<double> queued_;  // a deque: slots handed out never move
};

}  // namespace tk
