#include "core/backend/cuda/cudnn_conv.h"

#include <climits>

#include "core/base/error.h"

namespace tk::cuda {

void check(cudnnStatus_t status, const char* what) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  const ErrorCode code = status == CUDNN_STATUS_ALLOC_FAILED    ? ErrorCode::kOutOfMemory
                         : status == CUDNN_STATUS_NOT_SUPPORTED ? ErrorCode::kUnsupported
                                                                : ErrorCode::kInternal;
  fail(code, what, ": ", cudnnGetErrorString(status));
}

namespace {

constexpr size_t kWorkspaceLimit = size_t{1} << 30;
constexpr int kCandidates = 16;

bool cudnn_type(DType dt, cudnnDataType_t* data, cudnnDataType_t* compute) {
  switch (dt) {
    case DType::kF32:
      *data = CUDNN_DATA_FLOAT;
      *compute = CUDNN_DATA_FLOAT;
      return true;
    case DType::kF64:
      *data = CUDNN_DATA_DOUBLE;
      *compute = CUDNN_DATA_DOUBLE;
      return true;
    case DType::kF16:
      *data = CUDNN_DATA_HALF;
      *compute = CUDNN_DATA_FLOAT;
      return true;
    case DType::kBF16:
      *data = CUDNN_DATA_BFLOAT16;
      *compute = CUDNN_DATA_FLOAT;
      return true;
    default:
      return false;
  }
}

bool fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }

// Full-precision types take plain FMA kernels only: no TF32, and none of the
// transform-based algorithms (FFT, Winograd), whose rounding is looser.
bool full_precision(DType dt) { return dt == DType::kF32 || dt == DType::kF64; }

// The first candidate (cuDNN's heuristic order) that runs, is deterministic,
// keeps full precision where asked, and whose workspace is within the limit.
template <typename Perf, typename IsTransform>
const Perf* pick(const Perf* candidates, int count, DType dt, const IsTransform& is_transform) {
  for (int i = 0; i < count; ++i) {
    const Perf& p = candidates[i];
    if (p.status != CUDNN_STATUS_SUCCESS || p.determinism != CUDNN_DETERMINISTIC || p.memory > kWorkspaceLimit)
      continue;
    if (full_precision(dt) && (p.mathType != CUDNN_FMA_MATH || is_transform(p.algo))) continue;
    return &p;
  }
  return nullptr;
}

}  // namespace

struct CudnnConv::Prepared {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  bool usable = false;
  cudnnConvolutionFwdAlgo_t forward_algo{};
  cudnnConvolutionBwdDataAlgo_t data_algo{};
  cudnnConvolutionBwdFilterAlgo_t filter_algo{};
  cudnnMathType_t forward_math{}, data_math{}, filter_math{};
  size_t forward_bytes = 0, data_bytes = 0, filter_bytes = 0;
  ~Prepared() {
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
    if (w) cudnnDestroyFilterDescriptor(w);
    if (y) cudnnDestroyTensorDescriptor(y);
    if (x) cudnnDestroyTensorDescriptor(x);
  }
};

CudnnConv::CudnnConv(std::function<void*(size_t)> workspace) : workspace_(std::move(workspace)) {}

CudnnConv::~CudnnConv() {
  prepared_.clear();
  if (handle_) cudnnDestroy(handle_);
}

