package org.trainkit;

import java.util.Objects;

/**
 * What {@link Trainer#fit} does besides stepping: epochs, validation, early stopping, reduce-on-plateau,
 * keep-best and keep-last checkpoints, a time budget, how often step events come. Each setter checks its
 * value and returns this. The validation dataset is kept alive by the options.
 */
public final class FitOptions extends NativeObject<SWIGTYPE_p_tk_fit_options> {
  private Dataset validation;  // reachable while the options are

  public FitOptions() {
    super(create(), TrainKitC::tk_fit_options_destroy);
  }

  private static SWIGTYPE_p_tk_fit_options create() {
    SWIGTYPE_p_tk_fit_options[] out = new SWIGTYPE_p_tk_fit_options[1];
    TrainKitException.check(TrainKitC.tk_fit_options_create(out));
    return out[0];
  }

  private FitOptions set(Status status) {
    done(status);
    return this;
  }

  /** The epoch to end at (default 1); a fit resumed from a checkpoint runs the epochs left. */
  public FitOptions epochs(long epochs) {
    return set(TrainKitC.tk_fit_options_set_epochs(handle(), epochs));
  }

  /** Evaluated after every epoch. */
  public FitOptions validation(Dataset dataset, long batchSize) {
    this.validation = Objects.requireNonNull(dataset, "dataset");
    return set(TrainKitC.tk_fit_options_set_validation(handle(), dataset.handle(), batchSize));
  }

  /** Stops after {@code patience} epochs without an improvement of more than {@code minDelta}. */
  public FitOptions earlyStopping(Monitor monitor, MonitorMode mode, long patience, double minDelta) {
    return set(TrainKitC.tk_fit_options_set_early_stopping(handle(), monitor, mode, patience, minDelta));
  }

  /** Multiplies the learning rate by {@code factor} after {@code patience} epochs without improvement. */
  public FitOptions reduceOnPlateau(Monitor monitor, MonitorMode mode, double factor, long patience, long cooldown,
                                   double minLearningRate) {
    return set(TrainKitC.tk_fit_options_set_reduce_on_plateau(handle(), monitor, mode, factor, patience, cooldown,
        minLearningRate));
  }

  /** Checkpoints the best epoch to {@code path}; the trainer ends the fit as that epoch left it. */
  public FitOptions keepBest(String path, Monitor monitor, MonitorMode mode) {
    return set(TrainKitC.tk_fit_options_set_keep_best(handle(), Objects.requireNonNull(path, "path"), monitor, mode));
  }

  /** A checkpoint per epoch, "&lt;prefix&gt;-&lt;step&gt;.safetensors", the newest {@code keep} kept. */
  public FitOptions keepLast(String prefix, int keep) {
    return set(TrainKitC.tk_fit_options_set_keep_last(handle(), Objects.requireNonNull(prefix, "prefix"), keep));
  }

  /** Ends the fit between steps after {@code seconds} (0: none). */
  public FitOptions timeBudget(double seconds) {
    return set(TrainKitC.tk_fit_options_set_time_budget(handle(), seconds));
  }

  /** A step event every {@code every} steps (0: none). */
  public FitOptions stepEvents(long every) {
    return set(TrainKitC.tk_fit_options_set_step_events(handle(), every));
  }
}
