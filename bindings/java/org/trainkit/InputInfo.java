package org.trainkit;

/** One model input: its name, whether it takes int32 indices (token ids) or floats, its per-sample shape. */
public final class InputInfo {
  /** The name the model gave it. */
  public final String name;
  /** True for int32 indices (token ids, categories), false for floats. */
  public final boolean indices;
  /** The shape of one sample, without the batch dimension. */
  private final long[] shape;

  InputInfo(String name, boolean indices, long[] shape) {
    this.name = name;
    this.indices = indices;
    this.shape = shape.clone();
  }

  /** The per-sample shape (a copy). */
  public long[] shape() {
    return shape.clone();
  }

  /** tk_trainer_input_info or tk_predictor_input_info on one handle. */
  interface Source {
    Status info(int index, byte[] name, int[] indices, int[] rank, long[] shape);
  }

  static InputInfo[] read(int count, Source source) {
    InputInfo[] infos = new InputInfo[count];
    int[] indices = new int[1], rank = new int[1];
    for (int i = 0; i < count; ++i) {
      byte[] name = new byte[256];
      long[] shape = new long[TrainKitCConstants.TK_MAX_RANK];
      TrainKitException.check(source.info(i, name, indices, rank, shape));
      infos[i] = new InputInfo(Support.string(name), indices[0] != 0, java.util.Arrays.copyOf(shape, rank[0]));
    }
    return infos;
  }

  @Override
  public String toString() {
    return name + (indices ? " (int32 indices) " : " (floats) ") + java.util.Arrays.toString(shape);
  }
}
