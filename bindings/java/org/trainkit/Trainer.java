package org.trainkit;

import java.lang.ref.Reference;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import org.trainkit.internal.trainkit_native;

/**
 * Trains a compiled copy of a model. Batches come from Java arrays (copied
 * into a reused direct buffer) or from direct NIO buffers (zero-copy).
 * Not for use from two threads at once.
 */
public final class Trainer extends NativeObject {
  // Reused across calls (allocated on first use, grown when needed), so a
  // step creates no direct buffers.
  private ByteBuffer staging = Native.direct(0);
  private ByteBuffer labelStaging = Native.direct(0);
  private final java.nio.LongBuffer inputShape = Native.shape(new long[8]);
  private final java.nio.LongBuffer targetShape = Native.shape(new long[8]);

  private static java.nio.LongBuffer fill(java.nio.LongBuffer buffer, long[] shape) {
    if (shape.length > 8) throw new TrainKitException(1, "a shape has at most 8 extents, got " + shape.length);
    buffer.clear();
    buffer.put(shape).flip();
    return buffer;
  }

  /** CUDA GPUs a trainer can use (0 without the CUDA plugin, a driver or a GPU). */
  public static int gpuCount() {
    int count = trainkit_native.tkb_gpu_count();
    if (count < 0) Native.check(trainkit_native.tkb_last_status());
    return count;
  }

  public Trainer(Model model, Loss loss, TrainerOptions options) {
    super(create(model, loss, options), trainkit_native::tkb_trainer_destroy);
  }

  private static long create(Model model, Loss loss, TrainerOptions options) {
    long handle = trainkit_native.tkb_trainer_create(model.handle(), loss.value, options == null ? 0 : options.handle());
    Reference.reachabilityFence(model);
    Reference.reachabilityFence(options);
    return handle;
  }

  private static long product(long[] shape) {
    long count = 1;
    for (long extent : shape) count *= extent;
    return count;
  }

  private FloatBuffer stage(float[] values) {
    if (staging.capacity() < 4 * values.length) staging = Native.direct(4 * values.length);
    FloatBuffer view = staging.clear().asFloatBuffer();
    view.put(values).flip();
    return view;
  }

  private IntBuffer stageLabels(int[] values) {
    if (labelStaging.capacity() < 4 * values.length) labelStaging = Native.direct(4 * values.length);
    IntBuffer view = labelStaging.clear().asIntBuffer();
    view.put(values).flip();
    return view;
  }

  /** One step on class-index targets; returns the batch loss. */
  public double step(float[] inputs, long[] inputShape, int[] labels) {
    checkCount(inputs.length, inputShape);
    return step(stage(inputs), inputShape, stageLabels(labels), DType.I32, new long[] {labels.length});
  }

  /** One step on float targets (MSE, BCE); returns the batch loss. */
  public double step(float[] inputs, long[] inputShape, float[] targets, long[] targetShape) {
    checkCount(inputs.length, inputShape);
    FloatBuffer x = stage(inputs);
    FloatBuffer y = FloatBuffer.wrap(targets);
    ByteBuffer direct = Native.direct(4 * targets.length);
    direct.asFloatBuffer().put(y);
    return step(x, inputShape, direct, DType.F32, targetShape);
  }

  /** Zero-copy: direct buffers of f32 inputs and of targets (dtype per the loss). */
  public double step(Buffer inputs, long[] inputShape, Buffer targets, DType targetType, long[] targetShape) {
    checkCapacity(inputs, 4 * product(inputShape), "inputs");
    checkCapacity(targets, (targetType == DType.F64 ? 8 : 4) * product(targetShape), "targets");
    double loss = trainkit_native.tkb_trainer_step(handle(), inputs, DType.F32.value, inputShape.length,
        fill(this.inputShape, inputShape), targets, targetType.value, targetShape.length,
        fill(this.targetShape, targetShape));
    Native.check();
    Reference.reachabilityFence(this);
    return loss;
  }

  /** Steps on the batcher's next batch; returns false at the end of the epoch. */
  public boolean stepNext(Batcher batcher, double[] lossOut) {
    ByteBuffer out = Native.direct(8);
    int result = trainkit_native.tkb_trainer_step_next(handle(), batcher.handle(), out);
    Native.check();
    Reference.reachabilityFence(this);
    Reference.reachabilityFence(batcher);
    if (result == 1 && lossOut != null && lossOut.length > 0) lossOut[0] = out.getDouble(0);
    return result == 1;
  }

