// Status strings, the thread-local error message, versions, and views.
#include <cstring>

#include "capi/handles.h"

static_assert(TK_ERROR_INVALID_ARGUMENT == static_cast<int>(tk::ErrorCode::kInvalidArgument));
static_assert(TK_ERROR_NULL_ARGUMENT == static_cast<int>(tk::ErrorCode::kNullArgument));
static_assert(TK_ERROR_SHAPE_MISMATCH == static_cast<int>(tk::ErrorCode::kShapeMismatch));
static_assert(TK_ERROR_DTYPE_MISMATCH == static_cast<int>(tk::ErrorCode::kDtypeMismatch));
static_assert(TK_ERROR_OUT_OF_MEMORY == static_cast<int>(tk::ErrorCode::kOutOfMemory));
static_assert(TK_ERROR_NON_FINITE == static_cast<int>(tk::ErrorCode::kNonFinite));
static_assert(TK_ERROR_IO == static_cast<int>(tk::ErrorCode::kIo));
static_assert(TK_ERROR_CORRUPT_DATA == static_cast<int>(tk::ErrorCode::kCorruptData));
static_assert(TK_ERROR_UNSUPPORTED == static_cast<int>(tk::ErrorCode::kUnsupported));
static_assert(TK_ERROR_INTERNAL == static_cast<int>(tk::ErrorCode::kInternal));
static_assert(TK_ERROR_COMMUNICATION == static_cast<int>(tk::ErrorCode::kCommunication));
static_assert(TK_ERROR_CANCELLED == static_cast<int>(tk::ErrorCode::kCancelled));
static_assert(TK_ERROR_CALLBACK == static_cast<int>(tk::ErrorCode::kCallback));
static_assert(TK_DTYPE_U8 == static_cast<int>(tk::DType::kU8));
static_assert(TK_MAX_RANK == tk::kMaxRank);

namespace tk::capi {
namespace {
thread_local std::string last_error;
}

void set_last_error(const char* prefix, const char* detail) noexcept {
  try {
    last_error.assign(prefix);
    last_error.append(detail);
  } catch (...) {
    // Out of memory while recording an error: keep the status, lose the text.
    last_error.clear();
  }
}

namespace {

// `count` (1 to 1024, the argument `count_name`) C views of the array `what`, converted.
std::vector<HostView> to_views(int32_t count, const tk_tensor_view* views, const char* what, const char* count_name) {
  if (count < 1 || count > 1024) fail(ErrorCode::kInvalidArgument, count_name, " must be in [1, 1024], got ", count);
  require(views, what);
  std::vector<HostView> converted;
  for (int32_t i = 0; i < count; ++i) converted.push_back(to_host_view(&views[i], what));
  return converted;
}

}  // namespace

InputViews to_input_views(int32_t count, const tk_tensor_view* inputs) {
  return InputViews(to_views(count, inputs, "inputs", "input_count"));
}

std::vector<HostView> to_output_views(int32_t count, const tk_tensor_view* outputs) {
  return to_views(count, outputs, "outputs", "output_count");
}

void write_output_info(const Graph& graph, int32_t index, char* name, size_t capacity, int32_t* out_rank,
                       int64_t* out_shape) {
  if (index < 0 || static_cast<size_t>(index) >= graph.output_count())
    fail(ErrorCode::kInvalidArgument, "output index ", index, " is outside [0, ", graph.output_count(), ")");
  if (static_cast<bool>(out_rank) != static_cast<bool>(out_shape))
    fail(ErrorCode::kNullArgument, "out_rank and out_shape are given together or not at all");
  const Graph::NamedNode output = graph.output_at(static_cast<size_t>(index));
  if (name) copy_name(output.name, name, capacity);
  if (out_rank) write_shape(graph.node(output.node).shape, out_rank, out_shape);
}

void write_input_info(const Graph& graph, int32_t index, char* name, size_t capacity, int32_t* out_indices,
                      int32_t* out_rank, int64_t* out_shape) {
  const std::vector<int> inputs = graph.input_nodes();
  if (index < 0 || static_cast<size_t>(index) >= inputs.size())
    fail(ErrorCode::kInvalidArgument, "input index ", index, " is outside [0, ", inputs.size(), ")");
  if (static_cast<bool>(out_rank) != static_cast<bool>(out_shape))
    fail(ErrorCode::kNullArgument, "out_rank and out_shape are given together or not at all");
  const Node& node = graph.node(inputs[index]);
  if (name) copy_name(node.name, name, capacity);  // refuses capacity 0 before anything is written
  if (out_indices) *out_indices = node.indices ? 1 : 0;
  if (out_rank) write_shape(node.shape, out_rank, out_shape);
}

HostView to_host_view(const tk_tensor_view* view, const char* name) {
  require(view, name);
  if (!dtype_is_valid(view->dtype)) fail(ErrorCode::kDtypeMismatch, "'", name, "' has unknown dtype ", view->dtype);
  if (view->rank < 0 || view->rank > TK_MAX_RANK)
    fail(ErrorCode::kInvalidArgument, "'", name, "' has rank ", view->rank, ", not in [0, ", TK_MAX_RANK, "]");
  if (!view->data) fail(ErrorCode::kNullArgument, "'", name, "' has a NULL data pointer");
  HostView host{view->data, static_cast<DType>(view->dtype), Shape(view->shape, view->shape + view->rank), {}};
  for (int64_t extent : host.shape)
    if (extent < 0) fail(ErrorCode::kShapeMismatch, "'", name, "' has a negative extent in ", shape_to_string(host.shape));
  const int64_t element_bytes = static_cast<int64_t>(dtype_size(host.dtype));
  int64_t bytes = 0;
  if (__builtin_mul_overflow(shape_numel(host.shape), element_bytes, &bytes) || bytes > kMaxBytes)
    fail(ErrorCode::kInvalidArgument, "'", name, "' describes more than 2^56 bytes: ", shape_to_string(host.shape));
  bool strided = false;
  int64_t last_element = 0;  // offset of the last element, in elements
  for (int32_t d = 0; d < view->rank; ++d) {
    if (view->strides[d] < 0) fail(ErrorCode::kInvalidArgument, "'", name, "' has a negative stride");
    strided = strided || view->strides[d] != 0;
    int64_t reach = 0;
    if (host.shape[d] > 0 && (__builtin_mul_overflow(host.shape[d] - 1, view->strides[d], &reach) ||
                              reach > kMaxBytes / element_bytes - last_element))
      fail(ErrorCode::kInvalidArgument, "'", name, "' has strides that reach beyond 2^56 bytes");
    last_element += reach;
  }
  if (strided) host.strides.assign(view->strides, view->strides + view->rank);
  return host;
}

tk_tensor_view to_c_view(const HostView& host) {
  tk_tensor_view view;
  std::memset(&view, 0, sizeof(view));
  view.data = host.data;
  view.dtype = static_cast<int32_t>(host.dtype);
  view.rank = static_cast<int32_t>(host.shape.size());
  for (size_t d = 0; d < host.shape.size(); ++d) view.shape[d] = host.shape[d];
  return view;
}

void write_shape(const Shape& shape, int32_t* out_rank, int64_t* out_shape) {
  *out_rank = static_cast<int32_t>(shape.size());
  for (size_t d = 0; d < shape.size(); ++d) out_shape[d] = shape[d];
}

void copy_name(const std::string& name, char* buffer, size_t capacity) {
  if (capacity == 0) fail(ErrorCode::kInvalidArgument, "the name buffer has capacity 0");
  size_t length = name.size() < capacity - 1 ? name.size() : capacity - 1;
  std::memcpy(buffer, name.data(), length);
  buffer[length] = '\0';
}

}  // namespace tk::capi

