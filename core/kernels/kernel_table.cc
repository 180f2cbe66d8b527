#include "core/kernels/kernel_table.h"

#include <deque>
#include <map>
#include <mutex>
#include <utility>

namespace tk {

struct KernelTable::Impl {
  struct Slot {
    std::string signature;
    std::atomic<ErasedKernel> fn{nullptr};
  };
  mutable std::mutex mutex;
  std::deque<Slot> slots;  // a deque: slots never move
  std::map<std::pair<std::string, int>, Slot*> index;

  Slot& at(const std::string& name, DeviceKind device) {
    auto [it, inserted] = index.try_emplace({name, static_cast<int>(device)}, nullptr);
    if (inserted) it->second = &slots.emplace_back();
    return *it->second;
  }
};

KernelTable::KernelTable() : impl_(new Impl) {}

KernelTable& KernelTable::global() {
  static KernelTable* table = new KernelTable;  // never destroyed: kernels may run during exit
  return *table;
}

void KernelTable::add(const KernelEntry& entry) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  Impl::Slot& slot = impl_->at(entry.name, entry.device);
  const ErasedKernel current = slot.fn.load();
  if (current && (current != entry.fn || slot.signature != entry.signature))
    fail(ErrorCode::kInternal, "the ", device_kind_name(entry.device), " kernel ", entry.name, " is registered twice");
  slot.signature = entry.signature;
  slot.fn.store(entry.fn, std::memory_order_release);
}

std::atomic<ErasedKernel>* KernelTable::slot(const std::string& name, DeviceKind device) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return &impl_->at(name, device).fn;
}

std::string KernelTable::signature(const std::string& name, DeviceKind device) const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  auto it = impl_->index.find({name, static_cast<int>(device)});
  return it == impl_->index.end() ? std::string() : it->second->signature;
}

std::vector<KernelEntry> KernelTable::entries(DeviceKind device) const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  std::vector<KernelEntry> out;
  for (const auto& [key, slot] : impl_->index)
    if (key.second == static_cast<int>(device) && slot->fn.load())
      out.push_back({key.first, slot->signature, device, slot->fn.load()});
  return out;
}

ErasedKernel KernelTable::replace(const std::string& name, DeviceKind device, ErasedKernel fn) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->at(name, device).fn.exchange(fn);
}

const char* device_kind_name(DeviceKind device) {
  switch (device) {
    case DeviceKind::kCpu:
      return "CPU";
    case DeviceKind::kCuda:
      return "CUDA";
  }
  return "unknown device";
}

}  // namespace tk
