// Predictor: inference alone (no gradients, no optimizer state), safe to call
// from several threads at once (tk_predictor_*).
using System;
using System.Runtime.InteropServices;

namespace TrainKit {

/// <summary>The weights of a trainer (as they are when made) or of an exported weights file, in f32 on
/// the CPU. <see cref="Predict"/> may be called from several threads at once; each call gets the
/// results it would get alone.</summary>
public sealed class Predictor : NativeObject<SWIGTYPE_p_tk_predictor> {
  static Predictor() => NativeLoader.Load();

  static readonly Action<IntPtr> Destroy =
      address => TrainKitC.tk_predictor_destroy(new SWIGTYPE_p_tk_predictor(address, false));

  Predictor(SWIGTYPE_p_tk_predictor native) : base(native, SWIGTYPE_p_tk_predictor.getCPtr(native).Handle, Destroy) {}

  /// <summary>From the trainer's weights as they are now; <paramref name="threads"/> per call (0: all cores).</summary>
  public static Predictor FromTrainer(Trainer trainer, int threads = 0) {
    Interop.NotNull(trainer, nameof(trainer));
    using (trainer.Lease()) {
      Interop.Check(TrainKitC.tk_predictor_create(trainer.Native, threads, out SWIGTYPE_p_tk_predictor p));
      return new Predictor(p);
    }
  }

  /// <summary>A model (from its spec) with the weights of an exported weights file.</summary>
  public static Predictor Load(Model model, string weightsPath, Loss loss = Loss.SoftmaxCrossEntropy, int threads = 0) {
    Interop.NotNull(model, nameof(model));
    Interop.NotNull(weightsPath, nameof(weightsPath));
    using (model.Lease()) {
      Interop.Check(TrainKitC.tk_predictor_load(model.Native, loss, weightsPath, threads, out SWIGTYPE_p_tk_predictor p));
      return new Predictor(p);
    }
  }

  /// <summary>Outputs [batch, output shape] into <paramref name="outputs"/>: logits, or probabilities.</summary>
  public unsafe void Predict(ReadOnlySpan<float> inputs, long[] inputShape, Span<float> outputs, long[] outputShape,
                             bool probabilities = false) {
    Interop.Fits(inputShape, inputs.Length, "inputs", nameof(inputShape));
    Interop.Fits(outputShape, outputs.Length, "outputs", nameof(outputShape));
    // Views of this call's own: other threads predict at the same time.
    using (Lease())
    using (var inputView = new TensorView())
    using (var outputView = new TensorView())
      fixed (float* x = &MemoryMarshal.GetReference(inputs))
      fixed (float* y = &MemoryMarshal.GetReference(outputs)) {
        inputView.reset((IntPtr)x, DType.F32, inputShape.Length, inputShape);
        outputView.reset((IntPtr)y, DType.F32, outputShape.Length, outputShape);
        Interop.Check(TrainKitC.tk_predictor_predict(Native, inputView, probabilities ? 1 : 0, outputView));
      }
  }

  /// <summary>Writes the outputs of a model of several inputs into <paramref name="outputs"/>; each
  /// thread passes its own <see cref="Inputs"/>.</summary>
  public unsafe void Predict(Inputs inputs, Span<float> outputs, long[] outputShape, bool probabilities = false) {
    Interop.NotNull(inputs, nameof(inputs));
    Interop.Fits(outputShape, outputs.Length, "outputs", nameof(outputShape));
    using (Lease())
    using (var outputView = new TensorView())
      fixed (float* y = &MemoryMarshal.GetReference(outputs)) {
        outputView.reset((IntPtr)y, DType.F32, outputShape.Length, outputShape);
        Interop.Check(TrainKitC.tk_predictor_predict_inputs(Native, inputs.Count, inputs.First(),
                                                            probabilities ? 1 : 0, outputView));
      }
  }

  /// <summary>The model's outputs: the one the loss reads first, then those added with
  /// <see cref="Model.AddOutput"/>.</summary>
  public OutputInfo[] OutputInfos {
    get {
      using (Lease()) {
        Interop.Check(TrainKitC.tk_predictor_output_count(Native, out int count));
        return OutputInfo.Read(count, (int i, byte[] name, out int rank, long[] shape) =>
            TrainKitC.tk_predictor_output_info(Native, i, name, (ulong)name.Length, out rank, shape));
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
          TrainKitC.tk_predictor_predict_outputs(Native, inputs.Count, inputs.First(), probabilities ? 1 : 0, count, views));
  }

  /// <summary>The model's inputs, in the order <see cref="Inputs"/> takes them.</summary>
  public InputInfo[] InputInfos {
    get {
      using (Lease()) {
        Interop.Check(TrainKitC.tk_predictor_input_count(Native, out int count));
        return InputInfo.Read(count, (int i, byte[] name, out int indices, out int rank, long[] shape) =>
            TrainKitC.tk_predictor_input_info(Native, i, name, (ulong)name.Length, out indices, out rank, shape));
      }
    }
  }

  /// <summary>Bytes held: weights, state and the activation arenas made so far.</summary>
  public long Memory {
    get {
      using (Lease()) {
        Interop.Check(TrainKitC.tk_predictor_memory(Native, out long bytes));
        return bytes;
      }
    }
  }
}

}  // namespace TrainKit
