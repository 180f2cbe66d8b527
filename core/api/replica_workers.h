// Threads that live as long as a replica group, one per replica after the
// first: a step hands each its share instead of starting threads, so neither
// the thread nor OpenMP's and oneDNN's per-thread state is made again every step.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tk {

class ReplicaWorkers {
 public:
  explicit ReplicaWorkers(int replicas);
  ~ReplicaWorkers();
  ReplicaWorkers(const ReplicaWorkers&) = delete;
  ReplicaWorkers& operator=(const ReplicaWorkers&) = delete;

  int replicas() const { return static_cast<int>(threads_.size()) + 1; }
  // Runs job(r) for every replica r at once, r = 0 on the calling thread, and
  // returns when all have finished; rethrows the first (lowest r) exception.
  void run(const std::function<void(int)>& job);

 private:
  void serve(int r);

  std::mutex mutex_;
  std::condition_variable started_, finished_;
  const std::function<void(int)>* job_ = nullptr;
  uint64_t generation_ = 0;  // one per run, so a worker takes each job once
  int running_ = 0;
  bool stopping_ = false;
  std::vector<std::exception_ptr> errors_;
  std::vector<std::thread> threads_;
};

}  // namespace tk
