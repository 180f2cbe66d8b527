// TrainKit: the idiomatic C# layer over the SWIG-generated TrainKit.Native.
// Handles are SafeHandles: Dispose frees them once, the finalizer frees what
// was left to the garbage collector, and every native call holds a reference
// on the handle (DangerousAddRef) so it cannot be freed under a running call.
// Arrays and spans are pinned for the call, never copied.
using System;
using System.Runtime.InteropServices;
using TrainKit.Native;

namespace TrainKit {

public enum Loss { SoftmaxCrossEntropy = 0, Mse = 1, BceWithLogits = 2 }
public enum Optimizer { Sgd = 0, Adam = 1, AdamW = 2 }
public enum Precision { Fp32 = 0, Fp16 = 1, Bf16 = 2 }
/// <summary>Where a trainer runs: Auto is a CUDA GPU when one can be used, else the CPU.</summary>
public enum Device { Auto = 0, Cpu = 1, Cuda = 2 }
public enum DType { F32 = 0, F64 = 1, F16 = 2, BF16 = 3, I32 = 4, U8 = 5 }
public enum Schedule { Constant = 0, Step = 1, Cosine = 2 }

/// <summary>A native error: the C API's status code and its message.</summary>
public class TrainKitException : Exception {
  public int Status { get; }
  public TrainKitException(int status, string message) : base(message) { Status = status; }
}

public struct Evaluation {
  public double Loss;
  public double Accuracy;
  public override string ToString() => $"loss {Loss:F4} accuracy {Accuracy:F4}";
}

static class Check {
  public static void Last() {
    int status = trainkit_native.tkb_last_status();
    if (status != 0) throw new TrainKitException(status, trainkit_native.tkb_last_message());
  }
  public static void Status(int status) {
    if (status != 0) throw new TrainKitException(status, trainkit_native.tkb_last_message());
  }
}

/// <summary>Owns one native handle (an address, 0 when invalid).</summary>
public sealed class NativeHandle : SafeHandle {
  readonly Action<long> destroy;
  public NativeHandle(long address, Action<long> destroy) : base(IntPtr.Zero, true) {
    this.destroy = destroy;
    SetHandle(new IntPtr(address));
  }
  public override bool IsInvalid => handle == IntPtr.Zero;
  protected override bool ReleaseHandle() {
    destroy(handle.ToInt64());
    return true;
  }
}

/// <summary>Base of every object that owns native memory.</summary>
public abstract class NativeObject : IDisposable {
  readonly NativeHandle owner;

  protected NativeObject(long address, Action<long> destroy) {
    if (address == 0) Check.Last();
    owner = new NativeHandle(address, destroy);
  }

  public bool IsClosed => owner.IsClosed;

  /// <summary>Runs call with the live address; throws ObjectDisposedException once disposed.</summary>
  protected T Use<T>(Func<long, T> call) {
    bool added = false;
    try {
      owner.DangerousAddRef(ref added);
      return call(owner.DangerousGetHandle().ToInt64());
    } finally {
      if (added) owner.DangerousRelease();
    }
  }

  protected void UseChecked(Func<long, int> call) => Check.Status(Use(call));

  /// <summary>Keeps the handle alive while it is an argument of another object's call.</summary>
  internal Held Hold() => new Held(owner);

  internal struct Held : IDisposable {
    readonly NativeHandle owner;
    readonly bool added;
    public readonly long Address;
    internal Held(NativeHandle owner) {
      this.owner = owner;
      added = false;
      owner.DangerousAddRef(ref added);
      Address = owner.DangerousGetHandle().ToInt64();
    }
    public void Dispose() {
      if (added) owner.DangerousRelease();
    }
  }

  internal static Held? HoldOrNull(NativeObject o) => o == null ? (Held?)null : o.Hold();

  public void Dispose() => owner.Dispose();
}

public sealed class Model : NativeObject {
  public Model() : base(trainkit_native.tkb_model_create(), trainkit_native.tkb_model_destroy) {}
  Model(long address) : base(address, trainkit_native.tkb_model_destroy) {}

  public static Model FromSpec(string json) => new Model(trainkit_native.tkb_model_from_spec(json));
  public static Model LoadSpec(string path) => new Model(trainkit_native.tkb_model_load_spec(path));

  int Node(int id) {
    Check.Last();
    return id;
  }

