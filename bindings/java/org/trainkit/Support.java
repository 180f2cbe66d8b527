package org.trainkit;

import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Checks the thin layer makes before memory reaches native code (a view must never describe more bytes
 * than its buffer holds), and C strings out of byte arrays.
 */
final class Support {
  private Support() {}

  /** Bytes of one element of a dtype. */
  static int elementBytes(DType dtype) {
    switch (dtype) {
      case F64:
        return 8;
      case F16:
      case BF16:
        return 2;
      case U8:
        return 1;
      default:
        return 4;
    }
  }

  /** The element count of a shape; negative extents and overflow are refused. */
  static long elements(long[] shape, String what) {
    Objects.requireNonNull(shape, what);
    long count = 1;
    for (long extent : shape) {
      if (extent < 0)
        throw new TrainKitException(Status.ERROR_SHAPE_MISMATCH, what + " has a negative extent " + extent);
      try {
        count = Math.multiplyExact(count, extent);
      } catch (ArithmeticException e) {
        throw new TrainKitException(Status.ERROR_SHAPE_MISMATCH, what + " has more than 2^63 elements");
      }
    }
    return count;
  }

  /** An array's length must be its shape's element count. */
  static void checkCount(int length, long[] shape, String what) {
    long count = elements(shape, what + " shape");
    if (count != length)
      throw new TrainKitException(Status.ERROR_SHAPE_MISMATCH,
          what + " holds " + length + " values, its shape " + java.util.Arrays.toString(shape) + " describes " + count);
  }

  /**
   * A direct buffer that holds the whole shape from its start (native code reads from the buffer's
   * address, not its position) in an element type matching the dtype.
   */
  static void checkBuffer(Buffer buffer, DType dtype, long[] shape, String what) {
    Objects.requireNonNull(buffer, what);
    Objects.requireNonNull(dtype, what + " dtype");
    if (!buffer.isDirect())
      throw new IllegalArgumentException(what + " must be a direct buffer (ByteBuffer.allocateDirect), not a heap buffer");
    int itemBytes;
    if (buffer instanceof ByteBuffer) {
      itemBytes = 1;
    } else if (buffer instanceof FloatBuffer) {
      itemBytes = 4;
      requireDtype(dtype == DType.F32, buffer, dtype, what);
    } else if (buffer instanceof IntBuffer) {
      itemBytes = 4;
      requireDtype(dtype == DType.I32, buffer, dtype, what);
    } else if (buffer instanceof DoubleBuffer) {
      itemBytes = 8;
      requireDtype(dtype == DType.F64, buffer, dtype, what);
    } else if (buffer instanceof ShortBuffer || buffer instanceof CharBuffer) {
      itemBytes = 2;
      requireDtype(dtype == DType.F16 || dtype == DType.BF16, buffer, dtype, what);
    } else if (buffer instanceof LongBuffer) {
      throw new TrainKitException(Status.ERROR_DTYPE_MISMATCH, what + " is a LongBuffer; trainkit has no 64-bit integer dtype");
    } else {
      throw new IllegalArgumentException(what + " is a " + buffer.getClass().getName());
    }
    if (itemBytes > 1 && buffer.capacity() > 0 && !nativeOrder(buffer))
      throw new IllegalArgumentException(what + " must be in native byte order (ByteBuffer.order(ByteOrder.nativeOrder()))");
    long count = elements(shape, what + " shape");
    if (count > Long.MAX_VALUE / 8)
      throw new TrainKitException(Status.ERROR_SHAPE_MISMATCH, what + " shape describes more bytes than memory holds");
    long needed = count * elementBytes(dtype);
    long held = (long) buffer.capacity() * itemBytes;
    if (held < needed)
      throw new TrainKitException(Status.ERROR_SHAPE_MISMATCH,
          what + " holds " + held + " bytes, its shape " + java.util.Arrays.toString(shape) + " of " + dtype + " needs " + needed);
  }

  private static boolean nativeOrder(Buffer buffer) {
    ByteOrder order;
    if (buffer instanceof FloatBuffer) order = ((FloatBuffer) buffer).order();
    else if (buffer instanceof IntBuffer) order = ((IntBuffer) buffer).order();
    else if (buffer instanceof DoubleBuffer) order = ((DoubleBuffer) buffer).order();
    else if (buffer instanceof ShortBuffer) order = ((ShortBuffer) buffer).order();
    else if (buffer instanceof CharBuffer) order = ((CharBuffer) buffer).order();
    else return true;
    return order == ByteOrder.nativeOrder();
  }

  private static void requireDtype(boolean matches, Buffer buffer, DType dtype, String what) {
    if (!matches)
      throw new TrainKitException(Status.ERROR_DTYPE_MISMATCH,
          what + " is a " + buffer.getClass().getSimpleName() + ", which cannot hold " + dtype);
  }

  /** The NUL-terminated UTF-8 text at the start of a buffer. */
  static String string(byte[] buffer) {
    int length = 0;
    while (length < buffer.length && buffer[length] != 0) ++length;
    return new String(buffer, 0, length, StandardCharsets.UTF_8);
  }

  /** Whether a NUL-terminated text filled the buffer, so it may have been truncated. */
  static boolean full(byte[] buffer) {
    int length = 0;
    while (length < buffer.length && buffer[length] != 0) ++length;
    return length >= buffer.length - 1;
  }

  /** A byte count as a Java array or buffer size. */
  static int arraySize(long count, String what) {
    if (count < 0 || count > Integer.MAX_VALUE - 8)
      throw new TrainKitException(Status.ERROR_OUT_OF_MEMORY, what + " of " + count + " does not fit a Java array or buffer");
    return (int) count;
  }

  /**
   * Native memory from tk_host_alloc (page-locked where a GPU can be used, so steps copy it to the
   * device directly), grown on demand and freed explicitly. Its views are made once per size, so
   * reusing it allocates nothing.
   */
  static final class HostBuffer {
    private ByteBuffer bytes;
    private FloatBuffer floats;
    private IntBuffer ints;
    private final ByteBuffer[] out = new ByteBuffer[1];

    /** The buffer, at least {@code size} bytes. */
    ByteBuffer ensure(long size) {
      if (bytes == null || bytes.capacity() < size) {
        int capacity = arraySize(Math.max(64, size), "a staging buffer");
        free();
        TrainKitException.check(TrainKitC.tk_host_alloc(capacity, out));
        ByteBuffer allocated = out[0];
        out[0] = null;
        if (allocated == null) throw new TrainKitException(Status.ERROR_OUT_OF_MEMORY, "tk_host_alloc gave no memory");
        bytes = allocated.order(ByteOrder.nativeOrder());
        floats = bytes.asFloatBuffer();
        ints = bytes.asIntBuffer();
      }
      return bytes;
    }

    /** Copies values to the start of the buffer; returns the buffer. */
    ByteBuffer put(float[] values) {
      ensure(4L * values.length);
      floats.put(0, values);
      return bytes;
    }

    ByteBuffer put(int[] values) {
      ensure(4L * values.length);
      ints.put(0, values);
      return bytes;
    }

    /** Copies the buffer's first {@code values.length} floats out. */
    void get(float[] values) {
      floats.get(0, values);
    }

    void free() {
      if (bytes != null) {
        ByteBuffer old = bytes;
        bytes = null;
        floats = null;
        ints = null;
        TrainKitC.tk_host_free(old);
      }
    }
  }
}
