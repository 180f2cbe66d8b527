#include "core/dist/mpi_communicator.h"

#include <mpi.h>

#include <climits>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/base/error.h"

namespace tk {
namespace {

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(std::chrono::milliseconds timeout) : timeout_(timeout) {
    MPI_Comm_dup(MPI_COMM_WORLD, &comm_);
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void all_reduce_sum(DType dtype, void* data, int64_t count) override {
    post_all_reduce(dtype, data, count, &blocking_);
    for (MPI_Request& request : blocking_) wait(request, "all-reduce");
    blocking_.clear();
  }

  // Started sums are waited for only in wait_all(): MPI completes requests in
  // any order, so blocking collectives in between are fine.
  void start_all_reduce_sum(DType dtype, void* data, int64_t count) override {
    post_all_reduce(dtype, data, count, &pending_);
  }

  void progress() override {
    for (MPI_Request& request : pending_) {
      int done = 0;
      check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "all-reduce");
    }
  }

  void wait_all() override {
    // A completed request is MPI_REQUEST_NULL, which MPI_Test reports as done.
    for (MPI_Request& request : pending_) wait(request, "all-reduce");
    pending_.clear();
  }

  void broadcast(void* data, size_t bytes, int root) override {
    check_usable("broadcast");
    char* p = static_cast<char*>(data);
    for (size_t done = 0; done < bytes;) {
      const int piece = static_cast<int>(std::min<size_t>(bytes - done, INT_MAX / 2));
      MPI_Request request;
      check(MPI_Ibcast(p + done, piece, MPI_BYTE, root, comm_, &request), "broadcast");
      wait(request, "broadcast");
      done += piece;
    }
  }

  void barrier() override {
    check_usable("barrier");
    MPI_Request request;
    check(MPI_Ibarrier(comm_, &request), "barrier");
    wait(request, "barrier");
  }

  void abort() noexcept override {}

 private:
  // Posts an in-place sum, in pieces (MPI counts are int), into `requests`.
  void post_all_reduce(DType dtype, void* data, int64_t count, std::vector<MPI_Request>* requests) {
    if (dtype != DType::kF32 && dtype != DType::kF64)
      fail(ErrorCode::kUnsupported, "all-reduce of ", dtype_name(dtype), " is not supported");
    check_usable("all-reduce");
    const MPI_Datatype type = dtype == DType::kF32 ? MPI_FLOAT : MPI_DOUBLE;
    char* bytes = static_cast<char*>(data);
    for (int64_t done = 0; done < count;) {
      const int piece = static_cast<int>(std::min<int64_t>(count - done, INT_MAX / 2));
      MPI_Request request;
      check(MPI_Iallreduce(MPI_IN_PLACE, bytes + done * dtype_size(dtype), piece, type, MPI_SUM, comm_, &request),
            "all-reduce");
      requests->push_back(request);
      done += piece;
    }
  }

  // After a failure a collective may still be in flight (MPI cannot cancel
  // one), so the world is unusable: every later call fails at once.
  void check_usable(const char* what) {
    if (broken_)
      fail(ErrorCode::kCommunication, "rank ", rank_, ": MPI ", what, " refused: an earlier collective failed");
  }

  void check(int code, const char* what) {
    if (code == MPI_SUCCESS) return;
    broken_ = true;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    fail(ErrorCode::kCommunication, "rank ", rank_, ": MPI ", what, " failed: ", std::string(text, length));
  }

  // Polls until the request completes or the timeout passes. MPI makes
  // progress inside MPI_Test, so the first milliseconds poll back to back
  // (a large all-reduce is many rounds); a long wait backs off to 1 ms sleeps.
  void wait(MPI_Request& request, const char* what) {
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + timeout_;
    for (;;) {
      int done = 0;
      check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what);
      if (done) return;
      const auto now = std::chrono::steady_clock::now();
      if (now > deadline) {
        broken_ = true;
        fail(ErrorCode::kCommunication, "rank ", rank_, ": MPI ", what, " did not complete within ", timeout_.count(),
             " ms (a peer died or stalled)");
      }
      if (now - start < std::chrono::milliseconds(20)) {
        std::this_thread::yield();
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
  }

  std::chrono::milliseconds timeout_;
  MPI_Comm comm_;
  std::vector<MPI_Request> pending_;   // started, not yet waited for
  std::vector<MPI_Request> blocking_;  // the pieces of the sum all_reduce_sum waits for (kept: no allocation per call)
  int rank_ = 0, size_ = 1;
  bool broken_ = false;
};

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

}  // namespace

Communicator* open_mpi_world(std::chrono::milliseconds timeout) {
  static std::mutex mutex;
  static std::unique_ptr<MpiCommunicator> world;
  std::lock_guard<std::mutex> lock(mutex);
  if (world) return world.get();
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
      fail(ErrorCode::kCommunication, "MPI could not be initialized (run under mpirun?)");
    std::atexit(finalize_at_exit);
  }
  world = std::make_unique<MpiCommunicator>(timeout);
  return world.get();
}

}  // namespace tk
