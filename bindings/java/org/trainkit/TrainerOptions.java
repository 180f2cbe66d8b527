package org.trainkit;

import java.lang.ref.Reference;
import org.trainkit.internal.trainkit_native;

/** Trainer settings; each setter checks its value and returns this for chaining. */
public final class TrainerOptions extends NativeObject {
  public TrainerOptions() {
    super(trainkit_native.tkb_options_create(), trainkit_native::tkb_options_destroy);
  }

  private TrainerOptions done(int status) {
    Native.check(status);
    Reference.reachabilityFence(this);
    return this;
  }

  public TrainerOptions optimizer(Optimizer optimizer) {
    return done(trainkit_native.tkb_options_set_optimizer(handle(), optimizer.value));
  }

  public TrainerOptions learningRate(double learningRate) {
    return done(trainkit_native.tkb_options_set_learning_rate(handle(), learningRate));
  }

  public TrainerOptions momentum(double momentum, boolean nesterov) {
    return done(trainkit_native.tkb_options_set_momentum(handle(), momentum, nesterov ? 1 : 0));
  }

  public TrainerOptions weightDecay(double weightDecay) {
    return done(trainkit_native.tkb_options_set_weight_decay(handle(), weightDecay));
  }

  public TrainerOptions schedule(Schedule schedule, long warmupSteps, long stepSize, double gamma, long totalSteps,
                                 double minLearningRate) {
    return done(trainkit_native.tkb_options_set_schedule(handle(), schedule.value, warmupSteps, stepSize, gamma,
        totalSteps, minLearningRate));
  }

  public TrainerOptions clipNorm(double maxNorm) {
    return done(trainkit_native.tkb_options_set_clip_norm(handle(), maxNorm));
  }

  public TrainerOptions accumulationSteps(int steps) {
    return done(trainkit_native.tkb_options_set_accumulation_steps(handle(), steps));
  }

  public TrainerOptions seed(long seed) {
    return done(trainkit_native.tkb_options_set_seed(handle(), seed));
  }

  public TrainerOptions threads(int threads) {
    return done(trainkit_native.tkb_options_set_threads(handle(), threads));
  }

  public TrainerOptions device(Device device) {
    return done(trainkit_native.tkb_options_set_device(handle(), device.value));
  }

  /** Trains on CUDA GPU {@code index} (see {@link Trainer#gpuCount()}). */
  public TrainerOptions cudaDevice(int index) {
    return done(trainkit_native.tkb_options_set_cuda_device(handle(), index));
  }

  public TrainerOptions precision(Precision precision) {
    return done(trainkit_native.tkb_options_set_precision(handle(), precision.value));
  }

  public TrainerOptions batchHint(long rows) {
    return done(trainkit_native.tkb_options_set_batch_hint(handle(), rows));
  }
}
