package org.trainkit;

import java.nio.Buffer;
import java.util.Objects;

/**
 * One batch for a model of several inputs: a view per model input, in the order the model added them
 * (token ids as int32, masks and features as f32), all with the same batch. Each is set from a Java array,
 * copied into native memory this object owns, or from a direct buffer, read in place (keep it alive and
 * unchanged until the call that uses it returns). Reused across steps, so a step allocates nothing; not
 * for use from two threads at once.
 */
public final class Inputs extends NativeObject<Inputs.Native> {
  /** The native views and staging memory; freed with the Inputs, so it must not reference it. */
  static final class Native {
    final TensorViewArray views;
    final TensorView staged = new TensorView();
    final Support.HostBuffer[] buffers;

    Native(int count) {
      views = new TensorViewArray(count);
      buffers = new Support.HostBuffer[count];
      for (int i = 0; i < count; ++i) buffers[i] = new Support.HostBuffer();
    }

    void free() {
      views.delete();
      staged.delete();
      for (Support.HostBuffer buffer : buffers) buffer.free();
    }
  }

  private final int count;
  private final Buffer[] direct;
  private final boolean[] set;

  /** Views for a model of {@code count} inputs (1 to 1024). */
  public Inputs(int count) {
    super(allocate(count), Native::free);
    this.count = count;
    direct = new Buffer[count];
    set = new boolean[count];
  }

  private static Native allocate(int count) {
    if (count < 1 || count > 1024)
      throw new TrainKitException(Status.ERROR_INVALID_ARGUMENT, "a model takes 1 to 1024 inputs, not " + count);
    return new Native(count);
  }

  /** How many inputs these views are for. */
  public int count() {
    return count;
  }

  private int checked(int index) {
    if (index < 0 || index >= count)
      throw new IndexOutOfBoundsException("input " + index + " is outside [0, " + count + ")");
    return index;
  }

  private Inputs store(int index, Buffer data, DType dtype, long[] shape) {
    Native views = handle();
    views.staged.reset(data, dtype, shape);
    views.views.setitem(index, views.staged);
    set[index] = true;
    return this;
  }

  /** Input {@code index} as int32 indices (token ids) of {@code shape} ([batch, per-sample shape]), copied. */
  public Inputs set(int index, int[] values, long... shape) {
    Objects.requireNonNull(values, "values");
    Support.checkCount(values.length, shape, "input " + checked(index));
    direct[index] = null;
    return store(index, handle().buffers[index].put(values), DType.I32, shape);
  }

  /** Input {@code index} as f32 values of {@code shape} ([batch, per-sample shape]), copied. */
  public Inputs set(int index, float[] values, long... shape) {
    Objects.requireNonNull(values, "values");
    Support.checkCount(values.length, shape, "input " + checked(index));
    direct[index] = null;
    return store(index, handle().buffers[index].put(values), DType.F32, shape);
  }

  /** Zero-copy: input {@code index} read in place from a direct buffer of {@code dtype} and {@code shape}. */
  public Inputs set(int index, Buffer data, DType dtype, long... shape) {
    Support.checkBuffer(data, dtype, shape, "input " + checked(index));
    direct[index] = data;
    return store(index, data, dtype, shape);
  }

  /** The first view of the array, as the C API takes it; every input must have been set. */
  TensorView first() {
    for (int i = 0; i < count; ++i)
      if (!set[i]) throw new IllegalStateException("input " + i + " of " + count + " is not set");
    return handle().views.cast();
  }

  /** Keeps this object and its direct buffers reachable until a native call that reads them returns. */
  void fence() {
    java.lang.ref.Reference.reachabilityFence(direct);
    java.lang.ref.Reference.reachabilityFence(this);
  }
}
