package org.trainkit;

/** A native error: the C API's status code and its message. */
public class TrainKitException extends RuntimeException {
  private final int status;

  public TrainKitException(int status, String message) {
    super(message);
    this.status = status;
  }

  /** The tk_status value, e.g. 3 for TK_ERROR_SHAPE_MISMATCH. */
  public int status() {
    return status;
  }
}
