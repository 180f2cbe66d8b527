// Datasets from CSV files: numeric feature columns and one label column,
// found by name (with a header row) or by 0-based index. Quoted fields and
// CRLF line ends are read; blank lines are passed over. A malformed row is
// kCorruptData naming the line and column.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/data/dataset.h"

namespace tk {

struct CsvOptions {
  // The label column: a header name, or a 0-based index written as digits;
  // empty: the last column.
  std::string label_column;
  bool header = true;
  // Labels as class indices (whole numbers >= 0, i32 targets) or as values
  // (f32 targets of shape [1]).
  bool class_labels = true;
  // false: no labels, for prediction. Every column is a feature, except the
  // label_column when the header names it (a training file predicted again).
  bool labelled = true;
  char delimiter = ',';
  size_t max_bytes = size_t{4} << 30;  // a larger file is refused, not read
};

// The numbers of a CSV text, row-major, before they become a Dataset.
struct CsvTable {
  int64_t samples = 0, features_per_row = 0;
  std::vector<float> features;    // samples x features_per_row
  std::vector<int32_t> classes;   // class_labels
  std::vector<float> values;      // otherwise
  bool labelled = true;           // false: neither classes nor values
};

Dataset load_csv(const std::string& path, const CsvOptions& options);
// Text in memory; `name` stands for the path in messages.
CsvTable parse_csv(const std::string& name, std::string_view text, const CsvOptions& options);

}  // namespace tk
