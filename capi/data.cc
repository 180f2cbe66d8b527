// tk_dataset_* and tk_batcher_*: datasets in memory and their mini-batches.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "capi/handles.h"
#include "core/api/metrics.h"

using tk::capi::enum_value;
using tk::capi::check_flag;
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
    tk::Evaluation result;
    tk::capi::cancellable(trainer, [&] { result = trainer->trainer->evaluate(*dataset->dataset, batch_size, &trainer->cancel); });
    if (out_loss) *out_loss = result.loss;
    if (out_accuracy) *out_accuracy = result.accuracy;
  });
}

TK_API tk_status tk_trainer_metrics(tk_trainer* trainer, const tk_dataset* dataset, int64_t batch_size, int32_t top_k,
                                    tk_metrics* out_metrics, tk_tensor_view* out_confusion,
                                    tk_tensor_view* out_per_class) {
  return guarded([&] {
    require(trainer, "trainer");
    require(dataset, "dataset");
    require(out_metrics, "out_metrics");
    if (out_metrics->struct_size < sizeof(uint32_t) + sizeof(int64_t) + sizeof(double))
      tk::fail(tk::ErrorCode::kInvalidArgument, "set out_metrics->struct_size to sizeof(tk_metrics) (got ",
               out_metrics->struct_size, ")");
    // The views are checked against the model before the pass.
    const int64_t classes = tk::metric_classes(*trainer->trainer);
    tk::HostView confusion, per_class;
    if (out_confusion) {
      confusion = to_host_view(out_confusion, "out_confusion");
      if (confusion.shape != tk::Shape{classes, classes})
        tk::fail(tk::ErrorCode::kShapeMismatch, "out_confusion has shape ", tk::shape_to_string(confusion.shape),
                 ", the confusion matrix is [", classes, ", ", classes, "]");
      // Counts fit in these; a u8 or 16-bit float would overflow or round them.
      if (confusion.dtype != tk::DType::kI32 && confusion.dtype != tk::DType::kF32 && confusion.dtype != tk::DType::kF64)
        tk::fail(tk::ErrorCode::kDtypeMismatch, "out_confusion must be i32, f32 or f64, not ",
                 tk::dtype_name(confusion.dtype));
    }
    if (out_per_class) {
      per_class = to_host_view(out_per_class, "out_per_class");
      if (per_class.shape != tk::Shape{3, classes})
        tk::fail(tk::ErrorCode::kShapeMismatch, "out_per_class has shape ", tk::shape_to_string(per_class.shape),
                 ", per-class precision, recall and F1 are [3, ", classes, "]");
      if (!tk::dtype_is_float(per_class.dtype))
        tk::fail(tk::ErrorCode::kDtypeMismatch, "out_per_class must be a float dtype, not ", tk::dtype_name(per_class.dtype));
    }
    tk::Metrics m;
    tk::capi::cancellable(trainer, [&] {
      m = tk::compute_metrics(*trainer->trainer, *dataset->dataset, batch_size, top_k, &trainer->cancel);
    });
    if (out_confusion && classes > 0) {
      std::vector<double> counts(m.confusion.begin(), m.confusion.end());
      tk::copy_to_view(tk::DType::kF64, counts.data(), confusion);
    }
    if (out_per_class && classes > 0) {
      std::vector<double> rows = m.precision;
      rows.insert(rows.end(), m.recall.begin(), m.recall.end());
      rows.insert(rows.end(), m.f1.begin(), m.f1.end());
      tk::copy_to_view(tk::DType::kF64, rows.data(), per_class);
    }
    tk_metrics full;
    std::memset(&full, 0, sizeof full);
    full.samples = m.samples;
    full.loss = m.loss;
    full.accuracy = m.accuracy;
    full.top_k = m.top_k;
    full.top_k_accuracy = m.top_k_accuracy;
    full.classes = m.classes;
    const double none = std::nan("");
    full.macro_precision = classes ? m.macro_precision : none;
    full.macro_recall = classes ? m.macro_recall : none;
    full.macro_f1 = classes ? m.macro_f1 : none;
    full.mse = m.mse;
    full.mae = m.mae;
    tk::capi::write_sized(full, out_metrics);
  });
}

TK_API tk_status tk_trainer_metric_classes(const tk_trainer* trainer, int64_t* out_classes) {
  return guarded([&] {
    require(trainer, "trainer");
    require(out_classes, "out_classes");
    *out_classes = tk::metric_classes(*trainer->trainer);
  });
}

