// The kernel table: how ops reach device code. A kernel is a named function
// signature (Kernel<Sig>, declared in its family's *_kernels.h); each device
// registers its implementation under that name (the CPU ones when the library
// loads, the CUDA ones when libtrainkit_cuda.so loads), and a call looks the
// implementation up by the backend's device kind. The Backend itself keeps
// device services only (memory, transfers, GEMM, recording).
#pragma once

#include <atomic>
#include <cstddef>
#include <string>
#include <typeinfo>
#include <vector>

#include "core/backend/backend.h"
#include "core/base/error.h"

namespace tk {

// One registered implementation. `signature` is the mangled type of the
// function, so a plugin built against other kernel declarations is refused
// per kernel rather than called through a wrong signature.
using ErasedKernel = void (*)();
struct KernelEntry {
  std::string name;
  std::string signature;
  DeviceKind device;
  ErasedKernel fn;
};

class KernelTable {
 public:
  // The process's table. A shared object that links its own copy (the CUDA
  // plugin) fills that copy, and the loader copies its entries across.
  static KernelTable& global();

  // Throws kInternal when (name, device) is registered already with another
  // function or signature.
  void add(const KernelEntry& entry);
  // The slot of (name, device), created empty when absent. Slots never move,
  // so a kernel may keep a pointer to one.
  std::atomic<ErasedKernel>* slot(const std::string& name, DeviceKind device);
  // The signature registered for (name, device), or "" if none.
  std::string signature(const std::string& name, DeviceKind device) const;
  std::vector<KernelEntry> entries(DeviceKind device) const;
  // Swaps the implementation of a registered kernel and returns the old one
  // (tests count calls with it).
  ErasedKernel replace(const std::string& name, DeviceKind device, ErasedKernel fn);

 private:
  struct Impl;
  KernelTable();
  Impl* impl_;
};

const char* device_kind_name(DeviceKind device);

template <typename Sig>
class Kernel;

// A kernel taking the backend first, then Args. `fallback`, if given, runs
// on devices without an implementation of their own (a composition of other
// kernels, say); without one such a call throws kUnsupported.
template <typename R, typename... Args>
class Kernel<R(Args...)> {
 public:
  using Fn = R (*)(Backend&, Args...);
  constexpr explicit Kernel(const char* name, Fn fallback = nullptr) : name_(name), fallback_(fallback) {}

  const char* name() const { return name_; }
  Fn fallback() const { return fallback_; }
  static const char* signature() { return typeid(Fn).name(); }

  R operator()(Backend& backend, Args... args) const { return get(backend)(backend, args...); }
  // The device's own implementation, or null (the fallback is not consulted).
  Fn find(const Backend& backend) const {
    return reinterpret_cast<Fn>(slot(backend.kind())->load(std::memory_order_acquire));
  }
  bool offered(const Backend& backend) const { return find(backend) != nullptr; }
  Fn get(const Backend& backend) const {
    if (Fn fn = find(backend)) return fn;
    if (fallback_) return fallback_;
    fail(ErrorCode::kUnsupported, "no ", name_, " kernel for ", device_kind_name(backend.kind()));
  }

 private:
  std::atomic<ErasedKernel>* slot(DeviceKind device) const {
    const int d = static_cast<int>(device);
    std::atomic<ErasedKernel>* s = slots_[d].load(std::memory_order_acquire);
    if (!s) {
      const std::string registered = KernelTable::global().signature(name_, device);
      if (!registered.empty() && registered != signature())
        fail(ErrorCode::kInternal, "the ", device_kind_name(device), " kernel ", name_,
             " was built for another signature");
      s = KernelTable::global().slot(name_, device);
      slots_[d].store(s, std::memory_order_release);
    }
    return s;
  }

  const char* name_;
  Fn fallback_;
  mutable std::atomic<std::atomic<ErasedKernel>*> slots_[kDeviceKinds] = {};
};

// Registers `fn` as `kernel`'s implementation on `device` at static
// initialisation: `static const KernelRegistration r(kernels::x, DeviceKind::kCpu, x_cpu);`
class KernelRegistration {
 public:
  template <typename R, typename... Args>
  KernelRegistration(const Kernel<R(Args...)>& kernel, DeviceKind device, typename Kernel<R(Args...)>::Fn fn) {
    KernelTable::global().add(
        {kernel.name(), Kernel<R(Args...)>::signature(), device, reinterpret_cast<ErasedKernel>(fn)});
  }
};

}  // namespace tk
