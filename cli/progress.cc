#include "cli/progress.h"

#include <unistd.h>

#include <cmath>
#include <string>

namespace tkcli {
namespace {

std::string clock_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const long total = std::lround(seconds);
  char text[32];
  if (total >= 3600)
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
  else
    std::snprintf(text, sizeof text, "%ld:%02ld", total / 60, total % 60);
  return text;
}

}  // namespace

Progress::Progress(FILE* out) : out_(out), interactive_(isatty(fileno(out)) == 1) {}

void Progress::step(const tk_fit_event& e) {
  const auto now = std::chrono::steady_clock::now();
  if (!epoch_started_) {
    epoch_start_ = now;
    epoch_started_ = true;
  }
  if (!interactive_) return;
  // A redraw at most every 100 ms, and always at the epoch's last step.
  if (e.batch != e.batches && drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const int width = 30;
  const double done = e.batches > 0 ? static_cast<double>(e.batch) / static_cast<double>(e.batches) : 0;
  const int filled = static_cast<int>(done * width);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < width) bar += '>';
  bar.resize(width, ' ');
  const double elapsed = std::chrono::duration<double>(now - epoch_start_).count();
  const double per_batch = e.batch > 0 ? elapsed / static_cast<double>(e.batch) : NAN;
  const double eta = per_batch * static_cast<double>(e.batches - e.batch);
  // \r and "erase line": the bar is redrawn in place.
  std::fprintf(out_, "\r\033[2Kepoch %lld/%lld [%s] %lld/%lld  loss %.4f  %.0f samples/s  ETA %s",
               static_cast<long long>(e.epoch + 1), static_cast<long long>(e.epochs > 0 ? e.epochs : 0), bar.c_str(),
               static_cast<long long>(e.batch), static_cast<long long>(e.batches), e.loss, e.samples_per_second,
               clock_text(eta).c_str());
  std::fflush(out_);
  drawn_ = true;
}

void Progress::clear() {
  if (drawn_) std::fprintf(out_, "\r\033[2K");
  drawn_ = false;
}

void Progress::epoch(const tk_fit_event& e) {
  clear();
  epoch_started_ = false;
  std::fprintf(out_, "epoch %lld/%lld  loss %.4f", static_cast<long long>(e.epoch + 1),
               static_cast<long long>(e.epochs), e.train_loss);
  if (!std::isnan(e.train_accuracy)) std::fprintf(out_, "  accuracy %.4f", e.train_accuracy);
  if (e.has_validation) {
    std::fprintf(out_, "  val_loss %.4f", e.validation_loss);
    if (!std::isnan(e.validation_accuracy)) std::fprintf(out_, "  val_accuracy %.4f", e.validation_accuracy);
  }
  std::fprintf(out_, "  lr %.3g  %.1f s%s\n", e.learning_rate, e.seconds, e.improved ? "  (best)" : "");
  std::fflush(out_);
}

}  // namespace tkcli
