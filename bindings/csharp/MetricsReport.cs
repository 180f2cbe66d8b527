// MetricsReport: what Trainer.Metrics measures over a dataset.
using System;
using System.Runtime.InteropServices;

namespace TrainKit {

/// <summary>What <see cref="Trainer.Metrics"/> measures over a dataset (tk_trainer_metrics): loss,
/// accuracy, top-k accuracy, per-class precision, recall and F1 with their macro means, the confusion
/// matrix (rows: true class), MSE and MAE. NaN where a metric does not apply (accuracy of an MSE
/// model); no classes for MSE models.</summary>
public sealed class MetricsReport {
  public long Samples { get; }
  public double Loss { get; }
  public double Accuracy { get; }
  public int TopK { get; }
  public double TopKAccuracy { get; }
  /// <summary>Classes counted (0 for MSE models).</summary>
  public int Classes { get; }
  public double MacroPrecision { get; }
  public double MacroRecall { get; }
  public double MacroF1 { get; }
  public double Mse { get; }
  public double Mae { get; }
  readonly long[,] confusion;
  readonly double[] precision, recall, f1;

  internal MetricsReport(Metrics m, double[] confusionCounts, double[] perClass) {
    Samples = m.samples;
    Loss = m.loss;
    Accuracy = m.accuracy;
    TopK = m.top_k;
    TopKAccuracy = m.top_k_accuracy;
    Classes = (int)m.classes;
    MacroPrecision = m.macro_precision;
    MacroRecall = m.macro_recall;
    MacroF1 = m.macro_f1;
    Mse = m.mse;
    Mae = m.mae;
    confusion = new long[Classes, Classes];
    for (int t = 0; t < Classes; ++t)
      for (int p = 0; p < Classes; ++p) confusion[t, p] = (long)confusionCounts[t * Classes + p];
    precision = new double[Classes];
    recall = new double[Classes];
    f1 = new double[Classes];
    Array.Copy(perClass, 0, precision, 0, Classes);
    Array.Copy(perClass, Classes, recall, 0, Classes);
    Array.Copy(perClass, 2 * Classes, f1, 0, Classes);
  }

  /// <summary>Samples of class <paramref name="trueClass"/> predicted as <paramref name="predicted"/>.</summary>
  public long Confusion(int trueClass, int predicted) => confusion[trueClass, predicted];

  /// <summary>Per-class precision, a copy.</summary>
  public double[] Precision() => (double[])precision.Clone();

  /// <summary>Per-class recall, a copy.</summary>
  public double[] Recall() => (double[])recall.Clone();

  /// <summary>Per-class F1, a copy.</summary>
  public double[] F1() => (double[])f1.Clone();

  /// <summary>"samples N loss L accuracy A top-K T macro-F1 F" (MSE and MAE for value models).</summary>
  public override string ToString() =>
      Classes == 0 ? $"samples {Samples} loss {Loss} mse {Mse} mae {Mae}"
                   : $"samples {Samples} loss {Loss} accuracy {Accuracy} top-{TopK} {TopKAccuracy} macro-F1 {MacroF1}";
}

public sealed partial class Trainer {
  /// <summary>Metrics of the trainer's model over <paramref name="dataset"/>, in batches of
  /// <paramref name="batchSize"/>; <paramref name="topK"/> is capped at the number of classes.
  /// <see cref="Cancel"/> from another thread ends it with a TrainKitException (ErrorCancelled).</summary>
  public unsafe MetricsReport Metrics(Dataset dataset, long batchSize = 1000, int topK = 5) {
    Interop.NotNull(dataset, nameof(dataset));
    using (Lease())
    using (dataset.Lease())
    using (var summary = new Metrics())
    using (var confusionView = new TensorView())
    using (var perClassView = new TensorView()) {
      Interop.Check(TrainKitC.tk_trainer_metric_classes(Native, out long count));
      if (count > 46340)
        throw new TrainKitException(Status.ErrorOutOfMemory, count + " classes make too large a confusion matrix");
      int classes = (int)count;
      var confusion = new double[Math.Max(1, classes * classes)];
      var perClass = new double[Math.Max(1, 3 * classes)];
      int k = classes == 0 ? 1 : Math.Max(1, Math.Min(topK, classes));
      fixed (double* c = confusion)
      fixed (double* p = perClass) {
        confusionView.reset((IntPtr)c, DType.F64, 2, new long[] { classes, classes });
        perClassView.reset((IntPtr)p, DType.F64, 2, new long[] { 3, classes });
        Interop.Check(TrainKitC.tk_trainer_metrics(Native, dataset.Native, batchSize, k, summary,
                                                   classes == 0 ? null : confusionView,
                                                   classes == 0 ? null : perClassView));
      }
      return new MetricsReport(summary, confusion, perClass);
    }
  }
}

}  // namespace TrainKit
