// The loss and accuracy curves of a run as a PNG, drawn by gnuplot.
#pragma once

#include <string>
#include <vector>

#include "cli/metrics_log.h"

namespace tkcli {

// Writes `png`; throws CliError when gnuplot is missing or fails.
void plot_curves(const std::vector<EpochRecord>& records, const std::string& title, const std::string& png);

}  // namespace tkcli
