package org.trainkit;

/** Mean loss and accuracy (NaN for losses without one). */
public final class Evaluation {
  public final double loss;
  public final double accuracy;

  Evaluation(double loss, double accuracy) {
    this.loss = loss;
    this.accuracy = accuracy;
  }

  @Override
  public String toString() {
    return String.format("loss %.4f accuracy %.4f", loss, accuracy);
  }
}
