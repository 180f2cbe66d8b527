package org.trainkit;

import java.lang.ref.Reference;
import java.nio.Buffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * Trains a compiled copy of a model. Batches come from Java arrays (copied into reused native staging
 * memory, so a step allocates nothing), from direct NIO buffers (zero-copy; read from the buffer's start,
 * not its position), from {@link TensorView}s, or straight from a {@link Batcher}. Failures are
 * TrainKitExceptions with the native message; a failed step changes nothing. Not for use from two threads
 * at once.
 */
public final class Trainer extends NativeObject<SWIGTYPE_p_tk_trainer> {
  /** The loss scaler's state. */
  public static final class LossScale {
    /** The current scale (1 without loss scaling). */
    public final double scale;
    /** Clean steps since the scale last changed. */
    public final long growthTracker;
    /** Steps skipped so far. */
    public final long skipped;

    LossScale(double scale, long growthTracker, long skipped) {
      this.scale = scale;
      this.growthTracker = growthTracker;
      this.skipped = skipped;
    }

    /** "scale S growth G skipped K". */
    @Override
    public String toString() {
      return "scale " + scale + " growth " + growthTracker + " skipped " + skipped;
    }
  }

  /** This process's place among data-parallel processes. */
  public static final class World {
    /** This process's rank (0 unless distributed). */
    public final int rank;
    /** The number of processes (1 unless distributed). */
    public final int size;

    World(int rank, int size) {
      this.rank = rank;
      this.size = size;
    }

    /** "rank R of S". */
    @Override
    public String toString() {
      return "rank " + rank + " of " + size;
    }
  }

  /**
   * Native memory every call reuses: the views handed to the C API and the staging buffers behind them.
   * The Cleaner frees it with the trainer, so it must not reference the Trainer.
   */
  private static final class Scratch {
    final TensorView inputs = new TensorView();
    final TensorView targets = new TensorView();
    final TensorView outputs = new TensorView();
    final Support.HostBuffer inputBuffer = new Support.HostBuffer();
    final Support.HostBuffer targetBuffer = new Support.HostBuffer();
    final Support.HostBuffer outputBuffer = new Support.HostBuffer();

    void free() {
      inputs.delete();
      targets.delete();
      outputs.delete();
      inputBuffer.free();
      targetBuffer.free();
      outputBuffer.free();
    }
  }

  private final Scratch scratch;
  // Out-params and shapes held as fields so that steps allocate nothing. Never returned to callers, except
  // the report, which is left to its own proxy's cleanup because callers may keep it.
  private StepReport report;
  private final float[] loss = new float[1];
  private final double[] double0 = new double[1];
  private final double[] double1 = new double[1];
  private final long[] long0 = new long[1];
  private final long[] long1 = new long[1];
  private final int[] int0 = new int[1];
  private final int[] int1 = new int[1];
  private final int[] hasBatch = new int[1];
  private final long[] labelShape = new long[1];

  /**
   * Compiles a copy of {@code model} with {@code loss} and {@code options} (null: the defaults) and
   * initializes its parameters from the seed. The model and options may be closed afterwards.
   */
  public Trainer(Model model, Loss loss, TrainerOptions options) {
    this(create(model, loss, options), new Scratch());
  }

  /** A trainer with the default options. */
  public Trainer(Model model, Loss loss) {
    this(model, loss, null);
  }

  private Trainer(SWIGTYPE_p_tk_trainer handle, Scratch scratch) {
    super(handle, trainer -> {
      TrainKitC.tk_trainer_destroy(trainer);
      scratch.free();
    });
    this.scratch = scratch;
  }

  private static SWIGTYPE_p_tk_trainer create(Model model, Loss loss, TrainerOptions options) {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(loss, "loss");
    SWIGTYPE_p_tk_trainer[] out = new SWIGTYPE_p_tk_trainer[1];
    try {
      TrainKitException.check(TrainKitC.tk_trainer_create(model.handle(), loss,
          options == null ? null : options.handle(), out));
    } finally {
      Reference.reachabilityFence(model);
      Reference.reachabilityFence(options);
    }
    return out[0];
  }

  // ---- GPUs -------------------------------------------------------------------------------------------

  /** CUDA GPUs a trainer can use (0 without the CUDA plugin, a driver or a GPU). */
  public static int gpuCount() {
    int[] count = new int[1];
    TrainKitException.check(TrainKitC.tk_gpu_count(count, null));
    return count[0];
  }

  /** Why no GPU can be used (no plugin, no driver, no GPU), or "" when one can. */
  public static String gpuUnavailableReason() {
    int[] count = new int[1];
    byte[] reason = new byte[1024];
    TrainKitException.check(TrainKitC.tk_gpu_count(count, reason));
    return count[0] > 0 ? "" : Support.string(reason);
  }

