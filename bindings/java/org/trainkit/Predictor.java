package org.trainkit;

import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Inference alone (no gradients, no optimizer state): the weights of a trainer, as they are when it is
 * made, or of an exported weights file, in f32 on the CPU. {@link #predict} may be called from several
 * threads at once; each call gets the results it would get alone.
 */
public final class Predictor extends NativeObject<SWIGTYPE_p_tk_predictor> {
  private Predictor(SWIGTYPE_p_tk_predictor handle) {
    super(handle, TrainKitC::tk_predictor_destroy);
  }

  /** From the trainer's weights as they are now; {@code threads} per call (0: all cores). */
  public static Predictor fromTrainer(Trainer trainer, int threads) {
    Objects.requireNonNull(trainer, "trainer");
    SWIGTYPE_p_tk_predictor[] out = new SWIGTYPE_p_tk_predictor[1];
    try {
      TrainKitException.check(TrainKitC.tk_predictor_create(trainer.handle(), threads, out));
    } finally {
      Reference.reachabilityFence(trainer);
    }
    return new Predictor(out[0]);
  }

  /** A model (from its spec) with the weights of a file written by {@link Trainer#exportWeights}. */
  public static Predictor load(Model model, String weightsPath, Loss loss, int threads) {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(weightsPath, "weightsPath");
    SWIGTYPE_p_tk_predictor[] out = new SWIGTYPE_p_tk_predictor[1];
    try {
      TrainKitException.check(TrainKitC.tk_predictor_load(model.handle(), loss, weightsPath, threads, out));
    } finally {
      Reference.reachabilityFence(model);
    }
    return new Predictor(out[0]);
  }

  /** Outputs [batch, output shape] into {@code out}: logits, or probabilities. */
  public void predict(float[] inputs, long[] inputShape, boolean probabilities, float[] out, long[] outShape) {
    Objects.requireNonNull(inputs, "inputs");
    Objects.requireNonNull(out, "out");
    Support.checkCount(inputs.length, inputShape, "inputs");
    Support.checkCount(out.length, outShape, "out");
    // Buffers and views of this call's own: other threads predict at the same time.
    ByteBuffer in = ByteBuffer.allocateDirect(4 * inputs.length).order(ByteOrder.nativeOrder());
    ByteBuffer result = ByteBuffer.allocateDirect(4 * out.length).order(ByteOrder.nativeOrder());
    in.asFloatBuffer().put(inputs);
    TensorView inView = new TensorView(), outView = new TensorView();
    try {
      inView.reset(in, DType.F32, inputShape);
      outView.reset(result, DType.F32, outShape);
      done(TrainKitC.tk_predictor_predict(handle(), inView, probabilities ? 1 : 0, outView));
      result.asFloatBuffer().get(out);
    } finally {
      inView.delete();
      outView.delete();
    }
  }

  /**
   * Outputs of a model of several inputs into {@code out} ([batch, output shape]); each thread passes
   * its own {@link Inputs}.
   */
  public void predict(Inputs inputs, boolean probabilities, float[] out, long[] outShape) {
    Objects.requireNonNull(inputs, "inputs");
    Objects.requireNonNull(out, "out");
    Support.checkCount(out.length, outShape, "out");
    ByteBuffer result = ByteBuffer.allocateDirect(4 * out.length).order(ByteOrder.nativeOrder());
    TensorView outView = new TensorView();
    try {
      outView.reset(result, DType.F32, outShape);
      done(TrainKitC.tk_predictor_predict_inputs(handle(), inputs.count(), inputs.first(), probabilities ? 1 : 0,
          outView));
      result.asFloatBuffer().get(out);
    } finally {
      outView.delete();
      inputs.fence();
    }
  }

  /** The model's outputs: the one the loss reads first, then those added with tk_model_add_output. */
  public OutputInfo[] outputs() {
    SWIGTYPE_p_tk_predictor nativeHandle = handle();
    int[] count = new int[1];
    done(TrainKitC.tk_predictor_output_count(nativeHandle, count));
    OutputInfo[] infos = OutputInfo.read(count[0], (i, name, rank, shape) ->
        TrainKitC.tk_predictor_output_info(nativeHandle, i, name, rank, shape));
    java.lang.ref.Reference.reachabilityFence(this);
    return infos;
  }

  /**
   * Every output of one forward over {@code rows} samples, in the order of {@link #outputs()}: f32
   * arrays [rows, output shape]; probabilities apply to output 0 (the loss's).
   */
  public float[][] predictOutputs(Inputs inputs, long rows, boolean probabilities) {
    Objects.requireNonNull(inputs, "inputs");
    OutputInfo[] outputs = outputs();
    SWIGTYPE_p_tk_predictor nativeHandle = handle();
    try {
      return OutputInfo.predict(outputs, rows, (count, views) -> TrainKitC.tk_predictor_predict_outputs(nativeHandle,
          inputs.count(), inputs.first(), probabilities ? 1 : 0, count, views));
    } finally {
      inputs.fence();
      java.lang.ref.Reference.reachabilityFence(this);
    }
  }

  /** The model's inputs in the order {@link Inputs} takes them. */
  public InputInfo[] inputs() {
    SWIGTYPE_p_tk_predictor predictor = handle();
    int[] count = new int[1];
    done(TrainKitC.tk_predictor_input_count(predictor, count));
    InputInfo[] infos = InputInfo.read(count[0], (i, name, indices, rank, shape) ->
        TrainKitC.tk_predictor_input_info(predictor, i, name, indices, rank, shape));
    Reference.reachabilityFence(this);
    return infos;
  }

  /** Bytes held: weights, state and the activation arenas made so far. */
  public long memory() {
    long[] bytes = new long[1];
    done(TrainKitC.tk_predictor_memory(handle(), bytes));
    return bytes[0];
  }
}
