// Trainer: a compiled copy of a model that trains, evaluates and predicts.
// The step path (Step, StepWithReport, StepAsync, StepNext, Evaluate on a
// batch) allocates nothing: arrays and spans are pinned for the call with
// `fixed`, never copied, and the TensorView and StepReport proxies that carry
// them are the trainer's own, reused.
using System;
using System.Runtime.InteropServices;

namespace TrainKit {

/// <summary>Loss and accuracy of an evaluation.</summary>
public struct Evaluation {
  /// <summary>The mean loss.</summary>
  public double Loss;
  /// <summary>The fraction of correct predictions (NaN for MSE).</summary>
  public double Accuracy;
  /// <summary>"loss L accuracy A".</summary>
  public override string ToString() => $"loss {Loss:F4} accuracy {Accuracy:F4}";
}

/// <summary>The loss scaler's state (PyTorch GradScaler semantics).</summary>
public struct LossScaleState {
  /// <summary>The current scale (1 when loss scaling is off).</summary>
  public double Scale;
  /// <summary>Clean steps since the scale last changed.</summary>
  public long GrowthTracker;
  /// <summary>Steps skipped so far for a non-finite gradient.</summary>
  public long Skipped;
}

/// <summary>Trains a compiled copy of a model. Not for use from two threads at once (the C API's
/// rule for one handle); different trainers may run on different threads.</summary>
public sealed partial class Trainer : NativeObject<SWIGTYPE_p_tk_trainer> {
  static Trainer() => NativeLoader.Load();  // before anything calls into the native library

  static readonly Action<IntPtr> Destroy = address => TrainKitC.tk_trainer_destroy(new SWIGTYPE_p_tk_trainer(address, false));

  enum Call { Step, Report, Async, Evaluate }

  // Scratch reused by every call (see the file's comment). The views are
  // freed with the handle; the report is handed to callers, who may read it
  // after Dispose, so the garbage collector frees it.
  readonly TensorView inputView = new TensorView();
  readonly TensorView targetView = new TensorView();
  readonly TensorView outputView = new TensorView();
  readonly TensorView batchFeatures = new TensorView();
  readonly TensorView batchTargets = new TensorView();
  readonly StepReport report = new StepReport();
  readonly long[] labelShape = new long[1];

  /// <summary>Compiles a copy of <paramref name="model"/> with <paramref name="loss"/> and
  /// <paramref name="options"/> (null: the defaults) and initializes its parameters from the seed.</summary>
  public Trainer(Model model, Loss loss, TrainerOptions options = null) : this(Create(model, loss, options)) {}

  Trainer(SWIGTYPE_p_tk_trainer native) : base(native, SWIGTYPE_p_tk_trainer.getCPtr(native).Handle, Destroy) {
    Owner.Companions = new IDisposable[] { inputView, targetView, outputView, batchFeatures, batchTargets };
  }

  static SWIGTYPE_p_tk_trainer Create(Model model, Loss loss, TrainerOptions options) {
    Interop.NotNull(model, nameof(model));
    using (model.Lease())
    using (options == null ? default(NativeLease) : options.Lease()) {
      Interop.Check(TrainKitC.tk_trainer_create(model.Native, loss, options?.Native, out SWIGTYPE_p_tk_trainer trainer));
      return trainer;
    }
  }

  // ---- Devices ------------------------------------------------------------------

  /// <summary>The number of CUDA GPUs a trainer can use (0 without the CUDA plugin, a driver or a GPU).</summary>
  public static int GpuCount() => GpuCount(out string _);

  /// <summary>The number of usable CUDA GPUs; with none, <paramref name="reason"/> says why.</summary>
  public static int GpuCount(out string reason) {
    var buffer = new byte[512];
    Interop.Check(TrainKitC.tk_gpu_count(out int count, buffer, (ulong)buffer.Length));
    reason = Interop.Text(buffer);
    return count;
  }

  /// <summary>The name, memory and compute capability of usable GPU <paramref name="index"/>;
  /// the caller owns (disposes) the returned object.</summary>
  public static GpuInfo GpuInfo(int index) {
    var info = new GpuInfo();
    Status status = TrainKitC.tk_gpu_info_get(index, info);
    if (status != Status.Ok) {
      info.Dispose();
      Interop.Check(status);
    }
    return info;
  }

