package org.trainkit;

import java.lang.ref.Reference;
import java.util.Objects;

/**
 * Trainer settings, read when a {@link Trainer} is created; each setter checks its value (a
 * TrainKitException with the native message otherwise) and returns this for chaining. Defaults: SGD,
 * learning rate 0.01, no momentum or weight decay, constant schedule, no clipping or accumulation, seed 0,
 * every core, mean reduction, non-finite is an error, f32, device auto.
 */
public final class TrainerOptions extends NativeObject<SWIGTYPE_p_tk_trainer_options> {
  /** Options with the defaults. */
  public TrainerOptions() {
    super(create(), TrainKitC::tk_trainer_options_destroy);
  }

  private static SWIGTYPE_p_tk_trainer_options create() {
    SWIGTYPE_p_tk_trainer_options[] out = new SWIGTYPE_p_tk_trainer_options[1];
    TrainKitException.check(TrainKitC.tk_trainer_options_create(out));
    return out[0];
  }

  private TrainerOptions set(Status status) {
    done(status);
    return this;
  }

  private static <T> T given(T value, String name) {
    return Objects.requireNonNull(value, name);
  }

  /** SGD (default), Adam or AdamW. */
  public TrainerOptions optimizer(Optimizer optimizer) {
    return set(TrainKitC.tk_trainer_options_set_optimizer(handle(), given(optimizer, "optimizer")));
  }

  /** The base learning rate (&gt; 0). */
  public TrainerOptions learningRate(double learningRate) {
    return set(TrainKitC.tk_trainer_options_set_learning_rate(handle(), learningRate));
  }

  /** SGD momentum in [0, 1), and Nesterov (needs momentum &gt; 0). */
  public TrainerOptions momentum(double momentum, boolean nesterov) {
    return set(TrainKitC.tk_trainer_options_set_momentum(handle(), momentum, nesterov ? 1 : 0));
  }

  /** L2 weight decay (decoupled for AdamW). */
  public TrainerOptions weightDecay(double weightDecay) {
    return set(TrainKitC.tk_trainer_options_set_weight_decay(handle(), weightDecay));
  }

  /** Adam/AdamW betas in [0, 1) and eps &gt; 0. */
  public TrainerOptions adam(double beta1, double beta2, double eps) {
    return set(TrainKitC.tk_trainer_options_set_adam(handle(), beta1, beta2, eps));
  }

  /**
   * A learning-rate schedule after an optional linear warm-up: {@code stepSize} and {@code gamma} are for
   * {@link Schedule#STEP}, {@code totalSteps} and {@code minLearningRate} for {@link Schedule#COSINE}.
   */
  public TrainerOptions schedule(Schedule schedule, long warmupSteps, long stepSize, double gamma, long totalSteps,
                                 double minLearningRate) {
    return set(TrainKitC.tk_trainer_options_set_schedule(handle(), given(schedule, "schedule"), warmupSteps, stepSize,
        gamma, totalSteps, minLearningRate));
  }

  /** Clips gradients to this global L2 norm; 0 turns clipping off. */
  public TrainerOptions clipNorm(double maxNorm) {
    return set(TrainKitC.tk_trainer_options_set_clip_norm(handle(), maxNorm));
  }

  /** Accumulates this many micro-batches (steps) per optimizer update. */
  public TrainerOptions accumulationSteps(int steps) {
    return set(TrainKitC.tk_trainer_options_set_accumulation_steps(handle(), steps));
  }

  /** The seed of parameter initialization and dropout (an unsigned 64-bit value). */
  public TrainerOptions seed(long seed) {
    return set(TrainKitC.tk_trainer_options_set_seed(handle(), seed));
  }

  /** Worker threads; 0 uses every core. */
  public TrainerOptions threads(int threads) {
    return set(TrainKitC.tk_trainer_options_set_threads(handle(), threads));
  }

  /** Mean (default) or sum of the per-sample losses. */
  public TrainerOptions reduction(Reduction reduction) {
    return set(TrainKitC.tk_trainer_options_set_reduction(handle(), given(reduction, "reduction")));
  }

