package org.trainkit;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Batches that a {@link Fill} produces on a background thread while training runs, for data that never sits
 * in memory whole (files read in pieces, a database, a generator). Only {@code prefetch} batches are produced
 * ahead. After a reset or a checkpoint load the fill is asked for the batch to go on from, so a fill that can
 * seek resumes exactly. An exception thrown by the fill ends a fit once the batches before it are trained,
 * and comes out of {@link Trainer#fit}. {@link #close()} stops the thread after its current fill, never
 * waiting for it: the batcher and the thread hold the native stream together, and whichever lets go last frees
 * it, so a fill may close its own stream and the Cleaner never blocks on a slow fill.
 */
public final class StreamBatcher extends Batcher {
  /** Produces batch {@code batch} of {@code epoch}, or returns null when the epoch has ended. */
  @FunctionalInterface
  public interface Fill {
    Batch fill(long epoch, long batch) throws Exception;
  }

  /** One batch: f32 features [rows, sample shape] and class labels [rows] or f32 targets [rows, target shape]. */
  public static final class Batch {
    final float[] features;
    final int[] labels;
    final float[] targets;

    private Batch(float[] features, int[] labels, float[] targets) {
      this.features = Objects.requireNonNull(features, "features");
      this.labels = labels;
      this.targets = targets;
    }

    /** Features and class labels. */
    public static Batch ofLabels(float[] features, int[] labels) {
      return new Batch(features, Objects.requireNonNull(labels, "labels"), null);
    }

    /** Features and f32 targets (MSE, BCE). */
    public static Batch ofTargets(float[] features, float[] targets) {
      return new Batch(features, null, Objects.requireNonNull(targets, "targets"));
    }
  }

  /**
   * The producer: owns the thread, its staging memory and what the fill threw. Shared with the Cleaner, so
   * it must not reference the StreamBatcher. The handle is freed by the last of the two holders to let go.
   */
  private static final class Producer implements Runnable {
    final Fill fill;
    final long[] sampleShape;
    final long[] targetShape;  // null: class labels
    final SWIGTYPE_p_tk_batcher handle;
    final AtomicReference<Throwable> error = new AtomicReference<>();
    private final AtomicInteger holders = new AtomicInteger(2);  // the StreamBatcher and the thread
    final Thread thread = new Thread(this, "trainkit-stream");

    Producer(Fill fill, long[] sampleShape, long batchSize, long[] targetShape, int prefetch, long batchesPerEpoch) {
      this.fill = Objects.requireNonNull(fill, "fill");
      this.sampleShape = Objects.requireNonNull(sampleShape, "sampleShape").clone();
      this.targetShape = targetShape == null ? null : targetShape.clone();
      SWIGTYPE_p_tk_batcher[] out = new SWIGTYPE_p_tk_batcher[1];
      TrainKitException.check(TrainKitC.tk_batcher_create_stream(this.sampleShape,
          targetShape == null ? DType.I32 : DType.F32, targetShape == null ? new long[0] : this.targetShape,
          batchSize, prefetch, batchesPerEpoch, null, null, out));
      handle = out[0];
      thread.setDaemon(true);
    }

    @Override
    public void run() {
      long[] epoch = new long[1], batch = new long[1];
      int[] open = new int[1];
      TensorView slotFeatures = new TensorView(), slotTargets = new TensorView();
      TensorView features = new TensorView(), targets = new TensorView();
      Support.HostBuffer featureBuffer = new Support.HostBuffer(), targetBuffer = new Support.HostBuffer();
      try {
        while (true) {
          TrainKitException.check(TrainKitC.tk_batcher_stream_request(handle, epoch, batch, slotFeatures, slotTargets, open));
          if (open[0] == 0) return;
          Batch produced = fill.fill(epoch[0], batch[0]);
          if (produced == null) {
            TrainKitException.check(TrainKitC.tk_batcher_stream_supply_copy(handle, null, null));
            continue;
          }
          stage(produced, features, targets, featureBuffer, targetBuffer);
          TrainKitException.check(TrainKitC.tk_batcher_stream_supply_copy(handle, features, targets));
        }
      } catch (Throwable e) {  // an Error too: the fit must not wait for batches that never come
        error.set(e);
        TrainKitC.tk_batcher_stream_fail(handle, e.getClass().getSimpleName() + ": " + e.getMessage());
      } finally {
        slotFeatures.delete();
        slotTargets.delete();
        features.delete();
        targets.delete();
        featureBuffer.free();
        targetBuffer.free();
        release();
      }
    }

    private void stage(Batch b, TensorView features, TensorView targets, Support.HostBuffer featureBuffer,
                       Support.HostBuffer targetBuffer) {
      long sample = Support.elements(sampleShape, "the sample shape");
      if (sample == 0 || b.features.length % sample != 0)
        throw new TrainKitException(Status.ERROR_SHAPE_MISMATCH, "a batch's " + b.features.length
            + " features are not whole samples of " + java.util.Arrays.toString(sampleShape));
      long rows = b.features.length / sample;
      long[] featureShape = new long[sampleShape.length + 1];
      featureShape[0] = rows;
      System.arraycopy(sampleShape, 0, featureShape, 1, sampleShape.length);
      features.reset(featureBuffer.put(b.features), DType.F32, featureShape);
      if (targetShape == null) {
        if (b.labels == null) throw new IllegalArgumentException("this stream takes class labels (Batch.ofLabels)");
        targets.reset(targetBuffer.put(b.labels), DType.I32, new long[] {b.labels.length});
      } else {
        if (b.targets == null) throw new IllegalArgumentException("this stream takes f32 targets (Batch.ofTargets)");
        long perRow = Support.elements(targetShape, "the target shape");
        long[] shape = new long[targetShape.length + 1];
        shape[0] = perRow == 0 ? 0 : b.targets.length / perRow;
        System.arraycopy(targetShape, 0, shape, 1, targetShape.length);
        targets.reset(targetBuffer.put(b.targets), DType.F32, shape);
      }
    }

    /** The StreamBatcher lets go: the stream closes, and the thread frees it if it has not yet ended. */
    void destroy(SWIGTYPE_p_tk_batcher h) {
      TrainKitC.tk_batcher_stream_close(h);
      release();
    }

    private void release() {
      if (holders.decrementAndGet() == 0) TrainKitC.tk_batcher_destroy(handle);
    }
  }

  private final Producer producer;

  /**
   * A stream of batches of at most {@code batchSize} samples of {@code sampleShape}, with class labels
   * ({@code targetShape} null) or f32 targets of {@code targetShape}; {@code batchesPerEpoch} (0: unknown)
   * gives progress a total.
   */
  public StreamBatcher(Fill fill, long[] sampleShape, long batchSize, long[] targetShape, int prefetch,
                       long batchesPerEpoch) {
    this(new Producer(fill, sampleShape, batchSize, targetShape, prefetch, batchesPerEpoch));
  }

  /** Class labels, two batches prefetched, the epoch's length unknown. */
  public StreamBatcher(Fill fill, long[] sampleShape, long batchSize) {
    this(fill, sampleShape, batchSize, null, 2, 0);
  }

  private StreamBatcher(Producer producer) {
    super(producer.handle, producer::destroy);
    this.producer = producer;
    producer.thread.start();
  }

  /** What the fill threw, or null. */
  public Throwable error() {
    return producer.error.get();
  }
}