  /// <summary>The device the trainer runs on, e.g. "cpu" or "cuda:0 (NVIDIA H100)".</summary>
  public string DeviceName {
    get {
      using (Lease()) return Interop.Name(buffer => TrainKitC.tk_trainer_device_name(Native, buffer, (ulong)buffer.Length));
    }
  }

  /// <summary>This process's rank and the world size (0 and 1 unless distributed).</summary>
  public (int Rank, int Size) World {
    get {
      using (Lease()) {
        Interop.Check(TrainKitC.tk_trainer_world(Native, out int rank, out int size));
        return (rank, size);
      }
    }
  }

  // ---- Steps --------------------------------------------------------------------

  /// <summary>One training step on class-index targets; all or nothing.</summary>
  /// <param name="inputs">The batch, row-major.</param>
  /// <param name="inputShape">Its shape [batch, input shape...].</param>
  /// <param name="labels">One class index per row.</param>
  /// <returns>The batch loss before the update.</returns>
  public double Step(float[] inputs, long[] inputShape, int[] labels) {
    Interop.NotNull(inputs, nameof(inputs));
    Interop.NotNull(labels, nameof(labels));
    return Step(new ReadOnlySpan<float>(inputs), inputShape, new ReadOnlySpan<int>(labels));
  }

  /// <summary>One training step on class-index targets; all or nothing.</summary>
  /// <param name="inputs">The batch, row-major.</param>
  /// <param name="inputShape">Its shape [batch, input shape...].</param>
  /// <param name="labels">One class index per row.</param>
  /// <returns>The batch loss before the update.</returns>
  public double Step(ReadOnlySpan<float> inputs, long[] inputShape, ReadOnlySpan<int> labels) {
    return Run(Call.Step, inputs, inputShape, MemoryMarshal.AsBytes(labels), DType.I32, Labels(labels.Length), null,
        out double _);
  }

  /// <summary>One training step on float targets (MSE, BCE); all or nothing.</summary>
  /// <param name="inputs">The batch, row-major.</param>
  /// <param name="inputShape">Its shape [batch, input shape...].</param>
  /// <param name="targets">The targets, row-major.</param>
  /// <param name="targetShape">Their shape, the output's [batch, output shape...].</param>
  /// <returns>The batch loss before the update.</returns>
  public double Step(float[] inputs, long[] inputShape, float[] targets, long[] targetShape) {
    Interop.NotNull(inputs, nameof(inputs));
    Interop.NotNull(targets, nameof(targets));
    return Step(new ReadOnlySpan<float>(inputs), inputShape, new ReadOnlySpan<float>(targets), targetShape);
  }

  /// <summary>One training step on float targets (MSE, BCE); all or nothing.</summary>
  /// <param name="inputs">The batch, row-major.</param>
  /// <param name="inputShape">Its shape [batch, input shape...].</param>
  /// <param name="targets">The targets, row-major.</param>
  /// <param name="targetShape">Their shape, the output's [batch, output shape...].</param>
  /// <returns>The batch loss before the update.</returns>
  public double Step(ReadOnlySpan<float> inputs, long[] inputShape, ReadOnlySpan<float> targets, long[] targetShape) {
    return Run(Call.Step, inputs, inputShape, MemoryMarshal.AsBytes(targets), DType.F32, targetShape, null,
               out double _);
  }

  /// <summary>One training step on views the caller filled (any dtype the C API takes, strided),
  /// or on a <see cref="Batcher"/>'s views.</summary>
  /// <returns>The batch loss before the update.</returns>
  public double Step(TensorView inputs, TensorView targets) {
    Interop.NotNull(inputs, nameof(inputs));
    Interop.NotNull(targets, nameof(targets));
    using (Lease()) {
      Interop.Check(TrainKitC.tk_trainer_step(Native, inputs, targets, out float loss));
      return loss;
    }
  }

  /// <summary>A training step on class-index targets that reports what it did: applied or skipped,
  /// loss, loss scale, learning rate, gradient norm and step.</summary>
  /// <param name="inputs">The batch, row-major.</param>
  /// <param name="inputShape">Its shape [batch, input shape...].</param>
  /// <param name="labels">One class index per row.</param>
  /// <param name="into">The report to fill; null fills the trainer's own, which the next call
  /// on this trainer overwrites (do not dispose that one).</param>
  /// <returns>The filled report.</returns>
  public StepReport StepWithReport(ReadOnlySpan<float> inputs, long[] inputShape, ReadOnlySpan<int> labels,
                                   StepReport into = null) {
    StepReport target = into ?? report;
    Run(Call.Report, inputs, inputShape, MemoryMarshal.AsBytes(labels), DType.I32, Labels(labels.Length), target,
        out double _);
    return target;
  }

