// Moving caller memory in and out: strided gather with dtype conversion.
#include "core/backend/cpu/cpu_backend.h"

namespace tk::cpu {

void CpuBackend::load_host(const HostView& src, DType dst_dtype, void* dst) { copy_from_view(src, dst_dtype, dst); }

void CpuBackend::store_host(DType src_dtype, const void* src, const HostView& dst) {
  copy_to_view(src_dtype, src, dst);
}

}  // namespace tk::cpu