  public unsafe int Input(string name, params long[] shape) {
    fixed (long* dims = shape) {
      IntPtr dp = (IntPtr)dims;
      return Node(Use(m => trainkit_native.tkb_model_input(m, name, shape.Length, dp)));
    }
  }
  public int Linear(int input, long units) => Node(Use(m => trainkit_native.tkb_model_linear(m, input, units)));
  public int Relu(int input) => Node(Use(m => trainkit_native.tkb_model_activation(m, input, 0)));
  public int Gelu(int input) => Node(Use(m => trainkit_native.tkb_model_activation(m, input, 1)));
  public int Tanh(int input) => Node(Use(m => trainkit_native.tkb_model_activation(m, input, 2)));
  public int Sigmoid(int input) => Node(Use(m => trainkit_native.tkb_model_activation(m, input, 3)));
  public int Dropout(int input, double p) => Node(Use(m => trainkit_native.tkb_model_dropout(m, input, p)));
  public int Dropout2d(int input, double p) => Node(Use(m => trainkit_native.tkb_model_dropout2d(m, input, p)));
  public int BatchNorm(int input, double eps = 1e-5, double momentum = 0.1) =>
      Node(Use(m => trainkit_native.tkb_model_batch_norm(m, input, eps, momentum)));
  public int LayerNorm(int input, int axes = 1, double eps = 1e-5) =>
      Node(Use(m => trainkit_native.tkb_model_layer_norm(m, input, axes, eps)));
  public unsafe int Reshape(int input, params long[] shape) {
    fixed (long* dims = shape) {
      IntPtr dp = (IntPtr)dims;
      return Node(Use(m => trainkit_native.tkb_model_reshape(m, input, shape.Length, dp)));
    }
  }
  /// <summary>2-D convolution over [channels, height, width], square kernel, as PyTorch's Conv2d.</summary>
  public int Conv2d(int input, long outChannels, long kernel, long stride = 1, long padding = 0, long dilation = 1,
                    long groups = 1, bool bias = true) =>
      Node(Use(m => trainkit_native.tkb_model_conv2d(m, input, outChannels, kernel, stride, padding, dilation, groups,
                                                     bias ? 1 : 0)));
  public int MaxPool2d(int input, long kernel, long stride, long padding = 0) =>
      Node(Use(m => trainkit_native.tkb_model_pool2d(m, input, 0, kernel, stride, padding)));
  public int AvgPool2d(int input, long kernel, long stride, long padding = 0) =>
      Node(Use(m => trainkit_native.tkb_model_pool2d(m, input, 1, kernel, stride, padding)));
  /// <summary>Scalar parameters of the model's nodes.</summary>
  public long NumParameters() {
    long count = Use(trainkit_native.tkb_model_num_parameters);
    if (count < 0) Check.Last();
    return count;
  }
  public int GlobalAvgPool(int input) => Node(Use(m => trainkit_native.tkb_model_global_avg_pool(m, input)));
  public int Flatten(int input) => Node(Use(m => trainkit_native.tkb_model_flatten(m, input)));
  public int Add(int a, int b) => Node(Use(m => trainkit_native.tkb_model_add(m, a, b)));
  public Model Output(int node, string name) {
    UseChecked(m => trainkit_native.tkb_model_output(m, node, name));
    return this;
  }
  public void SaveSpec(string path) => UseChecked(m => trainkit_native.tkb_model_save_spec(m, path));
}

public sealed class TrainerOptions : NativeObject {
  public TrainerOptions() : base(trainkit_native.tkb_options_create(), trainkit_native.tkb_options_destroy) {}
  TrainerOptions Set(Func<long, int> call) {
    UseChecked(call);
    return this;
  }
  public TrainerOptions Optimizer(Optimizer o) => Set(h => trainkit_native.tkb_options_set_optimizer(h, (int)o));
  public TrainerOptions LearningRate(double lr) => Set(h => trainkit_native.tkb_options_set_learning_rate(h, lr));
  public TrainerOptions Momentum(double m, bool nesterov) =>
      Set(h => trainkit_native.tkb_options_set_momentum(h, m, nesterov ? 1 : 0));
  public TrainerOptions WeightDecay(double d) => Set(h => trainkit_native.tkb_options_set_weight_decay(h, d));
  public TrainerOptions Schedule(Schedule s, long warmup, long stepSize, double gamma, long total, double minLr) =>
      Set(h => trainkit_native.tkb_options_set_schedule(h, (int)s, warmup, stepSize, gamma, total, minLr));
  public TrainerOptions ClipNorm(double n) => Set(h => trainkit_native.tkb_options_set_clip_norm(h, n));
  public TrainerOptions AccumulationSteps(int k) => Set(h => trainkit_native.tkb_options_set_accumulation_steps(h, k));
  public TrainerOptions Seed(long seed) => Set(h => trainkit_native.tkb_options_set_seed(h, seed));
  public TrainerOptions Threads(int n) => Set(h => trainkit_native.tkb_options_set_threads(h, n));
  public TrainerOptions Precision(Precision p) => Set(h => trainkit_native.tkb_options_set_precision(h, (int)p));
  public TrainerOptions Device(Device d) => Set(h => trainkit_native.tkb_options_set_device(h, (int)d));
  public TrainerOptions CudaDevice(int index) => Set(h => trainkit_native.tkb_options_set_cuda_device(h, index));
  public TrainerOptions BatchHint(long rows) => Set(h => trainkit_native.tkb_options_set_batch_hint(h, rows));
}

public sealed class Dataset : NativeObject {
  Dataset(long address) : base(address, trainkit_native.tkb_dataset_destroy) {}
  public static Dataset LoadIdx(string images, string labels) =>
      new Dataset(trainkit_native.tkb_dataset_load_idx(images, labels));
  public long Size {
    get {
      long size = Use(trainkit_native.tkb_dataset_size);
      Check.Last();
      return size;
    }
  }
  public unsafe (double Mean, double Std) Stats() {
    var result = new double[2];
    fixed (double* out2 = result) {
      IntPtr op = (IntPtr)out2;
      UseChecked(h => trainkit_native.tkb_dataset_stats(h, op));
    }
    return (result[0], result[1]);
  }
  public void Standardize(double mean, double std) =>
      UseChecked(h => trainkit_native.tkb_dataset_normalize(h, 1, mean, std));
}

public sealed class Batcher : NativeObject {
  internal readonly Dataset Dataset;  // kept alive: the batcher reads it
  public Batcher(Dataset dataset, long batchSize, bool shuffle, long seed, bool dropLast)
      : base(Create(dataset, batchSize, shuffle, seed, dropLast), trainkit_native.tkb_batcher_destroy) {
    Dataset = dataset;
  }

