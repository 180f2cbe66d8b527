package org.trainkit;

/** Learning-rate schedules. Values match trainkit.h. */
public enum Schedule {
  CONSTANT(0),
  STEP(1),
  COSINE(2);

  final int value;

  Schedule(int value) {
    this.value = value;
  }
}
