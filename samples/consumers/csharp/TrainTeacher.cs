// A program of one's own against trainkit's NuGet package (TrainKit.dll and its natives).
using System;
using TrainKit;

static class TrainTeacher {
  const int Features = 8, Classes = 4, Train = 4096, Test = 1024, Batch = 64;
  static ulong state = 7;

  static float Uniform() {
    state = state * 6364136223846793005UL + 1442695040888963407UL;
    return (float)((double)(state >> 11) / 4503599627370496.0 - 1.0);
  }

  static int Main() {
    var teacher = new float[Classes * Features];
    for (int i = 0; i < teacher.Length; ++i) teacher[i] = Uniform();
    var features = new float[(Train + Test) * Features];
    var labels = new int[Train + Test];
    for (int i = 0; i < Train + Test; ++i) {
      float best = float.NegativeInfinity;
      for (int f = 0; f < Features; ++f) features[i * Features + f] = Uniform();
      for (int c = 0; c < Classes; ++c) {
        float score = 0;
        for (int f = 0; f < Features; ++f) score += teacher[c * Features + f] * features[i * Features + f];
        if (score > best) { best = score; labels[i] = c; }
      }
    }
    using (var model = new Model()) {
      int node = model.Relu(model.Linear(model.Input("x", Features), 64));
      model.Output(model.Linear(node, Classes), "logits");
      using (var options = new TrainerOptions().Optimizer(Optimizer.Adam).LearningRate(0.01).Seed(1))
      using (var trainer = new Trainer(model, Loss.SoftmaxCrossEntropy, options)) {
        var input = new float[Batch * Features];
        var label = new int[Batch];
        for (int epoch = 0; epoch < 15; ++epoch)
          for (int start = 0; start + Batch <= Train; start += Batch) {
            Array.Copy(features, start * Features, input, 0, input.Length);
            Array.Copy(labels, start, label, 0, label.Length);
            trainer.Step(input, new long[] {Batch, Features}, label);
          }
        var testInput = new float[Test * Features];
        var testLabel = new int[Test];
        Array.Copy(features, Train * Features, testInput, 0, testInput.Length);
        Array.Copy(labels, Train, testLabel, 0, Test);
        Evaluation result = trainer.Evaluate(testInput, new long[] {Test, Features}, testLabel);
        Console.WriteLine($"accuracy {result.Accuracy:F4}");
      }
    }
    return 0;
  }
}
