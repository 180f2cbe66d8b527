#include "core/data/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/base/error.h"
#include "core/base/host_view.h"
#include "core/data/idx.h"

namespace tk {

Dataset Dataset::from_views(const HostView& features, const HostView& targets) {
  if (features.shape.size() < 2)
    fail(ErrorCode::kShapeMismatch, "dataset features need shape [N, ...], got ", shape_to_string(features.shape));
  if (targets.shape.empty() || targets.shape[0] != features.shape[0])
    fail(ErrorCode::kShapeMismatch, "dataset targets need shape [", features.shape[0], ", ...], got ",
         shape_to_string(targets.shape));
  // Checked before the pointers: an empty array may have none, and its
  // problem is that it is empty.
  if (shape_numel(features.shape) == 0 || shape_numel(targets.shape) == 0)
    fail(ErrorCode::kInvalidArgument, "a dataset needs at least one sample with at least one feature, got features ",
         shape_to_string(features.shape), " and targets ", shape_to_string(targets.shape));
  if (!targets.data) fail(ErrorCode::kNullArgument, "dataset features and targets need data pointers");
  Dataset ds = from_features(features);
  ds.has_targets_ = true;
  if (targets.dtype == DType::kI32) {
    if (targets.shape.size() != 1)
      fail(ErrorCode::kShapeMismatch, "class-index targets need shape [N], got ", shape_to_string(targets.shape));
    ds.class_targets_ = true;
    ds.class_targets_data_.resize(ds.size_);
    copy_from_view(targets, DType::kI32, ds.class_targets_data_.data());
    for (int64_t i = 0; i < ds.size_; ++i)
      if (ds.class_targets_data_[i] < 0) fail(ErrorCode::kInvalidArgument, "target ", i, " is a negative class index");
  } else if (targets.dtype == DType::kF32 || targets.dtype == DType::kF64) {
    ds.class_targets_ = false;
    ds.target_shape_.assign(targets.shape.begin() + 1, targets.shape.end());
    ds.value_targets_.resize(shape_numel(targets.shape));
    copy_from_view(targets, DType::kF32, ds.value_targets_.data());
  } else {
    fail(ErrorCode::kDtypeMismatch, "dataset targets must be i32 class indices or f32/f64 values, got ",
         dtype_name(targets.dtype));
  }
  return ds;
}

Dataset Dataset::from_features(const HostView& features) {
  if (features.shape.size() < 2)
    fail(ErrorCode::kShapeMismatch, "dataset features need shape [N, ...], got ", shape_to_string(features.shape));
  if (shape_numel(features.shape) == 0)
    fail(ErrorCode::kInvalidArgument, "a dataset needs at least one sample with at least one feature, got features ",
         shape_to_string(features.shape));
  if (!features.data) fail(ErrorCode::kNullArgument, "dataset features and targets need data pointers");
  if (features.dtype != DType::kF32 && features.dtype != DType::kF64 && features.dtype != DType::kU8)
    fail(ErrorCode::kDtypeMismatch, "dataset features must be f32, f64 or u8, got ", dtype_name(features.dtype));
  Dataset ds;
  ds.size_ = features.shape[0];
  ds.sample_shape_.assign(features.shape.begin() + 1, features.shape.end());
  ds.features_.resize(shape_numel(features.shape));
  copy_from_view(features, DType::kF32, ds.features_.data());
  ds.has_targets_ = false;
  return ds;
}

Dataset Dataset::from_idx(const std::string& images_path, const std::string& labels_path) {
  IdxArray images = read_idx(images_path);
  IdxArray labels = read_idx(labels_path);
  if (images.shape.size() < 2) fail(ErrorCode::kCorruptData, "'", images_path, "' holds rank ", images.shape.size(), " data, images need [N, ...]");
  if (labels.shape.size() != 1 || labels.dtype != DType::kU8)
    fail(ErrorCode::kCorruptData, "'", labels_path, "' must hold u8 labels of shape [N]");
  if (labels.shape[0] != images.shape[0])
    fail(ErrorCode::kCorruptData, "'", images_path, "' has ", images.shape[0], " images but '", labels_path, "' has ",
         labels.shape[0], " labels");
  std::vector<int32_t> classes(labels.bytes.begin(), labels.bytes.end());
  HostView features{images.bytes.data(), images.dtype, images.shape, {}};
  HostView targets{classes.data(), DType::kI32, labels.shape, {}};
  return from_views(features, targets);
}

void Dataset::normalize_unit_range() {
  if (features_.empty()) return;
  auto [lo, hi] = std::minmax_element(features_.begin(), features_.end());
  const float low = *lo, range = *hi - *lo;
  if (range <= 0) fail(ErrorCode::kInvalidArgument, "cannot scale to [0, 1]: every feature equals ", low);
  for (float& x : features_) x = (x - low) / range;
}

void Dataset::stats(double* mean, double* std) const {
  double sum = 0, sum_sq = 0;
  for (float x : features_) {
    sum += x;
    sum_sq += static_cast<double>(x) * x;
  }
  const double n = static_cast<double>(features_.size());
  *mean = n ? sum / n : 0;
  *std = n ? std::sqrt(std::max(sum_sq / n - *mean * *mean, 0.0)) : 0;
}

void Dataset::normalize_mean_std(bool compute_stats, double mean, double std) {
  if (compute_stats) stats(&mean, &std);
  if (!(std::isfinite(mean) && std::isfinite(std) && std > 0))
    fail(ErrorCode::kInvalidArgument, "normalization needs a finite mean and std > 0, got mean ", mean, " std ", std);
  for (float& x : features_) x = static_cast<float>((x - mean) / std);
}

Dataset Dataset::slice(int64_t begin, int64_t count) const {
  if (begin < 0 || count < 1 || begin > size_ - count)
    fail(ErrorCode::kInvalidArgument, "samples [", begin, ", ", begin + count, ") are not a non-empty part of a dataset of ",
         size_);
  if (!has_targets_) return from_features(feature_view(begin, count));
  return from_views(feature_view(begin, count), target_view(begin, count));
}

HostView Dataset::feature_view(int64_t begin, int64_t count) const {
  Shape shape = {count};
  shape.insert(shape.end(), sample_shape_.begin(), sample_shape_.end());
  return {const_cast<float*>(features_.data()) + begin * sample_numel(), DType::kF32, shape, {}};
}

HostView Dataset::target_view(int64_t begin, int64_t count) const {
  if (!has_targets_)
    fail(ErrorCode::kInvalidArgument, "the dataset has no targets (a CSV file read without labels): it can be "
         "predicted, not trained on or evaluated");
  if (class_targets_) return {const_cast<int32_t*>(class_targets_data_.data()) + begin, DType::kI32, {count}, {}};
  Shape shape = {count};
  shape.insert(shape.end(), target_shape_.begin(), target_shape_.end());
  return {const_cast<float*>(value_targets_.data()) + begin * target_numel(), DType::kF32, shape, {}};
}

}  // namespace tk
