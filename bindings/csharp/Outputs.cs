// A model's outputs (the loss's first, then those added with tk_model_add_output)
// and their predictions from one forward.
using System;
using System.Runtime.InteropServices;

namespace TrainKit {

/// <summary>One model output: its name and per-sample shape. Output 0 is the one the loss reads.</summary>
public sealed class OutputInfo {
  /// <summary>The name the model gave the output.</summary>
  public string Name { get; }
  /// <summary>The shape of one sample.</summary>
  public long[] Shape { get; }

  internal OutputInfo(string name, long[] shape) {
    Name = name;
    Shape = shape;
  }

  internal delegate Status Source(int index, byte[] name, out int rank, long[] shape);

  internal static OutputInfo[] Read(int count, Source source) {
    var infos = new OutputInfo[count];
    for (int i = 0; i < count; ++i) {
      var name = new byte[256];
      var shape = new long[TrainKitC.TK_MAX_RANK];
      Interop.Check(source(i, name, out int rank, shape));
      Array.Resize(ref shape, rank);
      infos[i] = new OutputInfo(Interop.Text(name), shape);
    }
    return infos;
  }

  internal delegate Status Call(int count, TensorView views);

  /// <summary>Every output for <paramref name="rows"/> samples, in output order: new arrays [rows, shape],
  /// pinned while the call writes them.</summary>
  internal static float[][] Predict(OutputInfo[] outputs, long rows, Call call) {
    var views = new TensorViewArray(outputs.Length);
    var view = new TensorView();
    var pins = new GCHandle[outputs.Length];
    var results = new float[outputs.Length][];
    try {
      for (int i = 0; i < outputs.Length; ++i) {
        var shape = new long[outputs[i].Shape.Length + 1];
        shape[0] = rows;
        Array.Copy(outputs[i].Shape, 0, shape, 1, outputs[i].Shape.Length);
        long count = 1;
        foreach (long extent in shape) count = checked(count * extent);
        if (rows < 1 || count > int.MaxValue)
          throw new TrainKitException(Status.ErrorInvalidArgument,
                                      $"output '{outputs[i].Name}' for {rows} rows does not fit an array");
        results[i] = new float[count];
        pins[i] = GCHandle.Alloc(results[i], GCHandleType.Pinned);
        view.reset(pins[i].AddrOfPinnedObject(), DType.F32, shape.Length, shape);
        views.setitem(i, view);
      }
      Interop.Check(call(outputs.Length, views.cast()));
      return results;
    } finally {
      foreach (GCHandle pin in pins)
        if (pin.IsAllocated) pin.Free();
      views.Dispose();
      view.Dispose();
    }
  }

  /// <summary>"name [shape]".</summary>
  public override string ToString() => $"{Name} {Interop.Format(Shape)}";
}

}  // namespace TrainKit
