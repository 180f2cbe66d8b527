// Inputs: one batch for a model of several inputs (token ids, masks,
// features), a view per model input in the order the model added them.
// Arrays are pinned while set, never copied, so a step allocates nothing.
using System;
using System.Runtime.InteropServices;

namespace TrainKit {

/// <summary>One model input: its name, whether it takes int32 indices (token ids) or floats,
/// and its per-sample shape (without the batch dimension).</summary>
public sealed class InputInfo {
  /// <summary>The name the model gave the input.</summary>
  public string Name { get; }
  /// <summary>True for int32 indices (token ids, categories), false for floats.</summary>
  public bool Indices { get; }
  /// <summary>The shape of one sample.</summary>
  public long[] Shape { get; }

  internal InputInfo(string name, bool indices, long[] shape) {
    Name = name;
    Indices = indices;
    Shape = shape;
  }

  internal delegate Status Source(int index, byte[] name, out int indices, out int rank, long[] shape);

  internal static InputInfo[] Read(int count, Source source) {
    var infos = new InputInfo[count];
    for (int i = 0; i < count; ++i) {
      var name = new byte[256];
      var shape = new long[TrainKitC.TK_MAX_RANK];
      Interop.Check(source(i, name, out int indices, out int rank, shape));
      Array.Resize(ref shape, rank);
      infos[i] = new InputInfo(Interop.Text(name), indices != 0, shape);
    }
    return infos;
  }

  /// <summary>"name (int32 indices) [6]".</summary>
  public override string ToString() => $"{Name} ({(Indices ? "int32 indices" : "floats")}) {Interop.Format(Shape)}";
}

/// <summary>The views of one batch for a model of several inputs, all with the same batch. An
/// array given to <see cref="Set(int, int[], long[])"/> stays pinned (read in place) until the
/// input is set again or the object is disposed; memory given by address must outlive the calls
/// that read it. Reused across steps; not for use from two threads at once.</summary>
public sealed class Inputs : IDisposable {
  static Inputs() => NativeLoader.Load();

  readonly TensorViewArray views;
  readonly TensorView staged = new TensorView();
  readonly GCHandle[] pins;
  readonly bool[] set;
  bool disposed;

  /// <summary>Views for a model of <paramref name="count"/> inputs (1 to 1024).</summary>
  public Inputs(int count) {
    if (count < 1 || count > 1024)
      throw new TrainKitException(Status.ErrorInvalidArgument, $"a model takes 1 to 1024 inputs, not {count}");
    views = new TensorViewArray(count);
    pins = new GCHandle[count];
    set = new bool[count];
  }

  /// <summary>How many inputs these views are for.</summary>
  public int Count => set.Length;

  void Check(int index) {
    if (disposed) throw new ObjectDisposedException(nameof(Inputs));
    if (index < 0 || index >= set.Length)
      throw new ArgumentOutOfRangeException(nameof(index), $"input {index} is outside [0, {set.Length})");
  }

  Inputs Store(int index, IntPtr data, DType dtype, long[] shape) {
    staged.reset(data, dtype, shape.Length, shape);
    views.setitem(index, staged);
    set[index] = true;
    return this;
  }

  Inputs Pin(int index, Array values, DType dtype, long[] shape) {
    Check(index);
    Interop.NotNull(values, nameof(values));
    Interop.Fits(shape, values.Length, $"input {index}", nameof(shape));
    Unpin(index);
    pins[index] = GCHandle.Alloc(values, GCHandleType.Pinned);
    return Store(index, pins[index].AddrOfPinnedObject(), dtype, shape);
  }

  void Unpin(int index) {
    if (pins[index].IsAllocated) pins[index].Free();
  }

  /// <summary>Input <paramref name="index"/> as int32 indices (token ids) of
  /// <paramref name="shape"/> [batch, per-sample shape].</summary>
  public Inputs Set(int index, int[] values, params long[] shape) => Pin(index, values, DType.I32, shape);

  /// <summary>Input <paramref name="index"/> as f32 values of <paramref name="shape"/>.</summary>
  public Inputs Set(int index, float[] values, params long[] shape) => Pin(index, values, DType.F32, shape);

  /// <summary>Input <paramref name="index"/> read in place from memory the caller keeps
  /// (pinned or native) of <paramref name="dtype"/> and <paramref name="shape"/>.</summary>
  public Inputs Set(int index, IntPtr data, DType dtype, params long[] shape) {
    Check(index);
    Interop.NotNull(shape, nameof(shape));
    if (data == IntPtr.Zero) throw new ArgumentNullException(nameof(data));
    Unpin(index);
    return Store(index, data, dtype, shape);
  }

  // The array as the C API takes it; every input must have been set.
  internal TensorView First() {
    if (disposed) throw new ObjectDisposedException(nameof(Inputs));
    for (int i = 0; i < set.Length; ++i)
      if (!set[i]) throw new InvalidOperationException($"input {i} of {set.Length} is not set");
    return views.cast();
  }

  /// <summary>Unpins the arrays and frees the native views (once).</summary>
  public void Dispose() {
    if (disposed) return;
    disposed = true;
    for (int i = 0; i < pins.Length; ++i) Unpin(i);
    views.Dispose();
    staged.Dispose();
  }
}

}  // namespace TrainKit
