// The C sample's MLP (784-256-128-10, Adam, cosine schedule) on Fashion-MNIST
// from C#. Usage: FashionMnist.exe [--epochs N] [--seed N] [--data DIR]
using System;
using System.Diagnostics;
using TrainKit;

static class FashionMnist {
  static int Main(string[] args) {
    int epochs = 10;
    ulong seed = 1;
    string data = "/usr/share/datasets/fashion-mnist";
    for (int i = 0; i + 1 < args.Length; i += 2) {
      if (args[i] == "--epochs") epochs = int.Parse(args[i + 1]);
      else if (args[i] == "--seed") seed = ulong.Parse(args[i + 1]);
      else if (args[i] == "--data") data = args[i + 1];
    }
    using (var train = Dataset.LoadIdx(data + "/train-images-idx3-ubyte.gz", data + "/train-labels-idx1-ubyte.gz"))
    using (var test = Dataset.LoadIdx(data + "/t10k-images-idx3-ubyte.gz", data + "/t10k-labels-idx1-ubyte.gz"))
    using (var model = new Model()) {
      var stats = train.Stats();
      train.Standardize(stats.Mean, stats.Std);
      test.Standardize(stats.Mean, stats.Std);
      int node = model.Flatten(model.Input("image", 28, 28));
      node = model.Relu(model.Linear(node, 256));
      node = model.Relu(model.Linear(node, 128));
      model.Output(model.Linear(node, 10), "logits");
      long stepsPerEpoch = (train.Size + 63) / 64;
      using (var options = new TrainerOptions().Optimizer(Optimizer.Adam).LearningRate(1e-3).Seed(seed).BatchHint(64)
                 .Schedule(Schedule.Cosine, 0, 1, 0.1, epochs * stepsPerEpoch, 0.0))
      using (var trainer = new Trainer(model, Loss.SoftmaxCrossEntropy, options))
      using (var batcher = new Batcher(train, 64, true, seed, false)) {
        Evaluation result = default(Evaluation);
        for (int epoch = 1; epoch <= epochs; ++epoch) {
          var clock = Stopwatch.StartNew();
          double total = 0;
          int batches = 0;
          batcher.Reset(epoch - 1);
          while (trainer.StepNext(batcher, out double loss)) {
            total += loss;
            ++batches;
          }
          double seconds = clock.Elapsed.TotalSeconds;
          result = trainer.Evaluate(test, 1000);
          Console.WriteLine($"epoch {epoch,2}/{epochs}  train loss {total / batches:F4}  test loss {result.Loss:F4}  " +
                            $"test acc {result.Accuracy:F4}  {train.Size / seconds:F0} samples/s");
        }
        Console.WriteLine($"test accuracy: {result.Accuracy:F4}");
      }
    }
    return 0;
  }
}
