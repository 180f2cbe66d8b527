#include "cli/data.h"

#include <sys/stat.h>

namespace tkcli {
namespace {

bool exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

// "<dir>/<stem>" or "<dir>/<stem>.gz", whichever is there.
std::string idx_file(const std::string& dir, const std::string& stem) {
  const std::string plain = dir + "/" + stem;
  if (exists(plain)) return plain;
  if (exists(plain + ".gz")) return plain + ".gz";
  throw CliError("'" + dir + "' has neither " + stem + " nor " + stem + ".gz (an IDX folder, as Fashion-MNIST's)");
}

Dataset load_idx(const std::string& dir, const std::string& prefix) {
  tk_dataset* d = nullptr;
  check(tk_dataset_load_idx(idx_file(dir, prefix + "-images-idx3-ubyte").c_str(),
                            idx_file(dir, prefix + "-labels-idx1-ubyte").c_str(), &d),
        "reading the " + prefix + " IDX files in '" + dir + "'");
  return Dataset(d);
}

}  // namespace

bool is_csv(const std::string& path) {
  return path.size() > 4 && path.compare(path.size() - 4, 4, ".csv") == 0;
}

Dataset load_csv_file(const std::string& path, const DataOptions& options) {
  tk_dataset* d = nullptr;
  check(tk_dataset_load_csv(path.c_str(), options.label_column.c_str(), options.csv_header ? 1 : 0,
                            options.class_labels ? 1 : 0, &d),
        "reading '" + path + "'");
  return Dataset(d);
}

Splits load_splits(const DataOptions& options) {
  Splits splits;
  if (is_csv(options.path)) {
    splits.train = load_csv_file(options.path, options);
  } else {
    splits.train = load_idx(options.path, "train");
    splits.test = load_idx(options.path, "t10k");
  }
  return splits;
}

Dataset load_evaluation_set(const DataOptions& options) {
  if (is_csv(options.path)) return load_csv_file(options.path, options);
  return load_idx(options.path, "t10k");
}

Dataset load_prediction_set(const DataOptions& options) {
  if (!is_csv(options.path)) return load_idx(options.path, "t10k");
  tk_dataset* d = nullptr;
  check(tk_dataset_load_csv_features(options.path.c_str(), options.label_column.c_str(), options.csv_header ? 1 : 0,
                                     &d),
        "reading '" + options.path + "'");
  return Dataset(d);
}

void fit_scaling(const tk_dataset* train, Scaling* scaling) {
  if (scaling->kind == "mean-std") check(tk_dataset_stats(train, &scaling->mean, &scaling->std), "dataset statistics");
}

void apply_scaling(tk_dataset* dataset, const Scaling& scaling) {
  if (scaling.kind == "mean-std") {
    check(tk_dataset_normalize(dataset, TK_NORMALIZE_MEAN_STD, scaling.mean, scaling.std), "standardising the data");
  } else if (scaling.kind == "unit-range") {
    // Bytes to [0, 1], the same for every set (not the set's own min and max).
    check(tk_dataset_normalize(dataset, TK_NORMALIZE_MEAN_STD, 0.0, 255.0), "scaling the data");
  }
}

}  // namespace tkcli
