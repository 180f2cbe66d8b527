package org.trainkit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.file.Files;
import java.nio.file.Paths;
import org.junit.Test;

public class TrainKitTest {
  static final float[] INPUTS = new float[64];
  static final int[] LABELS = new int[16];
  static final long[] SHAPE = {16, 4};

  static {
    for (int i = 0; i < 64; ++i) INPUTS[i] = (float) ((i * 37) % 17) / 17.0f - 0.5f;
    for (int i = 0; i < 16; ++i) LABELS[i] = i % 3;
  }

  /** The reference scenario (see tests/bindings/reference.c). */
  static Trainer referenceTrainer(Model model) {
    int x = model.input("x", 4);
    int h = model.tanh(model.linear(x, 8));
    model.output(model.linear(h, 3), "logits");
    try (TrainerOptions options = new TrainerOptions()) {
      options.optimizer(Optimizer.ADAM).learningRate(0.05).seed(7).threads(1);
      return new Trainer(model, Loss.SOFTMAX_CROSS_ENTROPY, options);
    }
  }

  static String tmp(String name) {
    String dir = System.getenv("TEST_TMPDIR");
    return (dir == null ? "/tmp" : dir) + "/" + name;
  }

  @Test
  public void aSmallCnnWithBatchNormTrains() {
    float[] images = new float[32 * 64];
    int[] labels = new int[32];
    for (int i = 0; i < images.length; ++i) images[i] = (float) Math.sin(0.7 * i);
    for (int i = 0; i < 32; ++i) labels[i] = images[i * 64] > 0 ? 1 : 0;
    try (Model model = new Model()) {
      int x = model.reshape(model.input("image", 8, 8), 1, 8, 8);
      int h = model.maxPool2d(model.relu(model.batchNorm(model.conv2d(x, 4, 3, 1, 1, 1, 1, false), 1e-5, 0.1)), 2, 2, 0);
      h = model.globalAvgPool(model.dropout2d(h, 0.1));
      model.output(model.linear(h, 2), "logits");
      assertEquals(4 * 9 + 2 * 4 + 4 * 2 + 2, model.numParameters());
      try (TrainerOptions options = new TrainerOptions().optimizer(Optimizer.ADAM).learningRate(0.05).device(Device.CPU);
           Trainer trainer = new Trainer(model, Loss.SOFTMAX_CROSS_ENTROPY, options)) {
        double first = trainer.step(images, new long[] {32, 8, 8}, labels), last = first;
        for (int i = 0; i < 30; ++i) last = trainer.step(images, new long[] {32, 8, 8}, labels);
        assertTrue(last < first);
      }
    }
  }

  @Test
  public void devicesAreChosenAndAMissingGpuIsAClearError() {
    int gpus = Trainer.gpuCount();
    assertTrue(gpus >= 0);
    try (Model model = new Model()) {
      model.output(model.linear(model.input("x", 4), 3), "logits");
      try (TrainerOptions options = new TrainerOptions().device(Device.CPU);
           Trainer trainer = new Trainer(model, Loss.SOFTMAX_CROSS_ENTROPY, options)) {
        assertTrue(trainer.step(new float[8], new long[] {2, 4}, new int[] {0, 1}) > 0);
      }
      if (gpus == 0) {
        try (TrainerOptions options = new TrainerOptions().device(Device.CUDA)) {
          TrainKitException e = assertThrows(TrainKitException.class,
              () -> new Trainer(model, Loss.SOFTMAX_CROSS_ENTROPY, options));
          assertEquals(9, e.status());
          assertTrue(e.getMessage(), e.getMessage().contains("no GPU"));
        }
      }
    }
  }

  @Test
  public void resultsEqualTheCApi() throws Exception {
    String[] expected = new String(Files.readAllBytes(Paths.get(System.getProperty("trainkit.reference")))).trim().split(" ");
    try (Model model = new Model(); Trainer trainer = referenceTrainer(model)) {
      double loss = 0;
      for (int i = 0; i < 20; ++i) loss = trainer.step(INPUTS, SHAPE, LABELS);
      double sum = 0;
      for (float p : trainer.parameters()) sum += p;
      assertEquals(Float.parseFloat(expected[0]), (float) loss, 0.0f);
      assertEquals(Double.parseDouble(expected[1]), sum, 0.0);
    }
  }

  @Test
  public void trainsEvaluatesPredictsSavesAndLoads() {
    String path = tmp("java.safetensors");
    float[] trained;
    try (Model model = new Model(); Trainer trainer = referenceTrainer(model)) {
      double first = trainer.step(INPUTS, SHAPE, LABELS), last = first;
      for (int i = 0; i < 200; ++i) last = trainer.step(INPUTS, SHAPE, LABELS);
      assertTrue("loss " + first + " -> " + last, last < first / 2);
      Evaluation evaluation = trainer.evaluate(INPUTS, SHAPE, LABELS);
      assertTrue(evaluation.accuracy > 0.8);
      float[] probabilities = trainer.predict(INPUTS, SHAPE, 3, true);
      assertEquals(1.0, probabilities[0] + probabilities[1] + probabilities[2], 1e-5);
      assertEquals(201, trainer.stepCount());
      trainer.save(path, null);
      trained = trainer.parameters();
    }
    try (Model model = new Model(); Trainer fresh = referenceTrainer(model)) {
      fresh.load(path, null);
      assertEquals(201, fresh.stepCount());
      float[] loaded = fresh.parameters();
      for (int i = 0; i < loaded.length; ++i) assertEquals(trained[i], loaded[i], 0.0f);
    }
  }

