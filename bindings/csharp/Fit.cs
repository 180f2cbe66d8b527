// FitOptions and the fit loop: epochs with validation, early stopping,
// checkpoints, reduce-on-plateau and a time budget, calling a delegate per
// event on the calling thread (through tk_fit_begin / tk_fit_next).
using System;

namespace TrainKit {

/// <summary>What <see cref="Trainer.Fit"/> does besides stepping; every setter returns this object.</summary>
public sealed class FitOptions : NativeObject<SWIGTYPE_p_tk_fit_options> {
  static FitOptions() => NativeLoader.Load();

  static readonly Action<IntPtr> Destroy =
      address => TrainKitC.tk_fit_options_destroy(new SWIGTYPE_p_tk_fit_options(address, false));

  Dataset validation;  // reachable while the options are

  public FitOptions() : this(Create()) {}

  FitOptions(SWIGTYPE_p_tk_fit_options native) : base(native, SWIGTYPE_p_tk_fit_options.getCPtr(native).Handle, Destroy) {}

  static SWIGTYPE_p_tk_fit_options Create() {
    Interop.Check(TrainKitC.tk_fit_options_create(out SWIGTYPE_p_tk_fit_options options));
    return options;
  }

  FitOptions Set(Status status) {
    Interop.Check(status);
    return this;
  }

  /// <summary>The epoch to end at (default 1).</summary>
  public FitOptions Epochs(long epochs) {
    using (Lease()) return Set(TrainKitC.tk_fit_options_set_epochs(Native, epochs));
  }

  /// <summary>Evaluated after every epoch.</summary>
  public FitOptions Validation(Dataset dataset, long batchSize) {
    Interop.NotNull(dataset, nameof(dataset));
    validation = dataset;
    using (Lease())
    using (dataset.Lease()) return Set(TrainKitC.tk_fit_options_set_validation(Native, dataset.Native, batchSize));
  }

  /// <summary>Stops after <paramref name="patience"/> epochs without an improvement above <paramref name="minDelta"/>.</summary>
  public FitOptions EarlyStopping(Monitor monitor, MonitorMode mode, long patience, double minDelta = 0) {
    using (Lease()) return Set(TrainKitC.tk_fit_options_set_early_stopping(Native, monitor, mode, patience, minDelta));
  }

  /// <summary>Multiplies the learning rate by <paramref name="factor"/> after <paramref name="patience"/> epochs without improvement.</summary>
  public FitOptions ReduceOnPlateau(Monitor monitor, MonitorMode mode, double factor, long patience, long cooldown = 0,
                                    double minLearningRate = 0) {
    using (Lease())
      return Set(TrainKitC.tk_fit_options_set_reduce_on_plateau(Native, monitor, mode, factor, patience, cooldown,
                                                                minLearningRate));
  }

  /// <summary>Checkpoints the best epoch to <paramref name="path"/>; the fit ends with that epoch's state.</summary>
  public FitOptions KeepBest(string path, Monitor monitor, MonitorMode mode = MonitorMode.Auto) {
    Interop.NotNull(path, nameof(path));
    using (Lease()) return Set(TrainKitC.tk_fit_options_set_keep_best(Native, path, monitor, mode));
  }

  /// <summary>A checkpoint per epoch, the newest <paramref name="keep"/> kept.</summary>
  public FitOptions KeepLast(string prefix, int keep) {
    Interop.NotNull(prefix, nameof(prefix));
    using (Lease()) return Set(TrainKitC.tk_fit_options_set_keep_last(Native, prefix, keep));
  }

  /// <summary>Ends the fit between steps after <paramref name="seconds"/> (0: none).</summary>
  public FitOptions TimeBudget(double seconds) {
    using (Lease()) return Set(TrainKitC.tk_fit_options_set_time_budget(Native, seconds));
  }

  /// <summary>A step event every <paramref name="every"/> steps (0: none).</summary>
  public FitOptions StepEvents(long every) {
    using (Lease()) return Set(TrainKitC.tk_fit_options_set_step_events(Native, every));
  }
}

public sealed partial class Trainer {
  /// <summary>Epochs over <paramref name="batcher"/> from its cursor, calling <paramref name="callback"/>
  /// (may be null) per event on this thread; returning true stops the fit cleanly. An exception thrown
  /// by the callback (or by a <see cref="StreamBatcher"/>'s fill) ends the fit and comes out of this
  /// call, with the trainer at the last completed step. <see cref="Cancel"/> from another thread ends it with a TrainKitException (ErrorCancelled).</summary>
  public FitReport Fit(Batcher batcher, FitOptions options, Func<FitEvent, bool> callback = null) {
    Interop.NotNull(batcher, nameof(batcher));
    Interop.NotNull(options, nameof(options));
    using (Lease())
    using (batcher.Lease())
    using (options.Lease()) {
      Interop.Check(TrainKitC.tk_fit_begin(Native, batcher.Native, options.Native, out SWIGTYPE_p_tk_fit fit));
      try {
        while (true) {
          // A fresh event each time: a callback may keep the ones it is given.
          var fitEvent = new FitEvent();
          Interop.Check(TrainKitC.tk_fit_next(fit, fitEvent, out int hasEvent));
          if (hasEvent == 0) break;
          if (callback != null && callback(fitEvent)) Interop.Check(TrainKitC.tk_fit_stop(fit));
        }
        var report = new FitReport();
        Interop.Check(TrainKitC.tk_fit_get_report(fit, report));
        return report;
      } catch (TrainKitException failure) when (batcher is StreamBatcher stream) {
        stream.RethrowFillError(failure);
        throw;
      } finally {
        TrainKitC.tk_fit_destroy(fit);
      }
    }
  }

  /// <summary>Sets the base learning rate (what the schedule scales) from the next step on.</summary>
  public void SetLearningRate(double learningRate) {
    using (Lease()) Interop.Check(TrainKitC.tk_trainer_set_learning_rate(Native, learningRate));
  }

  /// <summary>Ends a fit or evaluation running on another thread at its next step (from any thread).</summary>
  public void Cancel() {
    using (Lease()) Interop.Check(TrainKitC.tk_trainer_cancel(Native));
  }
}

}  // namespace TrainKit

