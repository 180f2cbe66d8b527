// C# binding tests, with a small runner that prints "N passed, N failed, N checks".
// Usage: TrainKitTests.exe REFERENCE_OUTPUT MANIFEST
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using TrainKit;

static class TrainKitTests {
  static readonly float[] Inputs = Enumerable.Range(0, 64).Select(i => (float)((i * 37) % 17) / 17.0f - 0.5f).ToArray();
  static readonly int[] Labels = Enumerable.Range(0, 16).Select(i => i % 3).ToArray();
  static readonly long[] Shape = { 16, 4 };
  static string[] reference;
  static string manifest;
  static int checks;

  static TrainerOptions ReferenceOptions() =>
      new TrainerOptions().Optimizer(Optimizer.Adam).LearningRate(0.05).Seed(7).Threads(1);

  static Trainer ReferenceTrainer(Model model) {
    int x = model.Input("x", 4);
    int h = model.Tanh(model.Linear(x, 8));
    model.Output(model.Linear(h, 3), "logits");
    using (var options = ReferenceOptions())
      return new Trainer(model, Loss.SoftmaxCrossEntropy, options);
  }

  static string Tmp(string name) => Path.Combine(Environment.GetEnvironmentVariable("TEST_TMPDIR") ?? "/tmp", name);

  static void Assert(bool condition, string what) {
    ++checks;
    if (!condition) throw new Exception("assertion failed: " + what);
  }

  static T Throws<T>(Action action) where T : Exception {
    try {
      action();
    } catch (T e) {
      Assert(!string.IsNullOrEmpty(e.Message), typeof(T).Name + " has a message");
      return e;
    }
    throw new Exception("expected " + typeof(T).Name);
  }

  static TrainKitException Fails(Status status, Action action, string what) {
    var e = Throws<TrainKitException>(action);
    Assert(e.Status == status, $"{what}: {status} expected, got {e.Status}: {e.Message}");
    return e;
  }

  // Bit patterns, so that -0 and 0 (or two NaNs) are not taken as equal.
  static int[] Bits(float[] values) {
    var bits = new int[values.Length];
    Buffer.BlockCopy(values, 0, bits, 0, values.Length * sizeof(float));
    return bits;
  }

  static bool Finite(double value) => !double.IsNaN(value) && !double.IsInfinity(value);

  // ---- Agreement with the C API ------------------------------------------------------

  static void ResultsEqualTheCApi() {
    string[] expected = reference[0].Trim().Split(' ');
    using (var model = new Model())
    using (var trainer = ReferenceTrainer(model)) {
      double loss = 0;
      for (int i = 0; i < 20; ++i) loss = trainer.Step(Inputs, Shape, Labels);
      double sum = 0;
      foreach (float p in trainer.Parameters()) sum += p;
      Assert((float)loss == float.Parse(expected[0], CultureInfo.InvariantCulture), $"loss {loss} vs {expected[0]}");
      Assert(sum == double.Parse(expected[1], CultureInfo.InvariantCulture), $"sum {sum:R} vs {expected[1]}");
    }
  }

  static void EveryFunctionAndEnumOfTheHeaderIsGenerated() {
    var methods = new HashSet<string>(typeof(TrainKitC).GetMethods(BindingFlags.Public | BindingFlags.Static)
                                          .Select(m => m.Name));
    var members = new Dictionary<string, HashSet<string>>();
    int functions = 0, items = 0;
    foreach (string line in File.ReadAllLines(manifest)) {
      string[] f = line.Split(' ');
      if (f[0] == "function") {
        ++functions;
        Assert(methods.Contains(f[1]), "TrainKitC." + f[1] + " is generated");
      } else if (f[0] == "enum") {
        ++items;
        string cItem = f[3], binding = f[2], item = f[5];
        long value = long.Parse(f[6], CultureInfo.InvariantCulture);
        Type type = typeof(TrainKitC).Assembly.GetType("TrainKit." + binding);
        Assert(type != null && type.IsEnum && type.IsPublic, "TrainKit." + binding + " is a public enum");
        Assert(Enum.GetNames(type).Contains(item), $"{binding}.{item} exists");
        Assert(Convert.ToInt64(Enum.Parse(type, item), CultureInfo.InvariantCulture) == value,
               $"{binding}.{item} is {value}");
        if (!members.ContainsKey(binding)) members[binding] = new HashSet<string>();
        members[binding].Add(item);
        if (binding == "Status") {
          // Every status maps to an exception that keeps it and names it as C does.
          var status = (Status)value;
          Assert(TrainKitC.tk_status_string(status) == cItem, $"tk_status_string({item}) is {cItem}");
          if (status == Status.Ok) {
            TrainKitException.Check(status);
          } else {
            var e = Throws<TrainKitException>(() => TrainKitException.Check(status));
            Assert(e.Status == status && e.StatusName == cItem, $"{item} maps to an exception of {cItem}");
          }
        }
      }
    }
    Assert(functions > 0 && items > 0, $"the manifest lists {functions} functions and {items} enum items");
    foreach (var entry in members) {
      string[] names = Enum.GetNames(typeof(TrainKitC).Assembly.GetType("TrainKit." + entry.Key));
      Assert(names.Length == entry.Value.Count, $"{entry.Key} has no members beyond the header's: {string.Join(", ", names)}");
    }
    foreach (Type type in typeof(TrainKitC).Assembly.GetTypes().Where(t => t.IsPublic && t.IsEnum))
      Assert(members.ContainsKey(type.Name), $"TrainKit.{type.Name} comes from the header");
    Assert(!methods.Contains("tk_get_api"), "tk_get_api stays excluded");
  }

  // reference.c's second scenario: two epochs of shuffled batches of 5 (seed 3).
  const int DataRows = 16, DataFeatures = 4, DataBatch = 5, DataEpochs = 2;
  const ulong DataSeed = 3;

  // Trains the reference model on shuffled batches of a dataset.
  static float[] TrainOnBatches(Func<Dataset> make) {
    using (var dataset = make())
    using (var batcher = new Batcher(dataset, DataBatch, true, DataSeed))
    using (var model = new Model())
    using (var trainer = ReferenceTrainer(model)) {
      Assert(dataset.Size == DataRows, "dataset size");
      Assert(dataset.SampleShape().SequenceEqual(new long[] { DataFeatures }), "sample shape");
      for (int epoch = 0; epoch < DataEpochs; ++epoch) {
        batcher.Reset(epoch);
        int batches = 0;
        while (trainer.StepNext(batcher, out double loss)) {
          Assert(Finite(loss), "finite loss");
          ++batches;
        }
        Assert(batches == (DataRows + DataBatch - 1) / DataBatch, $"{batches} batches an epoch");
      }
      return trainer.Parameters();
    }
  }

  static void ADatasetFromArraysTrainsLikeASpanAndTheCApi() {
    const int n = DataRows, features = DataFeatures, batch = DataBatch, epochs = DataEpochs;
    const ulong seed = DataSeed;
    float[] x = Inputs;
    int[] y = Labels;
    long[] shape = { n, features };

    float[] fromArrays = TrainOnBatches(() => Dataset.FromArrays(x, shape, y));
    // The same values inside larger buffers: the spans' offsets must be honoured.
    var paddedX = new float[x.Length + 7];
    var paddedY = new int[y.Length + 3];
    x.CopyTo(paddedX, 5);
    y.CopyTo(paddedY, 2);
    float[] fromSpans = TrainOnBatches(() => Dataset.FromArrays(new ReadOnlySpan<float>(paddedX, 5, x.Length), shape,
                                                       new ReadOnlySpan<int>(paddedY, 2, y.Length)));
    Assert(Bits(fromArrays).SequenceEqual(Bits(fromSpans)), "arrays and spans train to the same bits");
    double sum = 0;
    foreach (float p in fromArrays) sum += p;
    Assert(sum == double.Parse(reference[1], CultureInfo.InvariantCulture), $"sum {sum:R} vs C's {reference[1]}");

    // The same training through the generated C API alone.
    float[] fromC;
    GCHandle xPin = GCHandle.Alloc(x, GCHandleType.Pinned), yPin = GCHandle.Alloc(y, GCHandleType.Pinned);
    try {
      Ok(TrainKitC.tk_model_create(out SWIGTYPE_p_tk_model model));
      Ok(TrainKitC.tk_model_input(model, "x", 1, new long[] { features }, out int node));
      Ok(TrainKitC.tk_model_linear(model, node, 8, out node));
      Ok(TrainKitC.tk_model_tanh(model, node, out node));
      Ok(TrainKitC.tk_model_linear(model, node, 3, out node));
      Ok(TrainKitC.tk_model_output(model, node, "logits"));
      Ok(TrainKitC.tk_trainer_options_create(out SWIGTYPE_p_tk_trainer_options options));
      Ok(TrainKitC.tk_trainer_options_set_optimizer(options, Optimizer.Adam));
      Ok(TrainKitC.tk_trainer_options_set_learning_rate(options, 0.05));
      Ok(TrainKitC.tk_trainer_options_set_seed(options, 7));
      Ok(TrainKitC.tk_trainer_options_set_threads(options, 1));
      Ok(TrainKitC.tk_trainer_create(model, Loss.SoftmaxCrossEntropy, options, out SWIGTYPE_p_tk_trainer trainer));
      TrainKitC.tk_trainer_options_destroy(options);
      TrainKitC.tk_model_destroy(model);
      using (TensorView xv = TrainKitC.tk_view(xPin.AddrOfPinnedObject(), DType.F32, 2, shape))
      using (TensorView yv = TrainKitC.tk_view(yPin.AddrOfPinnedObject(), DType.I32, 1, new long[] { n })) {
        Assert(xv.nbytes() == n * features * 4 && yv.extent(0) == n, "tk_view shapes");
        Ok(TrainKitC.tk_dataset_create(xv, yv, out SWIGTYPE_p_tk_dataset dataset));
        Ok(TrainKitC.tk_batcher_create(dataset, batch, 1, seed, 0, out SWIGTYPE_p_tk_batcher batcher));
        TrainKitC.tk_dataset_destroy(dataset);  // the batcher keeps it
        using (var features_ = new TensorView())
        using (var targets = new TensorView())
          for (int epoch = 0; epoch < epochs; ++epoch) {
            Ok(TrainKitC.tk_batcher_reset(batcher, epoch));
            while (true) {
              Ok(TrainKitC.tk_batcher_next(batcher, features_, targets, out int has));
              if (has == 0) break;
              Ok(TrainKitC.tk_trainer_step(trainer, features_, targets, out float _));
            }
          }
        TrainKitC.tk_batcher_destroy(batcher);
      }
      Ok(TrainKitC.tk_trainer_num_parameters(trainer, out long count));
      fromC = new float[count];
      Ok(TrainKitC.tk_trainer_copy_parameters(trainer, fromC, count));
      TrainKitC.tk_trainer_destroy(trainer);
    } finally {
      xPin.Free();
      yPin.Free();
    }
    Assert(Bits(fromArrays).SequenceEqual(Bits(fromC)), "the generated C API trains to the same bits");
  }