  /** Name, memory and compute capability of CUDA GPU {@code index}. */
  public static GpuInfo gpuInfo(int index) {
    GpuInfo info = new GpuInfo();
    TrainKitException.check(TrainKitC.tk_gpu_info_get(index, info));
    return info;
  }

  // ---- Staging ------------------------------------------------------------------------------------------

  private void stageInputs(float[] inputs, long[] inputShape) {
    Objects.requireNonNull(inputs, "inputs");
    Support.checkCount(inputs.length, inputShape, "inputs");
    scratch.inputs.reset(scratch.inputBuffer.put(inputs), DType.F32, inputShape);
  }

  private void stageLabels(int[] labels) {
    Objects.requireNonNull(labels, "labels");
    labelShape[0] = labels.length;
    scratch.targets.reset(scratch.targetBuffer.put(labels), DType.I32, labelShape);
  }

  private void stageTargets(float[] targets, long[] targetShape) {
    Objects.requireNonNull(targets, "targets");
    Support.checkCount(targets.length, targetShape, "targets");
    scratch.targets.reset(scratch.targetBuffer.put(targets), DType.F32, targetShape);
  }

  private void bind(Buffer inputs, DType inputType, long[] inputShape, Buffer targets, DType targetType,
                    long[] targetShape) {
    Support.checkBuffer(inputs, inputType, inputShape, "inputs");
    Support.checkBuffer(targets, targetType, targetShape, "targets");
    scratch.inputs.reset(inputs, inputType, inputShape);
    scratch.targets.reset(targets, targetType, targetShape);
  }

  private static TensorView given(TensorView view, String name) {
    return Objects.requireNonNull(view, name);
  }

