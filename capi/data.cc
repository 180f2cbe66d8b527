// tk_dataset_* and tk_batcher_*: datasets in memory and their mini-batches.
#include "capi/handles.h"

using tk::capi::enum_value;
using tk::capi::guarded;
using tk::capi::require;
using tk::capi::to_host_view;

extern "C" {

TK_API tk_status tk_dataset_load_idx(const char* images_path, const char* labels_path, tk_dataset** out_dataset) {
  return guarded([&] {
    require(images_path, "images_path");
    require(labels_path, "labels_path");
    require(out_dataset, "out_dataset");
    auto handle = std::make_unique<tk_dataset>();
    handle->dataset = std::make_shared<tk::Dataset>(tk::Dataset::from_idx(images_path, labels_path));
    *out_dataset = handle.release();
  });
}

TK_API tk_status tk_dataset_create(const tk_tensor_view* features, const tk_tensor_view* targets,
                                   tk_dataset** out_dataset) {
  return guarded([&] {
    require(out_dataset, "out_dataset");
    auto handle = std::make_unique<tk_dataset>();
    handle->dataset = std::make_shared<tk::Dataset>(
        tk::Dataset::from_views(to_host_view(features, "features"), to_host_view(targets, "targets")));
    *out_dataset = handle.release();
  });
}

TK_API void tk_dataset_destroy(tk_dataset* dataset) { delete dataset; }

TK_API tk_status tk_dataset_normalize(tk_dataset* dataset, tk_normalization normalization, double mean, double std) {
  return guarded([&] {
    require(dataset, "dataset");
    switch (enum_value(normalization)) {
      case TK_NORMALIZE_UNIT_RANGE: dataset->dataset->normalize_unit_range(); return;
      case TK_NORMALIZE_MEAN_STD: dataset->dataset->normalize_mean_std(false, mean, std); return;
    }
    tk::fail(tk::ErrorCode::kInvalidArgument, "unknown normalization ", enum_value(normalization));
  });
}

TK_API tk_status tk_dataset_stats(const tk_dataset* dataset, double* out_mean, double* out_std) {
  return guarded([&] {
    require(dataset, "dataset");
    require(out_mean, "out_mean");
    require(out_std, "out_std");
    dataset->dataset->stats(out_mean, out_std);
  });
}

TK_API tk_status tk_dataset_size(const tk_dataset* dataset, int64_t* out_size) {
  return guarded([&] {
    require(dataset, "dataset");
    require(out_size, "out_size");
    *out_size = dataset->dataset->size();
  });
}

TK_API tk_status tk_dataset_sample_shape(const tk_dataset* dataset, int32_t* out_rank, int64_t* out_shape) {
  return guarded([&] {
    require(dataset, "dataset");
    require(out_rank, "out_rank");
    require(out_shape, "out_shape");
    tk::capi::write_shape(dataset->dataset->sample_shape(), out_rank, out_shape);
  });
}

TK_API tk_status tk_trainer_evaluate_dataset(tk_trainer* trainer, const tk_dataset* dataset, int64_t batch_size,
                                             double* out_loss, double* out_accuracy) {
  return guarded([&] {
    require(trainer, "trainer");
    require(dataset, "dataset");
    tk::Evaluation result = trainer->trainer->evaluate(*dataset->dataset, batch_size);
    if (out_loss) *out_loss = result.loss;
    if (out_accuracy) *out_accuracy = result.accuracy;
  });
}

TK_API tk_status tk_batcher_create(const tk_dataset* dataset, int64_t batch_size, int32_t shuffle, uint64_t seed,
                                   int32_t drop_last, tk_batcher** out_batcher) {
  return guarded([&] {
    require(dataset, "dataset");
    require(out_batcher, "out_batcher");
    if ((shuffle != 0 && shuffle != 1) || (drop_last != 0 && drop_last != 1))
      tk::fail(tk::ErrorCode::kInvalidArgument, "shuffle and drop_last must be 0 or 1");
    auto handle = std::make_unique<tk_batcher>();
    handle->dataset = dataset->dataset;
    handle->batcher = std::make_unique<tk::Batcher>(*handle->dataset, batch_size, shuffle == 1, seed, drop_last == 1);
    *out_batcher = handle.release();
  });
}

TK_API void tk_batcher_destroy(tk_batcher* batcher) { delete batcher; }

TK_API tk_status tk_batcher_set_shard(tk_batcher* batcher, int32_t rank, int32_t count) {
  return tk_batcher_set_shard_ex(batcher, rank, count, TK_SHARD_PAD);
}

TK_API tk_status tk_batcher_set_shard_ex(tk_batcher* batcher, int32_t rank, int32_t count,
                                         tk_shard_remainder remainder) {
  return guarded([&] {
    require(batcher, "batcher");
    if (enum_value(remainder) != TK_SHARD_PAD && enum_value(remainder) != TK_SHARD_DROP)
      tk::fail(tk::ErrorCode::kInvalidArgument, "unknown tk_shard_remainder ", enum_value(remainder));
    batcher->batcher->shard(rank, count,
                            enum_value(remainder) == TK_SHARD_PAD ? tk::Batcher::Remainder::kPad : tk::Batcher::Remainder::kDrop);
  });
}

TK_API tk_status tk_batcher_reset(tk_batcher* batcher, int64_t epoch) {
  return guarded([&] {
    require(batcher, "batcher");
    if (epoch < 0) tk::fail(tk::ErrorCode::kInvalidArgument, "epoch must be >= 0, got ", epoch);
    batcher->batcher->reset(epoch);
  });
}

TK_API tk_status tk_batcher_next(tk_batcher* batcher, tk_tensor_view* out_features, tk_tensor_view* out_targets,
                                 int32_t* out_has_batch) {
  return guarded([&] {
    require(batcher, "batcher");
    require(out_features, "out_features");
    require(out_targets, "out_targets");
    require(out_has_batch, "out_has_batch");
    tk::HostView features, targets;
    bool has_batch = batcher->batcher->next(&features, &targets);
    if (has_batch) {
      *out_features = tk::capi::to_c_view(features);
      *out_targets = tk::capi::to_c_view(targets);
    }
    *out_has_batch = has_batch ? 1 : 0;
  });
}

}  // extern "C"
