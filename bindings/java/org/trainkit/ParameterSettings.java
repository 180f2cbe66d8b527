package org.trainkit;

/** How one parameter tensor trains: frozen or not, its learning-rate factor and weight decay. */
public final class ParameterSettings {
  /** No gradient and no optimizer moments. */
  public final boolean frozen;
  /** The factor on the scheduled learning rate. */
  public final double learningRateScale;
  /** The weight decay it trains with. */
  public final double weightDecay;

  ParameterSettings(boolean frozen, double learningRateScale, double weightDecay) {
    this.frozen = frozen;
    this.learningRateScale = learningRateScale;
    this.weightDecay = weightDecay;
  }

  @Override
  public String toString() {
    return String.format("frozen %b, rate x%s, decay %s", frozen, learningRateScale, weightDecay);
  }
}
