// Dataset and Batcher: samples held by trainkit, served in mini-batches.
using System;
using System.Runtime.InteropServices;

namespace TrainKit {

/// <summary>Samples and their targets, held (copied) by trainkit.</summary>
public sealed class Dataset : NativeObject<SWIGTYPE_p_tk_dataset> {
  static Dataset() => NativeLoader.Load();  // before anything calls into the native library

  static readonly Action<IntPtr> Destroy = address => TrainKitC.tk_dataset_destroy(new SWIGTYPE_p_tk_dataset(address, false));

  Dataset(SWIGTYPE_p_tk_dataset native) : base(native, SWIGTYPE_p_tk_dataset.getCPtr(native).Handle, Destroy) {}

  /// <summary>Images and labels from IDX files (the MNIST format, plain or .gz).</summary>
  public static Dataset LoadIdx(string imagesPath, string labelsPath) {
    Interop.NotNull(imagesPath, nameof(imagesPath));
    Interop.NotNull(labelsPath, nameof(labelsPath));
    Interop.Check(TrainKitC.tk_dataset_load_idx(imagesPath, labelsPath, out SWIGTYPE_p_tk_dataset dataset));
    return new Dataset(dataset);
  }

  /// <summary>A CSV file: numeric feature columns and a label column (a header name or a 0-based
  /// index; null: the last), read as class indices or, with <paramref name="classLabels"/> false, as
  /// values. A malformed row throws with its line and column.</summary>
  public static Dataset LoadCsv(string path, string label = null, bool header = true, bool classLabels = true) {
    Interop.NotNull(path, nameof(path));
    Interop.Check(TrainKitC.tk_dataset_load_csv(path, label ?? "", header ? 1 : 0, classLabels ? 1 : 0,
                                                out SWIGTYPE_p_tk_dataset dataset));
    return new Dataset(dataset);
  }

  /// <summary>A CSV file's features alone, for prediction: every column but <paramref name="skip"/>
  /// when the header names it. The dataset has no targets: training and evaluation on it throw.</summary>
  public static Dataset LoadCsvFeatures(string path, string skip = null, bool header = true) {
    Interop.NotNull(path, nameof(path));
    Interop.Check(TrainKitC.tk_dataset_load_csv_features(path, skip ?? "", header ? 1 : 0,
                                                         out SWIGTYPE_p_tk_dataset dataset));
    return new Dataset(dataset);
  }

  /// <summary>False for features alone (<see cref="LoadCsvFeatures"/>).</summary>
  public bool HasTargets {
    get {
      using (Lease()) {
        Interop.Check(TrainKitC.tk_dataset_has_targets(Native, out int has));
        return has != 0;
      }
    }
  }

  /// <summary>A dataset of class-index targets, copied from caller arrays.</summary>
  /// <param name="features">The features, row-major.</param>
  /// <param name="featureShape">Their shape [N, ...].</param>
  /// <param name="labels">N class indices.</param>
  public static Dataset FromArrays(float[] features, long[] featureShape, int[] labels) {
    Interop.NotNull(features, nameof(features));
    Interop.NotNull(labels, nameof(labels));
    return FromArrays(new ReadOnlySpan<float>(features), featureShape, new ReadOnlySpan<int>(labels));
  }

  /// <summary>A dataset of class-index targets, copied from caller memory.</summary>
  /// <param name="features">The features, row-major.</param>
  /// <param name="featureShape">Their shape [N, ...].</param>
  /// <param name="labels">N class indices.</param>
  public static Dataset FromArrays(ReadOnlySpan<float> features, long[] featureShape, ReadOnlySpan<int> labels) =>
      Create(features, featureShape, MemoryMarshal.AsBytes(labels), DType.I32, new long[] { labels.Length });

  /// <summary>A dataset of float targets (MSE, BCE), copied from caller arrays.</summary>
  /// <param name="features">The features, row-major.</param>
  /// <param name="featureShape">Their shape [N, ...].</param>
  /// <param name="targets">The targets, row-major.</param>
  /// <param name="targetShape">Their shape [N, ...].</param>
  public static Dataset FromArrays(float[] features, long[] featureShape, float[] targets, long[] targetShape) {
    Interop.NotNull(features, nameof(features));
    Interop.NotNull(targets, nameof(targets));
    return FromArrays(new ReadOnlySpan<float>(features), featureShape, new ReadOnlySpan<float>(targets), targetShape);
  }

  /// <summary>A dataset of float targets (MSE, BCE), copied from caller memory.</summary>
  /// <param name="features">The features, row-major.</param>
  /// <param name="featureShape">Their shape [N, ...].</param>
  /// <param name="targets">The targets, row-major.</param>
  /// <param name="targetShape">Their shape [N, ...].</param>
  public static Dataset FromArrays(ReadOnlySpan<float> features, long[] featureShape, ReadOnlySpan<float> targets,
                                   long[] targetShape) =>
      Create(features, featureShape, MemoryMarshal.AsBytes(targets), DType.F32, targetShape);

  // The memory is pinned only for tk_dataset_create, which copies it.
  static unsafe Dataset Create(ReadOnlySpan<float> features, long[] featureShape, ReadOnlySpan<byte> targets,
                               DType targetType, long[] targetShape) {
    Interop.Fits(featureShape, features.Length, "features", nameof(featureShape));
    Interop.Fits(targetShape, targets.Length / sizeof(float), "targets", nameof(targetShape));
    using (var featureView = new TensorView())
    using (var targetView = new TensorView())
      fixed (float* x = &MemoryMarshal.GetReference(features))
      fixed (byte* y = &MemoryMarshal.GetReference(targets)) {
        featureView.reset((IntPtr)x, DType.F32, featureShape.Length, featureShape);
        targetView.reset((IntPtr)y, targetType, targetShape.Length, targetShape);
        Interop.Check(TrainKitC.tk_dataset_create(featureView, targetView, out SWIGTYPE_p_tk_dataset dataset));
        return new Dataset(dataset);
      }
  }

