package org.trainkit;

import java.lang.ref.Reference;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Mini-batches over a {@link Dataset}: with shuffle on, each epoch's order is a fixed function of (seed,
 * epoch). The batcher keeps its dataset's memory alive; the dataset must not be normalized while it
 * exists. {@link Trainer#stepNext(Batcher, double[])} steps on its batches without copying them.
 */
public class Batcher extends NativeObject<SWIGTYPE_p_tk_batcher> {
  private final int[] hasBatch = new int[1];

  /** Batches of {@code batchSize} samples; {@code dropLast} drops a short final batch. */
  public Batcher(Dataset dataset, long batchSize, boolean shuffle, long seed, boolean dropLast) {
    super(create(dataset, batchSize, shuffle, seed, dropLast), TrainKitC::tk_batcher_destroy);
  }

  /** A batcher of another kind ({@link StreamBatcher}), freed by {@code destroy}. */
  Batcher(SWIGTYPE_p_tk_batcher handle, Consumer<SWIGTYPE_p_tk_batcher> destroy) {
    super(handle, destroy);
  }

  private static SWIGTYPE_p_tk_batcher create(Dataset dataset, long batchSize, boolean shuffle, long seed,
                                              boolean dropLast) {
    Objects.requireNonNull(dataset, "dataset");
    SWIGTYPE_p_tk_batcher[] out = new SWIGTYPE_p_tk_batcher[1];
    try {
      TrainKitException.check(TrainKitC.tk_batcher_create(dataset.handle(), batchSize, shuffle ? 1 : 0, seed,
          dropLast ? 1 : 0, out));
    } finally {
      Reference.reachabilityFence(dataset);
    }
    return out[0];
  }

  /** Restarts at the first batch of {@code epoch}. */
  public void reset(long epoch) {
    done(TrainKitC.tk_batcher_reset(handle(), epoch));
  }

  /**
   * Serves only shard {@code rank} of {@code count} of every epoch (disjoint across ranks, equal in size:
   * the remainder is padded with repeated samples).
   */
  public void setShard(int rank, int count) {
    done(TrainKitC.tk_batcher_set_shard(handle(), rank, count));
  }

  /** As {@link #setShard(int, int)}, with the remainder padded or dropped. */
  public void setShard(int rank, int count, ShardRemainder remainder) {
    Objects.requireNonNull(remainder, "remainder");
    done(TrainKitC.tk_batcher_set_shard_ex(handle(), rank, count, remainder));
  }

  /**
   * Fills the views with the next batch and returns true, or returns false at the end of the epoch. The
   * views borrow the batcher's memory until its next call; pass them to
   * {@link Trainer#step(TensorView, TensorView)} and the like.
   */
  public boolean next(TensorView features, TensorView targets) {
    Objects.requireNonNull(features, "features");
    Objects.requireNonNull(targets, "targets");
    done(TrainKitC.tk_batcher_next(handle(), features, targets, hasBatch));
    return hasBatch[0] != 0;
  }
}
