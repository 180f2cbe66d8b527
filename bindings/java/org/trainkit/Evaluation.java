package org.trainkit;

/** The mean loss and accuracy of an evaluation (accuracy is NaN for losses without one, e.g. MSE). */
public final class Evaluation {
  /** The mean loss. */
  public final double loss;
  /** The fraction of samples classified correctly, or NaN. */
  public final double accuracy;

  Evaluation(double loss, double accuracy) {
    this.loss = loss;
    this.accuracy = accuracy;
  }

  /** "loss L accuracy A". */
  @Override
  public String toString() {
    return String.format("loss %.4f accuracy %.4f", loss, accuracy);
  }
}