  @Test
  public void specsAndWeightFilesRoundTrip() {
    String spec = tmp("java-spec.json"), weights = tmp("java-weights.safetensors");
    float[] trained;
    try (Model model = new Model(); Trainer trainer = referenceTrainer(model)) {
      trainer.step(INPUTS, SHAPE, LABELS);
      model.saveSpec(spec);
      trainer.exportWeights(weights, DType.F32);
      trained = trainer.parameters();
    }
    try (Model rebuilt = Model.loadSpec(spec); TrainerOptions options = new TrainerOptions();
         Trainer trainer = new Trainer(rebuilt, Loss.SOFTMAX_CROSS_ENTROPY, options)) {
      assertEquals(8 * 4 + 8 + 3 * 8 + 3, rebuilt.numParameters());
      trainer.importWeights(weights);
      float[] loaded = trainer.parameters();
      for (int i = 0; i < loaded.length; ++i) assertEquals(trained[i], loaded[i], 0.0f);
    }
    try {
      Model.fromSpec("{\"format\": \"other\"}");
      fail("a bad spec was accepted");
    } catch (TrainKitException expected) {
      assertEquals(1, expected.status());
    }
  }

  @Test
  public void directBuffersAreUsedWithoutCopies() {
    FloatBuffer x = ByteBuffer.allocateDirect(4 * 64).order(ByteOrder.nativeOrder()).asFloatBuffer();
    IntBuffer y = ByteBuffer.allocateDirect(4 * 16).order(ByteOrder.nativeOrder()).asIntBuffer();
    x.put(INPUTS).flip();
    y.put(LABELS).flip();
    try (Model a = new Model(); Trainer direct = referenceTrainer(a); Model b = new Model();
         Trainer arrays = referenceTrainer(b)) {
      for (int i = 0; i < 5; ++i) {
        double l1 = direct.step(x, SHAPE, y, DType.I32, new long[] {16});
        double l2 = arrays.step(INPUTS, SHAPE, LABELS);
        assertEquals(l2, l1, 0.0);
      }
      try {
        direct.step(FloatBuffer.wrap(INPUTS), SHAPE, y, DType.I32, new long[] {16});
        fail("a heap buffer was accepted");
      } catch (TrainKitException expected) {
        assertEquals(2, expected.status());
      }
    }
  }

  @Test
  public void nativeErrorsBecomeExceptionsWithTheNativeMessage() {
    try (Model model = new Model(); Trainer trainer = referenceTrainer(model)) {
      try {
        trainer.step(new float[15], new long[] {3, 5}, new int[] {0, 1, 2});
        fail("a [3, 5] batch was accepted");
      } catch (TrainKitException e) {
        assertEquals(3, e.status());
        assertTrue(e.getMessage(), e.getMessage().contains("[batch, 4]"));
      }
      try {
        model.linear(99, 3);
        fail("node 99 was accepted");
      } catch (TrainKitException e) {
        assertEquals(1, e.status());
      }
      try (TrainerOptions options = new TrainerOptions()) {
        options.learningRate(-1);
        fail("a negative learning rate was accepted");
      } catch (TrainKitException e) {
        assertTrue(e.getMessage().contains("learning rate"));
      }
      try {
        trainer.load("/nonexistent/x.safetensors", null);
        fail();
      } catch (TrainKitException e) {
        assertEquals(7, e.status());
      }
    }
  }

  @Test
  public void closingTwiceIsANoOpAndClosedObjectsRefuseUse() {
    Model model = new Model();
    Trainer trainer = referenceTrainer(model);
    trainer.close();
    trainer.close();
    assertTrue(trainer.isClosed());
    try {
      trainer.step(INPUTS, SHAPE, LABELS);
      fail("a closed trainer stepped");
    } catch (IllegalStateException expected) {
    }
    model.close();
    model.close();
  }

  static long residentKb() throws Exception {
    for (String line : Files.readAllLines(Paths.get("/proc/self/status")))
      if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
    return -1;
  }

  @Test
  public void manyCyclesKeepMemoryFlatAndGarbageCollectedObjectsDoNotCrash() throws Exception {
    int cycles = Integer.getInteger("trainkit.cycles", 100000);
    long warm = 0;
    for (int i = 0; i < cycles; ++i) {
      try (Model model = new Model(); Trainer trainer = referenceTrainer(model)) {
        trainer.step(INPUTS, SHAPE, LABELS);
      }
      if (i == cycles / 10) warm = residentKb();
    }
    long end = residentKb();
    assertTrue("resident memory grew from " + warm + " kB to " + end + " kB", end - warm < 32 * 1024);
    // Left to the garbage collector: the Cleaner frees them, without crashing.
    for (int i = 0; i < 2000; ++i) referenceTrainer(new Model()).step(INPUTS, SHAPE, LABELS);
    for (int i = 0; i < 5; ++i) {
      System.gc();
      Thread.sleep(20);
    }
    System.out.println("cycles " + cycles + ", resident " + warm + " kB -> " + end + " kB");
  }
}
