package org.trainkit;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** One model output: its name and per-sample shape. Output 0 is the one the loss reads. */
public final class OutputInfo {
  /** The name the model gave it. */
  public final String name;
  /** The shape of one sample, without the batch dimension. */
  private final long[] shape;

  OutputInfo(String name, long[] shape) {
    this.name = name;
    this.shape = shape.clone();
  }

  /** The per-sample shape (a copy). */
  public long[] shape() {
    return shape.clone();
  }

  /** tk_trainer_output_info or tk_predictor_output_info on one handle. */
  interface Source {
    Status info(int index, byte[] name, int[] rank, long[] shape);
  }

  static OutputInfo[] read(int count, Source source) {
    OutputInfo[] infos = new OutputInfo[count];
    int[] rank = new int[1];
    for (int i = 0; i < count; ++i) {
      byte[] name = new byte[256];
      long[] shape = new long[TrainKitCConstants.TK_MAX_RANK];
      TrainKitException.check(source.info(i, name, rank, shape));
      infos[i] = new OutputInfo(Support.string(name), java.util.Arrays.copyOf(shape, rank[0]));
    }
    return infos;
  }

  /** tk_trainer_predict_outputs or tk_predictor_predict_outputs on one handle. */
  interface Call {
    Status predict(int count, TensorView views);
  }

  /** Every output for {@code rows} samples from one forward: f32 arrays [rows, shape] in output order. */
  static float[][] predict(OutputInfo[] outputs, long rows, Call call) {
    TensorViewArray views = new TensorViewArray(outputs.length);
    TensorView view = new TensorView();
    ByteBuffer[] buffers = new ByteBuffer[outputs.length];
    float[][] results = new float[outputs.length][];
    try {
      for (int i = 0; i < outputs.length; ++i) {
        long[] shape = new long[outputs[i].shape.length + 1];
        shape[0] = rows;
        System.arraycopy(outputs[i].shape, 0, shape, 1, outputs[i].shape.length);
        long count = 1;
        for (long extent : shape) count = Math.multiplyExact(count, extent);
        if (rows < 1 || count > Integer.MAX_VALUE / 4)
          throw new TrainKitException(Status.ERROR_INVALID_ARGUMENT,
              "output '" + outputs[i].name + "' for " + rows + " rows does not fit a Java array");
        buffers[i] = ByteBuffer.allocateDirect((int) (4 * count)).order(ByteOrder.nativeOrder());
        results[i] = new float[(int) count];
        view.reset(buffers[i], DType.F32, shape);
        views.setitem(i, view);
      }
      TrainKitException.check(call.predict(outputs.length, views.cast()));
      for (int i = 0; i < outputs.length; ++i) buffers[i].asFloatBuffer().get(results[i]);
      return results;
    } finally {
      views.delete();
      view.delete();
      java.lang.ref.Reference.reachabilityFence(buffers);
    }
  }

  @Override
  public String toString() {
    return name + " " + java.util.Arrays.toString(shape);
  }
}
