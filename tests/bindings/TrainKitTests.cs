// C# binding tests, with a small runner that prints "N passed, N failed".
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TrainKit;

static class TrainKitTests {
  static readonly float[] Inputs = Enumerable.Range(0, 64).Select(i => (float)((i * 37) % 17) / 17.0f - 0.5f).ToArray();
  static readonly int[] Labels = Enumerable.Range(0, 16).Select(i => i % 3).ToArray();
  static readonly long[] Shape = { 16, 4 };
  static string reference;

  static Trainer ReferenceTrainer(Model model) {
    int x = model.Input("x", 4);
    int h = model.Tanh(model.Linear(x, 8));
    model.Output(model.Linear(h, 3), "logits");
    using (var options = new TrainerOptions().Optimizer(Optimizer.Adam).LearningRate(0.05).Seed(7).Threads(1))
      return new Trainer(model, Loss.SoftmaxCrossEntropy, options);
  }

  static string Tmp(string name) => Path.Combine(Environment.GetEnvironmentVariable("TEST_TMPDIR") ?? "/tmp", name);

  static void Assert(bool condition, string what) {
    if (!condition) throw new Exception("assertion failed: " + what);
  }

  static T Throws<T>(Action action) where T : Exception {
    try {
      action();
    } catch (T e) {
      return e;
    }
    throw new Exception("expected " + typeof(T).Name);
  }

  static void ResultsEqualTheCApi() {
    string[] expected = reference.Trim().Split(' ');
    using (var model = new Model())
    using (var trainer = ReferenceTrainer(model)) {
      double loss = 0;
      for (int i = 0; i < 20; ++i) loss = trainer.Step(Inputs, Shape, Labels);
      double sum = 0;
      foreach (float p in trainer.Parameters()) sum += p;
      Assert((float)loss == float.Parse(expected[0], System.Globalization.CultureInfo.InvariantCulture), $"loss {loss} vs {expected[0]}");
      Assert(sum == double.Parse(expected[1], System.Globalization.CultureInfo.InvariantCulture), $"sum {sum:R} vs {expected[1]}");
    }
  }

  static void TrainsEvaluatesPredictsSavesAndLoads() {
    string path = Tmp("csharp.safetensors");
    float[] trained;
    using (var model = new Model())
    using (var trainer = ReferenceTrainer(model)) {
      double first = trainer.Step(Inputs, Shape, Labels), last = first;
      for (int i = 0; i < 200; ++i) last = trainer.Step(Inputs, Shape, Labels);
      Assert(last < first / 2, $"loss {first} -> {last}");
      Assert(trainer.Evaluate(Inputs, Shape, Labels).Accuracy > 0.8, "accuracy");
      float[] p = trainer.Predict(Inputs, Shape, 3, true);
      Assert(Math.Abs(p[0] + p[1] + p[2] - 1) < 1e-5, "probabilities sum to 1");
      Assert(trainer.StepCount == 201, "step count");
      trainer.Save(path);
      trained = trainer.Parameters();
    }
    using (var model = new Model())
    using (var fresh = ReferenceTrainer(model)) {
      fresh.Load(path);
      Assert(fresh.StepCount == 201, "loaded step count");
      Assert(fresh.Parameters().SequenceEqual(trained), "loaded parameters");
    }
  }

  static void SpecsAndWeightFilesRoundTrip() {
    string spec = Tmp("csharp-spec.json"), weights = Tmp("csharp-weights.safetensors");
    float[] trained;
    using (var model = new Model())
    using (var trainer = ReferenceTrainer(model)) {
      trainer.Step(Inputs, Shape, Labels);
      model.SaveSpec(spec);
      trainer.ExportWeights(weights, DType.F32);
      trained = trainer.Parameters();
    }
    using (var rebuilt = Model.LoadSpec(spec))
    using (var trainer = new Trainer(rebuilt, Loss.SoftmaxCrossEntropy)) {
      trainer.ImportWeights(weights);
      Assert(trainer.Parameters().SequenceEqual(trained), "imported weights");
    }
    Assert(Throws<TrainKitException>(() => Model.FromSpec("{\"format\": \"other\"}")).Status == 1, "bad spec");
  }

  static void SpansAreUsedWithoutCopies() {
    using (var a = new Model())
    using (var spans = ReferenceTrainer(a))
    using (var b = new Model())
    using (var arrays = ReferenceTrainer(b)) {
      Span<float> x = new Span<float>(Inputs);
      for (int i = 0; i < 5; ++i)
        Assert(spans.Step(x, Shape, new ReadOnlySpan<int>(Labels)) == arrays.Step(Inputs, Shape, Labels), "same loss");
    }
  }

  static void ASmallCnnWithBatchNormTrains() {
    var images = Enumerable.Range(0, 32 * 64).Select(i => (float)Math.Sin(0.7 * i)).ToArray();
    var labels = Enumerable.Range(0, 32).Select(i => images[i * 64] > 0 ? 1 : 0).ToArray();
    using (var model = new Model()) {
      int x = model.Reshape(model.Input("image", 8, 8), 1, 8, 8);
      int h = model.MaxPool2d(model.Relu(model.BatchNorm(model.Conv2d(x, 4, 3, padding: 1, bias: false))), 2, 2);
      h = model.GlobalAvgPool(model.Dropout2d(h, 0.1));
      model.Output(model.Linear(h, 2), "logits");
      Assert(model.NumParameters() == 4 * 9 + 2 * 4 + 4 * 2 + 2, "parameters");
      using (var options = new TrainerOptions().Optimizer(Optimizer.Adam).LearningRate(0.05).Device(Device.Cpu))
      using (var trainer = new Trainer(model, Loss.SoftmaxCrossEntropy, options)) {
        double first = trainer.Step(images, new long[] { 32, 8, 8 }, labels), last = first;
        for (int i = 0; i < 30; ++i) last = trainer.Step(images, new long[] { 32, 8, 8 }, labels);
        Assert(last < first, $"loss {first} -> {last}");
      }
    }
  }

