import org.trainkit.Dataset;
import org.trainkit.Evaluation;
import org.trainkit.Loss;
import org.trainkit.Model;
import org.trainkit.Optimizer;
import org.trainkit.Trainer;
import org.trainkit.TrainerOptions;

/** A program of one's own against trainkit's jar: javac -cp trainkit-VERSION.jar TrainTeacher.java */
public class TrainTeacher {
  static final int FEATURES = 8, CLASSES = 4, TRAIN = 4096, TEST = 1024, BATCH = 64;
  static long state = 7;

  static float uniform() {
    state = state * 6364136223846793005L + 1442695040888963407L;
    return (float) ((double) (state >>> 11) / 4503599627370496.0 - 1.0);
  }

  public static void main(String[] args) {
    float[] teacher = new float[CLASSES * FEATURES];
    for (int i = 0; i < teacher.length; ++i) teacher[i] = uniform();
    float[] features = new float[(TRAIN + TEST) * FEATURES];
    int[] labels = new int[TRAIN + TEST];
    for (int i = 0; i < TRAIN + TEST; ++i) {
      float best = Float.NEGATIVE_INFINITY;
      for (int f = 0; f < FEATURES; ++f) features[i * FEATURES + f] = uniform();
      for (int c = 0; c < CLASSES; ++c) {
        float score = 0;
        for (int f = 0; f < FEATURES; ++f) score += teacher[c * FEATURES + f] * features[i * FEATURES + f];
        if (score > best) {
          best = score;
          labels[i] = c;
        }
      }
    }
    try (Model model = new Model(); TrainerOptions options = new TrainerOptions()) {
      int node = model.relu(model.linear(model.input("x", FEATURES), 64));
      model.output(model.linear(node, CLASSES), "logits");
      options.optimizer(Optimizer.ADAM).learningRate(0.01).seed(1);
      try (Trainer trainer = new Trainer(model, Loss.SOFTMAX_CROSS_ENTROPY, options)) {
        for (int epoch = 0; epoch < 15; ++epoch)
          for (int start = 0; start + BATCH <= TRAIN; start += BATCH) {
            float[] in = java.util.Arrays.copyOfRange(features, start * FEATURES, (start + BATCH) * FEATURES);
            int[] lab = java.util.Arrays.copyOfRange(labels, start, start + BATCH);
            trainer.step(in, new long[] {BATCH, FEATURES}, lab);
          }
        float[] in = java.util.Arrays.copyOfRange(features, TRAIN * FEATURES, (TRAIN + TEST) * FEATURES);
        int[] lab = java.util.Arrays.copyOfRange(labels, TRAIN, TRAIN + TEST);
        Evaluation result = trainer.evaluate(in, new long[] {TEST, FEATURES}, lab);
        System.out.printf("accuracy %.4f%n", result.accuracy);
      }
    }
  }
}
