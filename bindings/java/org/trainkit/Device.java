package org.trainkit;

/** Where a trainer runs. Values match tk_device in trainkit.h. */
public enum Device {
  /** A CUDA GPU when libtrainkit_cuda.so finds one, else the CPU (the default). */
  AUTO(0),
  CPU(1),
  /** CUDA GPU 0; an error when none can be used. */
  CUDA(2);

  final int value;

  Device(int value) {
    this.value = value;
  }
}