CudnnConv::Prepared* CudnnConv::prepare(DType dt, const Conv2dShape& s) {
  const Window2d& win = s.window;
  const Key key{static_cast<int64_t>(dt),
                s.batch,
                s.out_channels,
                s.groups,
                win.channels,
                win.height,
                win.width,
                win.kernel_h,
                win.kernel_w,
                win.stride_h,
                win.stride_w,
                win.pad_h,
                win.pad_w,
                win.dilation_h,
                win.dilation_w};
  std::unique_ptr<Prepared>& slot = prepared_[key];
  if (slot) return slot->usable ? slot.get() : nullptr;
  slot = std::make_unique<Prepared>();
  Prepared& p = *slot;
  cudnnDataType_t data, compute;
  for (int64_t v :
       {s.batch, s.out_channels, s.groups, win.channels, win.height, win.width, win.kernel_h, win.kernel_w, win.out_h,
        win.out_w, s.batch * win.channels * win.height * win.width, s.batch * s.out_channels * win.out_h * win.out_w})
    if (!fits_int(v)) return nullptr;
  if (!cudnn_type(dt, &data, &compute)) return nullptr;
  if (!handle_) check(cudnnCreate(&handle_), "cudnnCreate");
  const int n = static_cast<int>(s.batch), c = static_cast<int>(win.channels), k = static_cast<int>(s.out_channels);
  check(cudnnCreateTensorDescriptor(&p.x), "cudnnCreateTensorDescriptor");
  check(cudnnCreateTensorDescriptor(&p.y), "cudnnCreateTensorDescriptor");
  check(cudnnCreateFilterDescriptor(&p.w), "cudnnCreateFilterDescriptor");
  check(cudnnCreateConvolutionDescriptor(&p.conv), "cudnnCreateConvolutionDescriptor");
  check(cudnnSetTensor4dDescriptor(p.x, CUDNN_TENSOR_NCHW, data, n, c, static_cast<int>(win.height),
                                   static_cast<int>(win.width)),
        "cudnnSetTensor4dDescriptor(x)");
  check(cudnnSetTensor4dDescriptor(p.y, CUDNN_TENSOR_NCHW, data, n, k, static_cast<int>(win.out_h),
                                   static_cast<int>(win.out_w)),
        "cudnnSetTensor4dDescriptor(y)");
  check(cudnnSetFilter4dDescriptor(p.w, data, CUDNN_TENSOR_NCHW, k, static_cast<int>(win.channels / s.groups),
                                   static_cast<int>(win.kernel_h), static_cast<int>(win.kernel_w)),
        "cudnnSetFilter4dDescriptor");
  check(cudnnSetConvolution2dDescriptor(p.conv, static_cast<int>(win.pad_h), static_cast<int>(win.pad_w),
                                        static_cast<int>(win.stride_h), static_cast<int>(win.stride_w),
                                        static_cast<int>(win.dilation_h), static_cast<int>(win.dilation_w),
                                        CUDNN_CROSS_CORRELATION, compute),
        "cudnnSetConvolution2dDescriptor");
  check(cudnnSetConvolutionGroupCount(p.conv, static_cast<int>(s.groups)), "cudnnSetConvolutionGroupCount");
  check(cudnnSetConvolutionMathType(p.conv, full_precision(dt) ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH),
        "cudnnSetConvolutionMathType");

  int count = 0;
  cudnnConvolutionFwdAlgoPerf_t forward[kCandidates];
  check(cudnnGetConvolutionForwardAlgorithm_v7(handle_, p.x, p.w, p.conv, p.y, kCandidates, &count, forward),
        "cudnnGetConvolutionForwardAlgorithm_v7");
  const auto* f = pick(forward, count, dt, [](cudnnConvolutionFwdAlgo_t a) {
    return a == CUDNN_CONVOLUTION_FWD_ALGO_FFT || a == CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING ||
           a == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD || a == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED;
  });
  cudnnConvolutionBwdDataAlgoPerf_t data_candidates[kCandidates];
  check(
      cudnnGetConvolutionBackwardDataAlgorithm_v7(handle_, p.w, p.y, p.conv, p.x, kCandidates, &count, data_candidates),
      "cudnnGetConvolutionBackwardDataAlgorithm_v7");
  const auto* d = pick(data_candidates, count, dt, [](cudnnConvolutionBwdDataAlgo_t a) {
    return a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT || a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING ||
           a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD || a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED;
  });
  cudnnConvolutionBwdFilterAlgoPerf_t filter_candidates[kCandidates];
  check(cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle_, p.x, p.y, p.conv, p.w, kCandidates, &count,
                                                      filter_candidates),
        "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
  const auto* g = pick(filter_candidates, count, dt, [](cudnnConvolutionBwdFilterAlgo_t a) {
    return a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT || a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING ||
           a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED;
  });
  if (!f || !d || !g) return nullptr;  // the caller lowers this shape to im2col
  p.forward_algo = f->algo;
  p.forward_math = f->mathType;
  p.forward_bytes = f->memory;
  p.data_algo = d->algo;
  p.data_math = d->mathType;
  p.data_bytes = d->memory;
  p.filter_algo = g->algo;
  p.filter_math = g->mathType;
  p.filter_bytes = g->memory;
  p.usable = true;
  return &p;
}

bool CudnnConv::forward(cudaStream_t stream, DType dt, const Conv2dShape& shape, const void* x, const void* w,
                        void* y) {
  Prepared* p = prepare(dt, shape);
  if (!p) return false;
  check(cudnnSetStream(handle_, stream), "cudnnSetStream");
  check(cudnnSetConvolutionMathType(p->conv, p->forward_math), "cudnnSetConvolutionMathType");
  void* workspace = p->forward_bytes ? workspace_(p->forward_bytes) : nullptr;
  const double one64 = 1, zero64 = 0;
  const float one32 = 1, zero32 = 0;
  const bool f64 = dt == DType::kF64;
  check(cudnnConvolutionForward(handle_, f64 ? static_cast<const void*>(&one64) : &one32, p->x, x, p->w, w, p->conv,
                                p->forward_algo, workspace, p->forward_bytes,
                                f64 ? static_cast<const void*>(&zero64) : &zero32, p->y, y),
        "cudnnConvolutionForward");
  return true;
}

bool CudnnConv::backward(cudaStream_t stream, DType dt, const Conv2dShape& shape, const void* x, const void* w,
                         const void* dy, void* dw, void* dx, bool accumulate_dx) {
  Prepared* p = prepare(dt, shape);
  if (!p) return false;
  check(cudnnSetStream(handle_, stream), "cudnnSetStream");
  const double one64 = 1, zero64 = 0;
  const float one32 = 1, zero32 = 0;
  const bool f64 = dt == DType::kF64;
  const void* one = f64 ? static_cast<const void*>(&one64) : &one32;
  const void* zero = f64 ? static_cast<const void*>(&zero64) : &zero32;
  check(cudnnSetConvolutionMathType(p->conv, p->filter_math), "cudnnSetConvolutionMathType");
  void* workspace = p->filter_bytes ? workspace_(p->filter_bytes) : nullptr;
  check(cudnnConvolutionBackwardFilter(handle_, one, p->x, x, p->y, dy, p->conv, p->filter_algo, workspace,
                                       p->filter_bytes, zero, p->w, dw),
        "cudnnConvolutionBackwardFilter");
  if (!dx) return true;
  check(cudnnSetConvolutionMathType(p->conv, p->data_math), "cudnnSetConvolutionMathType");
  workspace = p->data_bytes ? workspace_(p->data_bytes) : nullptr;
  check(cudnnConvolutionBackwardData(handle_, one, p->w, w, p->y, dy, p->conv, p->data_algo, workspace, p->data_bytes,
                                     accumulate_dx ? one : zero, p->x, dx),
        "cudnnConvolutionBackwardData");
  return true;
}

}  // namespace tk::cuda
