package org.trainkit;

/** The loss a trainer minimizes. Values match trainkit.h. */
public enum Loss {
  SOFTMAX_CROSS_ENTROPY(0),
  MSE(1),
  BCE_WITH_LOGITS(2);

  final int value;

  Loss(int value) {
    this.value = value;
  }
}
