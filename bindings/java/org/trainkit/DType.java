package org.trainkit;

/** Element types (tk_dtype). Values match trainkit.h. */
public enum DType {
  F32(0),
  F64(1),
  F16(2),
  BF16(3),
  I32(4),
  U8(5);

  final int value;

  DType(int value) {
    this.value = value;
  }
}
