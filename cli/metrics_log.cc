#include "cli/metrics_log.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "cli/status.h"

namespace tkcli {
namespace {

// JSON has no NaN: a metric that does not apply is null.
nlohmann::json number_or_null(double value) { return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(); }

}  // namespace

MetricsLog::MetricsLog(const std::string& path) : path_(path), out_(path, std::ios::trunc) {
  if (!out_) throw CliError("cannot write the metrics log '" + path + "'");
}

void MetricsLog::add(const tk_fit_event& e) {
  EpochRecord r;
  r.epoch = e.epoch + 1;
  r.train_loss = e.train_loss;
  r.train_accuracy = e.train_accuracy;
  r.has_validation = e.has_validation;
  r.validation_loss = e.validation_loss;
  r.validation_accuracy = e.validation_accuracy;
  r.learning_rate = e.learning_rate;
  r.seconds = e.seconds;
  records_.push_back(r);
  nlohmann::json line = {{"epoch", r.epoch},
                         {"steps", e.step},
                         {"train_loss", number_or_null(r.train_loss)},
                         {"train_accuracy", number_or_null(r.train_accuracy)},
                         {"learning_rate", r.learning_rate},
                         {"seconds", r.seconds},
                         {"best", e.improved != 0}};
  if (r.has_validation) {
    line["val_loss"] = number_or_null(r.validation_loss);
    line["val_accuracy"] = number_or_null(r.validation_accuracy);
  }
  out_ << line.dump() << "\n";
  out_.flush();
  if (!out_) throw CliError("cannot write the metrics log '" + path_ + "' (disk full?)");
}

}  // namespace tkcli
