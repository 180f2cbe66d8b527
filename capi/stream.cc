// Streaming batchers: fed by a fill function on the batcher's thread, or by
// a producer thread of the host's through request and supply.
#include <string>
#include <utility>

#include "capi/handles.h"

using tk::capi::guarded;
using tk::capi::require;

namespace {

tk::Shape shape_of(const int64_t* extents, int32_t rank, const char* what) {
  if (rank < 0 || rank >= TK_MAX_RANK)
    tk::fail(tk::ErrorCode::kInvalidArgument, what, " rank ", rank, " is out of range [0, ", TK_MAX_RANK - 1, "]");
  if (rank > 0) require(extents, what);
  return tk::Shape(extents, extents + rank);
}

tk::StreamBatcher& stream_of(tk_batcher* batcher) {
  require(batcher, "batcher");
  if (!batcher->stream)
    tk::fail(tk::ErrorCode::kInvalidArgument, "this batcher is over a dataset, not a stream: it takes no supplies");
  return *batcher->stream;
}

// Request and supply: only where no fill function produces already.
tk::StreamBatcher& host_fed(tk_batcher* batcher) {
  tk::StreamBatcher& stream = stream_of(batcher);
  if (stream.has_fill_thread())
    tk::fail(tk::ErrorCode::kInvalidArgument, "this stream is fed by its fill function: it takes no requests or "
             "supplies from the host");
  return stream;
}

}  // namespace

extern "C" {

TK_API tk_status tk_batcher_create_stream(int32_t sample_rank, const int64_t* sample_shape, tk_dtype target_dtype,
                                          int32_t target_rank, const int64_t* target_shape, int64_t batch_size,
                                          int32_t prefetch, int64_t batches_per_epoch, tk_batch_fill_fn fill,
                                          void* user_data, tk_batcher** out_batcher) {
  return guarded([&] {
    require(out_batcher, "out_batcher");
    *out_batcher = nullptr;
    const int32_t targets = tk::capi::enum_value(target_dtype);
    if (targets != TK_DTYPE_I32 && targets != TK_DTYPE_F32)
      tk::fail(tk::ErrorCode::kInvalidArgument, "stream targets are TK_DTYPE_I32 class indices or TK_DTYPE_F32 values, got dtype ",
               targets);
    tk::StreamShape shape;
    shape.sample = shape_of(sample_shape, sample_rank, "sample_shape");
    shape.class_targets = targets == TK_DTYPE_I32;
    shape.target = shape_of(target_shape, target_rank, "target_shape");
    shape.batch_size = batch_size;
    shape.prefetch = prefetch;
    shape.batches_per_epoch = batches_per_epoch;
    auto handle = std::make_unique<tk_batcher>();
    auto stream = std::make_unique<tk::StreamBatcher>(shape);
    handle->stream = stream.get();
    handle->source = std::move(stream);
    if (fill) {
      tk_batcher* self = handle.get();
      handle->stream->start_fill_thread([fill, user_data, self](const tk::StreamRequest& r) {
        tk_tensor_view features = tk::capi::to_c_view(r.features), targets = tk::capi::to_c_view(r.targets);
        const int64_t rows = fill(user_data, self, r.epoch, r.batch, &features, &targets);
        if (rows < 0) tk::fail(tk::ErrorCode::kIo, "the fill function returned ", rows, " for batch ", r.batch,
                               " of epoch ", r.epoch);
        return rows;
      });
    }
    *out_batcher = handle.release();
  });
}

TK_API tk_status tk_batcher_stream_request(tk_batcher* batcher, int64_t* out_epoch, int64_t* out_batch,
                                           tk_tensor_view* out_features, tk_tensor_view* out_targets,
                                           int32_t* out_open) {
  return guarded([&] {
    tk::StreamBatcher& stream = host_fed(batcher);
    require(out_epoch, "out_epoch");
    require(out_batch, "out_batch");
    require(out_features, "out_features");
    require(out_targets, "out_targets");
    require(out_open, "out_open");
    const tk::StreamRequest r = stream.request();
    *out_open = r.open ? 1 : 0;
    *out_epoch = r.epoch;
    *out_batch = r.batch;
    if (r.open) {
      *out_features = tk::capi::to_c_view(r.features);
      *out_targets = tk::capi::to_c_view(r.targets);
    }
  });
}

TK_API tk_status tk_batcher_stream_supply(tk_batcher* batcher, int64_t rows) {
  return guarded([&] { host_fed(batcher).supply(rows); });
}

TK_API tk_status tk_batcher_stream_supply_copy(tk_batcher* batcher, const tk_tensor_view* features,
                                               const tk_tensor_view* targets) {
  return guarded([&] {
    tk::StreamBatcher& stream = host_fed(batcher);
    if (!features && !targets) return stream.supply(0);
    stream.supply_copy(tk::capi::to_host_view(features, "features"), tk::capi::to_host_view(targets, "targets"));
  });
}

TK_API tk_status tk_batcher_stream_fail(tk_batcher* batcher, const char* message) {
  return guarded([&] {
    require(message, "message");
    stream_of(batcher).fail_producer(message);
  });
}

TK_API tk_status tk_batcher_stream_close(tk_batcher* batcher) {
  return guarded([&] { stream_of(batcher).close(); });
}

}  // extern "C"
