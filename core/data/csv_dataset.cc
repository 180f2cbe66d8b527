// A CSV file as a Dataset: the file read with a bound, its table copied in.
#include <cstdint>
#include <vector>

#include "core/base/file_read.h"
#include "core/data/csv.h"

namespace tk {

Dataset load_csv(const std::string& path, const CsvOptions& options) {
  const std::vector<uint8_t> bytes = read_file_bounded(path, options.max_bytes, "CSV file");
  CsvTable t = parse_csv(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), options);
  const HostView features{t.features.data(), DType::kF32, {t.samples, t.features_per_row}, {}};
  if (!t.labelled) return Dataset::from_features(features);
  if (options.class_labels) return Dataset::from_views(features, {t.classes.data(), DType::kI32, {t.samples}, {}});
  return Dataset::from_views(features, {t.values.data(), DType::kF32, {t.samples, 1}, {}});
}

}  // namespace tk
