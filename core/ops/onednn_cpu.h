// What the op families' oneDNN kernels share on the CPU: the engine, and
// oneDNN's (OpenMP's) thread count set from the backend for a call.
#pragma once

#include <omp.h>

#include <dnnl.hpp>

#include "core/backend/cpu/cpu_backend.h"

namespace tk::cpu {

inline dnnl::engine& onednn_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// OpenMP (and so oneDNN) on the backend's thread count for a scope; the
// caller's count is given back however the scope ends. The count is the
// calling thread's own, so concurrent callers do not disturb each other.
class OnednnThreads {
 public:
  explicit OnednnThreads(Backend& backend) : saved_(omp_get_max_threads()) {
    omp_set_num_threads(as_cpu(backend).threads());
  }
  ~OnednnThreads() { omp_set_num_threads(saved_); }
  OnednnThreads(const OnednnThreads&) = delete;
  OnednnThreads& operator=(const OnednnThreads&) = delete;

 private:
  int saved_;
};

}  // namespace tk::cpu