  /// <summary>A training step on float targets that reports what it did.</summary>
  /// <param name="inputs">The batch, row-major.</param>
  /// <param name="inputShape">Its shape [batch, input shape...].</param>
  /// <param name="targets">The targets, row-major.</param>
  /// <param name="targetShape">Their shape.</param>
  /// <param name="into">The report to fill; null fills the trainer's own, which the next call
  /// on this trainer overwrites.</param>
  /// <returns>The filled report.</returns>
  public StepReport StepWithReport(ReadOnlySpan<float> inputs, long[] inputShape, ReadOnlySpan<float> targets,
                                   long[] targetShape, StepReport into = null) {
    StepReport target = into ?? report;
    Run(Call.Report, inputs, inputShape, MemoryMarshal.AsBytes(targets), DType.F32, targetShape, target, out double _);
    return target;
  }

  /// <summary>Queues a training step on class-index targets without waiting for the GPU (elsewhere
  /// it is <see cref="Step(ReadOnlySpan{float}, long[], ReadOnlySpan{int})"/>). The memory may be
  /// reused as soon as it returns; <see cref="WaitSteps"/> waits and reports. This is not a Task.</summary>
  public void StepAsync(ReadOnlySpan<float> inputs, long[] inputShape, ReadOnlySpan<int> labels) =>
      Run(Call.Async, inputs, inputShape, MemoryMarshal.AsBytes(labels), DType.I32, Labels(labels.Length), null,
          out double _);

  /// <summary>Queues a training step on float targets (see the class-index overload).</summary>
  public void StepAsync(ReadOnlySpan<float> inputs, long[] inputShape, ReadOnlySpan<float> targets, long[] targetShape) =>
      Run(Call.Async, inputs, inputShape, MemoryMarshal.AsBytes(targets), DType.F32, targetShape, null, out double _);

  /// <summary>Waits for the queued steps and reports the last one.</summary>
  /// <param name="into">The report to fill; null fills the trainer's own.</param>
  /// <returns>The filled report.</returns>
  /// <exception cref="TrainKitException">A queued step's loss or gradient was not finite under
  /// <see cref="TrainKit.NonFinite.Error"/> (<see cref="Status.ErrorNonFinite"/>); it and the steps
  /// queued after it changed nothing.</exception>
  public StepReport WaitSteps(StepReport into = null) {
    StepReport target = into ?? report;
    using (Lease()) Interop.Check(TrainKitC.tk_trainer_wait(Native, target));
    return target;
  }

  /// <summary>Steps on the batcher's next batch, whose views go straight to the step.</summary>
  /// <param name="batcher">The batches.</param>
  /// <param name="loss">The batch loss, or NaN at the end of the epoch.</param>
  /// <returns>False at the end of the epoch (nothing was trained).</returns>
  public bool StepNext(Batcher batcher, out double loss) {
    Interop.NotNull(batcher, nameof(batcher));
    using (Lease())
    using (batcher.Lease()) {
      Interop.Check(TrainKitC.tk_batcher_next(batcher.Native, batchFeatures, batchTargets, out int hasBatch));
      if (hasBatch == 0) {
        loss = double.NaN;
        return false;
      }
      Interop.Check(TrainKitC.tk_trainer_step(Native, batchFeatures, batchTargets, out float value));
      loss = value;
      return true;
    }
  }

  /// <summary>Steps on the batcher's next batch and reports what the step did.</summary>
  /// <param name="batcher">The batches.</param>
  /// <param name="into">The report to fill.</param>
  /// <returns>False at the end of the epoch (the report is untouched).</returns>
  public bool StepNext(Batcher batcher, StepReport into) {
    Interop.NotNull(batcher, nameof(batcher));
    Interop.NotNull(into, nameof(into));
    using (Lease())
    using (batcher.Lease()) {
      Interop.Check(TrainKitC.tk_batcher_next(batcher.Native, batchFeatures, batchTargets, out int hasBatch));
      if (hasBatch == 0) return false;
      Interop.Check(TrainKitC.tk_trainer_step_report(Native, batchFeatures, batchTargets, into));
      return true;
    }
  }

