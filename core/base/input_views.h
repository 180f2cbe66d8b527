// One batch's inputs: a view per input node of the model, in the order the
// inputs were added (token ids, then an attention mask, say). A single view
// converts implicitly, so one-input models read as before.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "core/base/host_view.h"

namespace tk {

class InputViews {
 public:
  InputViews(const HostView& view) : views_{view} {}  // NOLINT: one input is the common case
  explicit InputViews(std::vector<HostView> views) : views_(std::move(views)) {}

  size_t size() const { return views_.size(); }
  const HostView& operator[](size_t i) const { return views_[i]; }
  const std::vector<HostView>& views() const { return views_; }
  // The batch's rows (the first view's leading extent); the plan checks that
  // every view has as many.
  int64_t rows() const { return views_.empty() || views_[0].shape.empty() ? 0 : views_[0].shape[0]; }

 private:
  std::vector<HostView> views_;
};

}  // namespace tk
