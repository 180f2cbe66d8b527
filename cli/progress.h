// What a person watching `trainkit train` sees: in a terminal, a bar that
// redraws in place within each epoch (step, loss, samples/s, ETA); then one
// line per epoch, which is all that is written when stdout is not a terminal.
#pragma once

#include <chrono>
#include <cstdio>

#include "capi/trainkit.h"

namespace tkcli {

class Progress {
 public:
  explicit Progress(FILE* out);
  void step(const tk_fit_event& event);
  void epoch(const tk_fit_event& event);
  // Clears a bar still drawn (before other output).
  void clear();
  bool interactive() const { return interactive_; }

 private:
  FILE* out_;
  bool interactive_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
  std::chrono::steady_clock::time_point epoch_start_;
  bool epoch_started_ = false;
};

}  // namespace tkcli
