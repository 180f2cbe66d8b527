#include "core/api/replica_workers.h"

namespace tk {

ReplicaWorkers::ReplicaWorkers(int replicas) : errors_(static_cast<size_t>(replicas)) {
  for (int r = 1; r < replicas; ++r) threads_.emplace_back([this, r] { serve(r); });
}

ReplicaWorkers::~ReplicaWorkers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  started_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void ReplicaWorkers::run(const std::function<void(int)>& job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &job;
    running_ = replicas() - 1;
    ++generation_;
    for (auto& e : errors_) e = nullptr;
  }
  started_.notify_all();
  try {
    job(0);
  } catch (...) {
    errors_[0] = std::current_exception();
  }
  std::unique_lock<std::mutex> lock(mutex_);
  finished_.wait(lock, [&] { return running_ == 0; });
  job_ = nullptr;
  for (auto& e : errors_)
    if (e) std::rethrow_exception(e);
}

void ReplicaWorkers::serve(int r) {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(int)>* job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      started_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      job = job_;
    }
    try {
      (*job)(r);
    } catch (...) {
      errors_[static_cast<size_t>(r)] = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (--running_ == 0) finished_.notify_one();
  }
}

}  // namespace tk
