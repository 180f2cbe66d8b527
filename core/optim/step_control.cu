// A step decided on the device: one thread applies the step rules
// (core/backend/step_control.h, shared with the CPU backend) to the step's
// sums, and the running statistics commit only if the step was applied.
#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda/cuda_kernel.h"
#include "core/optim/optim_kernels.h"

namespace tk::cuda {
namespace {

__global__ void decide_step_kernel(StepControl* control, StepRules rules) { tk::decide_step(*control, rules); }

__global__ void copy_if_applied_kernel(const StepControl* control, int64_t words, uint32_t* dst, const uint32_t* src) {
  if (!control->applied) return;
  TK_GRID_STRIDE(i, words) { dst[i] = src[i]; }
}

void decide_step(cudaStream_t s, StepControl* control, const StepRules& rules) {
  decide_step_kernel<<<1, 1, 0, s>>>(control, rules);
  check_launch("decide_step");
}

void copy_if_applied(cudaStream_t s, const StepControl* control, void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  if (bytes % sizeof(uint32_t) != 0)
    fail(ErrorCode::kInternal, "copy_if_applied copies whole 4-byte words, got ", bytes, " bytes");
  const int64_t words = static_cast<int64_t>(bytes / sizeof(uint32_t));
  copy_if_applied_kernel<<<blocks_for(words), kThreads, 0, s>>>(control, words, static_cast<uint32_t*>(dst),
                                                                static_cast<const uint32_t*>(src));
  check_launch("copy_if_applied");
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::decide_step, DeviceKind::kCuda, OnStream<decide_step>::run},
    {kernels::copy_if_applied, DeviceKind::kCuda, OnStream<copy_if_applied>::run},
};

}  // namespace tk::cuda