  static void DevicesAreChosenAndAMissingGpuIsAClearError() {
    int gpus = Trainer.GpuCount();
    Assert(gpus >= 0, "gpu count");
    using (var model = new Model()) {
      model.Output(model.Linear(model.Input("x", 4), 3), "logits");
      using (var options = new TrainerOptions().Device(Device.Cpu))
      using (var trainer = new Trainer(model, Loss.SoftmaxCrossEntropy, options))
        Assert(trainer.Step(new float[8], new long[] { 2, 4 }, new[] { 0, 1 }) > 0, "cpu step");
      if (gpus == 0)
        using (var options = new TrainerOptions().Device(Device.Cuda)) {
          var e = Throws<TrainKitException>(() => new Trainer(model, Loss.SoftmaxCrossEntropy, options));
          Assert(e.Status == 9 && e.Message.Contains("no GPU"), e.Message);
        }
    }
  }

  static void NativeErrorsBecomeExceptions() {
    using (var model = new Model())
    using (var trainer = ReferenceTrainer(model)) {
      var e = Throws<TrainKitException>(() => trainer.Step(new float[15], new long[] { 3, 5 }, new[] { 0, 1, 2 }));
      Assert(e.Status == 3 && e.Message.Contains("[batch, 4]"), e.Message);
      Assert(Throws<TrainKitException>(() => model.Linear(99, 3)).Status == 1, "bad node");
      using (var options = new TrainerOptions())
        Assert(Throws<TrainKitException>(() => options.LearningRate(-1)).Message.Contains("learning rate"), "lr");
      Assert(Throws<TrainKitException>(() => trainer.Load("/nonexistent/x.safetensors")).Status == 7, "io");
    }
  }

  static void DisposingTwiceIsANoOpAndDisposedObjectsRefuseUse() {
    var model = new Model();
    var trainer = ReferenceTrainer(model);
    trainer.Dispose();
    trainer.Dispose();
    Assert(trainer.IsClosed, "closed");
    Throws<ObjectDisposedException>(() => trainer.Step(Inputs, Shape, Labels));
    model.Dispose();
    model.Dispose();
  }

  static long ResidentKb() {
    foreach (string line in File.ReadAllLines("/proc/self/status"))
      if (line.StartsWith("VmRSS:")) return long.Parse(new string(line.Where(char.IsDigit).ToArray()));
    return -1;
  }

  static void ManyCyclesKeepMemoryFlatAndCollectedObjectsDoNotCrash() {
    int cycles = int.Parse(Environment.GetEnvironmentVariable("TRAINKIT_CYCLES") ?? "100000");
    long warm = 0;
    for (int i = 0; i < cycles; ++i) {
      using (var model = new Model())
      using (var trainer = ReferenceTrainer(model))
        trainer.Step(Inputs, Shape, Labels);
      if (i == cycles / 10) warm = ResidentKb();
    }
    long end = ResidentKb();
    Assert(end - warm < 32 * 1024, $"resident memory grew from {warm} kB to {end} kB");
    for (int i = 0; i < 2000; ++i) ReferenceTrainer(new Model()).Step(Inputs, Shape, Labels);
    GC.Collect();
    GC.WaitForPendingFinalizers();
    GC.Collect();
    Console.WriteLine($"cycles {cycles}, resident {warm} kB -> {end} kB");
  }

  static int Main(string[] args) {
    reference = File.ReadAllText(args[0]);
    var tests = new List<KeyValuePair<string, Action>> {
      new KeyValuePair<string, Action>("ResultsEqualTheCApi", ResultsEqualTheCApi),
      new KeyValuePair<string, Action>("TrainsEvaluatesPredictsSavesAndLoads", TrainsEvaluatesPredictsSavesAndLoads),
      new KeyValuePair<string, Action>("SpecsAndWeightFilesRoundTrip", SpecsAndWeightFilesRoundTrip),
      new KeyValuePair<string, Action>("SpansAreUsedWithoutCopies", SpansAreUsedWithoutCopies),
      new KeyValuePair<string, Action>("ASmallCnnWithBatchNormTrains", ASmallCnnWithBatchNormTrains),
      new KeyValuePair<string, Action>("DevicesAreChosenAndAMissingGpuIsAClearError", DevicesAreChosenAndAMissingGpuIsAClearError),
      new KeyValuePair<string, Action>("NativeErrorsBecomeExceptions", NativeErrorsBecomeExceptions),
      new KeyValuePair<string, Action>("DisposingTwiceIsANoOpAndDisposedObjectsRefuseUse", DisposingTwiceIsANoOpAndDisposedObjectsRefuseUse),
      new KeyValuePair<string, Action>("ManyCyclesKeepMemoryFlatAndCollectedObjectsDoNotCrash", ManyCyclesKeepMemoryFlatAndCollectedObjectsDoNotCrash),
    };
    int passed = 0, failed = 0;
    foreach (var entry in tests) {
      string name = entry.Key;
      try {
        entry.Value();
        ++passed;
        Console.WriteLine("PASS " + name);
      } catch (Exception e) {
        ++failed;
        Console.WriteLine("FAIL " + name + ": " + e);
      }
    }
    Console.WriteLine($"{passed} passed, {failed} failed");
    return failed == 0 ? 0 : 1;
  }
}