  static long Create(Dataset dataset, long batchSize, bool shuffle, long seed, bool dropLast) {
    using (var d = dataset.Hold())
      return trainkit_native.tkb_batcher_create(d.Address, batchSize, shuffle ? 1 : 0, seed, dropLast ? 1 : 0);
  }
  public void Reset(long epoch) => UseChecked(h => trainkit_native.tkb_batcher_reset(h, epoch));
}

/// <summary>Trains a compiled copy of a model. Not for use from two threads at once.</summary>
public sealed class Trainer : NativeObject {
  /// <summary>CUDA GPUs a trainer can use (0 without the CUDA plugin, a driver or a GPU).</summary>
  public static int GpuCount() {
    int count = trainkit_native.tkb_gpu_count();
    if (count < 0) Check.Last();
    return count;
  }

  public Trainer(Model model, Loss loss, TrainerOptions options = null)
      : base(Create(model, loss, options), trainkit_native.tkb_trainer_destroy) {}

  static long Create(Model model, Loss loss, TrainerOptions options) {
    using (var m = model.Hold()) {
      Held? o = HoldOrNull(options);
      try {
        return trainkit_native.tkb_trainer_create(m.Address, (int)loss, o.HasValue ? o.Value.Address : 0);
      } finally {
        o?.Dispose();
      }
    }
  }

  static long Count(long[] shape) {
    long n = 1;
    foreach (long d in shape) n *= d;
    return n;
  }

  static void Fits(int length, long[] shape, string what) {
    if (Count(shape) != length)
      throw new TrainKitException(3, $"{what} holds {length} values, the shape describes {Count(shape)}");
  }

  /// <summary>One step on class-index targets; returns the batch loss.</summary>
  public double Step(ReadOnlySpan<float> inputs, long[] inputShape, ReadOnlySpan<int> labels) =>
      Step<int>(inputs, inputShape, labels, DType.I32, new long[] { labels.Length });

  public double Step(float[] inputs, long[] inputShape, int[] labels) =>
      Step(new ReadOnlySpan<float>(inputs), inputShape, new ReadOnlySpan<int>(labels));

  /// <summary>One step on float targets (MSE, BCE).</summary>
  public double Step(float[] inputs, long[] inputShape, float[] targets, long[] targetShape) =>
      Step<float>(inputs, inputShape, targets, DType.F32, targetShape);

  unsafe double Step<T>(ReadOnlySpan<float> inputs, long[] inputShape, ReadOnlySpan<T> targets, DType targetType,
                        long[] targetShape) where T : struct {
    Fits(inputs.Length, inputShape, "inputs");
    Fits(targets.Length, targetShape, "targets");
    ReadOnlySpan<byte> targetBytes = MemoryMarshal.AsBytes(targets);
    fixed (float* x = &MemoryMarshal.GetReference(inputs))
    fixed (byte* y = &MemoryMarshal.GetReference(targetBytes))
    fixed (long* xs = inputShape)
    fixed (long* ys = targetShape) {
      IntPtr xp = (IntPtr)x, yp = (IntPtr)y, xsp = (IntPtr)xs, ysp = (IntPtr)ys;
      double loss = Use(h => trainkit_native.tkb_trainer_step(h, xp, (int)DType.F32, inputShape.Length, xsp, yp,
                                                              (int)targetType, targetShape.Length, ysp));
      Check.Last();
      return loss;
    }
  }