  public Evaluation evaluate(float[] inputs, long[] inputShape, int[] labels) {
    checkCount(inputs.length, inputShape);
    ByteBuffer out = Native.direct(16);
    Native.check(trainkit_native.tkb_trainer_evaluate(handle(), stage(inputs), DType.F32.value, inputShape.length,
        Native.shape(inputShape), stageLabels(labels), DType.I32.value, 1, Native.shape(labels.length), out));
    Reference.reachabilityFence(this);
    return new Evaluation(out.getDouble(0), out.getDouble(8));
  }

  public Evaluation evaluate(Dataset dataset, long batchSize) {
    ByteBuffer out = Native.direct(16);
    Native.check(trainkit_native.tkb_trainer_evaluate_dataset(handle(), dataset.handle(), batchSize, out));
    Reference.reachabilityFence(this);
    Reference.reachabilityFence(dataset);
    return new Evaluation(out.getDouble(0), out.getDouble(8));
  }

  /** Outputs [batch, outputs...] as a flat array: logits, or probabilities. */
  public float[] predict(float[] inputs, long[] inputShape, long outputsPerSample, boolean probabilities) {
    checkCount(inputs.length, inputShape);
    long rows = inputShape[0];
    ByteBuffer out = Native.direct(bytes(4 * rows * outputsPerSample));
    Native.check(trainkit_native.tkb_trainer_predict(handle(), stage(inputs), DType.F32.value, inputShape.length,
        Native.shape(inputShape), probabilities ? 1 : 0, out, DType.F32.value, 2,
        Native.shape(rows, outputsPerSample)));
    Reference.reachabilityFence(this);
    float[] result = new float[(int) (rows * outputsPerSample)];
    out.asFloatBuffer().get(result);
    return result;
  }

  public long stepCount() {
    long steps = trainkit_native.tkb_trainer_step_count(handle());
    Native.check();
    Reference.reachabilityFence(this);
    return steps;
  }

  /** All parameters as one array, in tensor order. */
  public float[] parameters() {
    long count = trainkit_native.tkb_trainer_num_parameters(handle());
    Native.check();
    ByteBuffer out = Native.direct(bytes(4 * count));
    Native.check(trainkit_native.tkb_trainer_copy_parameters(handle(), out, count));
    Reference.reachabilityFence(this);
    float[] values = new float[(int) count];
    out.asFloatBuffer().get(values);
    return values;
  }

  /** Saves a checkpoint (atomically), with the batcher's position if given. */
  public void save(String path, Batcher cursor) {
    Native.check(trainkit_native.tkb_trainer_save(handle(), path, cursor == null ? 0 : cursor.handle()));
    Reference.reachabilityFence(this);
    Reference.reachabilityFence(cursor);
  }

  /** Restores a checkpoint (all-or-nothing), and the batcher's position if given. */
  public void load(String path, Batcher cursor) {
    Native.check(trainkit_native.tkb_trainer_load(handle(), path, cursor == null ? 0 : cursor.handle()));
    Reference.reachabilityFence(this);
    Reference.reachabilityFence(cursor);
  }

  public void exportWeights(String path, DType dtype) {
    Native.check(trainkit_native.tkb_trainer_export_weights(handle(), path, dtype.value));
    Reference.reachabilityFence(this);
  }

  public void importWeights(String path) {
    Native.check(trainkit_native.tkb_trainer_import_weights(handle(), path));
    Reference.reachabilityFence(this);
  }

  /** The native side reads from the buffer's start; it must hold the whole shape. */
  private static void checkCapacity(Buffer buffer, long bytes, String what) {
    if (buffer == null || !buffer.isDirect())
      throw new TrainKitException(2, what + " must be a direct buffer (ByteBuffer.allocateDirect)");
    long capacity = buffer.capacity();
    if (buffer instanceof FloatBuffer || buffer instanceof IntBuffer) capacity *= 4;
    else if (buffer instanceof java.nio.ShortBuffer || buffer instanceof java.nio.CharBuffer) capacity *= 2;
    else if (!(buffer instanceof ByteBuffer)) capacity *= 8;  // LongBuffer, DoubleBuffer
    if (capacity < bytes)
      throw new TrainKitException(3, what + " holds " + capacity + " bytes, the shape needs " + bytes);
  }

  /** Java buffers hold at most 2 GiB: larger results cannot be returned as arrays. */
  private static int bytes(long bytes) {
    if (bytes > Integer.MAX_VALUE - 8)
      throw new TrainKitException(5, "a result of " + bytes + " bytes does not fit a Java array");
    return (int) bytes;
  }

  private static void checkCount(int length, long[] shape) {
    if (product(shape) != length)
      throw new TrainKitException(3, "the array holds " + length + " values, the shape describes " + product(shape));
  }
}
