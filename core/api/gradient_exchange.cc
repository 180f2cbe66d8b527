#include "core/api/gradient_exchange.h"

#include <algorithm>
#include <cstring>

#include "core/base/error.h"
#include "core/kernels/elementwise_kernels.h"

namespace tk {

GradientExchange::GradientExchange(Backend* backend, DType dtype, int64_t count, size_t bucket_bytes)
    : backend_(backend),
      dtype_(dtype),
      count_(count),
      bucket_(std::max<int64_t>(1, static_cast<int64_t>(bucket_bytes / dtype_size(dtype)))) {}

bool GradientExchange::in_place() const {
  return comm_->device_memory() || backend_->kind() == DeviceKind::kCpu;
}

void GradientExchange::broadcast_from_first(void* data, size_t bytes) {
  staging_.resize(std::max(staging_.size(), bytes));
  backend_->copy_to_host(staging_.data(), data, bytes);
  comm_->broadcast(staging_.data(), bytes, 0);
  backend_->copy_from_host(data, staging_.data(), bytes);
}

void GradientExchange::require_same(const char* setting, double value) {
  small_[0] = value;
  small_[1] = 0;
  small_[2] = 0;
  comm_->all_reduce_sum(DType::kF64, small_.data(), 3);
  if (small_[0] != value * comm_->size())
    fail(ErrorCode::kInvalidArgument, "the replicas of a group must agree on ", setting, "; replica ", comm_->rank(),
         " has ", value, ", and the others' sum to ", small_[0] - value);
}

double GradientExchange::agree_on_batch(int64_t rows, const std::exception_ptr& local_error, bool mean) {
  small_[0] = static_cast<double>(rows);
  small_[1] = local_error ? 1.0 : 0.0;
  small_[2] = static_cast<double>(count_);
  comm_->all_reduce_sum(DType::kF64, small_.data(), 3);
  if (local_error) std::rethrow_exception(local_error);
  if (small_[1] > 0) fail(ErrorCode::kCommunication, "another replica failed this step");
  // Before any gradient is summed: replicas that froze different tensors
  // would sum buffers of different layouts.
  if (small_[2] != static_cast<double>(count_) * comm_->size())
    fail(ErrorCode::kInvalidArgument, "the replicas train different tensors: this one has ", count_,
         " gradient elements, the group ", small_[2], " in all over ", comm_->size(),
         " replicas; freeze and unfreeze the same tensors on every replica");
  return mean ? static_cast<double>(rows) / small_[0] : 1.0;
}

void GradientExchange::begin_sum(void* grads, const void* window_sum, bool has_gradients) {
  const size_t bytes = static_cast<size_t>(count_) * dtype_size(dtype_);
  // Host copies only where the sums are not in place (and the NaN fill's source).
  if (!in_place() || !has_gradients) staging_.resize(bytes);
  grads_ = grads;
  window_sum_ = window_sum;
  has_gradients_ = has_gradients;
  unstarted_ = count_;
  if (has_gradients) return;
  std::memset(staging_.data(), 0xFF, bytes);  // all-ones bits: NaN in f32 and f64
  if (in_place()) backend_->copy_from_host(grads, staging_.data(), bytes);
}

int GradientExchange::start_buckets_from(int64_t frontier) {
  const size_t elem = dtype_size(dtype_);
  int started = 0;
  while (unstarted_ > 0 && std::max<int64_t>(0, unstarted_ - bucket_) >= frontier) {
    const int64_t lower = std::max<int64_t>(0, unstarted_ - bucket_), n = unstarted_ - lower;
    void* device = static_cast<char*>(grads_) + lower * elem;
    uint8_t* host = staging_.data() + lower * elem;
    if (has_gradients_) {
      if (window_sum_)
        kernels::axpy(*backend_, dtype_, n, 1.0, static_cast<const char*>(window_sum_) + lower * elem, device, true);
      if (!in_place()) backend_->copy_to_host(host, device, static_cast<size_t>(n) * elem);
    }
    // In place where the communicator takes the backend's memory, else on host copies.
    comm_->start_all_reduce_sum(dtype_, in_place() ? device : static_cast<void*>(host), n);
    unstarted_ = lower;
    ++started;
  }
  return started;
}

void GradientExchange::backward_reached(int64_t offset) {
  overlapped_buckets_ += start_buckets_from(offset);
  comm_->progress();
}

void GradientExchange::backward_done() { start_buckets_from(0); }

bool GradientExchange::agree_on_loss(double* loss, double share, bool finite) {
  small_[0] = finite ? *loss * share : 0.0;
  small_[1] = finite ? 0.0 : 1.0;
  comm_->all_reduce_sum(DType::kF64, small_.data(), 2);
  const bool all_finite = small_[1] == 0.0;
  if (all_finite) *loss = small_[0];
  return all_finite;
}

void GradientExchange::sum_across(double* values, int count) {
  sums_.assign(values, values + count);
  comm_->all_reduce_sum(DType::kF64, sums_.data(), count);
  std::copy(sums_.begin(), sums_.end(), values);
}

void GradientExchange::end_sum(bool keep) {
  comm_->wait_all();
  if (keep && !in_place()) backend_->copy_from_host(grads_, staging_.data(), staging_.size());
  // A sum not kept was summed in place all the same, NaNs and all, into the
  // gaps between tensors too, which no backward writes: clear it, or every
  // later sum would be NaN.
  if (!keep && in_place()) backend_->fill_zero(grads_, static_cast<size_t>(count_) * dtype_size(dtype_));
}

}  // namespace tk