  /// <summary>Steps on the batcher's next batch; false at the end of the epoch.</summary>
  public unsafe bool StepNext(Batcher batcher, out double loss) {
    var value = new double[1];
    int result;
    fixed (double* vp = value)
    using (var b = batcher.Hold()) {
      IntPtr p = (IntPtr)vp;
      long address = b.Address;
      result = Use(h => trainkit_native.tkb_trainer_step_next(h, address, p));
    }
    Check.Last();
    loss = result == 1 ? value[0] : double.NaN;
    return result == 1;
  }

  public unsafe Evaluation Evaluate(float[] inputs, long[] inputShape, int[] labels) {
    Fits(inputs.Length, inputShape, "inputs");
    var result = new double[2];
    long[] labelShape = { labels.Length };
    fixed (double* out2 = result)
    fixed (float* x = inputs)
    fixed (int* y = labels)
    fixed (long* xs = inputShape)
    fixed (long* ys = labelShape) {
      IntPtr xp = (IntPtr)x, yp = (IntPtr)y, xsp = (IntPtr)xs, ysp = (IntPtr)ys, op = (IntPtr)out2;
      UseChecked(h => trainkit_native.tkb_trainer_evaluate(h, xp, (int)DType.F32, inputShape.Length, xsp, yp,
                                                           (int)DType.I32, 1, ysp, op));
    }
    return new Evaluation { Loss = result[0], Accuracy = result[1] };
  }

  public unsafe Evaluation Evaluate(Dataset dataset, long batchSize) {
    var result = new double[2];
    fixed (double* out2 = result)
    using (var d = dataset.Hold()) {
      IntPtr op = (IntPtr)out2;
      long address = d.Address;
      UseChecked(h => trainkit_native.tkb_trainer_evaluate_dataset(h, address, batchSize, op));
    }
    return new Evaluation { Loss = result[0], Accuracy = result[1] };
  }

  /// <summary>Outputs [batch, outputsPerSample], flat: logits or probabilities.</summary>
  public unsafe float[] Predict(float[] inputs, long[] inputShape, long outputsPerSample, bool probabilities) {
    Fits(inputs.Length, inputShape, "inputs");
    var result = new float[inputShape[0] * outputsPerSample];
    long[] outShape = { inputShape[0], outputsPerSample };
    fixed (float* x = inputs)
    fixed (float* o = result)
    fixed (long* xs = inputShape)
    fixed (long* os = outShape) {
      IntPtr xp = (IntPtr)x, op = (IntPtr)o, xsp = (IntPtr)xs, osp = (IntPtr)os;
      UseChecked(h => trainkit_native.tkb_trainer_predict(h, xp, (int)DType.F32, inputShape.Length, xsp,
                                                          probabilities ? 1 : 0, op, (int)DType.F32, 2, osp));
    }
    return result;
  }

  public long StepCount {
    get {
      long steps = Use(trainkit_native.tkb_trainer_step_count);
      Check.Last();
      return steps;
    }
  }

  public unsafe float[] Parameters() {
    long count = Use(trainkit_native.tkb_trainer_num_parameters);
    Check.Last();
    var values = new float[count];
    fixed (float* p = values) {
      IntPtr pp = (IntPtr)p;
      UseChecked(h => trainkit_native.tkb_trainer_copy_parameters(h, pp, count));
    }
    return values;
  }

  public void Save(string path, Batcher cursor = null) {
    Held? c = HoldOrNull(cursor);
    try {
      long address = c.HasValue ? c.Value.Address : 0;
      UseChecked(h => trainkit_native.tkb_trainer_save(h, path, address));
    } finally {
      c?.Dispose();
    }
  }
  public void Load(string path, Batcher cursor = null) {
    Held? c = HoldOrNull(cursor);
    try {
      long address = c.HasValue ? c.Value.Address : 0;
      UseChecked(h => trainkit_native.tkb_trainer_load(h, path, address));
    } finally {
      c?.Dispose();
    }
  }
  public void ExportWeights(string path, DType dtype) =>
      UseChecked(h => trainkit_native.tkb_trainer_export_weights(h, path, (int)dtype));
  public void ImportWeights(string path) => UseChecked(h => trainkit_native.tkb_trainer_import_weights(h, path));
}

}  // namespace TrainKit