  // ---- Several inputs -----------------------------------------------------------

  /// <summary>One training step on a model of several inputs (see <see cref="Inputs"/>) and
  /// class-index targets, reported into <paramref name="into"/> (null: the trainer's report).</summary>
  public unsafe StepReport StepWithReport(Inputs inputs, ReadOnlySpan<int> labels, StepReport into = null) {
    Interop.NotNull(inputs, nameof(inputs));
    StepReport target = into ?? report;
    using (Lease())
      fixed (int* y = &MemoryMarshal.GetReference(labels)) {
        long[] shape = Labels(labels.Length);
        targetView.reset((IntPtr)y, DType.I32, shape.Length, shape);
        Interop.Check(TrainKitC.tk_trainer_step_inputs(Native, inputs.Count, inputs.First(), targetView, target));
      }
    return target;
  }

  /// <summary>One training step on several inputs and class-index targets.</summary>
  /// <returns>The batch loss before the update.</returns>
  public double Step(Inputs inputs, ReadOnlySpan<int> labels) => StepWithReport(inputs, labels).loss;

  /// <summary>One training step on several inputs and float targets (MSE, BCE).</summary>
  public unsafe double Step(Inputs inputs, ReadOnlySpan<float> targets, long[] targetShape) {
    Interop.NotNull(inputs, nameof(inputs));
    Interop.Fits(targetShape, targets.Length, "targets", nameof(targetShape));
    using (Lease())
      fixed (float* y = &MemoryMarshal.GetReference(targets)) {
        targetView.reset((IntPtr)y, DType.F32, targetShape.Length, targetShape);
        Interop.Check(TrainKitC.tk_trainer_step_inputs(Native, inputs.Count, inputs.First(), targetView, report));
      }
    return report.loss;
  }

  /// <summary>Loss and accuracy on one batch of several inputs and class-index targets, without
  /// training.</summary>
  public unsafe Evaluation Evaluate(Inputs inputs, ReadOnlySpan<int> labels) {
    Interop.NotNull(inputs, nameof(inputs));
    using (Lease())
      fixed (int* y = &MemoryMarshal.GetReference(labels)) {
        long[] shape = Labels(labels.Length);
        targetView.reset((IntPtr)y, DType.I32, shape.Length, shape);
        Interop.Check(TrainKitC.tk_trainer_evaluate_inputs(Native, inputs.Count, inputs.First(), targetView,
                                                           out double loss, out double accuracy));
        return new Evaluation { Loss = loss, Accuracy = accuracy };
      }
  }

  /// <summary>Writes the outputs of several inputs into <paramref name="outputs"/> [batch, output
  /// shape...]: logits, or probabilities.</summary>
  public unsafe void Predict(Inputs inputs, Span<float> outputs, long[] outputShape, bool probabilities = false) {
    Interop.NotNull(inputs, nameof(inputs));
    Interop.Fits(outputShape, outputs.Length, "outputs", nameof(outputShape));
    using (Lease())
      fixed (float* y = &MemoryMarshal.GetReference(outputs)) {
        outputView.reset((IntPtr)y, DType.F32, outputShape.Length, outputShape);
        Interop.Check(TrainKitC.tk_trainer_predict_inputs(Native, inputs.Count, inputs.First(), probabilities ? 1 : 0,
                                                          outputView));
      }
  }

  /// <summary>The model's outputs: the one the loss reads first, then those added with
  /// <see cref="Model.AddOutput"/>.</summary>
  public OutputInfo[] OutputInfos {
    get {
      using (Lease()) {
        Interop.Check(TrainKitC.tk_trainer_output_count(Native, out int count));
        return OutputInfo.Read(count, (int i, byte[] name, out int rank, long[] shape) =>
            TrainKitC.tk_trainer_output_info(Native, i, name, (ulong)name.Length, out rank, shape));
      }
    }
  }

  /// <summary>Every output of one forward over <paramref name="rows"/> samples, in the order of
  /// <see cref="OutputInfos"/>: arrays [rows, output shape]; probabilities apply to output 0.</summary>
  public float[][] PredictOutputs(Inputs inputs, long rows, bool probabilities = false) {
    Interop.NotNull(inputs, nameof(inputs));
    OutputInfo[] outputs = OutputInfos;
    using (Lease())
      return OutputInfo.Predict(outputs, rows, (count, views) =>
          TrainKitC.tk_trainer_predict_outputs(Native, inputs.Count, inputs.First(), probabilities ? 1 : 0, count, views));
  }