  /// <summary>The number of samples.</summary>
  public long Size {
    get {
      using (Lease()) {
        Interop.Check(TrainKitC.tk_dataset_size(Native, out long size));
        return size;
      }
    }
  }

  /// <summary>The shape of one sample's features.</summary>
  public long[] SampleShape() {
    var extents = new long[TrainKitC.TK_MAX_RANK];
    using (Lease()) {
      Interop.Check(TrainKitC.tk_dataset_sample_shape(Native, out int rank, extents));
      return Interop.Shape(rank, extents);
    }
  }

  /// <summary>The mean and standard deviation of all features.</summary>
  public (double Mean, double Std) Stats() {
    using (Lease()) {
      Interop.Check(TrainKitC.tk_dataset_stats(Native, out double mean, out double std));
      return (mean, std);
    }
  }

  /// <summary>Normalizes the features in place to (x - mean) / std.</summary>
  public void Standardize(double mean, double std) => Normalize(Normalization.MeanStd, mean, std);

  /// <summary>Normalizes the features in place: to [0, 1] over the dataset
  /// (<see cref="Normalization.UnitRange"/>, which ignores mean and std) or to (x - mean) / std.
  /// Not while a <see cref="Batcher"/> over this dataset exists.</summary>
  public void Normalize(Normalization normalization, double mean = 0, double std = 1) {
    using (Lease()) Interop.Check(TrainKitC.tk_dataset_normalize(Native, normalization, mean, std));
  }
}

/// <summary>Mini-batches over a dataset. With shuffle, each epoch's order is a fixed function of
/// (seed, epoch). It keeps the dataset's samples alive, so the dataset may be disposed first.</summary>
public class Batcher : NativeObject<SWIGTYPE_p_tk_batcher> {
  static Batcher() => NativeLoader.Load();  // before anything calls into the native library

  static readonly Action<IntPtr> Destroy = address => TrainKitC.tk_batcher_destroy(new SWIGTYPE_p_tk_batcher(address, false));

  /// <summary>Batches of <paramref name="batchSize"/> samples of <paramref name="dataset"/>.</summary>
  /// <param name="dataset">The samples.</param>
  /// <param name="batchSize">Samples per batch.</param>
  /// <param name="shuffle">Whether each epoch is shuffled.</param>
  /// <param name="seed">The shuffle's seed.</param>
  /// <param name="dropLast">Whether a short final batch is dropped.</param>
  public Batcher(Dataset dataset, long batchSize, bool shuffle = true, ulong seed = 0, bool dropLast = false)
      : this(Create(dataset, batchSize, shuffle, seed, dropLast)) {}

  Batcher(SWIGTYPE_p_tk_batcher native) : this(native, Destroy) {}

  // A batcher of another kind (StreamBatcher), freed by `destroy`.
  internal Batcher(SWIGTYPE_p_tk_batcher native, Action<IntPtr> destroy)
      : base(native, SWIGTYPE_p_tk_batcher.getCPtr(native).Handle, destroy) {}

  static SWIGTYPE_p_tk_batcher Create(Dataset dataset, long batchSize, bool shuffle, ulong seed, bool dropLast) {
    Interop.NotNull(dataset, nameof(dataset));
    using (dataset.Lease()) {
      Interop.Check(TrainKitC.tk_batcher_create(dataset.Native, batchSize, shuffle ? 1 : 0, seed, dropLast ? 1 : 0,
                                                out SWIGTYPE_p_tk_batcher batcher));
      return batcher;
    }
  }

  /// <summary>Restarts at the first batch of <paramref name="epoch"/>.</summary>
  public void Reset(long epoch) {
    using (Lease()) Interop.Check(TrainKitC.tk_batcher_reset(Native, epoch));
  }

  /// <summary>Serves only the share of every epoch of <paramref name="rank"/> among
  /// <paramref name="count"/> ranks (disjoint across ranks).</summary>
  /// <remarks>The shares are equal, so every rank takes the same number of steps an epoch:
  /// the remainder is padded by repeating samples of the epoch's order (as PyTorch's
  /// DistributedSampler).</remarks>
  public void SetShard(int rank, int count) {
    using (Lease()) Interop.Check(TrainKitC.tk_batcher_set_shard(Native, rank, count));
  }

  /// <summary>Serves only the share of every epoch of <paramref name="rank"/> among
  /// <paramref name="count"/> equal shares, with the remainder padded by repeats
  /// (<see cref="ShardRemainder.Pad"/>) or left out (<see cref="ShardRemainder.Drop"/>).</summary>
  public void SetShard(int rank, int count, ShardRemainder remainder) {
    using (Lease()) Interop.Check(TrainKitC.tk_batcher_set_shard_ex(Native, rank, count, remainder));
  }

  /// <summary>Fills <paramref name="features"/> and <paramref name="targets"/> with views of the next
  /// batch, valid until the next call on this batcher.</summary>
  /// <returns>False at the end of the epoch.</returns>
  public bool Next(TensorView features, TensorView targets) {
    Interop.NotNull(features, nameof(features));
    Interop.NotNull(targets, nameof(targets));
    using (Lease()) {
      Interop.Check(TrainKitC.tk_batcher_next(Native, features, targets, out int hasBatch));
      return hasBatch != 0;
    }
  }
}

}  // namespace TrainKit
