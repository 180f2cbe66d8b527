// TrainerOptions: how a trainer optimizes, where it runs, in what precision.
using System;

namespace TrainKit {

/// <summary>Options for a <see cref="Trainer"/>; every setter returns this object, so they chain.
/// Defaults: SGD, lr 0.01, no momentum, no weight decay, constant schedule, no clipping, no
/// accumulation, seed 0, all cores, mean reduction, non-finite is an error, f32, fp32 precision,
/// device Auto (a CUDA GPU when one can be used, else the CPU). A trainer copies the options at
/// creation, so they may be disposed afterwards.</summary>
public sealed class TrainerOptions : NativeObject<SWIGTYPE_p_tk_trainer_options> {
  static TrainerOptions() => NativeLoader.Load();  // before anything calls into the native library

  static readonly Action<IntPtr> Destroy =
      address => TrainKitC.tk_trainer_options_destroy(new SWIGTYPE_p_tk_trainer_options(address, false));

  /// <summary>The default options.</summary>
  public TrainerOptions() : this(Create()) {}

  TrainerOptions(SWIGTYPE_p_tk_trainer_options native)
      : base(native, SWIGTYPE_p_tk_trainer_options.getCPtr(native).Handle, Destroy) {}

  static SWIGTYPE_p_tk_trainer_options Create() {
    Interop.Check(TrainKitC.tk_trainer_options_create(out SWIGTYPE_p_tk_trainer_options options));
    return options;
  }

  // Checks a setter's status under the lease its caller holds.
  TrainerOptions Set(Status status) {
    Interop.Check(status);
    return this;
  }

  /// <summary>The optimizer: SGD (momentum, Nesterov, L2 decay), Adam (L2 decay) or AdamW (decoupled).</summary>
  public TrainerOptions Optimizer(Optimizer optimizer) {
    using (Lease()) return Set(TrainKitC.tk_trainer_options_set_optimizer(Native, optimizer));
  }

  /// <summary>The base learning rate (positive).</summary>
  public TrainerOptions LearningRate(double learningRate) {
    using (Lease()) return Set(TrainKitC.tk_trainer_options_set_learning_rate(Native, learningRate));
  }

  /// <summary>SGD momentum in [0, 1), and Nesterov momentum (needs momentum &gt; 0).</summary>
  public TrainerOptions Momentum(double momentum, bool nesterov = false) {
    using (Lease()) return Set(TrainKitC.tk_trainer_options_set_momentum(Native, momentum, nesterov ? 1 : 0));
  }

  /// <summary>Weight decay (L2 for SGD and Adam, decoupled for AdamW).</summary>
  public TrainerOptions WeightDecay(double weightDecay) {
    using (Lease()) return Set(TrainKitC.tk_trainer_options_set_weight_decay(Native, weightDecay));
  }

  /// <summary>Adam and AdamW betas in [0, 1) and eps &gt; 0.</summary>
  public TrainerOptions Adam(double beta1, double beta2, double eps) {
    using (Lease()) return Set(TrainKitC.tk_trainer_options_set_adam(Native, beta1, beta2, eps));
  }

  /// <summary>A learning-rate schedule after an optional linear warm-up of
  /// <paramref name="warmupSteps"/>: <paramref name="stepSize"/> and <paramref name="gamma"/> are for
  /// <see cref="TrainKit.Schedule.Step"/>, <paramref name="totalSteps"/> and <paramref name="minLr"/>
  /// for <see cref="TrainKit.Schedule.Cosine"/>.</summary>
  public TrainerOptions Schedule(Schedule schedule, long warmupSteps, long stepSize, double gamma, long totalSteps,
                                 double minLr) {
    using (Lease())
      return Set(TrainKitC.tk_trainer_options_set_schedule(Native, schedule, warmupSteps, stepSize, gamma, totalSteps,
                                                            minLr));
  }

  /// <summary>Clips gradients to this global L2 norm; 0 turns clipping off.</summary>
  public TrainerOptions ClipNorm(double maxNorm) {
    using (Lease()) return Set(TrainKitC.tk_trainer_options_set_clip_norm(Native, maxNorm));
  }

  /// <summary>Accumulates this many micro-batches (steps) per optimizer update.</summary>
  public TrainerOptions AccumulationSteps(int steps) {
    using (Lease()) return Set(TrainKitC.tk_trainer_options_set_accumulation_steps(Native, steps));
  }

  /// <summary>The seed of parameter initialization and dropout.</summary>
  public TrainerOptions Seed(ulong seed) {
    using (Lease()) return Set(TrainKitC.tk_trainer_options_set_seed(Native, seed));
  }

  /// <summary>Worker threads; 0 uses every core.</summary>
  public TrainerOptions Threads(int threads) {
    using (Lease()) return Set(TrainKitC.tk_trainer_options_set_threads(Native, threads));
  }

