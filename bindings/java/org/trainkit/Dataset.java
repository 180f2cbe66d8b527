package org.trainkit;

import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import org.trainkit.internal.trainkit_native;

/** A dataset in native memory, e.g. loaded from IDX files. */
public final class Dataset extends NativeObject {
  private Dataset(long handle) {
    super(handle, trainkit_native::tkb_dataset_destroy);
  }

  /** Images and labels in the MNIST IDX format (plain or .gz). */
  public static Dataset loadIdx(String imagesPath, String labelsPath) {
    return new Dataset(trainkit_native.tkb_dataset_load_idx(imagesPath, labelsPath));
  }

  public long size() {
    long size = trainkit_native.tkb_dataset_size(handle());
    Native.check();
    Reference.reachabilityFence(this);
    return size;
  }

  /** {mean, std} over all features. */
  public double[] stats() {
    ByteBuffer out = Native.direct(16);
    Native.check(trainkit_native.tkb_dataset_stats(handle(), out));
    Reference.reachabilityFence(this);
    return new double[] {out.getDouble(0), out.getDouble(8)};
  }

  /** x -> (x - mean) / std. */
  public void standardize(double mean, double std) {
    Native.check(trainkit_native.tkb_dataset_normalize(handle(), 1, mean, std));
    Reference.reachabilityFence(this);
  }
}