  /// <summary>The model's inputs, in the order <see cref="Inputs"/> takes them.</summary>
  public InputInfo[] InputInfos {
    get {
      using (Lease()) {
        Interop.Check(TrainKitC.tk_trainer_input_count(Native, out int count));
        return InputInfo.Read(count, (int i, byte[] name, out int indices, out int rank, long[] shape) =>
            TrainKitC.tk_trainer_input_info(Native, i, name, (ulong)name.Length, out indices, out rank, shape));
      }
    }
  }

  // ---- Evaluation and prediction -------------------------------------------------

  /// <summary>Loss and accuracy on one batch of class-index targets, without training.</summary>
  public Evaluation Evaluate(float[] inputs, long[] inputShape, int[] labels) {
    Interop.NotNull(inputs, nameof(inputs));
    Interop.NotNull(labels, nameof(labels));
    return Evaluate(new ReadOnlySpan<float>(inputs), inputShape, new ReadOnlySpan<int>(labels));
  }

  /// <summary>Loss and accuracy on one batch of class-index targets, without training.</summary>
  public Evaluation Evaluate(ReadOnlySpan<float> inputs, long[] inputShape, ReadOnlySpan<int> labels) {
    double loss = Run(Call.Evaluate, inputs, inputShape, MemoryMarshal.AsBytes(labels), DType.I32,
                      Labels(labels.Length), null, out double accuracy);
    return new Evaluation { Loss = loss, Accuracy = accuracy };
  }

  /// <summary>Loss and accuracy on one batch of float targets, without training (accuracy is NaN
  /// for MSE).</summary>
  public Evaluation Evaluate(float[] inputs, long[] inputShape, float[] targets, long[] targetShape) {
    Interop.NotNull(inputs, nameof(inputs));
    Interop.NotNull(targets, nameof(targets));
    return Evaluate(new ReadOnlySpan<float>(inputs), inputShape, new ReadOnlySpan<float>(targets), targetShape);
  }

  /// <summary>Loss and accuracy on one batch of float targets, without training.</summary>
  public Evaluation Evaluate(ReadOnlySpan<float> inputs, long[] inputShape, ReadOnlySpan<float> targets,
                             long[] targetShape) {
    double loss = Run(Call.Evaluate, inputs, inputShape, MemoryMarshal.AsBytes(targets), DType.F32, targetShape,
                      null, out double accuracy);
    return new Evaluation { Loss = loss, Accuracy = accuracy };
  }

  /// <summary>Loss and accuracy over a whole dataset, in batches of <paramref name="batchSize"/>.</summary>
  public Evaluation Evaluate(Dataset dataset, long batchSize) {
    Interop.NotNull(dataset, nameof(dataset));
    using (Lease())
    using (dataset.Lease()) {
      Interop.Check(TrainKitC.tk_trainer_evaluate_dataset(Native, dataset.Native, batchSize, out double loss,
                                                          out double accuracy));
      return new Evaluation { Loss = loss, Accuracy = accuracy };
    }
  }

  /// <summary>Writes the outputs [batch, output shape...] into <paramref name="outputs"/>: logits,
  /// or with <paramref name="probabilities"/> softmax (cross-entropy) or sigmoid (BCE).</summary>
  /// <param name="inputs">The batch, row-major.</param>
  /// <param name="inputShape">Its shape [batch, input shape...].</param>
  /// <param name="outputs">Where the outputs go.</param>
  /// <param name="outputShape">Their shape [batch, output shape...].</param>
  /// <param name="probabilities">Probabilities instead of raw outputs.</param>
  public unsafe void Predict(ReadOnlySpan<float> inputs, long[] inputShape, Span<float> outputs, long[] outputShape,
                             bool probabilities = false) {
    Interop.Fits(inputShape, inputs.Length, "inputs", nameof(inputShape));
    Interop.Fits(outputShape, outputs.Length, "outputs", nameof(outputShape));
    using (Lease())
      fixed (float* x = &MemoryMarshal.GetReference(inputs))
      fixed (float* y = &MemoryMarshal.GetReference(outputs)) {
        inputView.reset((IntPtr)x, DType.F32, inputShape.Length, inputShape);
        outputView.reset((IntPtr)y, DType.F32, outputShape.Length, outputShape);
        Interop.Check(TrainKitC.tk_trainer_predict(Native, inputView, probabilities ? 1 : 0, outputView));
      }
  }

