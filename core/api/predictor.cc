#include "core/api/predictor.h"

#include "core/backend/device.h"
#include "core/base/error.h"

namespace tk {

Predictor::Predictor(const Trainer& trainer, int threads)
    : graph_(trainer.plan().graph()),
      loss_(trainer.config().loss),
      reduction_(trainer.config().reduction),
      threads_(threads),
      output_shape_(trainer.plan().output_shape()) {
  if (threads < 0 || threads > kMaxThreads)
    fail(ErrorCode::kInvalidArgument, "threads must be in [0, ", kMaxThreads, "], got ", threads);
  backend_ = make_backend(kDeviceCpu, threads);
  const Plan& plan = trainer.plan();
  // f32 copies, whatever the trainer keeps (f64 masters, a GPU).
  params_ = Tensor(backend_.get(), DType::kF32, {plan.flat_param_count()});
  for (size_t i = 0; i < plan.params().size(); ++i) {
    const ParamTensor& p = plan.params()[i];
    trainer.get_parameter(i, {params_.element(p.offset), DType::kF32, p.spec.shape, {}});
  }
  if (plan.flat_state_count() > 0) {
    has_state_ = true;
    state_ = Tensor(backend_.get(), DType::kF32, {plan.flat_state_count()});
    for (size_t i = 0; i < plan.states().size(); ++i) {
      const ParamTensor& p = plan.states()[i];
      trainer.get_state(i, {state_.element(p.offset), DType::kF32, p.spec.shape, {}});
    }
  }
}

Predictor::~Predictor() {
  // Plans and their arenas go before the backends that made them.
  for (auto& context : idle_) context->plan.reset();
  idle_.clear();
  params_ = Tensor();
  state_ = Tensor();
}

std::unique_ptr<Predictor::Context> Predictor::take() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!idle_.empty()) {
      std::unique_ptr<Context> context = std::move(idle_.back());
      idle_.pop_back();
      return context;
    }
  }
  // A caller more than the pool holds: a plan of its own, kept for later.
  auto context = std::make_unique<Context>();
  context->backend = make_backend(kDeviceCpu, threads_);
  context->plan = std::make_unique<Plan>(graph_, loss_, reduction_, context->backend.get(),
                                         make_precision_policy(Precision::kFp32, DType::kF32));
  context->plan->set_forward_only();
  context->plan->set_constant_cache(&constants_);
  return context;
}

void Predictor::give_back(std::unique_ptr<Context> context) {
  std::lock_guard<std::mutex> lock(mutex_);
  idle_.push_back(std::move(context));
}

size_t Predictor::bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t total = params_.bytes() + (has_state_ ? state_.bytes() : 0) + constants_.bytes();
  for (const auto& context : idle_) total += context->plan->arena_bytes();
  return total;
}

void Predictor::predict(const InputViews& inputs, bool probabilities, const HostView& out) {
  predict_outputs(inputs, probabilities, {out});
}

void Predictor::predict_outputs(const InputViews& inputs, bool probabilities, const std::vector<HostView>& outs) {
  std::unique_ptr<Context> context = take();
  // The context goes back to the pool whatever happens below.
  struct Return {
    Predictor* self;
    std::unique_ptr<Context>* context;
    ~Return() { self->give_back(std::move(*context)); }
  } returned{this, &context};
  Plan& plan = *context->plan;
  plan.check_batch(inputs, nullptr);
  plan.check_outputs(inputs.rows(), probabilities, outs);
  plan.reserve(inputs.rows());
  plan.load_batch(inputs, nullptr);
  plan.forward(params_.data(), false, 0, 0, 0.0, nullptr, has_state_ ? state_.data() : nullptr);
  plan.store_outputs(probabilities, outs);
}

}  // namespace tk
