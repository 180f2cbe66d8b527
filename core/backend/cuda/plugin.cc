// libtrainkit_cuda.so's exported entry points (core/backend/cuda_plugin.h).
// No exception leaves them: errors become a code and a message (plugin_entry.h).
#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "core/backend/cuda/cuda_backend.h"
#include "core/backend/cuda/cuda_status.h"
#include "core/backend/cuda/nccl_communicator.h"
#include "core/backend/cuda_plugin.h"
#include "core/base/error.h"
#include "core/base/plugin_entry.h"
#include "core/kernels/kernel_table.h"

namespace {

template <typename Body>
int guarded(char* message, size_t capacity, const Body& body) {
  return tk::plugin_guarded("the CUDA backend", message, capacity, body);
}

}  // namespace

TK_PLUGIN_EXPORT long long trainkit_cuda_plugin_abi() { return tk::kCudaPluginAbi; }

// The op families' CUDA kernels, registered into this library's own kernel
// table as it loaded; libtrainkit copies them into its table.
TK_PLUGIN_EXPORT int trainkit_cuda_kernels(const tk::KernelEntry** entries, size_t* count, char* message,
                                           size_t capacity) {
  return guarded(message, capacity, [&] {
    static const std::vector<tk::KernelEntry> cuda = tk::KernelTable::global().entries(tk::DeviceKind::kCuda);
    *entries = cuda.data();
    *count = cuda.size();
  });
}

TK_PLUGIN_EXPORT int trainkit_cuda_device_count(int* count, char* message, size_t capacity) {
  return guarded(message, capacity, [&] {
    *count = 0;
    tk::cuda::check(cudaGetDeviceCount(count), "cudaGetDeviceCount");
  });
}

TK_PLUGIN_EXPORT int trainkit_cuda_device_properties(int device, tk::CudaDeviceProperties* out, char* message,
                                                     size_t capacity) {
  return guarded(message, capacity, [&] {
    int count = 0;
    tk::cuda::check(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
    if (device < 0 || device >= count)
      tk::fail(tk::ErrorCode::kInvalidArgument, "CUDA device ", device, " does not exist (", count, " present)");
    cudaDeviceProp props{};
    tk::cuda::check(cudaGetDeviceProperties(&props, device), "cudaGetDeviceProperties");
    std::memset(out, 0, sizeof *out);
    std::snprintf(out->name, sizeof out->name, "%s", props.name);
    out->memory_bytes = props.totalGlobalMem;
    out->major = props.major;
    out->minor = props.minor;
  });
}

TK_PLUGIN_EXPORT int trainkit_cuda_backend_create(int device, tk::Backend** out, char* message, size_t capacity) {
  return guarded(message, capacity, [&] { *out = new tk::cuda::CudaBackend(device); });
}

TK_PLUGIN_EXPORT int trainkit_cuda_host_alloc(size_t bytes, void** out, char* message, size_t capacity) {
  return guarded(message, capacity, [&] {
    *out = nullptr;
    const cudaError_t status = cudaHostAlloc(out, bytes, cudaHostAllocPortable);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      tk::fail(tk::ErrorCode::kOutOfMemory, "cannot page-lock ", bytes, " bytes of host memory");
    }
    tk::cuda::check(status, "cudaHostAlloc");
  });
}

TK_PLUGIN_EXPORT void trainkit_cuda_host_free(void* ptr) { cudaFreeHost(ptr); }

TK_PLUGIN_EXPORT int trainkit_cuda_nccl_unique_id(void* id, char* message, size_t capacity) {
  return guarded(message, capacity, [&] {
    static_assert(sizeof(ncclUniqueId) == tk::kNcclIdBytes, "NCCL's unique id changed size");
    ncclUniqueId unique{};
    const ncclResult_t result = ncclGetUniqueId(&unique);
    if (result != ncclSuccess)
      tk::fail(tk::ErrorCode::kCommunication, "ncclGetUniqueId failed: ", ncclGetErrorString(result));
    std::memcpy(id, unique.internal, sizeof unique.internal);
  });
}

TK_PLUGIN_EXPORT int trainkit_cuda_nccl_communicator_create(const void* id, int rank, int size, tk::Backend* backend,
                                                            int64_t timeout_ms, tk::Communicator** out, char* message,
                                                            size_t capacity) {
  return guarded(message, capacity, [&] {
    // The backend was made by this plugin, so the cast is within one library.
    auto* cuda = dynamic_cast<tk::cuda::CudaBackend*>(backend);
    if (!cuda) tk::fail(tk::ErrorCode::kInvalidArgument, "NCCL needs a trainer on a CUDA device");
    *out = new tk::cuda::NcclCommunicator(id, rank, size, cuda, std::chrono::milliseconds(timeout_ms));
  });
}