  /// <summary>The outputs [batch, outputsPerSample] as a new flat array: logits, or with
  /// <paramref name="probabilities"/> softmax (cross-entropy) or sigmoid (BCE).</summary>
  public float[] Predict(float[] inputs, long[] inputShape, long outputsPerSample, bool probabilities = false) {
    Interop.NotNull(inputs, nameof(inputs));
    Interop.NotNull(inputShape, nameof(inputShape));
    if (inputShape.Length == 0) throw new ArgumentException("the input shape has no batch dimension", nameof(inputShape));
    long[] outputShape = { inputShape[0], outputsPerSample };
    long count = Interop.Count(outputShape);
    if (count < 0 || count > int.MaxValue)
      throw new TrainKitException(Status.ErrorShapeMismatch, $"outputs of shape {Interop.Format(outputShape)} do not fit an array");
    var outputs = new float[count];
    Predict(inputs, inputShape, outputs, outputShape, probabilities);
    return outputs;
  }

  // Pins the batch for one call of `call` on the trainer's own views. Only
  // f32 inputs and i32 or f32 targets come this way, all 4-byte elements.
  // Returns the loss (Step, Evaluate); `second` is the accuracy (Evaluate).
  unsafe double Run(Call call, ReadOnlySpan<float> inputs, long[] inputShape, ReadOnlySpan<byte> targets,
                    DType targetType, long[] targetShape, StepReport into, out double second) {
    Interop.Fits(inputShape, inputs.Length, "inputs", nameof(inputShape));
    Interop.Fits(targetShape, targets.Length / sizeof(float), "targets", nameof(targetShape));
    double first = second = 0;
    using (Lease())
      fixed (float* x = &MemoryMarshal.GetReference(inputs))
      fixed (byte* y = &MemoryMarshal.GetReference(targets)) {
        inputView.reset((IntPtr)x, DType.F32, inputShape.Length, inputShape);
        targetView.reset((IntPtr)y, targetType, targetShape.Length, targetShape);
        switch (call) {
          case Call.Step:
            Interop.Check(TrainKitC.tk_trainer_step(Native, inputView, targetView, out float loss));
            first = loss;
            break;
          case Call.Report:
            Interop.Check(TrainKitC.tk_trainer_step_report(Native, inputView, targetView, into));
            break;
          case Call.Async:
            Interop.Check(TrainKitC.tk_trainer_step_async(Native, inputView, targetView));
            break;
          case Call.Evaluate:
            Interop.Check(TrainKitC.tk_trainer_evaluate(Native, inputView, targetView, out first, out second));
            break;
        }
        return first;
      }
  }

  // The shape of `count` labels, in the reused array.
  long[] Labels(int count) {
    labelShape[0] = count;
    return labelShape;
  }

  // ---- State ----------------------------------------------------------------------

  /// <summary>Optimizer steps so far.</summary>
  public long StepCount {
    get {
      using (Lease()) {
        Interop.Check(TrainKitC.tk_trainer_step_count(Native, out long steps));
        return steps;
      }
    }
  }

  /// <summary>Batches skipped so far (non-finite under loss scaling or <see cref="TrainKit.NonFinite.Skip"/>).</summary>
  public long SkippedSteps {
    get {
      using (Lease()) {
        Interop.Check(TrainKitC.tk_trainer_skipped_steps(Native, out long skipped));
        return skipped;
      }
    }
  }

  /// <summary>The learning rate the next optimizer update will use.</summary>
  public double LearningRate {
    get {
      using (Lease()) {
        Interop.Check(TrainKitC.tk_trainer_learning_rate(Native, out double learningRate));
        return learningRate;
      }
    }
  }

  /// <summary>The global gradient norm of the last update, before clipping.</summary>
  public double LastGradNorm {
    get {
      using (Lease()) {
        Interop.Check(TrainKitC.tk_trainer_last_grad_norm(Native, out double norm));
        return norm;
      }
    }
  }

  /// <summary>The loss scaler's scale, clean steps since it changed, and steps skipped.</summary>
  public LossScaleState LossScale {
    get {
      using (Lease()) {
        Interop.Check(TrainKitC.tk_trainer_loss_scale(Native, out double scale, out long growth, out long skipped));
        return new LossScaleState { Scale = scale, GrowthTracker = growth, Skipped = skipped };
      }
    }
  }