  /// <summary>How the loss reduces over a batch: mean (the default) or sum.</summary>
  public TrainerOptions Reduction(Reduction reduction) {
    using (Lease()) return Set(TrainKitC.tk_trainer_options_set_reduction(Native, reduction));
  }

  /// <summary>What a non-finite loss or gradient does: an error that changes nothing, or a skipped
  /// (counted) batch.</summary>
  public TrainerOptions NonFinite(NonFinite policy) {
    using (Lease()) return Set(TrainKitC.tk_trainer_options_set_nonfinite(Native, policy));
  }

  /// <summary>Where the trainer runs; Cuda without a usable GPU fails at trainer creation.</summary>
  public TrainerOptions Device(Device device) {
    using (Lease()) return Set(TrainKitC.tk_trainer_options_set_device(Native, device));
  }

  /// <summary>Trains on CUDA GPU <paramref name="index"/> (0 .. <see cref="Trainer.GpuCount()"/> - 1).</summary>
  public TrainerOptions CudaDevice(int index) {
    using (Lease()) return Set(TrainKitC.tk_trainer_options_set_cuda_device(Native, index));
  }

  /// <summary>Computes in f32 (the default) or f64.</summary>
  public TrainerOptions ComputeDtype(DType dtype) {
    using (Lease()) return Set(TrainKitC.tk_trainer_options_set_compute_dtype(Native, dtype));
  }

  /// <summary>Plans activation memory for this many rows at creation (0: the first batch decides).</summary>
  public TrainerOptions BatchHint(long rows) {
    using (Lease()) return Set(TrainKitC.tk_trainer_options_set_batch_hint(Native, rows));
  }

  /// <summary>A cap on the bytes the trainer's device memory may hold (0: no cap).</summary>
  public TrainerOptions MemoryLimit(ulong bytes) {
    using (Lease()) return Set(TrainKitC.tk_trainer_options_set_memory_limit(Native, bytes));
  }

  /// <summary>Automatic mixed precision: fp32 (the default), fp16 or bf16 storage and
  /// multiplication with f32 master weights; needs the f32 compute dtype.</summary>
  public TrainerOptions Precision(Precision precision) {
    using (Lease()) return Set(TrainKitC.tk_trainer_options_set_precision(Native, precision));
  }

  /// <summary>Loss scaling with PyTorch GradScaler semantics; Auto is dynamic for fp16 and off
  /// otherwise. The defaults are Auto, 65536, 2, 0.5 and 2000.</summary>
  public TrainerOptions LossScaling(LossScaling mode, double initScale = 65536, double growthFactor = 2,
                                    double backoffFactor = 0.5, long growthInterval = 2000) {
    using (Lease())
      return Set(TrainKitC.tk_trainer_options_set_loss_scaling(Native, mode, initScale, growthFactor, backoffFactor,
                                                                growthInterval));
  }

  /// <summary>Data parallel in one process: this many model replicas, each taking an equal share
  /// of the rows of every batch, equivalent to one replica on the whole batch.</summary>
  public TrainerOptions Replicas(int replicas) {
    using (Lease()) return Set(TrainKitC.tk_trainer_options_set_replicas(Native, replicas));
  }

  /// <summary>Data parallel: batch norm normalizes over every replica's rows, as one replica
  /// on the whole batch (CPU replicas).</summary>
  public TrainerOptions SyncBatchNorm(bool enabled) {
    using (Lease()) return Set(TrainKitC.tk_trainer_options_set_sync_batch_norm(Native, enabled ? 1 : 0));
  }

  /// <summary>Data parallel across processes: MPI (under mpirun) or NCCL, one process per GPU.</summary>
  public TrainerOptions Distributed(Distributed mode) {
    using (Lease()) return Set(TrainKitC.tk_trainer_options_set_distributed(Native, mode));
  }

  /// <summary>How long a collective waits for its peers before
  /// <see cref="Status.ErrorCommunication"/> (default 300 s).</summary>
  public TrainerOptions CommunicationTimeout(double seconds) {
    using (Lease()) return Set(TrainKitC.tk_trainer_options_set_communication_timeout(Native, seconds));
  }

  /// <summary>The size of the gradient all-reduce buckets (default 25 MiB).</summary>
  public TrainerOptions BucketBytes(ulong bytes) {
    using (Lease()) return Set(TrainKitC.tk_trainer_options_set_bucket_bytes(Native, bytes));
  }

  /// <summary>Whether steps on a GPU are recorded once as a CUDA graph and replayed (default true).</summary>
  public TrainerOptions CudaGraphs(bool enabled) {
    using (Lease()) return Set(TrainKitC.tk_trainer_options_set_cuda_graphs(Native, enabled ? 1 : 0));
  }
}

}  // namespace TrainKit
