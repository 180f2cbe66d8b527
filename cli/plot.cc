#include "cli/plot.h"

#include <sys/wait.h>

#include <cmath>
#include <csignal>
#include <cstdio>

#include "cli/status.h"

namespace tkcli {
namespace {

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void print_value(FILE* pipe, double value) {
  if (std::isfinite(value))
    std::fprintf(pipe, " %.9g", value);
  else
    std::fprintf(pipe, " NaN");
}

}  // namespace

void plot_curves(const std::vector<EpochRecord>& records, const std::string& title, const std::string& png) {
  if (records.empty()) throw CliError("no epoch finished: nothing to plot");
  // A gnuplot that is missing or dies must not kill this process on write.
  struct IgnorePipe {
    void (*previous)(int) = std::signal(SIGPIPE, SIG_IGN);
    ~IgnorePipe() { std::signal(SIGPIPE, previous); }
  } ignore_pipe;
  FILE* pipe = popen("gnuplot 2>&1", "w");
  if (!pipe) throw CliError("cannot start gnuplot (Debian package gnuplot-nox)");
  const bool validation = records.front().has_validation;
  bool accuracy = false;
  for (const EpochRecord& r : records)
    accuracy = accuracy || std::isfinite(r.train_accuracy) || (r.has_validation && std::isfinite(r.validation_accuracy));
  std::fprintf(pipe, "$curves << EOD\n");
  for (const EpochRecord& r : records) {
    std::fprintf(pipe, "%lld", static_cast<long long>(r.epoch));
    print_value(pipe, r.train_loss);
    print_value(pipe, r.has_validation ? r.validation_loss : NAN);
    print_value(pipe, r.has_validation ? r.validation_accuracy : NAN);
    print_value(pipe, r.train_accuracy);
    std::fprintf(pipe, "\n");
  }
  std::fprintf(pipe, "EOD\n");
  std::fprintf(pipe, "set terminal pngcairo size %d,480 font \"sans,11\"\n", accuracy ? 1200 : 700);
  std::fprintf(pipe, "set termoption noenhanced\n");  // names keep their underscores
  std::fprintf(pipe, "set output %s\n", quoted(png).c_str());
  std::fprintf(pipe, "set datafile missing \"NaN\"\nset grid\nset key top right\nset xlabel \"epoch\"\n");
  std::fprintf(pipe, "set xtics 1\n");
  if (records.size() > 20) std::fprintf(pipe, "set xtics autofreq\n");
  if (accuracy) std::fprintf(pipe, "set multiplot layout 1,2 title %s\n", quoted(title).c_str());
  else std::fprintf(pipe, "set title %s\n", quoted(title).c_str());
  std::fprintf(pipe, "set ylabel \"loss\"\n");
  std::fprintf(pipe, "plot $curves using 1:2 with linespoints lw 2 title \"train loss\"%s\n",
               validation ? ", $curves using 1:3 with linespoints lw 2 title \"validation loss\"" : "");
  if (accuracy) {
    std::fprintf(pipe, "set ylabel \"accuracy\"\nset key bottom right\n");
    std::fprintf(pipe, "plot $curves using 1:5 with linespoints lw 2 lc rgb \"#1f77b4\" title \"train accuracy\"%s\n",
                 validation ? ", $curves using 1:4 with linespoints lw 2 lc rgb \"#2ca02c\" title \"validation accuracy\"" : "");
    std::fprintf(pipe, "unset multiplot\n");
  }
  std::fprintf(pipe, "set output\n");
  const int status = pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw CliError("gnuplot could not draw '" + png + "' (is the Debian package gnuplot-nox installed?)");
}

}  // namespace tkcli