using tk::capi::enum_value;

extern "C" {

TK_API const char* tk_last_error_message(void) { return tk::capi::last_error.c_str(); }

TK_API const char* tk_status_string(tk_status status) {
  switch (enum_value(status)) {
    case TK_OK: return "TK_OK";
    case TK_ERROR_INVALID_ARGUMENT: return "TK_ERROR_INVALID_ARGUMENT";
    case TK_ERROR_NULL_ARGUMENT: return "TK_ERROR_NULL_ARGUMENT";
    case TK_ERROR_SHAPE_MISMATCH: return "TK_ERROR_SHAPE_MISMATCH";
    case TK_ERROR_DTYPE_MISMATCH: return "TK_ERROR_DTYPE_MISMATCH";
    case TK_ERROR_OUT_OF_MEMORY: return "TK_ERROR_OUT_OF_MEMORY";
    case TK_ERROR_NON_FINITE: return "TK_ERROR_NON_FINITE";
    case TK_ERROR_IO: return "TK_ERROR_IO";
    case TK_ERROR_CORRUPT_DATA: return "TK_ERROR_CORRUPT_DATA";
    case TK_ERROR_UNSUPPORTED: return "TK_ERROR_UNSUPPORTED";
    case TK_ERROR_INTERNAL: return "TK_ERROR_INTERNAL";
    case TK_ERROR_COMMUNICATION: return "TK_ERROR_COMMUNICATION";
    case TK_ERROR_CANCELLED: return "TK_ERROR_CANCELLED";
    case TK_ERROR_CALLBACK: return "TK_ERROR_CALLBACK";
  }
  return "TK_ERROR_UNKNOWN";
}

#define TK_STRINGIFY2(x) #x
#define TK_STRINGIFY(x) TK_STRINGIFY2(x)

TK_API const char* tk_version(void) {
  return TK_STRINGIFY(TK_VERSION_MAJOR) "." TK_STRINGIFY(TK_VERSION_MINOR) "." TK_STRINGIFY(TK_VERSION_PATCH);
}

TK_API tk_tensor_view tk_view(void* data, tk_dtype dtype, int32_t rank, const int64_t* shape) {
  tk_tensor_view view;
  std::memset(&view, 0, sizeof(view));
  view.data = data;
  view.dtype = enum_value(dtype);
  // An out-of-range rank is kept so that the call taking the view reports it.
  view.rank = rank;
  if (shape)
    for (int32_t d = 0; d < rank && d < TK_MAX_RANK; ++d) view.shape[d] = shape[d];
  return view;
}

TK_API tk_tensor_view tk_view_f32(float* data, int32_t rank, const int64_t* shape) {
  return tk_view(data, TK_DTYPE_F32, rank, shape);
}

TK_API tk_tensor_view tk_view_i32(int32_t* data, int32_t rank, const int64_t* shape) {
  return tk_view(data, TK_DTYPE_I32, rank, shape);
}

}  // extern "C"
