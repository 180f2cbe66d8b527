// Moving caller memory in and out: the shared strided copy with dtype
// conversion (core/base/host_view.h), host to host on the CPU.
#include "core/backend/cpu/cpu_backend.h"

namespace tk::cpu {

void CpuBackend::load_host(const HostView& src, DType dst_dtype, void* dst) { copy_from_view(src, dst_dtype, dst); }

void CpuBackend::store_host(DType src_dtype, const void* src, const HostView& dst) {
  copy_to_view(src_dtype, src, dst);
}

}  // namespace tk::cpu
