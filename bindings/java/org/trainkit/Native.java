package org.trainkit;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import org.trainkit.internal.trainkit_native;

/** Turns native statuses into exceptions and Java arrays into direct buffers. */
final class Native {
  private Native() {}

  /** Throws if the last native call on this thread failed. */
  static void check() {
    int status = trainkit_native.tkb_last_status();
    if (status != 0) throw new TrainKitException(status, trainkit_native.tkb_last_message());
  }

  static void check(int status) {
    if (status != 0) throw new TrainKitException(status, trainkit_native.tkb_last_message());
  }

  static LongBuffer shape(long... extents) {
    LongBuffer buffer = ByteBuffer.allocateDirect(Math.max(8, 8 * extents.length))
        .order(ByteOrder.nativeOrder()).asLongBuffer();
    buffer.put(extents).flip();
    return buffer;
  }

  static ByteBuffer direct(int bytes) {
    return ByteBuffer.allocateDirect(Math.max(bytes, 8)).order(ByteOrder.nativeOrder());
  }
}
