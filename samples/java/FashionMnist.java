import org.trainkit.Batcher;
import org.trainkit.Dataset;
import org.trainkit.Evaluation;
import org.trainkit.Loss;
import org.trainkit.Model;
import org.trainkit.Optimizer;
import org.trainkit.Schedule;
import org.trainkit.Trainer;
import org.trainkit.TrainerOptions;

/**
 * The C sample's MLP (784-256-128-10, Adam, cosine schedule) on Fashion-MNIST
 * from Java. Usage: FashionMnist [--epochs N] [--seed N] [--data DIR]
 */
public final class FashionMnist {
  public static void main(String[] args) {
    int epochs = 10;
    long seed = 1;
    String data = "/usr/share/datasets/fashion-mnist";
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (args[i].equals("--epochs")) epochs = Integer.parseInt(args[i + 1]);
      else if (args[i].equals("--seed")) seed = Long.parseLong(args[i + 1]);
      else if (args[i].equals("--data")) data = args[i + 1];
    }
    try (Dataset train = Dataset.loadIdx(data + "/train-images-idx3-ubyte.gz", data + "/train-labels-idx1-ubyte.gz");
         Dataset test = Dataset.loadIdx(data + "/t10k-images-idx3-ubyte.gz", data + "/t10k-labels-idx1-ubyte.gz");
         Model model = new Model();
         TrainerOptions options = new TrainerOptions()) {
      double[] stats = train.stats();
      train.standardize(stats[0], stats[1]);
      test.standardize(stats[0], stats[1]);
      int node = model.flatten(model.input("image", 28, 28));
      node = model.relu(model.linear(node, 256));
      node = model.relu(model.linear(node, 128));
      model.output(model.linear(node, 10), "logits");
      long stepsPerEpoch = (train.size() + 63) / 64;
      options.optimizer(Optimizer.ADAM).learningRate(1e-3).seed(seed).batchHint(64)
          .schedule(Schedule.COSINE, 0, 1, 0.1, epochs * stepsPerEpoch, 0.0);
      try (Trainer trainer = new Trainer(model, Loss.SOFTMAX_CROSS_ENTROPY, options);
           Batcher batcher = new Batcher(train, 64, true, seed, false)) {
        Evaluation result = null;
        double[] loss = new double[1];
        for (int epoch = 1; epoch <= epochs; ++epoch) {
          long start = System.nanoTime();
          double total = 0;
          int batches = 0;
          batcher.reset(epoch - 1);
          while (trainer.stepNext(batcher, loss)) {
            total += loss[0];
            ++batches;
          }
          double seconds = (System.nanoTime() - start) / 1e9;
          result = trainer.evaluate(test, 1000);
          System.out.printf("epoch %2d/%d  train loss %.4f  test loss %.4f  test acc %.4f  %.0f samples/s%n", epoch,
              epochs, total / batches, result.loss, result.accuracy, train.size() / seconds);
        }
        System.out.printf("test accuracy: %.4f%n", result.accuracy);
      }
    }
  }
}
