package org.trainkit;

/** Optimizers over the flat parameter buffer. Values match trainkit.h. */
public enum Optimizer {
  SGD(0),
  ADAM(1),
  ADAMW(2);

  final int value;

  Optimizer(int value) {
    this.value = value;
  }
}
