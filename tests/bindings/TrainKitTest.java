package org.trainkit;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.lang.management.ManagementFactory;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
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

  static FloatBuffer directFloats(float[] values) {
    FloatBuffer buffer = ByteBuffer.allocateDirect(4 * values.length).order(ByteOrder.nativeOrder()).asFloatBuffer();
    buffer.put(values).flip();
    return buffer;
  }

  static IntBuffer directInts(int[] values) {
    IntBuffer buffer = ByteBuffer.allocateDirect(4 * values.length).order(ByteOrder.nativeOrder()).asIntBuffer();
    buffer.put(values).flip();
    return buffer;
  }

  static void assertBitsEqual(float[] expected, float[] actual) {
    assertEquals(expected.length, actual.length);
    for (int i = 0; i < expected.length; ++i)
      assertEquals("parameter " + i, Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(actual[i]));
  }

  // ---- The generated layer covers the header ----------------------------------------------------------

  static List<String[]> manifest(String kind) throws Exception {
    String path = System.getProperty("trainkit.manifest");
    assertNotNull("-Dtrainkit.manifest is not set", path);
    List<String[]> lines = new ArrayList<>();
    for (String line : Files.readAllLines(Paths.get(path))) {
      String[] fields = line.trim().split("\\s+");
      if (fields[0].equals(kind)) lines.add(fields);
    }
    return lines;
  }

  @Test
  public void everyFunctionOfTheHeaderIsAPublicStaticMethodOfTrainKitC() throws Exception {
    Set<String> methods = new HashSet<>();
    for (Method method : TrainKitC.class.getDeclaredMethods())
      if (Modifier.isPublic(method.getModifiers()) && Modifier.isStatic(method.getModifiers()))
        methods.add(method.getName());
    List<String[]> functions = manifest("function");
    assertTrue("the manifest lists " + functions.size() + " functions", functions.size() > 100);
    List<String> missing = new ArrayList<>();
    for (String[] function : functions)
      if (!methods.contains(function[1])) missing.add(function[1]);
    assertTrue("TrainKitC lacks " + missing, missing.isEmpty());
    assertTrue(Modifier.isPublic(TrainKitC.class.getModifiers()));
  }

  @Test
  public void everyEnumOfTheHeaderIsAJavaEnumWithItsValues() throws Exception {
    Map<String, Set<String>> expected = new HashMap<>();
    List<String[]> items = manifest("enum");
    assertTrue(items.size() > 40);
    for (String[] item : items) {
      // enum <c_enum> <BindingEnum> <C_ITEM> <JAVA_ITEM> <CsharpItem> <value>
      Class<?> type = Class.forName("org.trainkit." + item[2]);
      assertTrue(item[2] + " is an enum", type.isEnum());
      @SuppressWarnings({"unchecked", "rawtypes"})
      Enum<?> constant = Enum.valueOf((Class) type, item[4]);
      int value = type.getField("value").getInt(constant);
      assertEquals(item[3], Integer.parseInt(item[6]), value);
      Method of = type.getMethod("of", int.class);
      assertSame(item[3], constant, of.invoke(null, value));
      expected.computeIfAbsent(item[2], k -> new HashSet<>()).add(item[4]);
    }
    assertTrue(expected.keySet().toString(), expected.size() >= 13);
    for (Map.Entry<String, Set<String>> entry : expected.entrySet()) {
      Set<String> actual = new HashSet<>();
      for (Object constant : Class.forName("org.trainkit." + entry.getKey()).getEnumConstants())
        actual.add(((Enum<?>) constant).name());
      assertEquals(entry.getKey() + " has exactly the header's constants", entry.getValue(), actual);
    }
  }

  // ---- Training and results ---------------------------------------------------------------------------

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
      assertArrayEquals(new long[] {1, 8, 8}, model.nodeShape(x));
      assertArrayEquals(new long[] {4}, model.nodeShape(h));
      try (TrainerOptions options = new TrainerOptions().optimizer(Optimizer.ADAM).learningRate(0.05).device(Device.CPU);
           Trainer trainer = new Trainer(model, Loss.SOFTMAX_CROSS_ENTROPY, options)) {
        double first = trainer.step(images, new long[] {32, 8, 8}, labels), last = first;
        for (int i = 0; i < 30; ++i) last = trainer.step(images, new long[] {32, 8, 8}, labels);
        assertTrue(last < first);
      }
    }
  }

  @Test
  public void aSharedWeightIsOneTensor() {
    try (Model model = new Model()) {
      int x = model.input("x", 6);
      int a = model.linear(x, 6, false, Init.XAVIER_NORMAL);
      int b = model.linear(model.tanh(a), 6, false, Init.XAVIER_NORMAL);
      model.setNodeName(a, "a").shareParameter(b, "weight", a, "weight").output(b, "y");
      assertEquals(36, model.numParameters());
      assertTrue(model.spec(), model.spec().contains("\"a.weight\""));
      TrainKitException e = assertThrows(TrainKitException.class, () -> model.shareParameter(b, "weight", a, "weight"));
      assertEquals(Status.ERROR_INVALID_ARGUMENT, e.status());
      try (Trainer trainer = new Trainer(model, Loss.MSE)) {
        assertEquals(1, trainer.numParameterTensors());
        assertEquals("a.weight", trainer.parameterName(0));
      }
    }
  }

  @Test
  public void severalOutputsComeFromOneForward() {
    try (Model model = new Model()) {
      int ids = model.inputIndices("ids", 4);
      int pooled = model.op("mean_pool", "", model.op("embedding", "{\"vocab\": 6, \"dim\": 5}", ids));
      model.output(model.linear(pooled, 2), "logits").addOutput(pooled, "embedding");
      try (Trainer trainer = new Trainer(model, Loss.SOFTMAX_CROSS_ENTROPY); Inputs in = new Inputs(1)) {
        OutputInfo[] outputs = trainer.outputs();
        assertEquals(2, outputs.length);
        assertEquals("embedding", outputs[1].name);
        assertArrayEquals(new long[] {5}, outputs[1].shape());
        int[] tokens = {1, 2, 3, 4, 5, 5, 0, 1};
        in.set(0, tokens, 2, 4);
        float[][] got = trainer.predictOutputs(in, 2, false);
        float[] table = trainer.getParameter(0);
        for (int row = 0; row < 2; ++row)
          for (int d = 0; d < 5; ++d) {
            double mean = 0;
            for (int s = 0; s < 4; ++s) mean += table[tokens[row * 4 + s] * 5 + d] / 4.0;
            assertEquals(mean, got[1][row * 5 + d], 1e-6);
          }
        try (Predictor predictor = Predictor.fromTrainer(trainer, 1)) {
          assertArrayEquals(got[1], predictor.predictOutputs(in, 2, false)[1], 0f);
        }
        assertThrows(TrainKitException.class, () -> trainer.predictOutputs(in, 3, false));
      }
    }
  }

  @Test
  public void multiHeadAttentionIsNamedNodes() {
    try (Model model = new Model()) {
      int x = model.input("x", 5, 8);
      int h = model.multiHeadAttention(x, x, -1, 2, true, false, "self");
      assertEquals("self.out", model.nodeName(h));
      assertEquals(4 * (8 * 8 + 8), model.numParameters());
      TrainKitException e = assertThrows(TrainKitException.class,
          () -> model.multiHeadAttention(x, x, -1, 3, false, false, "other"));
      assertEquals(Status.ERROR_SHAPE_MISMATCH, e.status());
      assertEquals(4 * (8 * 8 + 8), model.numParameters());
    }
  }

  @Test
  public void everyLayerBuildsAndNodesHaveNamesAndShapes() {
    try (Model model = new Model()) {
      int x = model.input("x", 6);
      int a = model.linear(x, 6, false, Init.XAVIER_NORMAL);
      int b = model.gelu(model.linear(x, 6, true, Init.ZEROS));
      int c = model.add(model.sigmoid(a), model.relu(b));
      c = model.layerNorm(model.dropout(c, 0.1), 1, 1e-5);
      int image = model.reshape(c, 1, 2, 3);
      int pooled = model.avgPool2d(model.conv2d(image, 2, 1, 0), 1, 1, 0);
      int out = model.linear(model.flatten(pooled), 2);
      model.setNodeName(out, "head").output(out, "logits");
      assertEquals("head", model.nodeName(out));
      assertEquals("x", model.nodeName(x));
      assertArrayEquals(new long[] {1, 2, 3}, model.nodeShape(image));
      assertArrayEquals(new long[] {2, 2, 3}, model.nodeShape(pooled));
      assertEquals(36 + 42 + 12 + 4 + 26, model.numParameters());
      String spec = model.spec();
      assertTrue(spec, spec.contains("\"head\""));
      try (Model rebuilt = Model.fromSpec(spec)) {
        assertEquals(model.numParameters(), rebuilt.numParameters());
        assertEquals(spec, rebuilt.spec());
      }
      try (Trainer trainer = new Trainer(model, Loss.MSE)) {
        float[] inputs = new float[4 * 6], targets = new float[4 * 2];
        for (int i = 0; i < inputs.length; ++i) inputs[i] = (float) Math.cos(i);
        for (int i = 0; i < targets.length; ++i) targets[i] = i % 2;
        double first = trainer.step(inputs, new long[] {4, 6}, targets, new long[] {4, 2});
        Evaluation evaluation = trainer.evaluate(inputs, new long[] {4, 6}, targets, new long[] {4, 2});
        assertTrue(Double.isNaN(evaluation.accuracy));
        assertTrue(evaluation.loss > 0 && evaluation.loss < first * 10);
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
        assertEquals("cpu", trainer.deviceName());
      }
      if (gpus == 0) {
        assertFalse(Trainer.gpuUnavailableReason().isEmpty());
        try (TrainerOptions options = new TrainerOptions().device(Device.CUDA)) {
          TrainKitException e = assertThrows(TrainKitException.class,
              () -> new Trainer(model, Loss.SOFTMAX_CROSS_ENTROPY, options));
          assertEquals(Status.ERROR_UNSUPPORTED, e.status());
          assertTrue(e.getMessage(), e.getMessage().contains("no GPU"));
        }
        assertThrows(TrainKitException.class, () -> Trainer.gpuInfo(0));
      } else {
        GpuInfo info = Trainer.gpuInfo(0);
        assertFalse(info.getName().isEmpty());
        assertTrue(info.getMemory_bytes() > 0);
        try (TrainerOptions options = new TrainerOptions().device(Device.CUDA).cudaDevice(0);
             Trainer trainer = new Trainer(model, Loss.SOFTMAX_CROSS_ENTROPY, options)) {
          assertTrue(trainer.step(new float[8], new long[] {2, 4}, new int[] {0, 1}) > 0);
          assertTrue(trainer.deviceName(), trainer.deviceName().startsWith("cuda:0"));
        }
      }
    }
  }

  @Test
  public void resultsEqualTheCApi() throws Exception {
    String[] expected = new String(Files.readAllBytes(Paths.get(System.getProperty("trainkit.reference")))).trim()
        .split("\\s+");
    assertEquals(3, expected.length);
    try (Model model = new Model(); Trainer trainer = referenceTrainer(model)) {
      double loss = 0;
      for (int i = 0; i < 20; ++i) loss = trainer.step(INPUTS, SHAPE, LABELS);
      assertEquals(Float.parseFloat(expected[0]), (float) loss, 0.0f);
      assertEquals(Double.parseDouble(expected[1]), sum(trainer.parameters()), 0.0);
    }
    // The same arrays as a Dataset: two epochs of shuffled batches of 5 (seed 3).
    try (Dataset data = Dataset.fromArrays(INPUTS, SHAPE, LABELS); Batcher batcher = new Batcher(data, 5, true, 3, false);
         Model model = new Model(); Trainer trainer = referenceTrainer(model)) {
      for (int epoch = 0; epoch < 2; ++epoch) {
        batcher.reset(epoch);
        while (trainer.stepNext(batcher, null)) {}
      }
      assertEquals(8, trainer.stepCount());
      assertEquals(Double.parseDouble(expected[2]), sum(trainer.parameters()), 0.0);
    }
  }

  static double sum(float[] values) {
    double sum = 0;
    for (float value : values) sum += value;
    return sum;
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
      float[] into = new float[48];
      trainer.predict(INPUTS, SHAPE, true, into, new long[] {16, 3});
      assertArrayEquals(probabilities, into, 0.0f);
      assertEquals(201, trainer.stepCount());
      assertEquals(0, trainer.skippedSteps());
      assertEquals(0.05, trainer.learningRate(), 1e-12);
      assertTrue(trainer.lastGradNorm() > 0);
      assertEquals(0, trainer.world().rank);
      assertEquals(1, trainer.world().size);
      trainer.setProperty("run", "java");
      String longValue = "v".repeat(1000);
      trainer.setProperty("long", longValue);
      assertEquals("java", trainer.getProperty("run"));
      assertEquals(longValue, trainer.getProperty("long"));
      assertEquals(Status.ERROR_INVALID_ARGUMENT,
          assertThrows(TrainKitException.class, () -> trainer.getProperty("missing")).status());
      trainer.save(path, null);
      trained = trainer.parameters();
    }
    try (Model model = new Model(); Trainer fresh = referenceTrainer(model)) {
      fresh.load(path, null);
      assertEquals(201, fresh.stepCount());
      assertEquals("java", fresh.getProperty("run"));
      assertBitsEqual(trained, fresh.parameters());
    }
  }

  @Test
  public void parameterTensorsAreNamedShapedReadAndWritten() {
    try (Model model = new Model(); Trainer trainer = referenceTrainer(model)) {
      assertEquals(4, trainer.numParameterTensors());
      assertEquals(8 * 4 + 8 + 3 * 8 + 3, trainer.numParameters());
      assertTrue(trainer.parameterName(0), trainer.parameterName(0).endsWith(".weight"));
      assertTrue(trainer.parameterName(1), trainer.parameterName(1).endsWith(".bias"));
      assertArrayEquals(new long[] {8, 4}, trainer.parameterShape(0));
      assertArrayEquals(new long[] {3}, trainer.parameterShape(3));
      float[] all = trainer.parameters();
      float[] weight = trainer.getParameter(0);
      for (int i = 0; i < weight.length; ++i) assertEquals(all[i], weight[i], 0.0f);
      float[] bias = {1, 2, 3};
      trainer.setParameter(3, bias);
      assertArrayEquals(bias, trainer.getParameter(3), 0.0f);
      float[] copied = new float[(int) trainer.numParameters()];
      trainer.copyParameters(copied);
      assertEquals(3.0f, copied[copied.length - 1], 0.0f);
      assertEquals(Status.ERROR_SHAPE_MISMATCH,
          assertThrows(TrainKitException.class, () -> trainer.setParameter(3, new float[4])).status());
      assertEquals(Status.ERROR_SHAPE_MISMATCH,
          assertThrows(TrainKitException.class, () -> trainer.copyParameters(new float[5])).status());
      assertThrows(TrainKitException.class, () -> trainer.parameterName(4));
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
      assertBitsEqual(trained, trainer.parameters());
    }
    TrainKitException e = assertThrows(TrainKitException.class, () -> Model.fromSpec("{\"format\": \"other\"}"));
    assertEquals(Status.ERROR_INVALID_ARGUMENT, e.status());
    assertFalse(e.getMessage().isEmpty());
  }

  @Test
  public void checkpointsKeepTheLastFewAndRestoreTheBatcherPosition() throws Exception {
    String prefix = tmp("java-keep");
    float[] features = new float[40 * 4];
    int[] labels = new int[40];
    for (int i = 0; i < features.length; ++i) features[i] = (float) Math.sin(i);
    for (int i = 0; i < labels.length; ++i) labels[i] = i % 3;
    try (Dataset data = Dataset.fromArrays(features, new long[] {40, 4}, labels);
         Batcher batcher = new Batcher(data, 8, true, 3, false);
         Model model = new Model(); Trainer trainer = referenceTrainer(model)) {
      List<String> written = new ArrayList<>();
      double[] loss = new double[1];
      for (int i = 0; i < 3; ++i) {
        assertTrue(trainer.stepNext(batcher, loss));
        written.add(trainer.saveKeepLast(prefix, 2, batcher));
      }
      assertTrue(written.get(2), written.get(2).matches(".*java-keep-0*3\\.safetensors"));
      assertFalse(Files.exists(Paths.get(written.get(0))));
      assertTrue(Files.exists(Paths.get(written.get(1))));
      // The two remaining batches of the epoch, after restoring step 3's checkpoint into a fresh pair.
      trainer.stepNext(batcher, loss);
      float[] afterFour = trainer.parameters();
      try (Batcher resumed = new Batcher(data, 8, true, 3, false); Model m2 = new Model();
           Trainer restored = referenceTrainer(m2)) {
        restored.load(written.get(2), resumed);
        assertEquals(3, restored.stepCount());
        restored.stepNext(resumed, loss);
        assertBitsEqual(afterFour, restored.parameters());
      }
    }
  }

  @Test
  public void directBuffersAreUsedWithoutCopies() {
    FloatBuffer x = directFloats(INPUTS);
    IntBuffer y = directInts(LABELS);
    try (Model a = new Model(); Trainer direct = referenceTrainer(a); Model b = new Model();
         Trainer arrays = referenceTrainer(b)) {
      for (int i = 0; i < 5; ++i) {
        double l1 = direct.step(x, SHAPE, y, DType.I32, new long[] {16});
        double l2 = arrays.step(INPUTS, SHAPE, LABELS);
        assertEquals(l2, l1, 0.0);
      }
      StepReport r1 = direct.stepReport(x, DType.F32, SHAPE, y, DType.I32, new long[] {16}, null);
      StepReport r2 = arrays.stepReport(INPUTS, SHAPE, LABELS);
      assertEquals(r2.getLoss(), r1.getLoss(), 0.0f);
      assertEquals(6, r1.getStep());
      assertEquals(1, r1.getApplied());
      Evaluation e1 = direct.evaluate(x, DType.F32, SHAPE, y, DType.I32, new long[] {16});
      Evaluation e2 = arrays.evaluate(INPUTS, SHAPE, LABELS);
      assertEquals(e2.loss, e1.loss, 0.0);
      FloatBuffer out = ByteBuffer.allocateDirect(4 * 48).order(ByteOrder.nativeOrder()).asFloatBuffer();
      direct.predict(x, DType.F32, SHAPE, false, out, DType.F32, new long[] {16, 3});
      float[] logits = arrays.predict(INPUTS, SHAPE, 3, false);
      for (int i = 0; i < 48; ++i) assertEquals(logits[i], out.get(i), 0.0f);
      assertBitsEqual(arrays.parameters(), direct.parameters());
      IllegalArgumentException heap = assertThrows(IllegalArgumentException.class,
          () -> direct.step(FloatBuffer.wrap(INPUTS), SHAPE, y, DType.I32, new long[] {16}));
      assertTrue(heap.getMessage(), heap.getMessage().contains("direct"));
    }
  }

  @Test
  public void queuedStepsAreWaitedForAndReported() {
    try (Model a = new Model(); Trainer queued = referenceTrainer(a); Model b = new Model();
         Trainer plain = referenceTrainer(b)) {
      for (int i = 0; i < 4; ++i) {
        queued.stepAsync(INPUTS, SHAPE, LABELS);
        plain.step(INPUTS, SHAPE, LABELS);
      }
      StepReport report = queued.waitSteps();
      assertEquals(4, report.getStep());
      assertEquals(1, report.getApplied());
      StepReport mine = new StepReport();
      assertSame(mine, queued.waitSteps(mine));
      assertEquals(4, queued.stepCount());
      assertBitsEqual(plain.parameters(), queued.parameters());
    }
  }

  // ---- Datasets ------------------------------------------------------------------------------------------

  static final int N = 50;

  static float[] datasetFeatures() {
    float[] features = new float[N * 4];
    for (int i = 0; i < features.length; ++i) features[i] = (float) Math.sin(0.37 * i) * 2 + 1;
    return features;
  }

  static int[] datasetLabels() {
    int[] labels = new int[N];
    for (int i = 0; i < N; ++i) labels[i] = (i * 7) % 3;
    return labels;
  }

  @Test
  public void aDatasetFromJavaArraysTrainsAsTheCApiDoesOnDirectBuffers() {
    float[] features = datasetFeatures();
    int[] labels = datasetLabels();
    long[] featureShape = {N, 4};
    float[] idiomatic;
    try (Dataset data = Dataset.fromArrays(features, featureShape, labels);
         Batcher batcher = new Batcher(data, 8, true, 11, false);
         Model model = new Model(); Trainer trainer = referenceTrainer(model)) {
      assertEquals(N, data.size());
      assertArrayEquals(new long[] {4}, data.sampleShape());
      double[] loss = {Double.NaN};
      int steps = 0;
      for (int epoch = 0; epoch < 3; ++epoch) {
        batcher.reset(epoch);
        while (trainer.stepNext(batcher, loss)) ++steps;
      }
      assertEquals(3 * 7, steps);
      assertFalse(Double.isNaN(loss[0]));
      idiomatic = trainer.parameters();
    }

    // The same through the generated layer only: TrainKitC over views of direct buffers.
    SWIGTYPE_p_tk_model[] model = new SWIGTYPE_p_tk_model[1];
    SWIGTYPE_p_tk_trainer_options[] options = new SWIGTYPE_p_tk_trainer_options[1];
    SWIGTYPE_p_tk_trainer[] trainer = new SWIGTYPE_p_tk_trainer[1];
    SWIGTYPE_p_tk_dataset[] dataset = new SWIGTYPE_p_tk_dataset[1];
    SWIGTYPE_p_tk_batcher[] batcher = new SWIGTYPE_p_tk_batcher[1];
    int[] x = new int[1], h = new int[1], logits = new int[1];
    ok(TrainKitC.tk_model_create(model));
    ok(TrainKitC.tk_model_input(model[0], "x", new long[] {4}, x));
    ok(TrainKitC.tk_model_linear(model[0], x[0], 8, h));
    ok(TrainKitC.tk_model_tanh(model[0], h[0], h));
    ok(TrainKitC.tk_model_linear(model[0], h[0], 3, logits));
    ok(TrainKitC.tk_model_output(model[0], logits[0], "logits"));
    ok(TrainKitC.tk_trainer_options_create(options));
    ok(TrainKitC.tk_trainer_options_set_optimizer(options[0], Optimizer.ADAM));
    ok(TrainKitC.tk_trainer_options_set_learning_rate(options[0], 0.05));
    ok(TrainKitC.tk_trainer_options_set_seed(options[0], 7));
    ok(TrainKitC.tk_trainer_options_set_threads(options[0], 1));
    ok(TrainKitC.tk_trainer_create(model[0], Loss.SOFTMAX_CROSS_ENTROPY, options[0], trainer));
    TensorView featureView = new TensorView(), labelView = new TensorView();
    FloatBuffer featureMemory = directFloats(features);
    IntBuffer labelMemory = directInts(labels);
    featureView.reset(featureMemory, DType.F32, featureShape);
    labelView.reset(labelMemory, DType.I32, new long[] {N});
    assertEquals(4L * N * 4, featureView.nbytes());
    assertEquals(4, featureView.extent(1));
    ok(TrainKitC.tk_dataset_create(featureView, labelView, dataset));
    ok(TrainKitC.tk_batcher_create(dataset[0], 8, 1, 11, 0, batcher));
    TensorView batchFeatures = new TensorView(), batchLabels = new TensorView();
    int[] hasBatch = new int[1];
    float[] loss = new float[1];
    for (int epoch = 0; epoch < 3; ++epoch) {
      ok(TrainKitC.tk_batcher_reset(batcher[0], epoch));
      while (true) {
        ok(TrainKitC.tk_batcher_next(batcher[0], batchFeatures, batchLabels, hasBatch));
        if (hasBatch[0] == 0) break;
        assertEquals(DType.I32.value, batchLabels.getDtype());
        ok(TrainKitC.tk_trainer_step(trainer[0], batchFeatures, batchLabels, loss));
      }
    }
    long[] count = new long[1];
    ok(TrainKitC.tk_trainer_num_parameters(trainer[0], count));
    float[] generated = new float[(int) count[0]];
    ok(TrainKitC.tk_trainer_copy_parameters(trainer[0], generated));
    TrainKitC.tk_batcher_destroy(batcher[0]);
    TrainKitC.tk_dataset_destroy(dataset[0]);
    TrainKitC.tk_trainer_destroy(trainer[0]);
    TrainKitC.tk_trainer_options_destroy(options[0]);
    TrainKitC.tk_model_destroy(model[0]);
    for (TensorView view : new TensorView[] {featureView, labelView, batchFeatures, batchLabels}) view.delete();
    assertBitsEqual(generated, idiomatic);
  }

  /** Resident memory of this process, from /proc/self/statm. */
  static long residentBytes() throws Exception {
    String[] fields = new String(Files.readAllBytes(Paths.get("/proc/self/statm"))).trim().split(" ");
    return Long.parseLong(fields[1]) * 4096;
  }

  // A string argument is taken only after every argument was accepted: a
  // later argument's refusal (here a null shape) leaves no copy of it held.
  // Before, each refused call kept the string's 64 KB: 640 MB here.
  @Test
  public void aRefusedCallHoldsNoneOfItsStrings() throws Exception {
    SWIGTYPE_p_tk_model[] model = new SWIGTYPE_p_tk_model[1];
    int[] node = new int[1];
    ok(TrainKitC.tk_model_create(model));
    String name = new String(new char[64 * 1024]).replace('\0', 'n');
    for (int i = 0; i < 100; ++i)
      assertThrows(NullPointerException.class, () -> TrainKitC.tk_model_input(model[0], name, null, node));
    long before = residentBytes();
    for (int i = 0; i < 10000; ++i)
      assertThrows(NullPointerException.class, () -> TrainKitC.tk_model_input(model[0], name, null, node));
    long grown = residentBytes() - before;
    TrainKitC.tk_model_destroy(model[0]);
    assertTrue("resident memory grew by " + grown + " bytes", grown < 64L << 20);
  }

  static void ok(Status status) {
    assertEquals(TrainKitC.tk_last_error_message(), Status.OK, status);
  }

  @Test
  public void datasetsFromBuffersAndFloatTargetsAreNormalizedAndBatched() {
    float[] features = datasetFeatures();
    float[] targets = new float[N * 2];
    for (int i = 0; i < targets.length; ++i) targets[i] = (float) Math.cos(i);
    try (Dataset fromArrays = Dataset.fromArrays(features, new long[] {N, 4}, targets, new long[] {N, 2});
         Dataset fromBuffers = Dataset.fromBuffers(directFloats(features), DType.F32, new long[] {N, 2, 2},
             directFloats(targets), DType.F32, new long[] {N, 2})) {
      assertArrayEquals(new long[] {2, 2}, fromBuffers.sampleShape());
      double[] stats = fromArrays.stats();
      double mean = 0;
      for (float f : features) mean += f;
      mean /= features.length;
      assertEquals(mean, stats[0], 1e-5);
      assertEquals(stats[0], fromBuffers.stats()[0], 0.0);
      fromArrays.standardize(stats[0], stats[1]);
      assertEquals(0.0, fromArrays.stats()[0], 1e-5);
      assertEquals(1.0, fromArrays.stats()[1], 1e-4);
      fromBuffers.normalize(Normalization.UNIT_RANGE, 0, 0);
      try (Batcher batcher = new Batcher(fromBuffers, 16, false, 0, true)) {
        TensorView x = new TensorView(), y = new TensorView();
        int batches = 0;
        while (batcher.next(x, y)) {
          ++batches;
          assertEquals(16, x.extent(0));
          assertEquals(DType.F32.value, y.getDtype());
          assertEquals(2, y.extent(1));
        }
        assertEquals(3, batches);
        // 50 samples over 3 shards: 17 each padded, 16 with the remainder dropped.
        batcher.setShard(1, 3);
        batcher.reset(0);
        assertTrue(batcher.next(x, y));
        assertFalse(batcher.next(x, y));
        try (Batcher small = new Batcher(fromBuffers, 1, false, 0, false)) {
          small.setShard(2, 3);
          int padded = 0;
          while (small.next(x, y)) ++padded;
          small.setShard(2, 3, ShardRemainder.DROP);
          small.reset(0);
          int dropped = 0;
          while (small.next(x, y)) ++dropped;
          assertEquals(17, padded);
          assertEquals(16, dropped);
        }
        assertEquals(Status.ERROR_INVALID_ARGUMENT,
            assertThrows(TrainKitException.class, () -> batcher.setShard(2, 2)).status());
        x.delete();
        y.delete();
      }
    }
    assertEquals(Status.ERROR_SHAPE_MISMATCH, assertThrows(TrainKitException.class,
        () -> Dataset.fromArrays(features, new long[] {N, 5}, new int[N])).status());
    assertThrows(TrainKitException.class, () -> Dataset.fromArrays(features, new long[] {N, 4}, new int[N - 1]));
    assertThrows(NullPointerException.class, () -> Dataset.fromArrays(null, new long[] {N, 4}, new int[N]));
  }

  // ---- Mixed precision, replicas, generic ops -----------------------------------------------------------

  @Test
  public void fp16StepsReportASkippedOverflowAndTheScaleBacksOff() {
    try (Model model = new Model()) {
      int x = model.input("x", 4);
      model.output(model.linear(model.relu(model.linear(x, 8)), 3), "logits");
      try (TrainerOptions options = new TrainerOptions().device(Device.CPU).precision(Precision.FP16)
               .lossScaling(LossScaling.DYNAMIC).seed(1).threads(1);
           Trainer trainer = new Trainer(model, Loss.SOFTMAX_CROSS_ENTROPY, options)) {
        StepReport report = trainer.stepReport(INPUTS, SHAPE, LABELS);
        assertEquals(1, report.getApplied());
        assertEquals(0, report.getSkipped());
        assertEquals(65536.0, report.getLoss_scale(), 0.0);
        float[] before = trainer.parameters();
        float[] huge = INPUTS.clone();
        huge[5] = 1e30f;
        report = trainer.stepReport(huge, SHAPE, LABELS);
        assertEquals(0, report.getApplied());
        assertEquals(1, report.getSkipped());
        assertEquals(1, report.getStep());
        assertBitsEqual(before, trainer.parameters());
        Trainer.LossScale scale = trainer.lossScale();
        assertEquals(32768.0, scale.scale, 0.0);
        assertEquals(1, scale.skipped);
        assertEquals(1, trainer.skippedSteps());
        StepReport mine = new StepReport();
        assertSame(mine, trainer.stepReport(INPUTS, SHAPE, LABELS, mine));
        assertEquals(1, mine.getApplied());
        assertEquals(0, mine.getSkipped());
        assertEquals(32768.0, mine.getLoss_scale(), 0.0);
        assertEquals(2, mine.getStep());
        assertTrue(mine.getGrad_norm() > 0);
        assertEquals(0.01, mine.getLearning_rate(), 1e-12);
      }
    }
  }

  static float[] trainMlp(int replicas) {
    float[] inputs = new float[32 * 6];
    int[] labels = new int[32];
    for (int i = 0; i < inputs.length; ++i) inputs[i] = (float) Math.sin(0.61 * i);
    for (int i = 0; i < labels.length; ++i) labels[i] = (i * 5) % 4;
    try (Model model = new Model()) {
      model.output(model.linear(model.relu(model.linear(model.input("x", 6), 16)), 4), "logits");
      try (TrainerOptions options = new TrainerOptions().device(Device.CPU).replicas(replicas).seed(5)
               .optimizer(Optimizer.SGD).momentum(0.9, false).learningRate(0.1);
           Trainer trainer = new Trainer(model, Loss.SOFTMAX_CROSS_ENTROPY, options)) {
        for (int i = 0; i < 20; ++i) trainer.step(inputs, new long[] {32, 6}, labels);
        assertEquals(20, trainer.stepCount());
        return trainer.parameters();
      }
    }
  }

  @Test
  public void twoReplicasTrainAsOne() {
    float[] one = trainMlp(1), two = trainMlp(2);
    assertEquals(one.length, two.length);
    double worst = 0, moved = 0;
    float[] initial;
    try (Model model = new Model()) {
      model.output(model.linear(model.relu(model.linear(model.input("x", 6), 16)), 4), "logits");
      try (TrainerOptions options = new TrainerOptions().device(Device.CPU).seed(5);
           Trainer trainer = new Trainer(model, Loss.SOFTMAX_CROSS_ENTROPY, options)) {
        initial = trainer.parameters();
      }
    }
    for (int i = 0; i < one.length; ++i) {
      worst = Math.max(worst, Math.abs(one[i] - two[i]));
      moved = Math.max(moved, Math.abs(one[i] - initial[i]));
    }
    assertTrue("replicas differ by " + worst, worst < 1e-5);
    assertTrue("training moved the parameters by " + moved, moved > 1e-2);
  }

  @Test
  public void genericOpsBuildLayersAndUnknownOpsAreRefused() {
    String catalog = Model.opCatalog();
    assertTrue(catalog, catalog.startsWith("{") && catalog.contains("\"linear\"") && catalog.contains("\"units\""));
    try (Model model = new Model()) {
      int x = model.input("x", 4);
      int y = model.op("linear", "{\"units\": 3}", x);
      assertArrayEquals(new long[] {3}, model.nodeShape(y));
      model.output(y, "logits");
      assertEquals(4 * 3 + 3, model.numParameters());
      try (TrainerOptions options = new TrainerOptions().learningRate(0.5).seed(2);
           Trainer trainer = new Trainer(model, Loss.SOFTMAX_CROSS_ENTROPY, options)) {
        double first = trainer.step(INPUTS, SHAPE, LABELS), last = first;
        for (int i = 0; i < 50; ++i) last = trainer.step(INPUTS, SHAPE, LABELS);
        assertTrue(first + " -> " + last, last < first);
      }
      TrainKitException unknown = assertThrows(TrainKitException.class, () -> model.op("no_such_op", null, x));
      assertEquals(Status.ERROR_INVALID_ARGUMENT, unknown.status());
      assertTrue(unknown.getMessage(), unknown.getMessage().contains("no_such_op"));
      TrainKitException attribute = assertThrows(TrainKitException.class,
          () -> model.op("linear", "{\"units\": 3, \"colour\": 1}", x));
      assertEquals(Status.ERROR_INVALID_ARGUMENT, attribute.status());
      assertTrue(attribute.getMessage(), attribute.getMessage().contains("colour"));
      assertEquals(Status.ERROR_INVALID_ARGUMENT,
          assertThrows(TrainKitException.class, () -> model.op("linear", "{units", x)).status());
    }
  }

  // ---- Misuse -----------------------------------------------------------------------------------------------

  @Test
  public void nativeErrorsBecomeExceptionsWithTheNativeMessage() {
    try (Model model = new Model(); Trainer trainer = referenceTrainer(model)) {
      TrainKitException e = assertThrows(TrainKitException.class,
          () -> trainer.step(new float[15], new long[] {3, 5}, new int[] {0, 1, 2}));
      assertEquals(Status.ERROR_SHAPE_MISMATCH, e.status());
      assertTrue(e.getMessage(), e.getMessage().contains("[batch, 4]"));
      assertEquals(Status.ERROR_INVALID_ARGUMENT,
          assertThrows(TrainKitException.class, () -> model.linear(99, 3)).status());
      try (TrainerOptions options = new TrainerOptions()) {
        e = assertThrows(TrainKitException.class, () -> options.learningRate(-1));
        assertTrue(e.getMessage(), e.getMessage().contains("learning rate"));
      }
      assertEquals(Status.ERROR_IO,
          assertThrows(TrainKitException.class, () -> trainer.load("/nonexistent/x.safetensors", null)).status());
      assertEquals(Status.ERROR_IO,
          assertThrows(TrainKitException.class, () -> Dataset.loadIdx("/nonexistent/a", "/nonexistent/b")).status());
      // A failed step changes nothing.
      float[] before = trainer.parameters();
      assertThrows(TrainKitException.class, () -> trainer.step(INPUTS, SHAPE, new int[] {0, 1}));
      assertBitsEqual(before, trainer.parameters());
      assertEquals(0, trainer.stepCount());
    }
  }

  @Test
  public void misuseIsAnExceptionWithAMessageNeverACrash() {
    try (Model model = new Model(); Trainer trainer = referenceTrainer(model)) {
      // Wrong shapes: an array that is not its shape, a negative extent, too many dimensions.
      TrainKitException e = assertThrows(TrainKitException.class, () -> trainer.step(INPUTS, new long[] {16, 5}, LABELS));
      assertEquals(Status.ERROR_SHAPE_MISMATCH, e.status());
      assertTrue(e.getMessage(), e.getMessage().contains("64"));
      assertThrows(TrainKitException.class, () -> trainer.step(INPUTS, new long[] {-16, -4}, LABELS));
      assertThrows(TrainKitException.class,
          () -> trainer.step(INPUTS, new long[] {16, 4, 1, 1, 1, 1, 1, 1, 1}, LABELS));
      assertThrows(TrainKitException.class, () -> model.input("y", 1, 1, 1, 1, 1, 1, 1, 1, 1));
      // Wrong dtypes: float targets for cross-entropy, a buffer that cannot hold its dtype.
      e = assertThrows(TrainKitException.class, () -> trainer.step(INPUTS, SHAPE, new float[16], new long[] {16}));
      assertEquals(Status.ERROR_DTYPE_MISMATCH, e.status());
      assertFalse(e.getMessage().isEmpty());
      e = assertThrows(TrainKitException.class,
          () -> trainer.step(directInts(LABELS), DType.F32, new long[] {4, 4}, directInts(LABELS), DType.I32,
              new long[] {16}));
      assertEquals(Status.ERROR_DTYPE_MISMATCH, e.status());
      // A buffer smaller than its shape never reaches native code.
      e = assertThrows(TrainKitException.class,
          () -> trainer.step(directFloats(new float[10]), SHAPE, directInts(LABELS), DType.I32, new long[] {16}));
      assertEquals(Status.ERROR_SHAPE_MISMATCH, e.status());
      assertTrue(e.getMessage(), e.getMessage().contains("40 bytes"));
      FloatBuffer swapped = ByteBuffer.allocateDirect(256).order(ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN
          ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN).asFloatBuffer();
      assertThrows(IllegalArgumentException.class,
          () -> trainer.step(swapped, SHAPE, directInts(LABELS), DType.I32, new long[] {16}));
      // Nulls.
      NullPointerException npe = assertThrows(NullPointerException.class, () -> trainer.step(null, SHAPE, LABELS));
      assertEquals("inputs", npe.getMessage());
      npe = assertThrows(NullPointerException.class, () -> trainer.step(INPUTS, SHAPE, (int[]) null));
      assertEquals("labels", npe.getMessage());
      assertThrows(NullPointerException.class, () -> trainer.step(INPUTS, null, LABELS));
      assertThrows(NullPointerException.class, () -> trainer.stepNext(null, null));
      assertThrows(NullPointerException.class, () -> new Trainer(model, null));
      npe = assertThrows(NullPointerException.class, () -> model.input("z", (long[]) null));
      assertTrue(npe.getMessage(), npe.getMessage().contains("shape"));
      assertEquals(Status.ERROR_NULL_ARGUMENT,
          assertThrows(TrainKitException.class, () -> model.input(null, 4)).status());
      assertThrows(NullPointerException.class, () -> trainer.copyParameters(null));
      // The generated layer refuses misuse too: null handles and heap buffers.
      assertEquals(Status.ERROR_NULL_ARGUMENT, TrainKitC.tk_trainer_step(null, null, null, new float[1]));
      assertFalse(TrainKitC.tk_last_error_message().isEmpty());
      assertThrows(IllegalArgumentException.class,
          () -> new TensorView().reset(FloatBuffer.allocate(4), DType.F32, new long[] {4}));
      assertThrows(NullPointerException.class, () -> TrainKitC.tk_trainer_step_count(trainer.handle(), null));
      IllegalArgumentException noArray = assertThrows(IllegalArgumentException.class, () -> TrainKitC.tk_model_create(null));
      assertTrue(noArray.getMessage(), noArray.getMessage().contains("out_model"));
      // Nothing above trained or broke the trainer.
      assertEquals(0, trainer.stepCount());
      assertTrue(trainer.step(INPUTS, SHAPE, LABELS) > 0);
    }
  }

  @Test
  public void closingTwiceIsANoOpAndClosedObjectsRefuseUse() {
    Model model = new Model();
    Trainer trainer = referenceTrainer(model);
    StepReport report = trainer.stepReport(INPUTS, SHAPE, LABELS);
    trainer.close();
    trainer.close();
    assertTrue(trainer.isClosed());
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> trainer.step(INPUTS, SHAPE, LABELS));
    assertTrue(e.getMessage(), e.getMessage().contains("Trainer is closed"));
    assertThrows(IllegalStateException.class, trainer::handle);
    assertThrows(IllegalStateException.class, trainer::parameters);
    // A report the caller kept stays readable.
    assertEquals(1, report.getStep());
    model.close();
    model.close();
    assertThrows(IllegalStateException.class, () -> model.linear(0, 3));
    assertThrows(IllegalStateException.class, () -> new Trainer(model, Loss.MSE));
    Dataset data = Dataset.fromArrays(INPUTS, SHAPE, LABELS);
    Batcher batcher = new Batcher(data, 4, false, 0, false);
    data.close();
    // The batcher keeps the dataset's memory alive.
    TensorView x = new TensorView(), y = new TensorView();
    assertTrue(batcher.next(x, y));
    batcher.close();
    assertThrows(IllegalStateException.class, () -> batcher.next(x, y));
    assertThrows(IllegalStateException.class, () -> new Batcher(data, 4, false, 0, false));
    TrainerOptions options = new TrainerOptions();
    options.close();
    assertThrows(IllegalStateException.class, () -> options.seed(1));
  }

  // ---- Memory ------------------------------------------------------------------------------------------------

  @Test
  public void warmStepsAllocateNothingOnTheJavaHeap() {
    com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long thread = Thread.currentThread().getId();
    assertTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
    int steps = 2000;
    float[] features = new float[40 * 4];
    int[] labels = new int[40];
    for (int i = 0; i < features.length; ++i) features[i] = (float) Math.sin(i);
    for (int i = 0; i < labels.length; ++i) labels[i] = i % 3;
    try (Model model = new Model(); Trainer trainer = referenceTrainer(model);
         Dataset data = Dataset.fromArrays(features, new long[] {40, 4}, labels);
         Batcher batcher = new Batcher(data, 8, true, 1, false)) {
      double[] loss = new double[1];
      StepReport report = new StepReport();
      for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < steps; ++i) {
          trainer.step(INPUTS, SHAPE, LABELS);
          trainer.stepReport(INPUTS, SHAPE, LABELS, report);
          if (!trainer.stepNext(batcher, loss)) batcher.reset(i);
        }
      }
      // The meter sees what a call that does allocate allocates: predict returns a new array.
      long before = threads.getThreadAllocatedBytes(thread);
      for (int i = 0; i < steps; ++i) trainer.predict(INPUTS, SHAPE, 3, false);
      long predictions = threads.getThreadAllocatedBytes(thread) - before;
      assertTrue("predict allocated " + predictions + " bytes", predictions >= 4L * 48 * steps);
      before = threads.getThreadAllocatedBytes(thread);
      for (int i = 0; i < steps; ++i) trainer.step(INPUTS, SHAPE, LABELS);
      long arrays = threads.getThreadAllocatedBytes(thread) - before;
      before = threads.getThreadAllocatedBytes(thread);
      for (int i = 0; i < steps; ++i) trainer.stepReport(INPUTS, SHAPE, LABELS, report);
      long reports = threads.getThreadAllocatedBytes(thread) - before;
      before = threads.getThreadAllocatedBytes(thread);
      for (int i = 0; i < steps; ++i)
        if (!trainer.stepNext(batcher, loss)) batcher.reset(i);
      long batches = threads.getThreadAllocatedBytes(thread) - before;
      System.out.println("bytes allocated per step: arrays " + (double) arrays / steps + ", reports "
          + (double) reports / steps + ", batcher " + (double) batches / steps);
      assertTrue("step(float[], long[], int[]) allocated " + arrays + " bytes in " + steps + " steps", arrays < 64L * steps);
      assertTrue("stepReport allocated " + reports + " bytes in " + steps + " steps", reports < 64L * steps);
      assertTrue("stepNext allocated " + batches + " bytes in " + steps + " steps", batches < 64L * steps);
    }
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

  @Test
  public void fitCallsBackInOrderStopsAndPassesExceptionsOut() throws Exception {
    try (Model model = new Model(); Trainer trainer = referenceTrainer(model);
         Dataset data = Dataset.fromArrays(INPUTS, new long[] {16, 4}, LABELS);
         Batcher batcher = new Batcher(data, 4, true, 1, false);
         FitOptions options = new FitOptions().epochs(2)) {
      List<Long> steps = new ArrayList<>();
      int[] epochs = new int[1];
      FitReport report = trainer.fit(batcher, options, event -> {
        if (event.getKind() == FitEventKind.STEP.value) steps.add(event.getStep());
        else epochs[0]++;
        return false;
      });
      assertEquals(8, steps.size());
      assertEquals(Long.valueOf(8), steps.get(7));
      assertEquals(2, epochs[0]);
      assertEquals(FitEnd.COMPLETED.value, report.getEnd());
      // true from the callback stops cleanly after that event
      options.epochs(10);
      report = trainer.fit(batcher, options, event -> event.getStep() == 11);
      assertEquals(FitEnd.STOPPED.value, report.getEnd());
      assertEquals(11, trainer.stepCount());
      // an exception comes out of fit, with the trainer at that step
      IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> trainer.fit(batcher, options,
          event -> {
            if (event.getStep() == 13) throw new IllegalStateException("from the callback");
            return false;
          }));
      assertEquals("from the callback", thrown.getMessage());
      assertEquals(13, trainer.stepCount());
      report = trainer.fit(batcher, options, null);
      assertEquals(FitEnd.COMPLETED.value, report.getEnd());
      assertEquals(40, trainer.stepCount());
      trainer.setLearningRate(0.5);
      assertEquals(0.5, trainer.learningRate(), 0.0);
    }
  }

  @Test
  public void aStreamBatcherTrainsAsTheSameRowsInADatasetAndPassesFillErrorsOut() throws Exception {
    StreamBatcher.Fill fill = (epoch, batch) -> batch == 4 ? null
        : StreamBatcher.Batch.ofLabels(java.util.Arrays.copyOfRange(INPUTS, (int) batch * 16, (int) batch * 16 + 16),
            java.util.Arrays.copyOfRange(LABELS, (int) batch * 4, (int) batch * 4 + 4));
    float[] expected;
    try (Model model = new Model(); Trainer trainer = referenceTrainer(model);
         Dataset data = Dataset.fromArrays(INPUTS, new long[] {16, 4}, LABELS);
         Batcher batcher = new Batcher(data, 4, false, 0, false);
         FitOptions options = new FitOptions().epochs(3)) {
      trainer.fit(batcher, options, null);
      expected = trainer.parameters();
    }
    try (Model model = new Model(); Trainer trainer = referenceTrainer(model);
         StreamBatcher stream = new StreamBatcher(fill, new long[] {4}, 4, null, 2, 4);
         FitOptions options = new FitOptions().epochs(3)) {
      List<Long> batches = new ArrayList<>();
      FitReport report = trainer.fit(stream, options, event -> {
        if (event.getKind() == FitEventKind.STEP.value) batches.add(event.getBatch());
        return false;
      });
      assertEquals(FitEnd.COMPLETED.value, report.getEnd());
      assertEquals(12, batches.size());
      assertEquals(Long.valueOf(4), batches.get(3));
      assertBitsEqual(expected, trainer.parameters());
    }
    // The fill's exception comes out of fit after the batches before it were trained.
    try (Model model = new Model(); Trainer trainer = referenceTrainer(model);
         StreamBatcher stream = new StreamBatcher((epoch, batch) -> {
           if (batch == 2) throw new java.io.IOException("the file went away");
           return fill.fill(epoch, batch);
         }, new long[] {4}, 4, null, 1, 0);
         FitOptions options = new FitOptions().epochs(2)) {
      java.io.IOException thrown = assertThrows(java.io.IOException.class, () -> trainer.fit(stream, options, null));
      assertEquals("the file went away", thrown.getMessage());
      assertEquals(2, trainer.stepCount());
      assertTrue(stream.error() instanceof java.io.IOException);
    }
    assertThrows(TrainKitException.class, () -> new StreamBatcher(fill, new long[] {4}, 0));
    assertThrows(NullPointerException.class, () -> new StreamBatcher(null, new long[] {4}, 4));
  }

  @Test
  public void aCsvOfFeaturesAloneIsReadButNotTrainedOn() throws Exception {
    java.nio.file.Path labelled = Paths.get(tmp("java-labelled.csv")), features = Paths.get(tmp("java-features.csv"));
    StringBuilder a = new StringBuilder("f0,f1,f2,f3,label\n"), f = new StringBuilder("f0,f1,f2,f3\n");
    for (int i = 0; i < 16; ++i) {
      StringBuilder row = new StringBuilder();
      for (int c = 0; c < 4; ++c) row.append(c == 0 ? "" : ",").append(INPUTS[i * 4 + c]);
      a.append(row).append(',').append(LABELS[i]).append('\n');
      f.append(row).append('\n');
    }
    Files.write(labelled, a.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    Files.write(features, f.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    try (Model model = new Model(); Trainer trainer = referenceTrainer(model);
         Dataset data = Dataset.loadCsv(labelled.toString(), "label", true, true);
         Dataset alone = Dataset.loadCsvFeatures(features.toString(), null, true);
         Dataset again = Dataset.loadCsvFeatures(labelled.toString(), "label", true)) {
      assertTrue(data.hasTargets());
      assertFalse(alone.hasTargets());
      assertEquals(16, again.size());
      assertArrayEquals(new long[] {4}, again.sampleShape());
      TrainKitException thrown = assertThrows(TrainKitException.class, () -> trainer.evaluate(alone, 8));
      assertTrue(thrown.getMessage(), thrown.getMessage().contains("no targets"));
      assertTrue(trainer.evaluate(data, 8).accuracy >= 0);  // the labelled file evaluates
    }
  }

  @Test
  public void metricsAgreeWithEvaluationAndCountEverySample() throws Exception {
    try (Model model = new Model(); Trainer trainer = referenceTrainer(model);
         Dataset data = Dataset.fromArrays(INPUTS, new long[] {16, 4}, LABELS)) {
      for (int i = 0; i < 10; ++i) trainer.step(INPUTS, new long[] {16, 4}, LABELS);
      MetricsReport m = trainer.metrics(data, 5, 5);
      Evaluation e = trainer.evaluate(data, 5);
      assertEquals(16, m.samples);
      assertEquals(3, m.classes);
      assertEquals(3, m.topK);  // capped at the classes
      assertEquals(1.0, m.topKAccuracy, 0.0);
      assertEquals(e.accuracy, m.accuracy, 1e-12);
      assertEquals(e.loss, m.loss, 1e-6);
      long total = 0, diagonal = 0;
      long[][] confusion = m.confusion();
      for (int t = 0; t < 3; ++t)
        for (int p = 0; p < 3; ++p) {
          total += confusion[t][p];
          if (t == p) diagonal += confusion[t][p];
          assertEquals(confusion[t][p], m.confusion(t, p));
        }
      assertEquals(16, total);
      assertEquals(m.accuracy, diagonal / 16.0, 1e-12);
      double meanF1 = (m.f1()[0] + m.f1()[1] + m.f1()[2]) / 3;
      assertEquals(m.macroF1, meanF1, 1e-12);
      assertTrue(Double.isNaN(m.mse));
      assertTrue(m.toString().startsWith("samples 16"));
      assertThrows(IndexOutOfBoundsException.class, () -> m.confusion(3, 0));
    }
  }

  @Test
  public void freezingKeepsALayerStillAndGroupsSetRatesAndDecay() throws Exception {
    try (Model model = new Model(); Trainer trainer = referenceTrainer(model);
         Dataset data = Dataset.fromArrays(INPUTS, new long[] {16, 4}, LABELS);
         Batcher batcher = new Batcher(data, 4, true, 1, false);
         FitOptions options = new FitOptions().epochs(2)) {
      String first = trainer.parameterName(0);
      String body = first.substring(0, first.lastIndexOf('.')) + ".*";
      long fullMemory = trainer.memoryBytes();
      assertEquals(2, trainer.freeze(body));
      assertTrue(trainer.parameterSettings(0).frozen);
      assertTrue(trainer.memoryBytes() < fullMemory);
      float[] before = trainer.parameters();
      trainer.fit(batcher, options, null);
      float[] after = trainer.parameters();
      int bodySize = 4 * 8 + 8;
      assertArrayEquals(java.util.Arrays.copyOf(before, bodySize), java.util.Arrays.copyOf(after, bodySize), 0.0f);
      assertFalse(java.util.Arrays.equals(before, after));
      assertEquals(2, trainer.unfreeze(body));
      assertFalse(trainer.parameterSettings(0).frozen);
      assertEquals(2, trainer.setParamGroup("*.bias", 0.5, 0.1));
      ParameterSettings bias = trainer.parameterSettings(1);
      assertEquals(0.5, bias.learningRateScale, 0.0);
      assertEquals(0.1, bias.weightDecay, 0.0);
      TrainKitException none = assertThrows(TrainKitException.class, () -> trainer.freeze("encoder.*"));
      assertTrue(none.getMessage(), none.getMessage().contains(first));
      assertEquals(4, trainer.freeze("*"));
      assertThrows(TrainKitException.class, () -> trainer.step(INPUTS, new long[] {16, 4}, LABELS));
      trainer.unfreeze("*");
      assertThrows(TrainKitException.class, () -> trainer.setParamGroup("*", -1.0, Double.NaN));
    }
  }

  @Test
  public void aPredictorServesFourThreadsWithTheTrainersOutputs() throws Exception {
    try (Model model = new Model(); Trainer trainer = referenceTrainer(model)) {
      for (int i = 0; i < 20; ++i) trainer.step(INPUTS, new long[] {16, 4}, LABELS);
      float[] expected = trainer.predict(INPUTS, new long[] {16, 4}, 3, false);
      try (Predictor predictor = Predictor.fromTrainer(trainer, 1)) {
        float[] got = new float[48];
        predictor.predict(INPUTS, new long[] {16, 4}, false, got, new long[] {16, 3});
        // Packed weights (oneDNN) against the trainer's (BLAS): equal to float rounding.
        assertArrayEquals(expected, got, 1e-5f);
        assertTrue(predictor.memory() > 0);
        int[] mismatches = new int[4];
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; ++t) {
          final int index = t;
          threads.add(new Thread(() -> {
            float[] mine = new float[48];
            for (int r = 0; r < 30; ++r) {
              predictor.predict(INPUTS, new long[] {16, 4}, false, mine, new long[] {16, 3});
              if (!java.util.Arrays.equals(mine, expected)) mismatches[index]++;
            }
          }));
        }
        for (Thread t : threads) t.start();
        for (Thread t : threads) t.join();
        assertArrayEquals(new int[4], mismatches);
        assertThrows(TrainKitException.class,
            () -> predictor.predict(INPUTS, new long[] {16, 4}, false, new float[64], new long[] {16, 4}));
      }
    }
  }

  /** Sample i: 2..6 real tokens in [1, 12), then padding (id 0, mask 0); class: token 5 among the real ones. */
  private static int[] tokenSamples(long seed, int count, int[] ids, float[] mask) {
    java.util.Random random = new java.util.Random(seed);
    int[] labels = new int[count];
    for (int i = 0; i < count; ++i) {
      int length = 2 + random.nextInt(5);
      for (int s = 0; s < 6; ++s) {
        boolean real = s < length;
        int token = real ? 1 + random.nextInt(11) : 0;
        if (token == 5) token = 6;
        if (real && s == 0 && i % 2 == 0) token = 5;
        ids[i * 6 + s] = token;
        mask[i * 6 + s] = real ? 1f : 0f;
        if (token == 5) labels[i] = 1;
      }
    }
    return labels;
  }

  @Test
  public void tokenIdsAndAMaskTrainAsTwoInputs() throws Exception {
    int[] ids = new int[2048 * 6], testIds = new int[256 * 6];
    float[] mask = new float[2048 * 6], testMask = new float[256 * 6];
    int[] labels = tokenSamples(4, 2048, ids, mask), testLabels = tokenSamples(5, 256, testIds, testMask);
    try (Model model = new Model();
         TrainerOptions options = new TrainerOptions().optimizer(Optimizer.ADAM).learningRate(3e-3).seed(3).threads(1)) {
      int x = model.op("embedding", "{\"vocab\": 12, \"dim\": 16, \"padding_index\": 0}", model.inputIndices("ids", 6));
      int pooled = model.op("masked_mean_pool", null, x, model.input("mask", 6));
      model.output(model.linear(model.relu(model.linear(pooled, 32)), 2), "logits");
      try (Trainer trainer = new Trainer(model, Loss.SOFTMAX_CROSS_ENTROPY, options); Inputs in = new Inputs(2)) {
        InputInfo[] infos = trainer.inputs();
        assertEquals(2, infos.length);
        assertEquals("ids", infos[0].name);
        assertTrue(infos[0].indices);
        assertArrayEquals(new long[] {6}, infos[0].shape());
        assertEquals("mask", infos[1].name);
        assertFalse(infos[1].indices);
        for (int step = 0; step < 200; ++step) {
          int at = (step * 32) % 2048;
          in.set(0, java.util.Arrays.copyOfRange(ids, at * 6, at * 6 + 192), 32, 6)
              .set(1, java.util.Arrays.copyOfRange(mask, at * 6, at * 6 + 192), 32, 6);
          trainer.step(in, java.util.Arrays.copyOfRange(labels, at, at + 32));
        }
        in.set(0, testIds, 256, 6).set(1, testMask, 256, 6);
        Evaluation evaluation = trainer.evaluate(in, testLabels);
        assertTrue("accuracy " + evaluation.accuracy, evaluation.accuracy >= 0.95);
        float[] expected = new float[512], got = new float[512];
        trainer.predict(in, false, expected, new long[] {256, 2});
        try (Predictor predictor = Predictor.fromTrainer(trainer, 1)) {
          assertEquals("mask", predictor.inputs()[1].name);
          predictor.predict(in, false, got, new long[] {256, 2});
          assertArrayEquals(expected, got, 1e-5f);
        }
        // Zero-copy ids from a direct buffer give the same outputs.
        java.nio.IntBuffer direct = java.nio.ByteBuffer.allocateDirect(4 * testIds.length)
            .order(java.nio.ByteOrder.nativeOrder()).asIntBuffer();
        direct.put(testIds);
        in.set(0, direct, DType.I32, 256, 6);
        trainer.predict(in, false, got, new long[] {256, 2});
        assertArrayEquals(expected, got, 0f);
        float[] before = trainer.parameters();
        int[] bad = testIds.clone();
        bad[7] = 12;
        in.set(0, bad, 256, 6);
        TrainKitException error = assertThrows(TrainKitException.class, () -> trainer.step(in, testLabels));
        assertTrue(error.getMessage(), error.getMessage().contains("outside [0, 12)"));
        // Floats where the model takes ids.
        in.set(0, new float[256 * 6], 256, 6);
        assertEquals(Status.ERROR_DTYPE_MISMATCH, assertThrows(TrainKitException.class,
            () -> trainer.step(in, testLabels)).status());
        try (Inputs one = new Inputs(1)) {
          one.set(0, testIds, 256, 6);
          assertThrows(TrainKitException.class, () -> trainer.step(one, testLabels));
        }
        try (Inputs unset = new Inputs(2)) {
          unset.set(0, testIds, 256, 6);
          assertThrows(IllegalStateException.class, () -> trainer.step(unset, testLabels));
        }
        assertThrows(IndexOutOfBoundsException.class, () -> in.set(2, testIds, 256, 6));
        assertArrayEquals(before, trainer.parameters(), 0f);
      }
    }
  }

  @Test
  public void weightsOfOtherNamesLoadThroughANameMap() throws Exception {
    java.nio.file.Path file = Files.createTempFile("trainkit-java-map", ".safetensors");
    try (Model a = new Model(); Model b = new Model()) {
      a.output(a.linear(a.input("x", 4), 3), "logits");
      b.output(b.linear(b.input("x", 4), 3), "logits");
      try (Trainer source = new Trainer(a, Loss.SOFTMAX_CROSS_ENTROPY, null);
           Trainer target = new Trainer(b, Loss.SOFTMAX_CROSS_ENTROPY, null)) {
        source.exportWeights(file.toString(), DType.F32);
        String[] names = {target.parameterName(0)};
        String map = "{\"" + names[0] + "\": \"" + source.parameterName(0) + "\"}";
        String report = target.importWeights(file.toString(), map, false);
        assertTrue(report, report.contains("\"loaded\":[\"" + names[0]));
        // Only the mapped weight moved: the bias (named alike in both) came along, the weight by the map.
        float[] want = source.parameters(), got = target.parameters();
        assertArrayEquals(java.util.Arrays.copyOf(want, 12), java.util.Arrays.copyOf(got, 12), 0f);
        TrainKitException e = assertThrows(TrainKitException.class,
            () -> target.importWeights(file.toString(), "{\"" + names[0] + "\": \"missing.weight\"}", false));
        assertTrue(e.getMessage(), e.getMessage().contains("has no tensor 'missing.weight'"));
      }
    } finally {
      Files.deleteIfExists(file);
    }
  }
}
