package org.trainkit;

import java.util.Arrays;

/**
 * What {@link Trainer#metrics} measures over a dataset (tk_trainer_metrics): loss, accuracy, top-k accuracy,
 * per-class precision, recall and F1 with their macro means, the confusion matrix (rows: true class), MSE and
 * MAE. NaN where a metric does not apply (accuracy of an MSE model); no classes for MSE models.
 */
public final class MetricsReport {
  public final long samples;
  public final double loss;
  public final double accuracy;
  public final int topK;
  public final double topKAccuracy;
  /** Classes counted (0 for MSE models). */
  public final int classes;
  public final double macroPrecision;
  public final double macroRecall;
  public final double macroF1;
  public final double mse;
  public final double mae;
  private final long[] confusion;  // [classes, classes], row-major
  private final double[] precision;
  private final double[] recall;
  private final double[] f1;

  MetricsReport(Metrics m, long[] confusion, double[] perClass) {
    samples = m.getSamples();
    loss = m.getLoss();
    accuracy = m.getAccuracy();
    topK = m.getTop_k();
    topKAccuracy = m.getTop_k_accuracy();
    classes = (int) m.getClasses();
    macroPrecision = m.getMacro_precision();
    macroRecall = m.getMacro_recall();
    macroF1 = m.getMacro_f1();
    mse = m.getMse();
    mae = m.getMae();
    this.confusion = confusion;
    precision = Arrays.copyOfRange(perClass, 0, classes);
    recall = Arrays.copyOfRange(perClass, classes, 2 * classes);
    f1 = Arrays.copyOfRange(perClass, 2 * classes, 3 * classes);
  }

  /** Samples of class {@code trueClass} predicted as {@code predicted}. */
  public long confusion(int trueClass, int predicted) {
    if (trueClass < 0 || trueClass >= classes || predicted < 0 || predicted >= classes)
      throw new IndexOutOfBoundsException("classes are 0 to " + (classes - 1) + ", got " + trueClass + ", " + predicted);
    return confusion[trueClass * classes + predicted];
  }

  /** The confusion matrix, a copy: [true class][predicted class]. */
  public long[][] confusion() {
    long[][] rows = new long[classes][];
    for (int c = 0; c < classes; ++c) rows[c] = Arrays.copyOfRange(confusion, c * classes, (c + 1) * classes);
    return rows;
  }

  /** Per-class precision, a copy. */
  public double[] precision() {
    return precision.clone();
  }

  /** Per-class recall, a copy. */
  public double[] recall() {
    return recall.clone();
  }

  /** Per-class F1, a copy. */
  public double[] f1() {
    return f1.clone();
  }

  /** "samples N loss L accuracy A top-K T macro-F1 F" (MSE and MAE for value models). */
  @Override
  public String toString() {
    if (classes == 0) return "samples " + samples + " loss " + loss + " mse " + mse + " mae " + mae;
    return "samples " + samples + " loss " + loss + " accuracy " + accuracy + " top-" + topK + " " + topKAccuracy
        + " macro-F1 " + macroF1;
  }
}