  static void Ok(Status status) => Assert(status == Status.Ok, status + ": " + TrainKitC.tk_last_error_message());

  // ---- Training, evaluation, prediction, persistence -----------------------------------

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
      var logits = new float[16 * 3 + 2];
      trainer.Predict(Inputs, Shape, new Span<float>(logits, 1, 48), new long[] { 16, 3 });
      Assert(logits[0] == 0 && logits[49] == 0, "prediction stays inside the span");
      float[] fresh = trainer.Predict(Inputs, Shape, 3);
      Assert(Bits(logits.Skip(1).Take(48).ToArray()).SequenceEqual(Bits(fresh)), "span and array predictions agree");
      Assert(Math.Abs(logits[1]) + Math.Abs(logits[2]) > 0 && logits[1] != p[0], "logits are not probabilities");
      Assert(trainer.StepCount == 201, "step count");
      trainer.SetProperty("note", "trained in C# \u03bb");
      trainer.Save(path);
      trained = trainer.Parameters();
    }
    using (var model = new Model())
    using (var fresh = ReferenceTrainer(model)) {
      fresh.Load(path);
      Assert(fresh.StepCount == 201, "loaded step count");
      Assert(fresh.Parameters().SequenceEqual(trained), "loaded parameters");
      Assert(fresh.GetProperty("note") == "trained in C# \u03bb", "a property survives a checkpoint");
    }
  }

  static void CheckpointsKeepTheBatcherPositionAndTheLastFew() {
    float[] x = Enumerable.Range(0, 32 * 4).Select(i => (float)Math.Sin(0.11 * i)).ToArray();
    int[] y = Enumerable.Range(0, 32).Select(i => i % 3).ToArray();
    string prefix = Tmp("csharp-keep");
    foreach (string old in Directory.GetFiles(Path.GetDirectoryName(prefix), "csharp-keep-*")) File.Delete(old);
    using (var dataset = Dataset.FromArrays(x, new long[] { 32, 4 }, y))
    using (var model = new Model())
    using (var trainer = ReferenceTrainer(model))
    using (var batcher = new Batcher(dataset, 4, true, 11)) {
      string saved = null;
      var written = new List<string>();
      for (int i = 0; i < 3; ++i) {
        Assert(trainer.StepNext(batcher, out double _), "a batch");
        saved = trainer.SaveKeepLast(prefix, 2, batcher);
        written.Add(saved);
        Assert(saved.StartsWith(prefix + "-") && saved.EndsWith(".safetensors") && File.Exists(saved),
               "SaveKeepLast wrote " + saved);
        string step = saved.Substring(prefix.Length + 1, saved.Length - prefix.Length - 1 - ".safetensors".Length);
        Assert(long.Parse(step, CultureInfo.InvariantCulture) == i + 1, "the path names the step: " + saved);
      }
      Assert(!File.Exists(written[0]) && File.Exists(written[1]), "only the last two are kept");
      trainer.StepNext(batcher, out double expected);
      using (var model2 = new Model())
      using (var resumed = ReferenceTrainer(model2))
      using (var batcher2 = new Batcher(dataset, 4, true, 11)) {
        resumed.Load(saved, batcher2);
        Assert(resumed.StepCount == 3, "resumed step count");
        resumed.StepNext(batcher2, out double loss);
        Assert(loss == expected, $"the resumed batcher serves the same next batch: {loss} vs {expected}");
      }
    }
  }

  static void SpecsAndWeightFilesRoundTrip() {
    string spec = Tmp("csharp-spec.json"), weights = Tmp("csharp-weights.safetensors");
    float[] trained;
    string text;
    using (var model = new Model())
    using (var trainer = ReferenceTrainer(model)) {
      trainer.Step(Inputs, Shape, Labels);
      model.SaveSpec(spec);
      text = model.Spec();
      Assert(text.StartsWith("{") && text.Contains("logits"), "spec text");
      trainer.ExportWeights(weights, DType.F32);
      trained = trainer.Parameters();
    }
    using (var rebuilt = Model.LoadSpec(spec))
    using (var trainer = new Trainer(rebuilt, Loss.SoftmaxCrossEntropy)) {
      Assert(rebuilt.Spec() == text, "a loaded spec is the saved one");
      trainer.ImportWeights(weights);
      Assert(trainer.Parameters().SequenceEqual(trained), "imported weights");
    }
    using (var fromText = Model.FromSpec(text))
      Assert(fromText.NumParameters() == 4 * 8 + 8 + 8 * 3 + 3, "a model from spec text");
    Fails(Status.ErrorInvalidArgument, () => Model.FromSpec("{\"format\": \"other\"}"), "bad spec");
  }

  static void SpansAreUsedWithoutCopies() {
    using (var a = new Model())
    using (var spans = ReferenceTrainer(a))
    using (var b = new Model())
    using (var arrays = ReferenceTrainer(b)) {
      Span<float> x = new Span<float>(Inputs);
      for (int i = 0; i < 5; ++i)
        Assert(spans.Step(x, Shape, new ReadOnlySpan<int>(Labels)) == arrays.Step(Inputs, Shape, Labels), "same loss");
      Evaluation e1 = spans.Evaluate(x, Shape, new ReadOnlySpan<int>(Labels)), e2 = arrays.Evaluate(Inputs, Shape, Labels);
      Assert(e1.Loss == e2.Loss && e1.Accuracy == e2.Accuracy, "same evaluation");
    }
  }

  static void FloatTargetsTrainAndEvaluate() {
    float[] targets = Enumerable.Range(0, 16 * 2).Select(i => (float)Math.Sin(i)).ToArray();
    long[] targetShape = { 16, 2 };
    using (var model = new Model()) {
      model.Output(model.Linear(model.Gelu(model.Linear(model.Input("x", 4), 16)), 2), "y");
      using (var options = new TrainerOptions().Optimizer(Optimizer.Adamw).LearningRate(0.02).Seed(2).Threads(1))
      using (var trainer = new Trainer(model, Loss.Mse, options))
      using (var dataset = Dataset.FromArrays(Inputs, Shape, targets, targetShape)) {
        double first = trainer.Step(Inputs, Shape, targets, targetShape), last = first;
        for (int i = 0; i < 100; ++i) last = trainer.Step(new ReadOnlySpan<float>(Inputs), Shape, targets, targetShape);
        Assert(last < first / 2, $"MSE {first} -> {last}");
        Evaluation batch = trainer.Evaluate(Inputs, Shape, targets, targetShape);
        Assert(double.IsNaN(batch.Accuracy) && Finite(batch.Loss), "MSE evaluation has no accuracy");
        Evaluation whole = trainer.Evaluate(dataset, 16);
        Assert(Math.Abs(whole.Loss - batch.Loss) < 1e-6, $"dataset evaluation {whole.Loss} vs {batch.Loss}");
        StepReport report = trainer.StepWithReport(Inputs, Shape, targets, targetShape);
        Assert(report.applied == 1 && report.step == trainer.StepCount, "float-target report");
      }
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

  static void EveryTypedLayerBuilds() {
    using (var model = new Model()) {
      int x = model.Input("x", 2, 6, 6);
      Assert(model.NodeName(x) == "x" && model.NodeShape(x).SequenceEqual(new long[] { 2, 6, 6 }), "input");
      int c = model.Conv2d(x, 3, 3, stride: 1, padding: 1);
      Assert(model.NodeShape(c).SequenceEqual(new long[] { 3, 6, 6 }), "conv2d shape");
      int a = model.AvgPool2d(c, 2, 2);
      Assert(model.NodeShape(a).SequenceEqual(new long[] { 3, 3, 3 }), "avg pool shape");
      int m = model.MaxPool2d(c, 2, 2);
      int s = model.Add(model.Sigmoid(a), model.Tanh(m));
      int f = model.Flatten(model.Dropout(s, 0.2));
      Assert(model.NodeShape(f).SequenceEqual(new long[] { 27 }), "flatten shape");
      int n = model.LayerNorm(model.Relu(f));
      int r = model.Reshape(n, 3, 9);
      Assert(model.NodeShape(r).SequenceEqual(new long[] { 3, 9 }), "reshape shape");
      int z = model.Linear(model.Flatten(r), 5, false, Init.Zeros);
      model.SetNodeName(z, "zero_linear");
      Assert(model.NodeName(z) == "zero_linear", "renamed node");
      string longName = new string('n', 300);
      model.SetNodeName(z, longName);
      Assert(model.NodeName(z) == longName, "a long name is read whole");
      model.SetNodeName(z, "zero_linear");
      model.Output(model.Gelu(z), "out");
      long expected = (3 * 2 * 9 + 3) + (27 * 2) + 27 * 5;
      Assert(model.NumParameters() == expected, $"parameters {model.NumParameters()} vs {expected}");
      using (var options = new TrainerOptions().Device(Device.Cpu).Threads(1))
      using (var trainer = new Trainer(model, Loss.Mse, options)) {
        int last = trainer.NumParameterTensors - 1;
        Assert(trainer.ParameterName(last) == "zero_linear.weight", trainer.ParameterName(last));
        Assert(trainer.ParameterShape(last).SequenceEqual(new long[] { 5, 27 }), "zero linear weight shape");
        Assert(trainer.GetParameter(last).All(v => v == 0), "Init.Zeros");
        Assert(model.Spec().Contains("zero_linear"), "the spec names the node");
      }
    }
  }

  static void ASharedWeightIsOneTensor() {
    using (var model = new Model()) {
      int x = model.Input("x", 6);
      int a = model.Linear(x, 6, false);
      int b = model.Linear(model.Tanh(a), 6, false);
      model.SetNodeName(a, "a");
      model.ShareParameter(b, "weight", a, "weight");
      model.Output(b, "y");
      Assert(model.NumParameters() == 36, $"one tensor: {model.NumParameters()} parameters");
      Assert(model.Spec().Contains("\"a.weight\""), "the spec keeps the tie");
      int narrow = model.Linear(x, 3, false);
      Fails(Status.ErrorShapeMismatch, () => model.ShareParameter(narrow, "weight", a, "weight"), "tying across shapes");
      using (var options = new TrainerOptions().Device(Device.Cpu).Threads(1))
      using (var trainer = new Trainer(model, Loss.Mse, options)) {
        Assert(trainer.NumParameterTensors == 1 && trainer.ParameterName(0) == "a.weight", "named after its owner");
      }
    }
    using (var model = new Model()) {
      int x = model.Input("x", 5, 8);
      int h = model.MultiHeadAttention(x, 2, causal: true, name: "self");
      Assert(model.NodeName(h) == "self.out", "the composite's output node");
      Assert(model.NumParameters() == 4 * (8 * 8 + 8), "four projections");
      Fails(Status.ErrorShapeMismatch, () => model.MultiHeadAttention(x, 3), "3 heads of 8");
      Assert(model.NumParameters() == 4 * (8 * 8 + 8), "a failed composite adds nothing");
    }
  }

  static void SeveralOutputsComeFromOneForward() {
    using (var model = new Model()) {
      int ids = model.InputIndices("ids", 4);
      int pooled = model.Op("mean_pool", "", model.Op("embedding", "{\"vocab\": 6, \"dim\": 5}", ids));
      model.Output(model.Linear(pooled, 2), "logits").AddOutput(pooled, "embedding");
      using (var options = new TrainerOptions().Device(Device.Cpu).Threads(1))
      using (var trainer = new Trainer(model, Loss.SoftmaxCrossEntropy, options))
      using (var inputs = new Inputs(1)) {
        OutputInfo[] outputs = trainer.OutputInfos;
        Assert(outputs.Length == 2 && outputs[1].Name == "embedding" && outputs[1].Shape.SequenceEqual(new long[] { 5 }),
               "the outputs' names and shapes");
        var tokens = new int[] { 1, 2, 3, 4, 5, 5, 0, 1 };
        inputs.Set(0, tokens, new long[] { 2, 4 });
        float[][] got = trainer.PredictOutputs(inputs, 2);
        float[] table = trainer.GetParameter(0);
        double worst = 0;
        for (int row = 0; row < 2; ++row)
          for (int d = 0; d < 5; ++d) {
            double mean = 0;
            for (int s = 0; s < 4; ++s) mean += table[tokens[row * 4 + s] * 5 + d] / 4.0;
            worst = Math.Max(worst, Math.Abs(mean - got[1][row * 5 + d]));
          }
        Assert(worst < 1e-6, $"the embedding output is the mean of its rows ({worst})");
        using (var predictor = Predictor.FromTrainer(trainer, 1))
          Assert(predictor.PredictOutputs(inputs, 2)[1].SequenceEqual(got[1]), "a predictor's outputs");
        Fails(Status.ErrorShapeMismatch, () => trainer.PredictOutputs(inputs, 3), "rows that are not the batch's");
      }
    }
  }

  static void TheGenericOpTrainsAndRefusesUnknownOps() {
    string catalog = Model.OpCatalog();
    Assert(catalog.StartsWith("{\"ops\"") && catalog.Contains("\"linear\"") && catalog.EndsWith("}"), "op catalog");
    using (var model = new Model()) {
      int x = model.Input("x", 4);
      int h = model.Op("linear", "{\"units\": 3}", x);
      Assert(model.NodeShape(h).SequenceEqual(new long[] { 3 }) && model.NumParameters() == 15, "linear op");
      model.Output(h, "logits");
      var e = Fails(Status.ErrorInvalidArgument, () => model.Op("no_such_op", null, x), "unknown op");
      Assert(e.Message.Contains("no_such_op"), e.Message);
      e = Fails(Status.ErrorInvalidArgument, () => model.Op("linear", "{\"unitz\": 3}", x), "unknown attribute");
      Assert(e.Message.Contains("unitz"), e.Message);
      Fails(Status.ErrorInvalidArgument, () => model.Op("linear", "{\"units\": 3", x), "invalid JSON");
      Fails(Status.ErrorInvalidArgument, () => model.Op("add", "", x), "wrong input count");
      using (var options = new TrainerOptions().Optimizer(Optimizer.Adam).LearningRate(0.05).Seed(1).Threads(1))
      using (var trainer = new Trainer(model, Loss.SoftmaxCrossEntropy, options)) {
        double first = trainer.Step(Inputs, Shape, Labels), last = first;
        for (int i = 0; i < 100; ++i) last = trainer.Step(Inputs, Shape, Labels);
        Assert(last < first, $"op-built model trains: {first} -> {last}");
      }
    }
  }

  // ---- Options, mixed precision, data parallel ---------------------------------------

  static void EveryOptionReachesTheTrainer() {
    using (var model = new Model())
    using (var plain = ReferenceTrainer(model)) {
      using (var options = new TrainerOptions().Optimizer(Optimizer.Sgd).LearningRate(0.1).Momentum(0.9, true)
                 .WeightDecay(1e-4).Adam(0.9, 0.99, 1e-7).Schedule(Schedule.Cosine, 2, 1, 0.1, 100, 0.001)
                 .ClipNorm(5).AccumulationSteps(2).Seed(7).Threads(1).Reduction(Reduction.Sum)
                 .NonFinite(NonFinite.Skip).Device(Device.Cpu).ComputeDtype(DType.F32).BatchHint(16)
                 .MemoryLimit(0).Precision(Precision.Fp32).LossScaling(LossScaling.Off).Replicas(1)
                 .Distributed(Distributed.None).CommunicationTimeout(30).BucketBytes(1 << 20).CudaGraphs(false))
      using (var trainer = new Trainer(model, Loss.SoftmaxCrossEntropy, options)) {
        Assert(trainer.DeviceName == "cpu", "device " + trainer.DeviceName);
        Assert(trainer.World.Rank == 0 && trainer.World.Size == 1, "world");
        Assert(Math.Abs(trainer.LearningRate - 0.05) < 1e-12, $"warm-up learning rate {trainer.LearningRate}");
        double sum = trainer.Step(Inputs, Shape, Labels);
        using (var m2 = new Model())
        using (var mean = ReferenceTrainer(m2))
          Assert(Math.Abs(sum - 16 * mean.Step(Inputs, Shape, Labels)) < 1e-3, "sum reduction");
        Assert(trainer.StepCount == 0, "accumulating");
        trainer.Step(Inputs, Shape, Labels);
        Assert(trainer.StepCount == 1 && trainer.LastGradNorm > 0, "two micro-batches make one update");
        var bad = (float[])Inputs.Clone();
        bad[3] = float.NaN;
        trainer.Step(bad, Shape, Labels);
        Assert(trainer.SkippedSteps == 1, "a non-finite batch is skipped");
      }
      using (var options = new TrainerOptions()) {
        Fails(Status.ErrorInvalidArgument, () => options.LearningRate(-1), "negative learning rate");
        Fails(Status.ErrorInvalidArgument, () => options.Momentum(1.5), "momentum");
        Fails(Status.ErrorInvalidArgument, () => options.Adam(1.5, 0.9, 1e-8), "beta1");
        Fails(Status.ErrorInvalidArgument, () => options.AccumulationSteps(0), "accumulation");
        Fails(Status.ErrorInvalidArgument, () => options.Replicas(0), "replicas");
        Fails(Status.ErrorInvalidArgument, () => options.ComputeDtype(DType.U8), "compute dtype");
        Fails(Status.ErrorInvalidArgument, () => options.Optimizer((Optimizer)42), "unknown optimizer");
        Fails(Status.ErrorInvalidArgument, () => options.Device((Device)42), "unknown device");
        Fails(Status.ErrorInvalidArgument, () => options.CudaDevice(-1), "negative GPU index");
        Assert(options.CudaDevice(0) == options, "a GPU index is taken (and checked at creation)");
      }
      Assert(plain.StepCount == 0, "untouched");
    }
  }

  static void Fp16OverflowIsSkippedAndTheScaleBacksOff() {
    using (var model = new Model()) {
      int x = model.Input("x", 4);
      model.Output(model.Linear(model.Relu(model.Linear(x, 8)), 3), "logits");
      using (var options = new TrainerOptions().Precision(Precision.Fp16).Device(Device.Cpu).Seed(1).Threads(1)
                 .Optimizer(Optimizer.Adam).LearningRate(0.01))
      using (var trainer = new Trainer(model, Loss.SoftmaxCrossEntropy, options)) {
        double initial = trainer.LossScale.Scale;
        Assert(initial == 65536, $"initial scale {initial}");
        float[] before = trainer.Parameters();
        var huge = (float[])Inputs.Clone();
        huge[0] = 1e30f;  // beyond fp16's range
        var report = new StepReport();
        Assert(trainer.StepWithReport(huge, Shape, Labels, report) == report, "the caller's report is filled");
        Assert(report.struct_size > 0, "struct_size is set");
        Assert(report.skipped == 1 && report.applied == 0, $"overflow: skipped {report.skipped} applied {report.applied}");
        Assert(report.loss_scale == initial, $"the overflowing step used scale {report.loss_scale}");
        LossScaleState state = trainer.LossScale;
        Assert(state.Scale == initial * 0.5 && state.Skipped == 1 && state.GrowthTracker == 0,
               $"backed off to {state.Scale}, skipped {state.Skipped}");
        Assert(trainer.StepCount == 0 && trainer.SkippedSteps == 1, "nothing applied");
        Assert(Bits(trainer.Parameters()).SequenceEqual(Bits(before)), "weights unchanged by the skipped step");
        StepReport normal = trainer.StepWithReport(Inputs, Shape, Labels);
        Assert(normal != report, "the trainer's own report");
        Assert(normal.applied == 1 && normal.skipped == 0 && normal.step == 1, "a normal batch applies");
        Assert(normal.loss_scale == initial * 0.5 && Finite(normal.loss) && normal.loss > 0, "normal step report");
        Assert(normal.learning_rate == 0.01 && normal.grad_norm > 0, "learning rate and norm reported");
        Assert(!Bits(trainer.Parameters()).SequenceEqual(Bits(before)), "weights updated");
      }
    }
  }

  static float[] TrainReplicas(int replicas) {
    using (var model = new Model()) {
      int x = model.Input("x", 4);
      model.Output(model.Linear(model.Tanh(model.Linear(x, 16)), 3), "logits");
      using (var options = new TrainerOptions().Optimizer(Optimizer.Sgd).LearningRate(0.2).Seed(5).Device(Device.Cpu)
                 .Threads(1).Replicas(replicas))
      using (var trainer = new Trainer(model, Loss.SoftmaxCrossEntropy, options)) {
        for (int i = 0; i < 30; ++i) trainer.Step(Inputs, Shape, Labels);
        Assert(trainer.StepCount == 30, "replica steps");
        return trainer.Parameters();
      }
    }
  }

  static void TwoReplicasTrainLikeOne() {
    float[] one = TrainReplicas(1), two = TrainReplicas(2);
    float[] initial;
    using (var model = new Model()) {
      model.Output(model.Linear(model.Tanh(model.Linear(model.Input("x", 4), 16)), 3), "logits");
      using (var options = new TrainerOptions().Seed(5).Device(Device.Cpu))
      using (var trainer = new Trainer(model, Loss.SoftmaxCrossEntropy, options))
        initial = trainer.Parameters();
    }
    double difference = one.Zip(two, (a, b) => Math.Abs((double)a - b)).Max();
    double moved = one.Zip(initial, (a, b) => Math.Abs((double)a - b)).Max();
    Assert(difference < 1e-5, $"replicas differ by {difference}");
    Assert(moved > 1e-2, $"training moved the weights by {moved}");
  }

  static void StepAsyncWaitsLikeStep() {
    using (var a = new Model())
    using (var sync = ReferenceTrainer(a))
    using (var b = new Model())
    using (var queued = ReferenceTrainer(b)) {
      for (int i = 0; i < 5; ++i) {
        sync.Step(Inputs, Shape, Labels);
        queued.StepAsync(Inputs, Shape, Labels);
      }
      var report = new StepReport();
      Assert(queued.WaitSteps(report) == report && report.step == 5 && report.applied == 1, "wait reports the last step");
      Assert(Bits(sync.Parameters()).SequenceEqual(Bits(queued.Parameters())), "queued steps train as steps do");
      Assert(queued.WaitSteps().step == 5, "waiting with nothing queued");
    }
  }

  // ---- Parameters, datasets, batchers ------------------------------------------------

  static void ParameterTensorsAndPropertiesAreReachable() {
    using (var model = new Model())
    using (var trainer = ReferenceTrainer(model)) {
      Assert(trainer.NumParameterTensors == 4, "four tensors");
      string[] names = Enumerable.Range(0, 4).Select(trainer.ParameterName).ToArray();
      Assert(names[0].EndsWith(".weight") && names[1].EndsWith(".bias"), string.Join(" ", names));
      Assert(trainer.ParameterShape(0).SequenceEqual(new long[] { 8, 4 }), "weight shape");
      long total = Enumerable.Range(0, 4).Sum(i => trainer.ParameterShape(i).Aggregate(1L, (p, d) => p * d));
      Assert(total == trainer.NumParameters && total == model.NumParameters(), "tensor sizes add up");
      float[] all = trainer.Parameters();
      Assert(trainer.GetParameter(0).SequenceEqual(all.Take(32)), "a tensor is its slice of all");
      var replaced = Enumerable.Range(0, 32).Select(i => i * 0.01f).ToArray();
      trainer.SetParameter(0, replaced);
      var read = new float[32];
      trainer.GetParameter(0, read);
      Assert(read.SequenceEqual(replaced), "set then get");
      var copy = new float[trainer.NumParameters];
      trainer.CopyParameters(copy);
      Assert(copy.Take(32).SequenceEqual(replaced) && copy.Skip(32).SequenceEqual(all.Skip(32)), "copy parameters");
      Fails(Status.ErrorShapeMismatch, () => trainer.SetParameter(0, new float[31]), "short tensor");
      Fails(Status.ErrorInvalidArgument, () => trainer.ParameterName(4), "no fifth tensor");
      Fails(Status.ErrorShapeMismatch, () => trainer.CopyParameters(new float[3]), "short copy");
      trainer.SetProperty("epoch", "3");
      Assert(trainer.GetProperty("epoch") == "3", "property");
      Fails(Status.ErrorInvalidArgument, () => trainer.GetProperty("missing"), "missing property");
      // The typed handle reaches any generated function.
      trainer.Step(Inputs, Shape, Labels);
      using (trainer.Lease()) {
        Assert(TrainKitC.tk_trainer_step_count(trainer.Handle, out long steps) == Status.Ok && steps == trainer.StepCount,
               "the typed handle");
        Assert(TrainKitC.tk_model_num_parameters(model.Handle, out long count) == Status.Ok && count == 67,
               "the model's handle");
      }
    }
  }

  static int Batches(Batcher batcher) {
    int count = 0;
    using (var features = new TensorView())
    using (var targets = new TensorView())
      while (batcher.Next(features, targets)) {
        Assert(features.extent(1) == 4 && targets.dtype == (int)DType.I32, "batch views");
        ++count;
      }
    return count;
  }

  static void DatasetsNormalizeAndBatchersShard() {
    float[] x = Enumerable.Range(0, 16 * 4).Select(i => (float)(i % 9)).ToArray();
    using (var dataset = Dataset.FromArrays(x, Shape, Labels)) {
      var (mean, std) = dataset.Stats();
      double expectedMean = x.Average(v => (double)v);
      Assert(Math.Abs(mean - expectedMean) < 1e-9, $"mean {mean} vs {expectedMean}");
      Assert(std > 0, "std");
      dataset.Standardize(mean, std);
      var standardized = dataset.Stats();
      Assert(Math.Abs(standardized.Mean) < 1e-5 && Math.Abs(standardized.Std - 1) < 1e-5, "standardized");
      dataset.Normalize(Normalization.UnitRange);
      var unit = dataset.Stats();
      Assert(Math.Abs(unit.Mean - expectedMean / 8) < 1e-6, $"unit range mean {unit.Mean}");
      using (var batcher = new Batcher(dataset, 4, false)) {
        Assert(Batches(batcher) == 4, "four batches");
        batcher.SetShard(1, 2);
        batcher.Reset(0);
        Assert(Batches(batcher) == 2, "half of them in a shard of two");
        Fails(Status.ErrorInvalidArgument, () => batcher.SetShard(2, 2), "rank beyond the count");
      }
      using (var batcher = new Batcher(dataset, 1, true, 4)) {
        batcher.SetShard(2, 3);
        Assert(Batches(batcher) == 6, "16 samples in 3 shards: 6 each, padded");
        batcher.SetShard(2, 3, ShardRemainder.Drop);
        batcher.Reset(1);
        Assert(Batches(batcher) == 5, "16 samples in 3 shards: 5 each, the remainder dropped");
        batcher.SetShard(0, 1, ShardRemainder.Pad);
        batcher.Reset(0);
        Assert(Batches(batcher) == 16, "one shard is the whole epoch");
      }
    }
  }

  static void DevicesAreChosenAndAMissingGpuIsAClearError() {
    int gpus = Trainer.GpuCount(out string reason);
    Assert(gpus >= 0 && gpus == Trainer.GpuCount(), "gpu count");
    for (int i = 0; i < gpus; ++i)
      using (GpuInfo info = Trainer.GpuInfo(i))
        Assert(info.name.Length > 0 && info.memory_bytes > 0 && info.compute_major > 0, "gpu " + i);
    Fails(Status.ErrorInvalidArgument, () => Trainer.GpuInfo(gpus), "no such GPU");
    using (var model = new Model()) {
      model.Output(model.Linear(model.Input("x", 4), 3), "logits");
      using (var options = new TrainerOptions().Device(Device.Cpu))
      using (var trainer = new Trainer(model, Loss.SoftmaxCrossEntropy, options))
        Assert(trainer.Step(new float[8], new long[] { 2, 4 }, new[] { 0, 1 }) > 0, "cpu step");
      if (gpus == 0) {
        Assert(reason.Length > 0, "a reason for no GPU");
        using (var options = new TrainerOptions().Device(Device.Cuda)) {
          var e = Fails(Status.ErrorUnsupported, () => new Trainer(model, Loss.SoftmaxCrossEntropy, options), "cuda");
          Assert(e.Message.Contains("no GPU"), e.Message);
        }
      }
    }
  }

  // ---- Misuse ----------------------------------------------------------------------------

  static void NativeErrorsBecomeExceptions() {
    using (var model = new Model())
    using (var trainer = ReferenceTrainer(model)) {
      var e = Fails(Status.ErrorShapeMismatch, () => trainer.Step(new float[15], new long[] { 3, 5 }, new[] { 0, 1, 2 }),
                    "wrong feature count");
      Assert(e.Message.Contains("[batch, 4]"), e.Message);
      Fails(Status.ErrorInvalidArgument, () => model.Linear(99, 3), "bad node");
      using (var options = new TrainerOptions())
        Assert(Throws<TrainKitException>(() => options.LearningRate(-1)).Message.Contains("learning rate"), "lr");
      Fails(Status.ErrorIo, () => trainer.Load("/nonexistent/x.safetensors"), "io");
      Assert(trainer.StepCount == 0, "failed calls change nothing");
    }
  }

  static void MisuseIsAnExceptionNeverACrash() {
    using (var model = new Model())
    using (var trainer = ReferenceTrainer(model))
    using (var mse = new Trainer(model, Loss.Mse)) {
      // Shapes: an array that does not hold its shape is refused before the C API reads it.
      var e = Fails(Status.ErrorShapeMismatch, () => trainer.Step(new float[10], Shape, Labels), "short inputs");
      Assert(e.Message.Contains("inputs") && e.Message.Contains("[16, 4]"), e.Message);
      Fails(Status.ErrorShapeMismatch, () => trainer.Step(Inputs, new long[] { -16, -4 }, Labels), "negative extents");
      Fails(Status.ErrorShapeMismatch, () => trainer.Step(Inputs, Shape, new int[5]), "too few labels");
      Fails(Status.ErrorShapeMismatch, () => mse.Step(Inputs, Shape, new float[15], new long[] { 16, 3 }), "short targets");
      Fails(Status.ErrorShapeMismatch, () => mse.Step(Inputs, Shape, new float[32], new long[] { 16, 2 }), "target shape");
      Fails(Status.ErrorShapeMismatch, () => trainer.Predict(Inputs, Shape, new float[16 * 4], new long[] { 16, 4 }),
            "output shape");
      Throws<TrainKitException>(() => trainer.Step(new float[1], Enumerable.Repeat(1L, 9).ToArray(), new int[1]));
      try {
        trainer.Step(new float[0], new long[] { 0, 4 }, new int[0]);
      } catch (TrainKitException empty) {
        Assert(empty.Message.Length > 0, "an empty batch");
      }
      // Dtypes.
      Fails(Status.ErrorDtypeMismatch, () => trainer.Step(Inputs, Shape, new float[16], new long[] { 16 }), "float labels");
      Fails(Status.ErrorShapeMismatch, () => mse.Step(Inputs, Shape, new int[16]), "labels for MSE");
      var ints = new int[48];
      GCHandle pin = GCHandle.Alloc(ints, GCHandleType.Pinned), inputPin = GCHandle.Alloc(Inputs, GCHandleType.Pinned);
      try {
        using (var inputs = new TensorView())
        using (var view = new TensorView()) {
          inputs.reset(inputPin.AddrOfPinnedObject(), DType.F32, 2, Shape);
          view.reset(pin.AddrOfPinnedObject(), DType.I32, 2, new long[] { 16, 3 });
          Fails(Status.ErrorDtypeMismatch, () => mse.Step(inputs, view), "i32 targets for MSE");
          view.reset(pin.AddrOfPinnedObject(), DType.I32, 2, new long[] { 8, 4 });
          Fails(Status.ErrorDtypeMismatch, () => trainer.SetParameter(0, view), "an i32 parameter");
          view.reset(pin.AddrOfPinnedObject(), (DType)99, 2, new long[] { 8, 4 });
          Throws<TrainKitException>(() => trainer.SetParameter(0, view));
        }
      } finally {
        pin.Free();
        inputPin.Free();
      }
      Throws<TrainKitException>(() => trainer.ExportWeights(Tmp("csharp-i32.safetensors"), DType.I32));
      Fails(Status.ErrorInvalidArgument, () => new Trainer(model, (Loss)42), "unknown loss");
      Fails(Status.ErrorInvalidArgument, () => model.NodeName(1234), "unknown node");
      // Nulls.
      Throws<ArgumentNullException>(() => trainer.Step(null, Shape, Labels));
      Throws<ArgumentNullException>(() => trainer.Step(Inputs, null, Labels));
      Throws<ArgumentNullException>(() => trainer.Step(Inputs, Shape, (int[])null));
      Throws<ArgumentNullException>(() => trainer.Step(Inputs, Shape, (float[])null, Shape));
      Throws<ArgumentNullException>(() => trainer.Evaluate(null, Shape, Labels));
      Throws<ArgumentNullException>(() => trainer.Predict(null, Shape, 3));
      Throws<ArgumentNullException>(() => trainer.StepNext(null, out double _));
      Throws<ArgumentNullException>(() => trainer.Save(null));
      Throws<ArgumentNullException>(() => trainer.CopyParameters(null));
      Throws<ArgumentNullException>(() => model.Input(null, 4));
      Throws<ArgumentNullException>(() => model.Input("y", null));
      Throws<ArgumentNullException>(() => model.Op("linear", "{}", null));
      Throws<ArgumentNullException>(() => new Trainer(null, Loss.Mse));
      Throws<ArgumentNullException>(() => Dataset.FromArrays(null, Shape, Labels));
      Throws<ArgumentNullException>(() => Dataset.FromArrays(Inputs, null, Labels));
      Throws<ArgumentNullException>(() => new Batcher(null, 4));
      Throws<ArgumentException>(() => trainer.Predict(Inputs, new long[0], 3));
      Assert(trainer.StepCount == 0 && mse.StepCount == 0, "no misuse changed a trainer");
      Assert(trainer.Step(Inputs, Shape, Labels) > 0, "the trainer still works");
    }
  }

  static void DisposingTwiceIsANoOpAndDisposedObjectsRefuseUse() {
    var model = new Model();
    var trainer = ReferenceTrainer(model);
    StepReport report = trainer.StepWithReport(Inputs, Shape, Labels);
    trainer.Dispose();
    Assert(report.applied == 1 && report.step == 1, "the trainer's report outlives it");
    trainer.Dispose();
    Assert(trainer.IsClosed, "closed");
    Throws<ObjectDisposedException>(() => trainer.Step(Inputs, Shape, Labels));
    Throws<ObjectDisposedException>(() => trainer.Step(new ReadOnlySpan<float>(Inputs), Shape, new ReadOnlySpan<int>(Labels)));
    Throws<ObjectDisposedException>(() => { long _ = trainer.StepCount; });
    Throws<ObjectDisposedException>(() => { var _ = trainer.Handle; });
    Throws<ObjectDisposedException>(() => trainer.Lease());
    model.Dispose();
    model.Dispose();
    Throws<ObjectDisposedException>(() => model.Linear(0, 3));
    Throws<ObjectDisposedException>(() => new Trainer(model, Loss.Mse));
    var options = new TrainerOptions();
    options.Dispose();
    Throws<ObjectDisposedException>(() => options.Seed(1));
    using (var m = new Model()) {
      m.Output(m.Linear(m.Input("x", 4), 3), "y");
      Throws<ObjectDisposedException>(() => new Trainer(m, Loss.Mse, options));
      var dataset = Dataset.FromArrays(Inputs, Shape, Labels);
      var batcher = new Batcher(dataset, 4, false);
      dataset.Dispose();
      Throws<ObjectDisposedException>(() => { long _ = dataset.Size; });
      using (var t = new Trainer(m, Loss.SoftmaxCrossEntropy)) {
        Assert(t.StepNext(batcher, out double loss) && loss > 0, "a batcher outlives its dataset's wrapper");
        batcher.Dispose();
        Throws<ObjectDisposedException>(() => t.StepNext(batcher, out double _));
        Throws<ObjectDisposedException>(() => t.Evaluate(dataset, 4));
      }
    }
  }

  // Every path of the step loop, taken in turn by Round.
  sealed class StepPaths {
    internal Trainer Trainer, Mse;
    internal Batcher Batcher;
    internal readonly float[] Targets = new float[16 * 3];
    internal readonly long[] TargetShape = { 16, 3 };
    internal readonly float[] Outputs = new float[16 * 3];
    internal readonly long[] OutputShape = { 16, 3 };
    internal readonly StepReport Report = new StepReport();
    internal long Epoch;
    internal double Sum;

    internal void Round(int i) {
      ReadOnlySpan<float> x = Inputs;
      switch (i % 8) {
        case 0: Sum += Trainer.Step(Inputs, Shape, Labels); break;
        case 1: Sum += Trainer.Step(x, Shape, new ReadOnlySpan<int>(Labels)); break;
        case 2: Sum += Trainer.StepWithReport(x, Shape, Labels, Report).loss; break;
        case 3: Sum += Trainer.StepWithReport(x, Shape, Labels).loss; break;
        case 4:
          Trainer.StepAsync(x, Shape, Labels);
          Sum += Trainer.WaitSteps(Report).loss;
          break;
        case 5:
          if (Trainer.StepNext(Batcher, out double loss)) Sum += loss;
          else Batcher.Reset(++Epoch);
          break;
        case 6: Sum += Mse.Step(x, Shape, Targets, TargetShape) + Trainer.Evaluate(x, Shape, Labels).Loss; break;
        case 7: Trainer.Predict(x, Shape, Outputs, OutputShape); break;
      }
    }
  }

  // Mono 6.8 has GC.GetAllocatedBytesForCurrentThread, which counts every
  // managed allocation of this thread exactly; the nursery (gen 0) collection
  // count is checked as well.
  static void TheStepPathAllocatesNothing() {
    using (var dataset = Dataset.FromArrays(Inputs, Shape, Labels))
    using (var batcher = new Batcher(dataset, 4, true, 1))
    using (var model = new Model())
    using (var trainer = ReferenceTrainer(model))
    using (var options = ReferenceOptions())
    using (var mse = new Trainer(model, Loss.Mse, options)) {
      var paths = new StepPaths { Trainer = trainer, Mse = mse, Batcher = batcher };
      for (int i = 0; i < 800; ++i) paths.Round(i);
      GC.Collect();
      GC.WaitForPendingFinalizers();
      const int steps = 20000;
      long allocated = GC.GetAllocatedBytesForCurrentThread();
      int collections = GC.CollectionCount(0);
      for (int i = 0; i < steps; ++i) paths.Round(i);
      allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
      collections = GC.CollectionCount(0) - collections;
      Assert(Finite(paths.Sum), "every call returned a finite loss");
      // One 16-byte object per call of any one path would be 40000 bytes.
      Assert(allocated < 1024, $"{allocated} bytes allocated over {steps} warm calls");
      Assert(collections == 0, $"{collections} gen-0 collections over {steps} warm calls");
      Console.WriteLine($"step path: {allocated} bytes, {collections} collections over {steps} calls");
    }
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

  static void FitCallsBackStopsAndPassesExceptionsOut() {
    using (var model = new Model())
    using (var trainer = ReferenceTrainer(model))
    using (var data = Dataset.FromArrays(Inputs, Shape, Labels))
    using (var batcher = new Batcher(data, 4, true, 1))
    using (var options = new FitOptions().Epochs(2)) {
      var steps = new List<long>();
      int epochs = 0;
      FitReport report = trainer.Fit(batcher, options, e => {
        if (e.kind == (int)FitEventKind.Step) steps.Add(e.step); else ++epochs;
        return false;
      });
      Assert(steps.Count == 8 && steps[7] == 8 && epochs == 2, "8 step events and 2 epoch events");
      Assert(report.end == (int)FitEnd.Completed, "completed");
      options.Epochs(10);
      report = trainer.Fit(batcher, options, e => e.step == 11);
      Assert(report.end == (int)FitEnd.Stopped && trainer.StepCount == 11, "stopped at step 11");
      var thrown = Throws<InvalidOperationException>(() => trainer.Fit(batcher, options, e => {
        if (e.step == 13) throw new InvalidOperationException("from the callback");
        return false;
      }));
      Assert(thrown.Message == "from the callback" && trainer.StepCount == 13, "the exception comes out at step 13");
      report = trainer.Fit(batcher, options);
      Assert(report.end == (int)FitEnd.Completed && trainer.StepCount == 40, "the fit goes on to the end");
      trainer.SetLearningRate(0.5);
      Assert(trainer.LearningRate == 0.5, "the new learning rate");
    }
  }

  static void AStreamBatcherTrainsAsTheSameRowsInADatasetAndPassesFillErrorsOut() {
    Func<long, long, StreamBatch> fill = (epoch, batch) => batch == 4 ? null
        : StreamBatch.OfLabels(Inputs.Skip((int)batch * 16).Take(16).ToArray(), Labels.Skip((int)batch * 4).Take(4).ToArray());
    float[] expected;
    using (var model = new Model())
    using (var trainer = ReferenceTrainer(model))
    using (var data = Dataset.FromArrays(Inputs, Shape, Labels))
    using (var batcher = new Batcher(data, 4, false))
    using (var options = new FitOptions().Epochs(3)) {
      trainer.Fit(batcher, options);
      expected = trainer.Parameters();
    }
    using (var model = new Model())
    using (var trainer = ReferenceTrainer(model))
    using (var stream = new StreamBatcher(fill, new long[] { 4 }, 4, null, 2, 4))
    using (var options = new FitOptions().Epochs(3)) {
      var batches = new List<long>();
      FitReport report = trainer.Fit(stream, options, e => {
        if (e.kind == (int)FitEventKind.Step) batches.Add(e.batch);
        return false;
      });
      Assert(report.end == (int)FitEnd.Completed && batches.Count == 12 && batches[3] == 4, "12 steps of 4 batches an epoch");
      Assert(Bits(trainer.Parameters()).SequenceEqual(Bits(expected)), "the stream trains as the dataset");
    }
    using (var model = new Model())
    using (var trainer = ReferenceTrainer(model))
    using (var stream = new StreamBatcher((epoch, batch) => {
             if (batch == 2) throw new IOException("the file went away");
             return fill(epoch, batch);
           }, new long[] { 4 }, 4, null, 1))
    using (var options = new FitOptions().Epochs(2)) {
      var thrown = Throws<IOException>(() => trainer.Fit(stream, options));
      Assert(thrown.Message == "the file went away" && trainer.StepCount == 2, "the fill's exception after its batches");
      Assert(stream.Error is IOException, "the stream keeps the fill's exception");
    }
    Throws<TrainKitException>(() => new StreamBatcher(fill, new long[] { 4 }, 0));
    Throws<ArgumentNullException>(() => new StreamBatcher(null, new long[] { 4 }, 4));
  }

  static void ACsvOfFeaturesAloneIsReadButNotTrainedOn() {
    string labelled = Tmp("csharp-labelled.csv"), features = Tmp("csharp-features.csv");
    var a = new System.Text.StringBuilder("f0,f1,f2,f3,label\n");
    var f = new System.Text.StringBuilder("f0,f1,f2,f3\n");
    for (int i = 0; i < 16; ++i) {
      string row = string.Join(",", Enumerable.Range(0, 4).Select(c => Inputs[i * 4 + c].ToString("R", CultureInfo.InvariantCulture)));
      a.Append(row).Append(',').Append(Labels[i]).Append('\n');
      f.Append(row).Append('\n');
    }
    File.WriteAllText(labelled, a.ToString());
    File.WriteAllText(features, f.ToString());
    using (var model = new Model())
    using (var trainer = ReferenceTrainer(model))
    using (var data = Dataset.LoadCsv(labelled, "label"))
    using (var alone = Dataset.LoadCsvFeatures(features))
    using (var again = Dataset.LoadCsvFeatures(labelled, "label")) {
      Assert(data.HasTargets && !alone.HasTargets, "labels or features alone");
      Assert(again.Size == 16 && again.SampleShape().SequenceEqual(new long[] { 4 }), "the label column is left out");
      var e = Throws<TrainKitException>(() => trainer.Evaluate(alone, 8));
      Assert(e.Message.Contains("no targets"), "evaluation without targets: " + e.Message);
    }
  }

  static void MetricsAgreeWithEvaluationAndCountEverySample() {
    using (var model = new Model())
    using (var trainer = ReferenceTrainer(model))
    using (var data = Dataset.FromArrays(Inputs, Shape, Labels)) {
      for (int i = 0; i < 10; ++i) trainer.Step(Inputs, Shape, Labels);
      MetricsReport m = trainer.Metrics(data, 5, 5);
      Evaluation e = trainer.Evaluate(data, 5);
      Assert(m.Samples == 16 && m.Classes == 3 && m.TopK == 3 && m.TopKAccuracy == 1.0, "16 samples, 3 classes, top-3");
      Assert(Math.Abs(m.Accuracy - e.Accuracy) < 1e-12 && Math.Abs(m.Loss - e.Loss) < 1e-6, "metrics agree with Evaluate");
      long total = 0, diagonal = 0;
      for (int t = 0; t < 3; ++t)
        for (int p = 0; p < 3; ++p) {
          total += m.Confusion(t, p);
          if (t == p) diagonal += m.Confusion(t, p);
        }
      Assert(total == 16 && Math.Abs(diagonal / 16.0 - m.Accuracy) < 1e-12, "the confusion matrix counts every sample");
      Assert(Math.Abs(m.F1().Average() - m.MacroF1) < 1e-12, "macro F1 is the mean of the per-class F1");
      Assert(double.IsNaN(m.Mse) && m.ToString().StartsWith("samples 16"), "no MSE for a classifier");
    }
  }

  static void FreezingKeepsALayerStillAndGroupsSetRatesAndDecay() {
    using (var model = new Model())
    using (var trainer = ReferenceTrainer(model))
    using (var data = Dataset.FromArrays(Inputs, Shape, Labels))
    using (var batcher = new Batcher(data, 4, true, 1))
    using (var options = new FitOptions().Epochs(2)) {
      string first = trainer.ParameterName(0);
      string body = first.Substring(0, first.LastIndexOf('.')) + ".*";
      long fullMemory = trainer.MemoryBytes;
      Assert(trainer.Freeze(body) == 2, "the first layer's two tensors match");
      Assert(trainer.GetParameterSettings(0).Frozen, "frozen");
      Assert(trainer.MemoryBytes < fullMemory, "less memory once frozen");
      float[] before = trainer.Parameters();
      trainer.Fit(batcher, options);
      float[] after = trainer.Parameters();
      const int bodySize = 4 * 8 + 8;
      bool still = true, moved = false;
      for (int i = 0; i < before.Length; ++i) {
        if (i < bodySize) still &= before[i] == after[i]; else moved |= before[i] != after[i];
      }
      Assert(still && moved, "the frozen layer stays, the rest learns");
      Assert(trainer.Unfreeze(body) == 2 && !trainer.GetParameterSettings(0).Frozen, "unfrozen");
      Assert(trainer.SetParamGroup("*.bias", 0.5, 0.1) == 2, "two biases");
      ParameterSettings bias = trainer.GetParameterSettings(1);
      Assert(bias.LearningRateScale == 0.5 && bias.WeightDecay == 0.1, "the group's rate and decay");
      trainer.SetParamGroup("*.bias");
      Assert(trainer.GetParameterSettings(1).WeightDecay == 0.0, "biases get no decay by default");
      var none = Throws<TrainKitException>(() => trainer.Freeze("encoder.*"));
      Assert(none.Message.Contains(first), "the error lists the tensors: " + none.Message);
      Assert(trainer.Freeze("*") == 4, "everything frozen");
      Throws<TrainKitException>(() => trainer.Step(Inputs, Shape, Labels));
      trainer.Unfreeze("*");
      Throws<TrainKitException>(() => trainer.SetParamGroup("*", -1.0));
    }
  }

  static void APredictorServesFourThreadsWithTheTrainersOutputs() {
    using (var model = new Model())
    using (var trainer = ReferenceTrainer(model)) {
      for (int i = 0; i < 20; ++i) trainer.Step(Inputs, Shape, Labels);
      long[] outShape = { 16, 3 };
      float[] expected = trainer.Predict(Inputs, Shape, 3);
      using (var predictor = Predictor.FromTrainer(trainer, 1)) {
        var got = new float[48];
        predictor.Predict(Inputs, Shape, got, outShape);
        // Packed weights (oneDNN) against the trainer's (BLAS): equal to float rounding.
        Assert(got.Zip(expected, (a, b) => Math.Abs(a - b) <= 1e-5f * Math.Max(1f, Math.Abs(b))).All(ok => ok),
               "the predictor gives the trainer's outputs");
        Assert(predictor.Memory > 0, "memory is reported");
        int mismatches = 0;
        var threads = Enumerable.Range(0, 4).Select(t => new System.Threading.Thread(() => {
          var mine = new float[48];
          for (int r = 0; r < 30; ++r) {
            predictor.Predict(Inputs, Shape, mine, outShape);
            if (!mine.SequenceEqual(expected)) System.Threading.Interlocked.Increment(ref mismatches);
          }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert(mismatches == 0, "four threads at once get what one gets");
        Throws<TrainKitException>(() => predictor.Predict(Inputs, Shape, new float[48], new long[] { 16, 4 }));
      }
    }
  }

  // Sample i: 2..6 real tokens in [1, 12), then padding (id 0, mask 0); class: token 5 among the real ones.
  static int[] TokenSamples(int seed, int count, int[] ids, float[] mask) {
    var random = new Random(seed);
    var labels = new int[count];
    for (int i = 0; i < count; ++i) {
      int length = 2 + random.Next(5);
      for (int s = 0; s < 6; ++s) {
        bool real = s < length;
        int token = real ? 1 + random.Next(11) : 0;
        if (token == 5) token = 6;
        if (real && s == 0 && i % 2 == 0) token = 5;
        ids[i * 6 + s] = token;
        mask[i * 6 + s] = real ? 1f : 0f;
        if (token == 5) labels[i] = 1;
      }
    }
    return labels;
  }

  static void TokenIdsAndAMaskTrainAsTwoInputs() {
    int[] ids = new int[2048 * 6], testIds = new int[256 * 6];
    float[] mask = new float[2048 * 6], testMask = new float[256 * 6];
    int[] labels = TokenSamples(4, 2048, ids, mask), testLabels = TokenSamples(5, 256, testIds, testMask);
    using (var model = new Model())
    using (var options = new TrainerOptions().Optimizer(Optimizer.Adam).LearningRate(3e-3).Seed(3).Threads(1)) {
      int x = model.Op("embedding", "{\"vocab\": 12, \"dim\": 16, \"padding_index\": 0}", model.InputIndices("ids", 6));
      int pooled = model.Op("masked_mean_pool", null, x, model.Input("mask", 6));
      model.Output(model.Linear(model.Relu(model.Linear(pooled, 32)), 2), "logits");
      using (var trainer = new Trainer(model, Loss.SoftmaxCrossEntropy, options))
      using (var inputs = new Inputs(2)) {
        InputInfo[] infos = trainer.InputInfos;
        Assert(infos.Length == 2 && infos[0].Name == "ids" && infos[0].Indices && infos[0].Shape.Length == 1 &&
               infos[0].Shape[0] == 6, "the ids input: " + infos[0]);
        Assert(infos[1].Name == "mask" && !infos[1].Indices, "the mask input: " + infos[1]);
        var batchIds = new int[192];
        var batchMask = new float[192];
        var batchLabels = new int[32];
        for (int step = 0; step < 200; ++step) {
          int at = (step * 32) % 2048;
          Array.Copy(ids, at * 6, batchIds, 0, 192);
          Array.Copy(mask, at * 6, batchMask, 0, 192);
          Array.Copy(labels, at, batchLabels, 0, 32);
          inputs.Set(0, batchIds, 32, 6).Set(1, batchMask, 32, 6);
          trainer.Step(inputs, batchLabels);
        }
        inputs.Set(0, testIds, 256, 6).Set(1, testMask, 256, 6);
        Evaluation evaluation = trainer.Evaluate(inputs, testLabels);
        Assert(evaluation.Accuracy >= 0.95, "test accuracy " + evaluation.Accuracy);
        float[] expected = new float[512], got = new float[512];
        trainer.Predict(inputs, expected, new long[] { 256, 2 });
        using (var predictor = Predictor.FromTrainer(trainer, 1)) {
          Assert(predictor.InputInfos[1].Name == "mask", "the predictor's inputs");
          predictor.Predict(inputs, got, new long[] { 256, 2 });
          for (int i = 0; i < 512; ++i)
            Assert(Math.Abs(got[i] - expected[i]) <= 1e-5f * (1 + Math.Abs(expected[i])), "predictor output " + i);
        }
        float[] before = trainer.Parameters();
        var bad = (int[])testIds.Clone();
        bad[7] = 12;
        inputs.Set(0, bad, 256, 6);
        var e = Fails(Status.ErrorInvalidArgument, () => trainer.Step(inputs, testLabels), "an id out of range");
        Assert(e.Message.Contains("outside [0, 12)"), e.Message);
        inputs.Set(0, new float[256 * 6], 256, 6);
        Fails(Status.ErrorDtypeMismatch, () => trainer.Step(inputs, testLabels), "floats for ids");
        using (var one = new Inputs(1)) {
          one.Set(0, testIds, 256, 6);
          Fails(Status.ErrorInvalidArgument, () => trainer.Step(one, testLabels), "one input of two");
        }
        using (var unset = new Inputs(2)) {
          unset.Set(0, testIds, 256, 6);
          Throws<InvalidOperationException>(() => trainer.Step(unset, testLabels));
        }
        Throws<ArgumentOutOfRangeException>(() => inputs.Set(2, testIds, 256, 6));
        Throws<TrainKitException>(() => inputs.Set(0, testIds, 255, 6));
        Assert(Bits(before).SequenceEqual(Bits(trainer.Parameters())), "a refused step changes nothing");
      }
    }
  }

  static void WeightsLoadThroughANameMap() {
    string file = Path.Combine(Path.GetTempPath(), "trainkit-cs-map.safetensors");
    using (var a = new Model())
    using (var b = new Model()) {
      a.Output(a.Linear(a.Input("x", 4), 3), "logits");
      b.Output(b.Linear(b.Input("x", 4), 3), "logits");
      using (var source = new Trainer(a, Loss.SoftmaxCrossEntropy))
      using (var target = new Trainer(b, Loss.SoftmaxCrossEntropy)) {
        source.ExportWeights(file, DType.F32);
        string name = target.ParameterName(0);
        string report = target.ImportWeights(file, "{\"" + name + "\": \"" + source.ParameterName(0) + "\"}", false);
        Assert(report.Contains("\"loaded\":[\"" + name), report);
        Assert(Bits(source.Parameters()).SequenceEqual(Bits(target.Parameters())), "the weights came over");
        var e = Throws<TrainKitException>(() => target.ImportWeights(file, "{\"" + name + "\": \"missing.weight\"}", false));
        Assert(e.Message.Contains("has no tensor 'missing.weight'"), e.Message);
      }
    }
    File.Delete(file);
  }

  static int Main(string[] args) {
    reference = File.ReadAllLines(args[0]);
    manifest = args[1];
    var tests = new List<KeyValuePair<string, Action>>();
    Action<string, Action> Add = (name, test) => tests.Add(new KeyValuePair<string, Action>(name, test));
    Add(nameof(ResultsEqualTheCApi), ResultsEqualTheCApi);
    Add(nameof(EveryFunctionAndEnumOfTheHeaderIsGenerated), EveryFunctionAndEnumOfTheHeaderIsGenerated);
    Add(nameof(ADatasetFromArraysTrainsLikeASpanAndTheCApi), ADatasetFromArraysTrainsLikeASpanAndTheCApi);
    Add(nameof(TrainsEvaluatesPredictsSavesAndLoads), TrainsEvaluatesPredictsSavesAndLoads);
    Add(nameof(CheckpointsKeepTheBatcherPositionAndTheLastFew), CheckpointsKeepTheBatcherPositionAndTheLastFew);
    Add(nameof(SpecsAndWeightFilesRoundTrip), SpecsAndWeightFilesRoundTrip);
    Add(nameof(SpansAreUsedWithoutCopies), SpansAreUsedWithoutCopies);
    Add(nameof(FloatTargetsTrainAndEvaluate), FloatTargetsTrainAndEvaluate);
    Add(nameof(ASmallCnnWithBatchNormTrains), ASmallCnnWithBatchNormTrains);
    Add(nameof(EveryTypedLayerBuilds), EveryTypedLayerBuilds);
    Add(nameof(TheGenericOpTrainsAndRefusesUnknownOps), TheGenericOpTrainsAndRefusesUnknownOps);
    Add(nameof(ASharedWeightIsOneTensor), ASharedWeightIsOneTensor);
    Add(nameof(SeveralOutputsComeFromOneForward), SeveralOutputsComeFromOneForward);
    Add(nameof(EveryOptionReachesTheTrainer), EveryOptionReachesTheTrainer);
    Add(nameof(Fp16OverflowIsSkippedAndTheScaleBacksOff), Fp16OverflowIsSkippedAndTheScaleBacksOff);
    Add(nameof(TwoReplicasTrainLikeOne), TwoReplicasTrainLikeOne);
    Add(nameof(StepAsyncWaitsLikeStep), StepAsyncWaitsLikeStep);
    Add(nameof(ParameterTensorsAndPropertiesAreReachable), ParameterTensorsAndPropertiesAreReachable);
    Add(nameof(DatasetsNormalizeAndBatchersShard), DatasetsNormalizeAndBatchersShard);
    Add(nameof(DevicesAreChosenAndAMissingGpuIsAClearError), DevicesAreChosenAndAMissingGpuIsAClearError);
    Add(nameof(NativeErrorsBecomeExceptions), NativeErrorsBecomeExceptions);
    Add(nameof(MisuseIsAnExceptionNeverACrash), MisuseIsAnExceptionNeverACrash);
    Add(nameof(DisposingTwiceIsANoOpAndDisposedObjectsRefuseUse), DisposingTwiceIsANoOpAndDisposedObjectsRefuseUse);
    Add(nameof(TheStepPathAllocatesNothing), TheStepPathAllocatesNothing);
    Add(nameof(FitCallsBackStopsAndPassesExceptionsOut), FitCallsBackStopsAndPassesExceptionsOut);
    Add(nameof(AStreamBatcherTrainsAsTheSameRowsInADatasetAndPassesFillErrorsOut),
        AStreamBatcherTrainsAsTheSameRowsInADatasetAndPassesFillErrorsOut);
    Add(nameof(ACsvOfFeaturesAloneIsReadButNotTrainedOn), ACsvOfFeaturesAloneIsReadButNotTrainedOn);
    Add(nameof(MetricsAgreeWithEvaluationAndCountEverySample), MetricsAgreeWithEvaluationAndCountEverySample);
    Add(nameof(FreezingKeepsALayerStillAndGroupsSetRatesAndDecay), FreezingKeepsALayerStillAndGroupsSetRatesAndDecay);
    Add(nameof(APredictorServesFourThreadsWithTheTrainersOutputs), APredictorServesFourThreadsWithTheTrainersOutputs);
    Add(nameof(TokenIdsAndAMaskTrainAsTwoInputs), TokenIdsAndAMaskTrainAsTwoInputs);
    Add(nameof(WeightsLoadThroughANameMap), WeightsLoadThroughANameMap);
    Add(nameof(ManyCyclesKeepMemoryFlatAndCollectedObjectsDoNotCrash), ManyCyclesKeepMemoryFlatAndCollectedObjectsDoNotCrash);
    string only = Environment.GetEnvironmentVariable("TRAINKIT_TEST_FILTER");
    int passed = 0, failed = 0;
    foreach (var entry in tests) {
      string name = entry.Key;
      if (!string.IsNullOrEmpty(only) && !name.Contains(only)) continue;
      try {
        entry.Value();
        ++passed;
        Console.WriteLine("PASS " + name);
      } catch (Exception e) {
        ++failed;
        Console.WriteLine("FAIL " + name + ": " + e);
      }
    }
    Console.WriteLine($"{passed} passed, {failed} failed, {checks} checks");
    return failed == 0 && passed > 0 ? 0 : 1;
  }
}
