// What a kernel may derive once from parameters that never change (a
// predictor's weights): packed weights, prepared primitives. One slot per
// node, shared by every plan of one predictor, so filled under its lock.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>

namespace tk {

struct ConstantSlot {
  struct Entry {
    virtual ~Entry() = default;
    virtual size_t bytes() const = 0;  // host memory it holds
  };
  std::mutex mutex;
  std::unique_ptr<Entry> entry;
};

// A predictor's slots, by plan node (plans of one model lay out alike).
class ConstantCache {
 public:
  // The node's slot, made on first use; its address stays valid.
  ConstantSlot* slot(int node) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::unique_ptr<ConstantSlot>& s = slots_[node];
    if (!s) s = std::make_unique<ConstantSlot>();
    return s.get();
  }
  size_t bytes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t total = 0;
    for (const auto& [node, s] : slots_) {
      std::lock_guard<std::mutex> entry_lock(s->mutex);
      if (s->entry) total += s->entry->bytes();
    }
    return total;
  }

 private:
  mutable std::mutex mutex_;
  std::map<int, std::unique_ptr<ConstantSlot>> slots_;
};

}  // namespace tk
