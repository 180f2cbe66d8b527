package org.trainkit;

import java.util.Objects;

/** A failed trainkit call: its {@link Status} and the message that describes it. */
public class TrainKitException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final Status status;

  /** An exception of a status other than {@link Status#OK}, with its message. */
  public TrainKitException(Status status, String message) {
    super(message);
    this.status = Objects.requireNonNull(status, "status");
  }

  /** The C API's status, e.g. {@link Status#ERROR_SHAPE_MISMATCH}. */
  public Status status() {
    return status;
  }

  /**
   * Returns normally for {@link Status#OK}; otherwise throws a TrainKitException with the status and
   * {@code tk_last_error_message()} (the status's name when that is empty). Call it on the thread that
   * made the call whose status it is.
   */
  public static void check(Status status) {
    if (Objects.requireNonNull(status, "status") != Status.OK) throw of(status);
  }

  /** The exception for a failed status, with the calling thread's native message. */
  static TrainKitException of(Status status) {
    String message = TrainKitC.tk_last_error_message();
    if (message == null || message.isEmpty()) message = TrainKitC.tk_status_string(status);
    return new TrainKitException(status, message);
  }
}