  // ---- Parameters -----------------------------------------------------------------

  /// <summary>Parameter tensors, in model order.</summary>
  public int NumParameterTensors {
    get {
      using (Lease()) {
        Interop.Check(TrainKitC.tk_trainer_num_parameter_tensors(Native, out int count));
        return count;
      }
    }
  }

  /// <summary>The name of parameter tensor <paramref name="index"/>, e.g. "linear_1.weight".</summary>
  public string ParameterName(int index) {
    var extents = new long[TrainKitC.TK_MAX_RANK];
    using (Lease())
      return Interop.Name(buffer => TrainKitC.tk_trainer_parameter_info(Native, index, buffer, (ulong)buffer.Length,
                                                                         out int _, extents));
  }

  /// <summary>The shape of parameter tensor <paramref name="index"/>.</summary>
  public long[] ParameterShape(int index) {
    var extents = new long[TrainKitC.TK_MAX_RANK];
    using (Lease()) {
      Interop.Check(TrainKitC.tk_trainer_parameter_info(Native, index, null, 0, out int rank, extents));
      return Interop.Shape(rank, extents);
    }
  }

  /// <summary>Copies parameter tensor <paramref name="index"/> into <paramref name="values"/>,
  /// which holds exactly its elements.</summary>
  public unsafe void GetParameter(int index, Span<float> values) {
    long[] shape = ParameterShape(index);
    Interop.Fits(shape, values.Length, "values", nameof(values));
    using (Lease())
      fixed (float* p = &MemoryMarshal.GetReference(values)) {
        outputView.reset((IntPtr)p, DType.F32, shape.Length, shape);
        Interop.Check(TrainKitC.tk_trainer_get_parameter(Native, index, outputView));
      }
  }

  /// <summary>Parameter tensor <paramref name="index"/> as a new flat array.</summary>
  public float[] GetParameter(int index) {
    long count = Interop.Count(ParameterShape(index));
    var values = new float[count];
    GetParameter(index, values);
    return values;
  }

  /// <summary>Copies parameter tensor <paramref name="index"/> into a view the caller filled
  /// (f32, f64, f16 or bf16, of the tensor's shape).</summary>
  public void GetParameter(int index, TensorView values) {
    Interop.NotNull(values, nameof(values));
    using (Lease()) Interop.Check(TrainKitC.tk_trainer_get_parameter(Native, index, values));
  }

  /// <summary>Sets parameter tensor <paramref name="index"/> from <paramref name="values"/>,
  /// which holds exactly its elements.</summary>
  public unsafe void SetParameter(int index, ReadOnlySpan<float> values) {
    long[] shape = ParameterShape(index);
    Interop.Fits(shape, values.Length, "values", nameof(values));
    using (Lease())
      fixed (float* p = &MemoryMarshal.GetReference(values)) {
        inputView.reset((IntPtr)p, DType.F32, shape.Length, shape);
        Interop.Check(TrainKitC.tk_trainer_set_parameter(Native, index, inputView));
      }
  }

  /// <summary>Sets parameter tensor <paramref name="index"/> from a view the caller filled
  /// (f32, f64, f16 or bf16, of the tensor's shape).</summary>
  public void SetParameter(int index, TensorView values) {
    Interop.NotNull(values, nameof(values));
    using (Lease()) Interop.Check(TrainKitC.tk_trainer_set_parameter(Native, index, values));
  }

  /// <summary>Total scalar parameters.</summary>
  public long NumParameters {
    get {
      using (Lease()) {
        Interop.Check(TrainKitC.tk_trainer_num_parameters(Native, out long count));
        return count;
      }
    }
  }

  /// <summary>Copies every parameter, as f32 in tensor order, into <paramref name="destination"/>,
  /// which holds exactly <see cref="NumParameters"/> values.</summary>
  public void CopyParameters(float[] destination) {
    Interop.NotNull(destination, nameof(destination));
    using (Lease())
      Interop.Check(TrainKitC.tk_trainer_copy_parameters(Native, destination, destination.Length));
  }

  /// <summary>Every parameter, as f32 in tensor order, in a new array.</summary>
  public float[] Parameters() {
    var values = new float[NumParameters];
    CopyParameters(values);
    return values;
  }

