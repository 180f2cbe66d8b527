package org.trainkit;

import java.lang.ref.Reference;
import org.trainkit.internal.trainkit_native;

/** Seeded, shuffled mini-batches over a Dataset; keep the dataset open while using it. */
public final class Batcher extends NativeObject {
  private final Dataset dataset;  // kept reachable: the batcher reads it

  public Batcher(Dataset dataset, long batchSize, boolean shuffle, long seed, boolean dropLast) {
    super(trainkit_native.tkb_batcher_create(dataset.handle(), batchSize, shuffle ? 1 : 0, seed, dropLast ? 1 : 0),
        trainkit_native::tkb_batcher_destroy);
    this.dataset = dataset;
  }

  /** Restarts at the first batch of the epoch. */
  public void reset(long epoch) {
    Native.check(trainkit_native.tkb_batcher_reset(handle(), epoch));
    Reference.reachabilityFence(this);
  }

  Dataset dataset() {
    return dataset;
  }
}
