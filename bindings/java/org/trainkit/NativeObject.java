package org.trainkit;

import java.lang.ref.Cleaner;
import java.util.function.LongConsumer;

/**
 * A native handle: freed by close(), or by a Cleaner if the object is left to
 * the garbage collector. close() is idempotent; a closed object throws
 * IllegalStateException when used. Methods keep the object reachable for the
 * whole native call (Reference.reachabilityFence), so the Cleaner cannot free
 * a handle under a running call.
 */
abstract class NativeObject implements AutoCloseable {
  private static final Cleaner CLEANER = Cleaner.create();

  /** Owns the handle; shared with the Cleaner, which must not reference the object itself. */
  private static final class Owner implements Runnable {
    private long handle;
    private final LongConsumer destroy;

    Owner(long handle, LongConsumer destroy) {
      this.handle = handle;
      this.destroy = destroy;
    }

    @Override
    public synchronized void run() {
      if (handle != 0) {
        destroy.accept(handle);
        handle = 0;
      }
    }

    synchronized long get() {
      return handle;
    }
  }

  private final Owner owner;
  private final Cleaner.Cleanable cleanable;

  NativeObject(long handle, LongConsumer destroy) {
    if (handle == 0) Native.check();
    owner = new Owner(handle, destroy);
    cleanable = CLEANER.register(this, owner);
  }

  /** The live handle; throws if closed. */
  long handle() {
    long handle = owner.get();
    if (handle == 0) throw new IllegalStateException(getClass().getSimpleName() + " is closed");
    return handle;
  }

  public boolean isClosed() {
    return owner.get() == 0;
  }

  @Override
  public void close() {
    cleanable.clean();
  }
}
