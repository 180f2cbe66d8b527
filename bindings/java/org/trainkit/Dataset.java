package org.trainkit;

import java.lang.ref.Reference;
import java.nio.Buffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * Samples and targets in native memory: loaded from IDX files, or copied from Java arrays or direct
 * buffers. Features are [N, ...]; targets are class indices [N] or float values [N, ...].
 */
public final class Dataset extends NativeObject<SWIGTYPE_p_tk_dataset> {
  private Dataset(SWIGTYPE_p_tk_dataset handle) {
    super(handle, TrainKitC::tk_dataset_destroy);
  }

  /** Images and labels in the MNIST IDX format (plain or .gz). */
  public static Dataset loadIdx(String imagesPath, String labelsPath) {
    SWIGTYPE_p_tk_dataset[] out = new SWIGTYPE_p_tk_dataset[1];
    TrainKitException.check(TrainKitC.tk_dataset_load_idx(imagesPath, labelsPath, out));
    return new Dataset(out[0]);
  }

  /**
   * A CSV file: numeric feature columns and a label column ({@code label}: a header name or a 0-based index;
   * null: the last), read as class indices or, with {@code classLabels} false, as values. A malformed row
   * throws with its line and column.
   */
  public static Dataset loadCsv(String path, String label, boolean header, boolean classLabels) {
    Objects.requireNonNull(path, "path");
    SWIGTYPE_p_tk_dataset[] out = new SWIGTYPE_p_tk_dataset[1];
    TrainKitException.check(TrainKitC.tk_dataset_load_csv(path, label == null ? "" : label, header ? 1 : 0,
        classLabels ? 1 : 0, out));
    return new Dataset(out[0]);
  }

  /**
   * A CSV file's features alone, for prediction: every column but {@code skip} when the header names it (null:
   * none). The dataset has no targets: training and evaluation on it throw.
   */
  public static Dataset loadCsvFeatures(String path, String skip, boolean header) {
    Objects.requireNonNull(path, "path");
    SWIGTYPE_p_tk_dataset[] out = new SWIGTYPE_p_tk_dataset[1];
    TrainKitException.check(TrainKitC.tk_dataset_load_csv_features(path, skip == null ? "" : skip, header ? 1 : 0, out));
    return new Dataset(out[0]);
  }

  /** False for features alone ({@link #loadCsvFeatures}). */
  public boolean hasTargets() {
    int[] has = new int[1];
    done(TrainKitC.tk_dataset_has_targets(handle(), has));
    return has[0] != 0;
  }

  /** A copy of f32 features of shape [N, ...] and class labels [N]. */
  public static Dataset fromArrays(float[] features, long[] featureShape, int[] labels) {
    Objects.requireNonNull(features, "features");
    Objects.requireNonNull(labels, "labels");
    Support.checkCount(features.length, featureShape, "features");
    Support.HostBuffer x = new Support.HostBuffer(), y = new Support.HostBuffer();
    try {
      return fromBuffers(x.put(features), DType.F32, featureShape, y.put(labels), DType.I32,
          new long[] {labels.length});
    } finally {
      x.free();
      y.free();
    }
  }

  /** A copy of f32 features of shape [N, ...] and f32 targets of shape [N, ...]. */
  public static Dataset fromArrays(float[] features, long[] featureShape, float[] targets, long[] targetShape) {
    Objects.requireNonNull(features, "features");
    Objects.requireNonNull(targets, "targets");
    Support.checkCount(features.length, featureShape, "features");
    Support.checkCount(targets.length, targetShape, "targets");
    Support.HostBuffer x = new Support.HostBuffer(), y = new Support.HostBuffer();
    try {
      return fromBuffers(x.put(features), DType.F32, featureShape, y.put(targets), DType.F32, targetShape);
    } finally {
      x.free();
      y.free();
    }
  }

  /**
   * A copy of direct buffers read from their start (a FloatBuffer, IntBuffer or DoubleBuffer of the
   * matching dtype, or a native-order ByteBuffer of any): features F32, F64 or U8 [N, ...]; targets I32
   * class indices [N], or F32/F64 values [N, ...]. The buffers are passed to native code as they are.
   */
  public static Dataset fromBuffers(Buffer features, DType featureType, long[] featureShape, Buffer targets,
                                    DType targetType, long[] targetShape) {
    Support.checkBuffer(features, featureType, featureShape, "features");
    Support.checkBuffer(targets, targetType, targetShape, "targets");
    TensorView x = new TensorView(), y = new TensorView();
    try {
      x.reset(features, featureType, featureShape);
      y.reset(targets, targetType, targetShape);
      SWIGTYPE_p_tk_dataset[] out = new SWIGTYPE_p_tk_dataset[1];
      TrainKitException.check(TrainKitC.tk_dataset_create(x, y, out));
      return new Dataset(out[0]);
    } finally {
      x.delete();
      y.delete();
      Reference.reachabilityFence(features);
      Reference.reachabilityFence(targets);
    }
  }

  /** The number of samples. */
  public long size() {
    long[] size = new long[1];
    done(TrainKitC.tk_dataset_size(handle(), size));
    return size[0];
  }

  /** The shape of one sample's features (without the sample dimension). */
  public long[] sampleShape() {
    int[] rank = new int[1];
    long[] shape = new long[TrainKitCConstants.TK_MAX_RANK];
    done(TrainKitC.tk_dataset_sample_shape(handle(), rank, shape));
    return Arrays.copyOf(shape, rank[0]);
  }

  /** {mean, standard deviation} of all features. */
  public double[] stats() {
    double[] mean = new double[1], std = new double[1];
    done(TrainKitC.tk_dataset_stats(handle(), mean, std));
    return new double[] {mean[0], std[0]};
  }

  /** Features x become (x - mean) / std, in place. */
  public void standardize(double mean, double std) {
    normalize(Normalization.MEAN_STD, mean, std);
  }

  /**
   * Normalizes the features in place: {@link Normalization#UNIT_RANGE} maps the dataset's range onto
   * [0, 1] (mean and std are not read), {@link Normalization#MEAN_STD} is (x - mean) / std. A batcher over
   * the dataset must not exist while it is normalized.
   */
  public void normalize(Normalization normalization, double mean, double std) {
    Objects.requireNonNull(normalization, "normalization");
    done(TrainKitC.tk_dataset_normalize(handle(), normalization, mean, std));
  }
}
