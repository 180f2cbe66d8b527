// Training and evaluation data for the CLI: a folder of IDX files
// (train-images-idx3-ubyte[.gz] and its kin, as Fashion-MNIST ships) or a
// CSV file, standardised with statistics the model directory keeps.
#pragma once

#include <string>

#include "cli/status.h"

namespace tkcli {

struct DataOptions {
  std::string path;          // an IDX folder or a .csv file
  std::string label_column;  // CSV: a name or 0-based index ("" = last)
  bool csv_header = true;
  bool class_labels = true;  // CSV labels as class indices (cross-entropy) or values (MSE, BCE)
};

// How features are scaled before the model sees them: fitted on the
// training set, saved with the model, applied to everything it reads.
struct Scaling {
  std::string kind = "mean-std";  // "mean-std", "unit-range" (from 0..255 bytes) or "none"
  double mean = 0, std = 1;
};

struct Splits {
  Dataset train;
  Dataset test;  // the IDX folder's t10k files; null for a CSV file
};

bool is_csv(const std::string& path);
// An IDX folder gives both splits, a CSV file the training split only.
Splits load_splits(const DataOptions& options);
// One set: an IDX folder's test files or the CSV file.
Dataset load_evaluation_set(const DataOptions& options);
// What `predict` reads: a CSV file's features alone (its label column, when
// the header names it, left out), or an IDX folder's test files.
Dataset load_prediction_set(const DataOptions& options);
Dataset load_csv_file(const std::string& path, const DataOptions& options);

// Fits `scaling.kind` on `train` (mean-std only; unit-range is fixed).
void fit_scaling(const tk_dataset* train, Scaling* scaling);
void apply_scaling(tk_dataset* dataset, const Scaling& scaling);

}  // namespace tkcli
