package org.trainkit;

import java.lang.ref.Cleaner;
import java.util.function.Consumer;

/**
 * An owned native handle, typed as SWIG generates it ({@code SWIGTYPE_p_tk_model} and so on): freed by
 * {@link #close()}, or by a Cleaner once the object is left to the garbage collector. close() is
 * idempotent; a closed object throws IllegalStateException when used.
 *
 * <p>{@link #handle()} is public, so any {@link TrainKitC} function can be called on an idiomatic object;
 * such a caller keeps the object reachable for the call ({@code Reference.reachabilityFence(object)}), as
 * every method of this package does, so the Cleaner cannot free the handle under a running call.
 *
 * @param <H> the SWIG handle class
 */
public abstract class NativeObject<H> implements AutoCloseable {
  private static final Cleaner CLEANER = Cleaner.create();

  /** Owns the handle; shared with the Cleaner, so it must not reference the NativeObject. */
  private static final class Owner<H> implements Runnable {
    private volatile H handle;
    private final Consumer<H> destroy;

    Owner(H handle, Consumer<H> destroy) {
      this.handle = handle;
      this.destroy = destroy;
    }

    @Override
    public synchronized void run() {
      H live = handle;
      if (live != null) {
        handle = null;
        destroy.accept(live);
      }
    }
  }

  private final Owner<H> owner;
  private final Cleaner.Cleanable cleanable;

  /** Takes ownership of a live handle; {@code destroy} frees it exactly once. */
  NativeObject(H handle, Consumer<H> destroy) {
    if (handle == null) throw new IllegalArgumentException("a native handle is null");
    owner = new Owner<>(handle, destroy);
    cleanable = CLEANER.register(this, owner);
  }

  /**
   * The live SWIG handle, for calling {@link TrainKitC} directly.
   *
   * @throws IllegalStateException if the object is closed
   */
  public final H handle() {
    H handle = owner.handle;
    if (handle == null) throw new IllegalStateException(getClass().getSimpleName() + " is closed");
    return handle;
  }

  /** Whether {@link #close()} has freed the handle. */
  public final boolean isClosed() {
    return owner.handle == null;
  }

  /** Frees the native object; later calls do nothing. */
  @Override
  public final void close() {
    cleanable.clean();
  }

  /** Checks a call's status; the object stays reachable until the call is done. */
  final void done(Status status) {
    try {
      TrainKitException.check(status);
    } finally {
      java.lang.ref.Reference.reachabilityFence(this);
    }
  }
}
