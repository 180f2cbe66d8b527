// StreamBatcher: batches a delegate produces on a background thread while
// training runs, for data that never sits in memory whole.
using System;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace TrainKit {

/// <summary>One batch of a <see cref="StreamBatcher"/>: f32 features [rows, sample shape] with class
/// labels [rows] or f32 targets [rows, target shape].</summary>
public sealed class StreamBatch {
  internal readonly float[] Features;
  internal readonly int[] Labels;
  internal readonly float[] Targets;

  StreamBatch(float[] features, int[] labels, float[] targets) {
    Features = features ?? throw new ArgumentNullException(nameof(features));
    Labels = labels;
    Targets = targets;
  }

  /// <summary>Features and class labels.</summary>
  public static StreamBatch OfLabels(float[] features, int[] labels) =>
      new StreamBatch(features, labels ?? throw new ArgumentNullException(nameof(labels)), null);

  /// <summary>Features and f32 targets (MSE, BCE).</summary>
  public static StreamBatch OfTargets(float[] features, float[] targets) =>
      new StreamBatch(features, null, targets ?? throw new ArgumentNullException(nameof(targets)));
}

/// <summary>Batches that a fill delegate produces on a background thread while training runs: it
/// returns batch <c>batch</c> of epoch <c>epoch</c>, or null when the epoch has ended. Only
/// <c>prefetch</c> batches are produced ahead. After a reset or a checkpoint load the fill is asked
/// for the batch to go on from, so a fill that can seek resumes exactly. An exception thrown by the
/// fill ends a fit once the batches before it are trained, and comes out of
/// <see cref="Trainer.Fit"/>. Dispose stops the thread after its current fill, never waiting for it:
/// the batcher and the thread hold the native stream together and the last to let go frees it, so a
/// fill may dispose its own stream and the finalizer never blocks on a slow fill.</summary>
public sealed class StreamBatcher : Batcher {
  // Owns the thread and what the fill threw; the handle's destroy delegate
  // is its own, so it never references the StreamBatcher.
  sealed class Producer {
    readonly Func<long, long, StreamBatch> fill;
    readonly long[] sampleShape, targetShape;  // targetShape null: class labels
    internal readonly SWIGTYPE_p_tk_batcher Native;
    internal readonly Thread Thread;
    internal volatile Exception Error;
    int holders = 2;  // the StreamBatcher and the thread

    internal Producer(Func<long, long, StreamBatch> fill, long[] sampleShape, long batchSize, long[] targetShape,
                      int prefetch, long batchesPerEpoch) {
      this.fill = fill ?? throw new ArgumentNullException(nameof(fill));
      this.sampleShape = (long[])(sampleShape ?? throw new ArgumentNullException(nameof(sampleShape))).Clone();
      this.targetShape = (long[])targetShape?.Clone();
      long[] targets = this.targetShape ?? new long[0];
      Interop.Check(TrainKitC.tk_batcher_create_stream(this.sampleShape.Length, this.sampleShape,
          targetShape == null ? DType.I32 : DType.F32, targets.Length, targets, batchSize, prefetch, batchesPerEpoch,
          null, IntPtr.Zero, out Native));
      Thread = new Thread(Run) { IsBackground = true, Name = "trainkit-stream" };
    }

    void Run() {
      using (var slotFeatures = new TensorView())
      using (var slotTargets = new TensorView())
      using (var features = new TensorView())
      using (var targets = new TensorView()) {
        try {
          while (true) {
            Interop.Check(TrainKitC.tk_batcher_stream_request(Native, out long epoch, out long batch, slotFeatures,
                                                              slotTargets, out int open));
            if (open == 0) return;
            StreamBatch produced = fill(epoch, batch);
            if (produced == null)
              Interop.Check(TrainKitC.tk_batcher_stream_supply_copy(Native, null, null));
            else
              Supply(produced, features, targets);
          }
        } catch (Exception e) {
          Error = e;
          TrainKitC.tk_batcher_stream_fail(Native, e.GetType().Name + ": " + e.Message);
        } finally {
          Release();
        }
      }
    }

    unsafe void Supply(StreamBatch b, TensorView features, TensorView targets) {
      long sample = Interop.Count(sampleShape);
      if (sample <= 0 || b.Features.Length % sample != 0)
        throw new TrainKitException(Status.ErrorShapeMismatch, "a batch's " + b.Features.Length +
                                    " features are not whole samples of " + Interop.Format(sampleShape));
      var featureShape = new long[sampleShape.Length + 1];
      featureShape[0] = b.Features.Length / sample;
      Array.Copy(sampleShape, 0, featureShape, 1, sampleShape.Length);
      long[] shape;
      if (targetShape == null) {
        if (b.Labels == null) throw new ArgumentException("this stream takes class labels (StreamBatch.OfLabels)");
        shape = new long[] { b.Labels.Length };
      } else {
        if (b.Targets == null) throw new ArgumentException("this stream takes f32 targets (StreamBatch.OfTargets)");
        long perRow = Interop.Count(targetShape);
        shape = new long[targetShape.Length + 1];
        shape[0] = perRow <= 0 ? 0 : b.Targets.Length / perRow;
        Array.Copy(targetShape, 0, shape, 1, targetShape.Length);
      }
      // Pinned for the call, which copies them into the stream's slot.
      fixed (float* x = b.Features)
      fixed (int* labels = b.Labels)
      fixed (float* values = b.Targets) {
        features.reset((IntPtr)x, DType.F32, featureShape.Length, featureShape);
        if (targetShape == null)
          targets.reset((IntPtr)labels, DType.I32, shape.Length, shape);
        else
          targets.reset((IntPtr)values, DType.F32, shape.Length, shape);
        Interop.Check(TrainKitC.tk_batcher_stream_supply_copy(Native, features, targets));
      }
    }

    // The StreamBatcher lets go: the stream closes, and the thread frees it
    // if it has not yet ended.
    internal void Destroy(IntPtr address) {
      TrainKitC.tk_batcher_stream_close(Native);
      Release();
    }

    void Release() {
      if (Interlocked.Decrement(ref holders) == 0) TrainKitC.tk_batcher_destroy(Native);
    }
  }

  readonly Producer producer;

  /// <summary>A stream of batches of at most <paramref name="batchSize"/> samples of
  /// <paramref name="sampleShape"/>.</summary>
  /// <param name="fill">Returns batch (epoch, batch), or null when the epoch has ended.</param>
  /// <param name="sampleShape">One sample's feature shape.</param>
  /// <param name="batchSize">Rows a batch holds at most.</param>
  /// <param name="targetShape">Null for class labels, else one sample's f32 target shape.</param>
  /// <param name="prefetch">Batches produced ahead (1 to 64).</param>
  /// <param name="batchesPerEpoch">Batches an epoch holds, for progress (0: unknown).</param>
  public StreamBatcher(Func<long, long, StreamBatch> fill, long[] sampleShape, long batchSize, long[] targetShape = null,
                       int prefetch = 2, long batchesPerEpoch = 0)
      : this(new Producer(fill, sampleShape, batchSize, targetShape, prefetch, batchesPerEpoch)) {}

  StreamBatcher(Producer producer) : base(producer.Native, producer.Destroy) {
    this.producer = producer;
    producer.Thread.Start();
  }

  /// <summary>What the fill threw, or null.</summary>
  public Exception Error => producer.Error;

  // A fill's exception in place of the stream's status, with its own stack.
  internal void RethrowFillError(TrainKitException failure) {
    Exception error = producer.Error;
    if (error != null && failure.Status == Status.ErrorIo) ExceptionDispatchInfo.Capture(error).Throw();
  }
}

}  // namespace TrainKit
