// Freezing and parameter groups by name pattern, and the trainer's memory.
using System;

namespace TrainKit {

public sealed partial class Trainer {
  /// <summary>Freezes the parameter tensors whose names match a shell glob ("encoder_*", "*.bias"):
  /// no gradients and no optimizer moments. Returns how many matched; none is an error.</summary>
  public long Freeze(string pattern) {
    Interop.NotNull(pattern, nameof(pattern));
    using (Lease()) {
      Interop.Check(TrainKitC.tk_trainer_freeze(Native, pattern, out long matched));
      return matched;
    }
  }

  /// <summary>Trains the matching tensors again, with fresh optimizer moments.</summary>
  public long Unfreeze(string pattern) {
    Interop.NotNull(pattern, nameof(pattern));
    using (Lease()) {
      Interop.Check(TrainKitC.tk_trainer_unfreeze(Native, pattern, out long matched));
      return matched;
    }
  }

  /// <summary>The matching tensors train at <paramref name="learningRateScale"/> times the scheduled
  /// rate with their own weight decay (null: the default, which spares biases and norms).</summary>
  public long SetParamGroup(string pattern, double learningRateScale = 1.0, double? weightDecay = null) {
    Interop.NotNull(pattern, nameof(pattern));
    using (Lease()) {
      Interop.Check(TrainKitC.tk_trainer_set_param_group(Native, pattern, learningRateScale,
                                                         weightDecay ?? double.NaN, out long matched));
      return matched;
    }
  }

  /// <summary>How parameter tensor <paramref name="index"/> trains.</summary>
  public ParameterSettings GetParameterSettings(int index) {
    using (Lease()) {
      Interop.Check(TrainKitC.tk_trainer_parameter_settings(Native, index, out int frozen, out double scale,
                                                            out double decay));
      return new ParameterSettings(frozen != 0, scale, decay);
    }
  }

  /// <summary>Bytes of device memory the trainer holds now: weights, gradients, moments, activations.</summary>
  public long MemoryBytes {
    get {
      using (Lease()) {
        Interop.Check(TrainKitC.tk_trainer_memory(Native, out long bytes));
        return bytes;
      }
    }
  }
}

/// <summary>How one parameter tensor trains: frozen or not, its learning-rate factor and weight decay.</summary>
public sealed class ParameterSettings {
  public bool Frozen { get; }
  public double LearningRateScale { get; }
  public double WeightDecay { get; }
  internal ParameterSettings(bool frozen, double learningRateScale, double weightDecay) {
    Frozen = frozen;
    LearningRateScale = learningRateScale;
    WeightDecay = weightDecay;
  }
  public override string ToString() => $"frozen {Frozen}, rate x{LearningRateScale}, decay {WeightDecay}";
}

}  // namespace TrainKit