TK_API tk_status tk_dataset_split(const tk_dataset* dataset, int64_t first_count, tk_dataset** out_first,
                                  tk_dataset** out_rest) {
  return guarded([&] {
    require(dataset, "dataset");
    require(out_first, "out_first");
    require(out_rest, "out_rest");
    const tk::Dataset& d = *dataset->dataset;
    if (first_count < 1 || first_count >= d.size())
      tk::fail(tk::ErrorCode::kInvalidArgument, "a split needs 0 < first_count < ", d.size(), ", got ", first_count);
    auto first = std::make_unique<tk_dataset>();
    auto rest = std::make_unique<tk_dataset>();
    first->dataset = std::make_shared<tk::Dataset>(d.slice(0, first_count));
    rest->dataset = std::make_shared<tk::Dataset>(d.slice(first_count, d.size() - first_count));
    *out_first = first.release();
    *out_rest = rest.release();
  });
}

TK_API tk_status tk_dataset_load_csv(const char* path, const char* label_column, int32_t header, int32_t class_labels,
                                     tk_dataset** out_dataset) {
  return guarded([&] {
    require(path, "path");
    require(out_dataset, "out_dataset");
    check_flag(header, "header");
    check_flag(class_labels, "class_labels");
    tk::CsvOptions options;
    options.label_column = label_column ? label_column : "";
    options.header = header == 1;
    options.class_labels = class_labels == 1;
    auto handle = std::make_unique<tk_dataset>();
    handle->dataset = std::make_shared<tk::Dataset>(tk::load_csv(path, options));
    *out_dataset = handle.release();
  });
}

TK_API tk_status tk_dataset_load_csv_features(const char* path, const char* skip_column, int32_t header,
                                              tk_dataset** out_dataset) {
  return guarded([&] {
    require(path, "path");
    require(out_dataset, "out_dataset");
    check_flag(header, "header");
    tk::CsvOptions options;
    options.label_column = skip_column ? skip_column : "";
    options.header = header == 1;
    options.labelled = false;
    auto handle = std::make_unique<tk_dataset>();
    handle->dataset = std::make_shared<tk::Dataset>(tk::load_csv(path, options));
    *out_dataset = handle.release();
  });
}

TK_API tk_status tk_dataset_has_targets(const tk_dataset* dataset, int32_t* out_has_targets) {
  return guarded([&] {
    require(dataset, "dataset");
    require(out_has_targets, "out_has_targets");
    *out_has_targets = dataset->dataset->has_targets() ? 1 : 0;
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
    auto batcher = std::make_unique<tk::Batcher>(*handle->dataset, batch_size, shuffle == 1, seed, drop_last == 1);
    handle->batcher = batcher.get();
    handle->source = std::move(batcher);
    *out_batcher = handle.release();
  });
}

TK_API void tk_batcher_destroy(tk_batcher* batcher) {
  if (!batcher) return;
  // A stream's fill thread may still call in with this handle until it has
  // been joined, which freeing the source does: the handle stays whole till then.
  batcher->source.reset();
  delete batcher;
}

TK_API tk_status tk_batcher_set_shard(tk_batcher* batcher, int32_t rank, int32_t count) {
  return tk_batcher_set_shard_ex(batcher, rank, count, TK_SHARD_PAD);
}

TK_API tk_status tk_batcher_set_shard_ex(tk_batcher* batcher, int32_t rank, int32_t count,
                                         tk_shard_remainder remainder) {
  return guarded([&] {
    require(batcher, "batcher");
    if (enum_value(remainder) != TK_SHARD_PAD && enum_value(remainder) != TK_SHARD_DROP)
      tk::fail(tk::ErrorCode::kInvalidArgument, "unknown tk_shard_remainder ", enum_value(remainder));
    if (!batcher->batcher)
      tk::fail(tk::ErrorCode::kUnsupported, "a stream batcher serves what its producer supplies: shard the data in "
               "the producer (by rank and count)");
    batcher->batcher->shard(rank, count,
                            enum_value(remainder) == TK_SHARD_PAD ? tk::Batcher::Remainder::kPad : tk::Batcher::Remainder::kDrop);
  });
}

TK_API tk_status tk_batcher_reset(tk_batcher* batcher, int64_t epoch) {
  return guarded([&] {
    require(batcher, "batcher");
    if (epoch < 0) tk::fail(tk::ErrorCode::kInvalidArgument, "epoch must be >= 0, got ", epoch);
    batcher->source->reset(epoch);
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
    bool has_batch = batcher->source->next(&features, &targets);
    if (has_batch) {
      *out_features = tk::capi::to_c_view(features);
      *out_targets = tk::capi::to_c_view(targets);
    }
    *out_has_batch = has_batch ? 1 : 0;
  });
}

}  // extern "C"
