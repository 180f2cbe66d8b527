// An in-memory dataset: f32 features [N, sample shape] and targets, either i32
// class indices [N] or f32 values [N, target shape]. Built from IDX files or
// copied from caller arrays.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/backend/backend.h"

namespace tk {

class Dataset {
 public:
  // Copies features (any float or u8 dtype) and targets (i32 class indices or floats).
  static Dataset from_views(const HostView& features, const HostView& targets);
  // Features alone, for prediction: no targets to train or evaluate on.
  static Dataset from_features(const HostView& features);
  // Images as features (u8 kept as 0..255 until normalized), labels as class indices.
  static Dataset from_idx(const std::string& images_path, const std::string& labels_path);

  // A copy of samples [begin, begin + count), e.g. a validation split.
  Dataset slice(int64_t begin, int64_t count) const;

  int64_t size() const { return size_; }
  const Shape& sample_shape() const { return sample_shape_; }
  const Shape& target_shape() const { return target_shape_; }  // [] for class indices
  bool has_class_targets() const { return class_targets_; }
  bool has_targets() const { return has_targets_; }
  int64_t sample_numel() const { return shape_numel(sample_shape_); }
  int64_t target_numel() const { return shape_numel(target_shape_); }

  // x -> (x - min) / (max - min) over the whole dataset.
  void normalize_unit_range();
  // x -> (x - mean) / std; with compute_stats the dataset's own mean and std.
  void normalize_mean_std(bool compute_stats, double mean, double std);
  void stats(double* mean, double* std) const;

  const std::vector<float>& features() const { return features_; }
  const std::vector<int32_t>& class_targets() const { return class_targets_data_; }
  const std::vector<float>& value_targets() const { return value_targets_; }

  // Views of samples [begin, begin + count) for a plan (borrowed from this dataset).
  HostView feature_view(int64_t begin, int64_t count) const;
  HostView target_view(int64_t begin, int64_t count) const;

 private:
  int64_t size_ = 0;
  Shape sample_shape_, target_shape_;
  bool class_targets_ = true;
  bool has_targets_ = true;
  std::vector<float> features_;
  std::vector<int32_t> class_targets_data_;
  std::vector<float> value_targets_;
};

}  // namespace tk