  // ---- Checkpoints, weights and properties ------------------------------------------

  /// <summary>Saves a checkpoint (safetensors, atomically): weights, optimizer and loss-scaler state,
  /// counters, properties, the model spec and, given <paramref name="cursor"/>, its position.</summary>
  public void Save(string path, Batcher cursor = null) {
    Interop.NotNull(path, nameof(path));
    using (Lease())
    using (cursor == null ? default(NativeLease) : cursor.Lease())
      Interop.Check(TrainKitC.tk_trainer_save(Native, path, cursor?.Native));
  }

  /// <summary>Saves to "&lt;prefix&gt;-&lt;step&gt;.safetensors" and deletes the oldest such files
  /// beyond <paramref name="keep"/>.</summary>
  /// <returns>The path written.</returns>
  public string SaveKeepLast(string prefix, int keep, Batcher cursor = null) {
    Interop.NotNull(prefix, nameof(prefix));
    // Room for the prefix, "-", a 64-bit step, ".safetensors" and the NUL.
    var path = new byte[System.Text.Encoding.UTF8.GetByteCount(prefix) + 64];
    using (Lease())
    using (cursor == null ? default(NativeLease) : cursor.Lease())
      Interop.Check(TrainKitC.tk_trainer_save_keep_last(Native, prefix, keep, cursor?.Native, path, (ulong)path.Length));
    return Interop.Text(path);
  }

  /// <summary>Restores a checkpoint into a trainer built from the same model and options (and,
  /// given <paramref name="cursor"/>, the batcher's position). On any error nothing changes.</summary>
  public void Load(string path, Batcher cursor = null) {
    Interop.NotNull(path, nameof(path));
    using (Lease())
    using (cursor == null ? default(NativeLease) : cursor.Lease())
      Interop.Check(TrainKitC.tk_trainer_load(Native, path, cursor?.Native));
  }

  /// <summary>Writes the weights only, as F32, F16 or Bf16 safetensors.</summary>
  public void ExportWeights(string path, DType dtype = DType.F32) {
    Interop.NotNull(path, nameof(path));
    using (Lease()) Interop.Check(TrainKitC.tk_trainer_export_weights(Native, path, dtype));
  }

  /// <summary>Loads weights by name from a safetensors file (any float dtype).</summary>
  public void ImportWeights(string path) {
    Interop.NotNull(path, nameof(path));
    using (Lease()) Interop.Check(TrainKitC.tk_trainer_import_weights(Native, path));
  }

  /// <summary>Loads another tool's safetensors weights through a name map (<paramref name="mapJson"/>:
  /// trainkit name -> the file's name, or -> {"name": ..., "transpose": true}; null: names as they
  /// are); non-strict keeps the trainer's values where the file has none that fit. Returns the report
  /// as JSON (loaded, missing, unexpected, mismatched); nothing changes on an error.</summary>
  public string ImportWeights(string path, string mapJson, bool strict) {
    Interop.NotNull(path, nameof(path));
    using (Lease()) {
      Interop.Check(TrainKitC.tk_trainer_import_weights_mapped(Native, path, mapJson, strict ? 1 : 0));
      Interop.Check(TrainKitC.tk_trainer_import_report(Native, null, 0, out ulong length));
      var buffer = new byte[length];
      Interop.Check(TrainKitC.tk_trainer_import_report(Native, buffer, length, out length));
      return Interop.Text(buffer);
    }
  }

  /// <summary>Sets a user property, a string pair saved with checkpoints.</summary>
  public void SetProperty(string key, string value) {
    Interop.NotNull(key, nameof(key));
    Interop.NotNull(value, nameof(value));
    using (Lease()) Interop.Check(TrainKitC.tk_trainer_set_property(Native, key, value));
  }

  /// <summary>A user property's value.</summary>
  /// <exception cref="TrainKitException">There is no such property
  /// (<see cref="Status.ErrorInvalidArgument"/>).</exception>
  public string GetProperty(string key) {
    Interop.NotNull(key, nameof(key));
    using (Lease()) {
      Interop.Check(TrainKitC.tk_trainer_get_property(Native, key, null, 0, out ulong length));
      var buffer = new byte[length];
      Interop.Check(TrainKitC.tk_trainer_get_property(Native, key, buffer, length, out length));
      return Interop.Text(buffer);
    }
  }
}

}  // namespace TrainKit