  private double loss(Status status) {
    try {
      TrainKitException.check(status);
      return loss[0];
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** This trainer's reused report, made on first use. */
  private StepReport report() {
    if (report == null) report = new StepReport();
    return report;
  }

  private StepReport reported(Status status, StepReport out) {
    done(status);
    return out;
  }

  private Evaluation evaluation(Status status) {
    done(status);
    return new Evaluation(double0[0], double1[0]);
  }

  // ---- Training -----------------------------------------------------------------------------------------

  /** One step on f32 inputs [batch, input shape] and class labels [batch]; returns the batch loss. */
  public double step(float[] inputs, long[] inputShape, int[] labels) {
    SWIGTYPE_p_tk_trainer trainer = handle();
    stageInputs(inputs, inputShape);
    stageLabels(labels);
    return loss(TrainKitC.tk_trainer_step(trainer, scratch.inputs, scratch.targets, loss));
  }

  /** One step on f32 inputs and f32 targets (MSE, BCE); returns the batch loss. */
  public double step(float[] inputs, long[] inputShape, float[] targets, long[] targetShape) {
    SWIGTYPE_p_tk_trainer trainer = handle();
    stageInputs(inputs, inputShape);
    stageTargets(targets, targetShape);
    return loss(TrainKitC.tk_trainer_step(trainer, scratch.inputs, scratch.targets, loss));
  }

  /** Zero-copy: one step on direct buffers of f32 inputs and of targets of {@code targetType}. */
  public double step(Buffer inputs, long[] inputShape, Buffer targets, DType targetType, long[] targetShape) {
    return step(inputs, DType.F32, inputShape, targets, targetType, targetShape);
  }

  /** Zero-copy: one step on direct buffers of inputs and targets of the given dtypes and shapes. */
  public double step(Buffer inputs, DType inputType, long[] inputShape, Buffer targets, DType targetType,
                     long[] targetShape) {
    SWIGTYPE_p_tk_trainer trainer = handle();
    bind(inputs, inputType, inputShape, targets, targetType, targetShape);
    try {
      return loss(TrainKitC.tk_trainer_step(trainer, scratch.inputs, scratch.targets, loss));
    } finally {
      Reference.reachabilityFence(inputs);
      Reference.reachabilityFence(targets);
    }
  }

  /**
   * One step on views as they are (e.g. from {@link Batcher#next}); the caller vouches that each view's
   * memory holds its shape.
   */
  public double step(TensorView inputs, TensorView targets) {
    return loss(TrainKitC.tk_trainer_step(handle(), given(inputs, "inputs"), given(targets, "targets"), loss));
  }

  /**
   * One step on a model of several inputs (views set in the model's input order) and class labels;
   * returns the batch loss.
   */
  public double step(Inputs inputs, int[] labels) {
    return stepReport(inputs, labels, report()).getLoss();
  }

  /** A step on several inputs and class labels, reported into {@code out} (null: this trainer's report). */
  public StepReport stepReport(Inputs inputs, int[] labels, StepReport out) {
    SWIGTYPE_p_tk_trainer trainer = handle();
    Objects.requireNonNull(inputs, "inputs");
    StepReport into = out == null ? report() : out;
    stageLabels(labels);
    try {
      return reported(TrainKitC.tk_trainer_step_inputs(trainer, inputs.count(), inputs.first(), scratch.targets,
          into), into);
    } finally {
      inputs.fence();
    }
  }

  /** One step on several inputs and f32 targets (MSE, BCE); returns the batch loss. */
  public double step(Inputs inputs, float[] targets, long[] targetShape) {
    SWIGTYPE_p_tk_trainer trainer = handle();
    Objects.requireNonNull(inputs, "inputs");
    stageTargets(targets, targetShape);
    try {
      return reported(TrainKitC.tk_trainer_step_inputs(trainer, inputs.count(), inputs.first(), scratch.targets,
          report()), report()).getLoss();
    } finally {
      inputs.fence();
    }
  }

  /**
   * Steps on the batcher's next batch without copying it and returns true, or returns false at the end of
   * the epoch. The batch loss goes to {@code lossOut[0]} when {@code lossOut} is not null.
   */
  public boolean stepNext(Batcher batcher, double[] lossOut) {
    SWIGTYPE_p_tk_trainer trainer = handle();
    SWIGTYPE_p_tk_batcher batches = Objects.requireNonNull(batcher, "batcher").handle();
    try {
      TrainKitException.check(TrainKitC.tk_batcher_next(batches, scratch.inputs, scratch.targets, hasBatch));
      if (hasBatch[0] == 0) return false;
      TrainKitException.check(TrainKitC.tk_trainer_step(trainer, scratch.inputs, scratch.targets, loss));
      if (lossOut != null && lossOut.length > 0) lossOut[0] = loss[0];
      return true;
    } finally {
      Reference.reachabilityFence(this);
      Reference.reachabilityFence(batcher);
    }
  }

  /** A step on class labels with a full report; the report is this trainer's, reused by the next call. */
  public StepReport stepReport(float[] inputs, long[] inputShape, int[] labels) {
    return stepReport(inputs, inputShape, labels, report());
  }

  /** A step on class labels, reported into {@code out}. */
  public StepReport stepReport(float[] inputs, long[] inputShape, int[] labels, StepReport out) {
    Objects.requireNonNull(out, "out");
    SWIGTYPE_p_tk_trainer trainer = handle();
    stageInputs(inputs, inputShape);
    stageLabels(labels);
    return reported(TrainKitC.tk_trainer_step_report(trainer, scratch.inputs, scratch.targets, out), out);
  }

  /** A step on f32 targets with a full report; the report is this trainer's, reused by the next call. */
  public StepReport stepReport(float[] inputs, long[] inputShape, float[] targets, long[] targetShape) {
    return stepReport(inputs, inputShape, targets, targetShape, report());
  }

  /** A step on f32 targets, reported into {@code out}. */
  public StepReport stepReport(float[] inputs, long[] inputShape, float[] targets, long[] targetShape,
                               StepReport out) {
    Objects.requireNonNull(out, "out");
    SWIGTYPE_p_tk_trainer trainer = handle();
    stageInputs(inputs, inputShape);
    stageTargets(targets, targetShape);
    return reported(TrainKitC.tk_trainer_step_report(trainer, scratch.inputs, scratch.targets, out), out);
  }

  /** Zero-copy: a step on direct buffers, reported into {@code out} (null: this trainer's report). */
  public StepReport stepReport(Buffer inputs, DType inputType, long[] inputShape, Buffer targets, DType targetType,
                               long[] targetShape, StepReport out) {
    StepReport into = out == null ? report() : out;
    SWIGTYPE_p_tk_trainer trainer = handle();
    bind(inputs, inputType, inputShape, targets, targetType, targetShape);
    try {
      return reported(TrainKitC.tk_trainer_step_report(trainer, scratch.inputs, scratch.targets, into), into);
    } finally {
      Reference.reachabilityFence(inputs);
      Reference.reachabilityFence(targets);
    }
  }

  /** A step on views as they are, reported into {@code out} (null: this trainer's report). */
  public StepReport stepReport(TensorView inputs, TensorView targets, StepReport out) {
    StepReport into = out == null ? report() : out;
    return reported(TrainKitC.tk_trainer_step_report(handle(), given(inputs, "inputs"), given(targets, "targets"),
        into), into);
  }

  /**
   * Queues a step on class labels without waiting for the GPU (elsewhere it is a step); the arrays may be
   * reused at once. {@link #waitSteps()} waits for the queued steps.
   */
  public void stepAsync(float[] inputs, long[] inputShape, int[] labels) {
    SWIGTYPE_p_tk_trainer trainer = handle();
    stageInputs(inputs, inputShape);
    stageLabels(labels);
    done(TrainKitC.tk_trainer_step_async(trainer, scratch.inputs, scratch.targets));
  }

  /** Queues a step on f32 targets (see {@link #stepAsync(float[], long[], int[])}). */
  public void stepAsync(float[] inputs, long[] inputShape, float[] targets, long[] targetShape) {
    SWIGTYPE_p_tk_trainer trainer = handle();
    stageInputs(inputs, inputShape);
    stageTargets(targets, targetShape);
    done(TrainKitC.tk_trainer_step_async(trainer, scratch.inputs, scratch.targets));
  }

  /** Zero-copy: queues a step on direct buffers, which may be reused once it returns. */
  public void stepAsync(Buffer inputs, DType inputType, long[] inputShape, Buffer targets, DType targetType,
                        long[] targetShape) {
    SWIGTYPE_p_tk_trainer trainer = handle();
    bind(inputs, inputType, inputShape, targets, targetType, targetShape);
    try {
      done(TrainKitC.tk_trainer_step_async(trainer, scratch.inputs, scratch.targets));
    } finally {
      Reference.reachabilityFence(inputs);
      Reference.reachabilityFence(targets);
    }
  }

  /** Queues a step on views as they are. */
  public void stepAsync(TensorView inputs, TensorView targets) {
    done(TrainKitC.tk_trainer_step_async(handle(), given(inputs, "inputs"), given(targets, "targets")));
  }

  /**
   * Waits for the queued steps and reports the last one in this trainer's reused report; a queued step
   * whose loss or gradient was not finite (under {@link NonFinite#ERROR}) throws here.
   */
  public StepReport waitSteps() {
    return waitSteps(report());
  }

  /** Waits for the queued steps and reports the last one into {@code out}. */
  public StepReport waitSteps(StepReport out) {
    Objects.requireNonNull(out, "out");
    return reported(TrainKitC.tk_trainer_wait(handle(), out), out);
  }

  // ---- Evaluation and prediction ---------------------------------------------------------------------------

  /** Loss and accuracy on one batch of class labels, without training (dropout off). */
  public Evaluation evaluate(float[] inputs, long[] inputShape, int[] labels) {
    SWIGTYPE_p_tk_trainer trainer = handle();
    stageInputs(inputs, inputShape);
    stageLabels(labels);
    return evaluation(TrainKitC.tk_trainer_evaluate(trainer, scratch.inputs, scratch.targets, double0, double1));
  }

  /** Loss (and accuracy, NaN for MSE) on one batch of f32 targets, without training. */
  public Evaluation evaluate(float[] inputs, long[] inputShape, float[] targets, long[] targetShape) {
    SWIGTYPE_p_tk_trainer trainer = handle();
    stageInputs(inputs, inputShape);
    stageTargets(targets, targetShape);
    return evaluation(TrainKitC.tk_trainer_evaluate(trainer, scratch.inputs, scratch.targets, double0, double1));
  }

  /** Zero-copy: loss and accuracy on one batch in direct buffers. */
  public Evaluation evaluate(Buffer inputs, DType inputType, long[] inputShape, Buffer targets, DType targetType,
                             long[] targetShape) {
    SWIGTYPE_p_tk_trainer trainer = handle();
    bind(inputs, inputType, inputShape, targets, targetType, targetShape);
    try {
      return evaluation(TrainKitC.tk_trainer_evaluate(trainer, scratch.inputs, scratch.targets, double0, double1));
    } finally {
      Reference.reachabilityFence(inputs);
      Reference.reachabilityFence(targets);
    }
  }

  /** Loss and accuracy on one batch of views as they are. */
  public Evaluation evaluate(TensorView inputs, TensorView targets) {
    return evaluation(TrainKitC.tk_trainer_evaluate(handle(), given(inputs, "inputs"), given(targets, "targets"),
        double0, double1));
  }

  /** Loss and accuracy on one batch of several inputs and class labels, without training. */
  public Evaluation evaluate(Inputs inputs, int[] labels) {
    SWIGTYPE_p_tk_trainer trainer = handle();
    Objects.requireNonNull(inputs, "inputs");
    stageLabels(labels);
    try {
      return evaluation(TrainKitC.tk_trainer_evaluate_inputs(trainer, inputs.count(), inputs.first(),
          scratch.targets, double0, double1));
    } finally {
      inputs.fence();
    }
  }

  /**
   * Epochs over {@code batcher} from its cursor, with {@code callback} (may be null) called per event on this
   * thread. {@link #cancel} from another thread ends it with a TrainKitException of status ERROR_CANCELLED.
   * Exceptions thrown by the callback, or by a {@link StreamBatcher}'s fill, come out of this call unchanged.
   */
  public FitReport fit(Batcher batcher, FitOptions options, FitCallback callback) throws Exception {
    Objects.requireNonNull(batcher, "batcher");
    Objects.requireNonNull(options, "options");
    SWIGTYPE_p_tk_fit[] out = new SWIGTYPE_p_tk_fit[1];
    done(TrainKitC.tk_fit_begin(handle(), batcher.handle(), options.handle(), out));
    int[] has = new int[1];
    try {
      while (true) {
        FitEvent event = new FitEvent();  // fresh each time: a callback may keep the ones it is given
        done(TrainKitC.tk_fit_next(out[0], event, has));
        if (has[0] == 0) break;
        if (callback != null && callback.onEvent(event)) done(TrainKitC.tk_fit_stop(out[0]));
      }
      FitReport report = new FitReport();
      done(TrainKitC.tk_fit_get_report(out[0], report));
      return report;
    } catch (TrainKitException e) {
      // A StreamBatcher's fill threw: that exception, not the stream's status.
      Throwable fillError = batcher instanceof StreamBatcher ? ((StreamBatcher) batcher).error() : null;
      if (fillError != null && e.status() == Status.ERROR_IO) {
        fillError.addSuppressed(e);
        if (fillError instanceof Exception) throw (Exception) fillError;
        throw (Error) fillError;
      }
      throw e;
    } finally {
      TrainKitC.tk_fit_destroy(out[0]);
      Reference.reachabilityFence(batcher);
      Reference.reachabilityFence(options);
    }
  }

  /**
   * Metrics of the trainer's model over {@code dataset}, in batches of {@code batchSize}; {@code topK} is capped
   * at the number of classes. {@link #cancel} from another thread ends it with ERROR_CANCELLED.
   */
  public MetricsReport metrics(Dataset dataset, long batchSize, int topK) {
    Objects.requireNonNull(dataset, "dataset");
    SWIGTYPE_p_tk_trainer trainer = handle();
    done(TrainKitC.tk_trainer_metric_classes(trainer, long0));
    int classes = Support.arraySize(long0[0], "the classes");
    // f64 counts in one direct buffer, whose size is an int.
    if (classes > 16383)
      throw new TrainKitException(Status.ERROR_OUT_OF_MEMORY, classes + " classes make too large a confusion matrix");
    java.nio.ByteBuffer confusion = java.nio.ByteBuffer.allocateDirect(Math.max(8, 8 * classes * classes))
        .order(java.nio.ByteOrder.nativeOrder());
    java.nio.ByteBuffer perClass = java.nio.ByteBuffer.allocateDirect(Math.max(8, 24 * classes))
        .order(java.nio.ByteOrder.nativeOrder());
    Metrics m = new Metrics();
    TensorView confusionView = new TensorView(), perClassView = new TensorView();
    try {
      confusionView.reset(confusion, DType.F64, new long[] {classes, classes});
      perClassView.reset(perClass, DType.F64, new long[] {3, classes});
      int k = classes == 0 ? 1 : Math.max(1, Math.min(topK, classes));
      done(TrainKitC.tk_trainer_metrics(trainer, dataset.handle(), batchSize, k, m,
          classes == 0 ? null : confusionView, classes == 0 ? null : perClassView));
      long[] counts = new long[classes * classes];
      java.nio.DoubleBuffer values = confusion.asDoubleBuffer();
      for (int i = 0; i < counts.length; ++i) counts[i] = (long) values.get(i);
      double[] rows = new double[3 * classes];
      perClass.asDoubleBuffer().get(rows);
      return new MetricsReport(m, counts, rows);
    } finally {
      m.delete();
      confusionView.delete();
      perClassView.delete();
      Reference.reachabilityFence(dataset);
    }
  }

  /** Sets the base learning rate (what the schedule scales) from the next step on. */
  public void setLearningRate(double learningRate) {
    done(TrainKitC.tk_trainer_set_learning_rate(handle(), learningRate));
  }

  /**
   * Freezes the parameter tensors whose names match a shell glob ("encoder_*", "*.bias"): no
   * gradients and no optimizer moments. Returns how many matched; none is an error.
   */
  public long freeze(String pattern) {
    Objects.requireNonNull(pattern, "pattern");
    done(TrainKitC.tk_trainer_freeze(handle(), pattern, long0));
    return long0[0];
  }

  /** Trains the matching tensors again, with fresh optimizer moments; returns how many matched. */
  public long unfreeze(String pattern) {
    Objects.requireNonNull(pattern, "pattern");
    done(TrainKitC.tk_trainer_unfreeze(handle(), pattern, long0));
    return long0[0];
  }

  /**
   * The matching tensors train at {@code learningRateScale} times the scheduled rate with their own
   * weight decay ({@code Double.NaN}: the default, which spares biases and norms).
   */
  public long setParamGroup(String pattern, double learningRateScale, double weightDecay) {
    Objects.requireNonNull(pattern, "pattern");
    done(TrainKitC.tk_trainer_set_param_group(handle(), pattern, learningRateScale, weightDecay, long0));
    return long0[0];
  }

  /** How parameter tensor {@code index} trains. */
  public ParameterSettings parameterSettings(int index) {
    done(TrainKitC.tk_trainer_parameter_settings(handle(), index, int0, double0, double1));
    return new ParameterSettings(int0[0] != 0, double0[0], double1[0]);
  }

  /** Bytes of device memory the trainer holds now: weights, gradients, moments, activations. */
  public long memoryBytes() {
    done(TrainKitC.tk_trainer_memory(handle(), long0));
    return long0[0];
  }

  /** Ends a fit or evaluation running on another thread at its next step (callable from any thread). */
  public void cancel() {
    done(TrainKitC.tk_trainer_cancel(handle()));
  }

  /** Loss and accuracy over a whole dataset, in batches of {@code batchSize}. */
  public Evaluation evaluate(Dataset dataset, long batchSize) {
    SWIGTYPE_p_tk_dataset data = Objects.requireNonNull(dataset, "dataset").handle();
    try {
      return evaluation(TrainKitC.tk_trainer_evaluate_dataset(handle(), data, batchSize, double0, double1));
    } finally {
      Reference.reachabilityFence(dataset);
    }
  }

  /**
   * Outputs [batch, outputsPerSample] as a new flat array: logits, or with {@code probabilities} softmax
   * (cross-entropy) or sigmoid (BCE) values.
   */
  public float[] predict(float[] inputs, long[] inputShape, long outputsPerSample, boolean probabilities) {
    Objects.requireNonNull(inputShape, "inputShape");
    if (inputShape.length == 0) throw new TrainKitException(Status.ERROR_SHAPE_MISMATCH, "inputs have no batch dimension");
    long[] outShape = {inputShape[0], outputsPerSample};
    float[] out = new float[Support.arraySize(Support.elements(outShape, "outputs shape"), "the outputs")];
    predict(inputs, inputShape, probabilities, out, outShape);
    return out;
  }

  /** Outputs into a caller array of shape {@code outShape} ([batch, output shape]). */
  public void predict(float[] inputs, long[] inputShape, boolean probabilities, float[] out, long[] outShape) {
    Objects.requireNonNull(out, "out");
    Support.checkCount(out.length, outShape, "out");
    SWIGTYPE_p_tk_trainer trainer = handle();
    stageInputs(inputs, inputShape);
    scratch.outputs.reset(scratch.outputBuffer.ensure(4L * out.length), DType.F32, outShape);
    done(TrainKitC.tk_trainer_predict(trainer, scratch.inputs, probabilities ? 1 : 0, scratch.outputs));
    scratch.outputBuffer.get(out);
  }

  /** Zero-copy: outputs (f32 or f64) of inputs in direct buffers. */
  public void predict(Buffer inputs, DType inputType, long[] inputShape, boolean probabilities, Buffer out,
                      DType outType, long[] outShape) {
    SWIGTYPE_p_tk_trainer trainer = handle();
    Support.checkBuffer(inputs, inputType, inputShape, "inputs");
    Support.checkBuffer(out, outType, outShape, "out");
    scratch.inputs.reset(inputs, inputType, inputShape);
    scratch.outputs.reset(out, outType, outShape);
    try {
      done(TrainKitC.tk_trainer_predict(trainer, scratch.inputs, probabilities ? 1 : 0, scratch.outputs));
    } finally {
      Reference.reachabilityFence(inputs);
      Reference.reachabilityFence(out);
    }
  }

  /** Outputs of several inputs into a caller array of shape {@code outShape} ([batch, output shape]). */
  public void predict(Inputs inputs, boolean probabilities, float[] out, long[] outShape) {
    Objects.requireNonNull(inputs, "inputs");
    Objects.requireNonNull(out, "out");
    Support.checkCount(out.length, outShape, "out");
    SWIGTYPE_p_tk_trainer trainer = handle();
    scratch.outputs.reset(scratch.outputBuffer.ensure(4L * out.length), DType.F32, outShape);
    try {
      done(TrainKitC.tk_trainer_predict_inputs(trainer, inputs.count(), inputs.first(), probabilities ? 1 : 0,
          scratch.outputs));
    } finally {
      inputs.fence();
    }
    scratch.outputBuffer.get(out);
  }

  /** The model's outputs: the one the loss reads first, then those added with tk_model_add_output. */
  public OutputInfo[] outputs() {
    SWIGTYPE_p_tk_trainer nativeHandle = handle();
    int[] count = new int[1];
    done(TrainKitC.tk_trainer_output_count(nativeHandle, count));
    OutputInfo[] infos = OutputInfo.read(count[0], (i, name, rank, shape) ->
        TrainKitC.tk_trainer_output_info(nativeHandle, i, name, rank, shape));
    java.lang.ref.Reference.reachabilityFence(this);
    return infos;
  }

  /**
   * Every output of one forward over {@code rows} samples, in the order of {@link #outputs()}: f32
   * arrays [rows, output shape]; probabilities apply to output 0 (the loss's).
   */
  public float[][] predictOutputs(Inputs inputs, long rows, boolean probabilities) {
    Objects.requireNonNull(inputs, "inputs");
    OutputInfo[] outputs = outputs();
    SWIGTYPE_p_tk_trainer nativeHandle = handle();
    try {
      return OutputInfo.predict(outputs, rows, (count, views) -> TrainKitC.tk_trainer_predict_outputs(nativeHandle,
          inputs.count(), inputs.first(), probabilities ? 1 : 0, count, views));
    } finally {
      inputs.fence();
      java.lang.ref.Reference.reachabilityFence(this);
    }
  }

  /** The model's inputs in the order the calls on {@link Inputs} take them. */
  public InputInfo[] inputs() {
    SWIGTYPE_p_tk_trainer trainer = handle();
    done(TrainKitC.tk_trainer_input_count(trainer, int0));
    InputInfo[] infos = InputInfo.read(int0[0],
        (i, name, indices, rank, shape) -> TrainKitC.tk_trainer_input_info(trainer, i, name, indices, rank, shape));
    java.lang.ref.Reference.reachabilityFence(this);
    return infos;
  }

  // ---- State -------------------------------------------------------------------------------------------------

  /** The loss scaler's scale, clean steps since it changed, and steps skipped. */
  public LossScale lossScale() {
    done(TrainKitC.tk_trainer_loss_scale(handle(), double0, long0, long1));
    return new LossScale(double0[0], long0[0], long1[0]);
  }

  /** Optimizer steps taken. */
  public long stepCount() {
    done(TrainKitC.tk_trainer_step_count(handle(), long0));
    return long0[0];
  }

  /** Batches dropped as non-finite (under loss scaling or {@link NonFinite#SKIP}). */
  public long skippedSteps() {
    done(TrainKitC.tk_trainer_skipped_steps(handle(), long0));
    return long0[0];
  }

  /** The learning rate the next optimizer update will use. */
  public double learningRate() {
    done(TrainKitC.tk_trainer_learning_rate(handle(), double0));
    return double0[0];
  }

  /** The global gradient norm of the last update (before clipping). */
  public double lastGradNorm() {
    done(TrainKitC.tk_trainer_last_grad_norm(handle(), double0));
    return double0[0];
  }

  /** This process's rank and the world size (0 and 1 unless distributed). */
  public World world() {
    done(TrainKitC.tk_trainer_world(handle(), int0, int1));
    return new World(int0[0], int1[0]);
  }

  /** The device the trainer runs on, e.g. "cpu" or "cuda:0 (NVIDIA H100)". */
  public String deviceName() {
    byte[] name = new byte[512];
    done(TrainKitC.tk_trainer_device_name(handle(), name));
    return Support.string(name);
  }

  // ---- Parameters --------------------------------------------------------------------------------------------

  /** The number of parameter tensors, in model order. */
  public int numParameterTensors() {
    done(TrainKitC.tk_trainer_num_parameter_tensors(handle(), int0));
    return int0[0];
  }

  /** The name of parameter tensor {@code index}, e.g. "linear_1.weight". */
  public String parameterName(int index) {
    try {
      long[] shape = new long[TrainKitCConstants.TK_MAX_RANK];
      for (int capacity = 128; ; capacity *= 4) {
        byte[] name = new byte[capacity];
        TrainKitException.check(TrainKitC.tk_trainer_parameter_info(handle(), index, name, int0, shape));
        if (!Support.full(name) || capacity > (1 << 24)) return Support.string(name);
      }
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** The shape of parameter tensor {@code index}. */
  public long[] parameterShape(int index) {
    long[] shape = new long[TrainKitCConstants.TK_MAX_RANK];
    done(TrainKitC.tk_trainer_parameter_info(handle(), index, null, int0, shape));
    return Arrays.copyOf(shape, int0[0]);
  }

  /** A copy of parameter tensor {@code index} as f32, flat in row-major order. */
  public float[] getParameter(int index) {
    float[] values = new float[Support.arraySize(Support.elements(parameterShape(index), "the parameter"),
        "the parameter")];
    getParameter(index, values);
    return values;
  }

  /** Copies parameter tensor {@code index} into {@code out}, which holds exactly its elements. */
  public void getParameter(int index, float[] out) {
    Objects.requireNonNull(out, "out");
    long[] shape = parameterShape(index);
    Support.checkCount(out.length, shape, "out");
    scratch.outputs.reset(scratch.outputBuffer.ensure(4L * out.length), DType.F32, shape);
    done(TrainKitC.tk_trainer_get_parameter(handle(), index, scratch.outputs));
    scratch.outputBuffer.get(out);
  }

  /** Sets parameter tensor {@code index} from f32 values of exactly its element count. */
  public void setParameter(int index, float[] values) {
    Objects.requireNonNull(values, "values");
    long[] shape = parameterShape(index);
    Support.checkCount(values.length, shape, "values");
    scratch.outputs.reset(scratch.outputBuffer.put(values), DType.F32, shape);
    done(TrainKitC.tk_trainer_set_parameter(handle(), index, scratch.outputs));
  }

  /** Total scalar parameters. */
  public long numParameters() {
    done(TrainKitC.tk_trainer_num_parameters(handle(), long0));
    return long0[0];
  }

  /** All parameters as one new f32 array, in tensor order. */
  public float[] parameters() {
    float[] values = new float[Support.arraySize(numParameters(), "the parameters")];
    copyParameters(values);
    return values;
  }

  /** Copies all parameters, in tensor order, into {@code out} (of {@link #numParameters()} floats). */
  public void copyParameters(float[] out) {
    Objects.requireNonNull(out, "out");
    done(TrainKitC.tk_trainer_copy_parameters(handle(), out));
  }

  // ---- Files -------------------------------------------------------------------------------------------------

  /** Saves a checkpoint (atomically). */
  public void save(String path) {
    save(path, null);
  }

  /** Saves a checkpoint with the batcher's position when {@code cursor} is not null. */
  public void save(String path, Batcher cursor) {
    try {
      done(TrainKitC.tk_trainer_save(handle(), path, cursor == null ? null : cursor.handle()));
    } finally {
      Reference.reachabilityFence(cursor);
    }
  }

  /**
   * Saves "&lt;prefix&gt;-&lt;step&gt;.safetensors" (with the batcher's position when {@code cursor} is not
   * null), deletes the oldest such files beyond {@code keep}, and returns the path written.
   */
  public String saveKeepLast(String prefix, int keep, Batcher cursor) {
    byte[] path = new byte[4096 + (prefix == null ? 0 : 4 * prefix.length())];
    try {
      done(TrainKitC.tk_trainer_save_keep_last(handle(), prefix, keep, cursor == null ? null : cursor.handle(), path));
    } finally {
      Reference.reachabilityFence(cursor);
    }
    return Support.string(path);
  }

  /** Restores a checkpoint from a trainer of the same model and options; on any error nothing changes. */
  public void load(String path) {
    load(path, null);
  }

  /** Restores a checkpoint and, when {@code cursor} is not null, the batcher's position. */
  public void load(String path, Batcher cursor) {
    try {
      done(TrainKitC.tk_trainer_load(handle(), path, cursor == null ? null : cursor.handle()));
    } finally {
      Reference.reachabilityFence(cursor);
    }
  }

  /** Writes the weights only (safetensors) as F32, F16 or BF16. */
  public void exportWeights(String path, DType dtype) {
    Objects.requireNonNull(dtype, "dtype");
    done(TrainKitC.tk_trainer_export_weights(handle(), path, dtype));
  }

  /** Loads weights by name from a safetensors file of any float dtype. */
  public void importWeights(String path) {
    done(TrainKitC.tk_trainer_import_weights(handle(), path));
  }

  /**
   * Loads another tool's safetensors weights through a name map ({@code mapJson}: trainkit name -> the
   * file's name, or -> {"name": ..., "transpose": true}; null: names as they are); non-strict keeps the
   * trainer's values where the file has none that fit. Returns the report as JSON (loaded, missing,
   * unexpected, mismatched); nothing changes on an error.
   */
  public String importWeights(String path, String mapJson, boolean strict) {
    SWIGTYPE_p_tk_trainer trainer = handle();
    try {
      TrainKitException.check(TrainKitC.tk_trainer_import_weights_mapped(trainer, path, mapJson, strict ? 1 : 0));
      TrainKitException.check(TrainKitC.tk_trainer_import_report(trainer, null, long0));
      byte[] report = new byte[Support.arraySize(long0[0], "the import report")];
      TrainKitException.check(TrainKitC.tk_trainer_import_report(trainer, report, long0));
      return Support.string(report);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** Sets a user property, saved with checkpoints. */
  public void setProperty(String key, String value) {
    done(TrainKitC.tk_trainer_set_property(handle(), key, value));
  }

  /** A user property's value; a missing key is a TrainKitException of ERROR_INVALID_ARGUMENT. */
  public String getProperty(String key) {
    try {
      byte[] value = new byte[256];
      TrainKitException.check(TrainKitC.tk_trainer_get_property(handle(), key, value, long0));
      if (long0[0] > value.length) {
        value = new byte[Support.arraySize(long0[0], "the property")];
        TrainKitException.check(TrainKitC.tk_trainer_get_property(handle(), key, value, long0));
      }
      return Support.string(value);
    } finally {
      Reference.reachabilityFence(this);
    }
  }
}