  /** What a non-finite loss or gradient does: an error (default) or a skipped, counted batch. */
  public TrainerOptions nonFinite(NonFinite policy) {
    return set(TrainKitC.tk_trainer_options_set_nonfinite(handle(), given(policy, "policy")));
  }

  /** Auto (a CUDA GPU when one can be used, else the CPU), the CPU, or CUDA. */
  public TrainerOptions device(Device device) {
    return set(TrainKitC.tk_trainer_options_set_device(handle(), given(device, "device")));
  }

  /** Trains on CUDA GPU {@code index} (0 .. {@link Trainer#gpuCount()} - 1). */
  public TrainerOptions cudaDevice(int index) {
    return set(TrainKitC.tk_trainer_options_set_cuda_device(handle(), index));
  }

  /** Computes in f32 (default) or f64. */
  public TrainerOptions computeDtype(DType dtype) {
    return set(TrainKitC.tk_trainer_options_set_compute_dtype(handle(), given(dtype, "dtype")));
  }

  /** Plans activation memory for this many rows at creation (0: the first batch decides). */
  public TrainerOptions batchHint(long rows) {
    return set(TrainKitC.tk_trainer_options_set_batch_hint(handle(), rows));
  }

  /** A cap on the trainer's device memory in bytes (0: none). */
  public TrainerOptions memoryLimit(long bytes) {
    return set(TrainKitC.tk_trainer_options_set_memory_limit(handle(), bytes));
  }

  /** Automatic mixed precision: FP32 (default), FP16 or BF16. */
  public TrainerOptions precision(Precision precision) {
    return set(TrainKitC.tk_trainer_options_set_precision(handle(), given(precision, "precision")));
  }

  /**
   * Loss scaling as PyTorch's GradScaler (defaults: AUTO, initial scale 65536, growth 2, backoff 0.5,
   * growth interval 2000).
   */
  public TrainerOptions lossScaling(LossScaling mode, double initScale, double growthFactor, double backoffFactor,
                                    long growthInterval) {
    return set(TrainKitC.tk_trainer_options_set_loss_scaling(handle(), given(mode, "mode"), initScale, growthFactor,
        backoffFactor, growthInterval));
  }

  /** Loss scaling in the given mode with the default scale, factors and interval. */
  public TrainerOptions lossScaling(LossScaling mode) {
    return lossScaling(mode, 65536.0, 2.0, 0.5, 2000);
  }

  /** Data parallel in one process: this many model replicas, each on a share of every batch's rows. */
  public TrainerOptions replicas(int replicas) {
    return set(TrainKitC.tk_trainer_options_set_replicas(handle(), replicas));
  }

  /** Data parallel: batch norm normalizes over every replica's rows, as one replica on the whole batch (CPU replicas). */
  public TrainerOptions syncBatchNorm(boolean enabled) {
    return set(TrainKitC.tk_trainer_options_set_sync_batch_norm(handle(), enabled ? 1 : 0));
  }

  /** Data parallel across processes: none (default), MPI or NCCL. */
  public TrainerOptions distributed(Distributed mode) {
    return set(TrainKitC.tk_trainer_options_set_distributed(handle(), given(mode, "mode")));
  }

  /** How long a collective waits for its peers before a communication error (default 300 s). */
  public TrainerOptions communicationTimeout(double seconds) {
    return set(TrainKitC.tk_trainer_options_set_communication_timeout(handle(), seconds));
  }

  /** The size of the gradient all-reduce buckets in bytes (default 25 MiB). */
  public TrainerOptions bucketBytes(long bytes) {
    return set(TrainKitC.tk_trainer_options_set_bucket_bytes(handle(), bytes));
  }

  /** Whether GPU steps are recorded once as a CUDA graph and replayed (default true). */
  public TrainerOptions cudaGraphs(boolean enabled) {
    return set(TrainKitC.tk_trainer_options_set_cuda_graphs(handle(), enabled ? 1 : 0));
  }
}
