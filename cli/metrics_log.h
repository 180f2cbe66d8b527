// One JSON line of metrics per epoch (JSONL), flushed as each epoch ends so
// that a run can be followed, or read after a crash, with any JSON tool.
#pragma once

#include <fstream>
#include <string>
#include <vector>

#include "capi/trainkit.h"

namespace tkcli {

struct EpochRecord {
  int64_t epoch = 0;  // 1-based
  double train_loss = 0, train_accuracy = 0, validation_loss = 0, validation_accuracy = 0, learning_rate = 0,
         seconds = 0;
  bool has_validation = false;
};

class MetricsLog {
 public:
  explicit MetricsLog(const std::string& path);
  void add(const tk_fit_event& epoch_event);
  const std::vector<EpochRecord>& records() const { return records_; }

 private:
  std::string path_;
  std::ofstream out_;
  std::vector<EpochRecord> records_;
};

}  // namespace tkcli
