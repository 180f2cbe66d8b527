package org.trainkit;

/** Compute precision: fp32 or automatic mixed precision. Values match trainkit.h. */
public enum Precision {
  FP32(0),
  FP16(1),
  BF16(2);

  final int value;

  Precision(int value) {
    this.value = value;
  }
}
