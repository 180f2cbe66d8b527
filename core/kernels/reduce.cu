// Reductions. Every one has a fixed launch shape and a fixed summation order,
// so results depend on n only, never on timing (as on the CPU).
#include <algorithm>
#include <cmath>

#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda/cuda_kernel.h"
#include "core/backend/cuda/cuda_status.h"
#include "core/kernels/reduce_kernels.h"

namespace tk::cuda {
namespace {

constexpr int kReduceBlocks = CudaBackend::kReduceBlocks;
// Column sums go in chunks of this many rows.
constexpr int64_t kColumnSumChunkRows = 512;

// Column sums in two stages, each in a fixed order, so a result depends on the
// shape alone. Stage 1: a block of kSumColumns x kSumLanes threads sums one
// chunk of kSumChunkRows rows of kSumColumns columns (a warp reads consecutive
// columns of one row); its lanes are added in lane order. With one chunk it
// writes the result, else a partial per (chunk, column) that stage 2 adds up
// chunk by chunk.
constexpr int kSumColumns = 32, kSumLanes = 8;

template <typename S, typename O>
__global__ void column_sum_chunk_kernel(int64_t rows, int64_t cols, const S* x, O* out, bool accumulate,
                                        double* partials) {
  __shared__ double lanes[kSumLanes][kSumColumns];
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kSumColumns + threadIdx.x;
  const int64_t first = static_cast<int64_t>(blockIdx.y) * kColumnSumChunkRows;
  const int64_t last = min(rows, first + kColumnSumChunkRows);
  double total = 0;
  if (c < cols)
    for (int64_t r = first + threadIdx.y; r < last; r += kSumLanes) total += static_cast<double>(load(x[r * cols + c]));
  lanes[threadIdx.y][threadIdx.x] = total;
  __syncthreads();
  if (threadIdx.y != 0 || c >= cols) return;
  for (int lane = 1; lane < kSumLanes; ++lane) total += lanes[lane][threadIdx.x];
  if (gridDim.y == 1)
    out[c] = store<O>((accumulate ? static_cast<double>(load(out[c])) : 0.0) + total);
  else
    partials[blockIdx.y * cols + c] = total;
}

template <typename O>
__global__ void column_sum_partials_kernel(int64_t chunks, int64_t cols, const double* partials, O* out,
                                           bool accumulate) {
  TK_GRID_STRIDE(c, cols) {
    double total = accumulate ? static_cast<double>(load(out[c])) : 0.0;
    for (int64_t chunk = 0; chunk < chunks; ++chunk) total += partials[chunk * cols + c];
    out[c] = store<O>(total);
  }
}

// One block per channel over [batch, channels, spatial].
template <typename S, typename O>
__global__ void channel_sum_kernel(int64_t batch, int64_t channels, int64_t spatial, const S* x, O* out,
                                   bool accumulate) {
  __shared__ double shared[kThreads];
  const int64_t c = blockIdx.x;
  double total = 0;
  for (int64_t i = threadIdx.x; i < batch * spatial; i += kThreads) {
    const int64_t n = i / spatial, s = i % spatial;
    total += static_cast<double>(load(x[(n * channels + c) * spatial + s]));
  }
  total = block_sum(total, shared);
  if (threadIdx.x == 0) out[c] = store<O>((accumulate ? static_cast<double>(load(out[c])) : 0.0) + total);
}

// Stage 1: kReduceBlocks partial results; stage 2: one block adds them.
template <typename S>
__global__ void reduce_partials_kernel(int kind, int64_t n, const S* x, double* partials) {
  __shared__ double shared[kThreads];
  double total = 0;
  TK_GRID_STRIDE(i, n) {
    const double v = static_cast<double>(load(x[i]));
    total += kind == 0 ? v : (kind == 1 ? v * v : (isfinite(v) ? 0.0 : 1.0));
  }
  total = block_sum(total, shared);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

__global__ void reduce_final_kernel(const double* partials, double* result) {
  __shared__ double shared[kThreads];
  double total = 0;
  for (int i = threadIdx.x; i < kReduceBlocks; i += kThreads) total += partials[i];
  total = block_sum(total, shared);
  if (threadIdx.x == 0) *result = total;
}

int64_t column_sum_partials(int64_t rows, int64_t cols) {
  const int64_t chunks = (rows + kColumnSumChunkRows - 1) / kColumnSumChunkRows;
  return chunks > 1 ? chunks * cols : 0;
}

void column_sum(cudaStream_t s, DType x_dt, DType out_dt, int64_t rows, int64_t cols, const void* x, void* out,
                bool accumulate, double* partials) {
  if (cols <= 0) return;
  const int64_t chunks = std::max<int64_t>(1, (rows + kColumnSumChunkRows - 1) / kColumnSumChunkRows);
  const dim3 grid(static_cast<unsigned>((cols + kSumColumns - 1) / kSumColumns), static_cast<unsigned>(chunks));
  const dim3 block(kSumColumns, kSumLanes);
  dispatch_storage(x_dt, [&](auto x_tag) {
    dispatch_storage(out_dt, [&](auto o_tag) {
      using S = decltype(x_tag);
      using O = decltype(o_tag);
      column_sum_chunk_kernel<S, O>
          <<<grid, block, 0, s>>>(rows, cols, static_cast<const S*>(x), static_cast<O*>(out), accumulate, partials);
      if (chunks > 1)
        column_sum_partials_kernel<O>
            <<<blocks_for(cols), kThreads, 0, s>>>(chunks, cols, partials, static_cast<O*>(out), accumulate);
    });
  });
  check_launch("column_sum");
}

void channel_sum(cudaStream_t s, DType x_dt, DType out_dt, int64_t batch, int64_t channels, int64_t spatial,
                 const void* x, void* out, bool accumulate) {
  if (channels <= 0) return;
  dispatch_storage(x_dt, [&](auto x_tag) {
    dispatch_storage(out_dt, [&](auto o_tag) {
      using S = decltype(x_tag);
      using O = decltype(o_tag);
      channel_sum_kernel<S, O><<<static_cast<unsigned>(channels), kThreads, 0, s>>>(
          batch, channels, spatial, static_cast<const S*>(x), static_cast<O*>(out), accumulate);
    });
  });
  check_launch("channel_sum");
}

void reduce(cudaStream_t s, DType dt, int kind, int64_t n, const void* x, double* partials, double* result) {
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    reduce_partials_kernel<S><<<kReduceBlocks, kThreads, 0, s>>>(kind, n, static_cast<const S*>(x), partials);
  });
  check_launch("reduce");
  reduce_final_kernel<<<1, kThreads, 0, s>>>(partials, result);
  check_launch("reduce_final");
}

void sums_of_columns(Backend& backend, DType x_dt, DType out_dt, int64_t rows, int64_t cols, const void* x, void* out,
                     bool accumulate) {
  CudaBackend& cuda = as_cuda(backend);
  cuda.activate();
  const int64_t partials = column_sum_partials(rows, cols);
  column_sum(cuda.stream(), x_dt, out_dt, rows, cols, x, out, accumulate,
             partials ? cuda.partial_sums(static_cast<size_t>(partials)) : nullptr);
}

// kind: 0 sum, 1 sum of squares, 2 count of non-finite values.
double reduced(Backend& backend, DType dt, int kind, int64_t n, const void* x) {
  CudaBackend& cuda = as_cuda(backend);
  cuda.activate();
  if (n <= 0) return 0.0;
  double* result = cuda.reduce_partials() + kReduceBlocks;
  reduce(cuda.stream(), dt, kind, n, x, cuda.reduce_partials(), result);
  return cuda.read_double(result);
}

double sum(Backend& backend, DType dt, int64_t n, const void* x) { return reduced(backend, dt, 0, n, x); }
double sum_squares(Backend& backend, DType dt, int64_t n, const void* x) { return reduced(backend, dt, 1, n, x); }
bool all_finite(Backend& backend, DType dt, int64_t n, const void* x) { return reduced(backend, dt, 2, n, x) == 0.0; }

void sum_into(Backend& backend, DType dt, int64_t n, const void* x, bool squares, double* out) {
  CudaBackend& cuda = as_cuda(backend);
  cuda.activate();
  if (n <= 0) {
    check(cudaMemsetAsync(out, 0, sizeof *out, cuda.stream()), "cudaMemsetAsync");
    return;
  }
  reduce(cuda.stream(), dt, squares ? 1 : 0, n, x, cuda.reduce_partials(), out);
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::sum, DeviceKind::kCuda, sum},
    {kernels::sum_squares, DeviceKind::kCuda, sum_squares},
    {kernels::all_finite, DeviceKind::kCuda, all_finite},
    {kernels::sum_into, DeviceKind::kCuda, sum_into},
    {kernels::column_sum, DeviceKind::kCuda, sums_of_columns},
    {kernels::channel_sum, DeviceKind::kCuda, OnStream<channel_sum>::run},
};

}  // namespace tk::cuda
